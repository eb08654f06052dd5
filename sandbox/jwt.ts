import { constants, createPublicKey, createSign, createVerify, type KeyObject } from 'node:crypto';

export type Claims = Record<string, unknown>;

function encode(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function signRs256(claims: Claims, privateKey: KeyObject, kid: string): string {
  const input = `${encode({ typ: 'JWT', alg: 'RS256', kid })}.${encode(claims)}`;
  const signature = createSign('sha256').update(input).sign(privateKey, 'base64url');
  return `${input}.${signature}`;
}

export interface DecodedJwt {
  header: Record<string, unknown>;
  claims: Claims;
  signingInput: string;
  signature: Buffer;
}

export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    return {
      header: JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Record<string, unknown>,
      claims: JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Claims,
      signingInput: `${parts[0]}.${parts[1]}`,
      signature: Buffer.from(parts[2]!, 'base64url'),
    };
  } catch {
    return undefined;
  }
}

export function verifyRs256(jwt: DecodedJwt, publicKey: KeyObject): boolean {
  return (
    jwt.header['alg'] === 'RS256' &&
    createVerify('sha256').update(jwt.signingInput).verify(publicKey, jwt.signature)
  );
}

/** The client assertion MSAL signs for certificate credentials: PS256, salt length 32. */
export function verifyPs256(jwt: DecodedJwt, certificatePem: string): boolean {
  if (jwt.header['alg'] !== 'PS256') return false;
  return createVerify('sha256')
    .update(jwt.signingInput)
    .verify(
      { key: createPublicKey(certificatePem), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
      jwt.signature,
    );
}
