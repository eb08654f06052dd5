import { createHash, X509Certificate } from 'node:crypto';

import forge from 'node-forge';

export interface KeyPairPem {
  keyPem: string;
  certificatePem: string;
}

export interface AppCertificate extends KeyPairPem {
  /** base64 PKCS#12 with an empty password, as Key Vault returns a certificate's secret. */
  pkcs12Base64: string;
  /** base64url SHA-256 of the certificate's DER: the `x5t#S256` a client assertion carries. */
  x5tS256: string;
}

function newCertificate(
  subject: string,
  keys: forge.pki.rsa.KeyPair,
  issuer: { name: string; key: forge.pki.rsa.PrivateKey } | undefined,
  extensions: object[],
): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = `01${forge.util.bytesToHex(forge.random.getBytesSync(8))}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 2 * 24 * 3600_000);
  cert.setSubject([{ name: 'commonName', value: subject }]);
  cert.setIssuer([{ name: 'commonName', value: issuer?.name ?? subject }]);
  cert.setExtensions(extensions);
  cert.sign(issuer?.key ?? keys.privateKey, forge.md.sha256.create());
  return cert;
}

function rsaKeys(): forge.pki.rsa.KeyPair {
  return forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
}

export interface CertificateAuthority {
  certificatePem: string;
  /** Issues a TLS server certificate for the given DNS names and IP addresses. */
  issueServerCertificate(names: readonly string[]): KeyPairPem;
}

export function createCertificateAuthority(name = 'entra-user-export sandbox CA'): CertificateAuthority {
  const keys = rsaKeys();
  const ca = newCertificate(name, keys, undefined, [
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
  ]);
  return {
    certificatePem: forge.pki.certificateToPem(ca),
    issueServerCertificate(names) {
      const serverKeys = rsaKeys();
      const altNames = names.map((value) =>
        /^[\d.]+$/.test(value) ? { type: 7, ip: value } : { type: 2, value },
      );
      const cert = newCertificate(names[0] ?? 'localhost', serverKeys, { name, key: keys.privateKey }, [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames },
      ]);
      return {
        keyPem: forge.pki.privateKeyToPem(serverKeys.privateKey),
        certificatePem: forge.pki.certificateToPem(cert),
      };
    },
  };
}

/** A self-signed certificate of the kind an app registration holds, with its Key Vault forms. */
export function createAppCertificate(subject = 'CN=entra-user-export'): AppCertificate {
  const keys = rsaKeys();
  const cert = newCertificate(subject, keys, undefined, [
    { name: 'keyUsage', digitalSignature: true, critical: true },
  ]);
  const p12 = forge.pkcs12.toPkcs12Asn1(keys.privateKey, [cert], '', { algorithm: '3des' });
  const certificatePem = forge.pki.certificateToPem(cert);
  return {
    keyPem: forge.pki.privateKeyToPem(keys.privateKey),
    certificatePem,
    pkcs12Base64: forge.util.encode64(forge.asn1.toDer(p12).getBytes()),
    x5tS256: createHash('sha256').update(new X509Certificate(certificatePem).raw).digest('base64url'),
  };
}
