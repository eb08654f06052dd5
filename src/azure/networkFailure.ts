/**
 * What a failed connection says about its cause, read from the error and its `cause` chain
 * (fetch wraps the socket's error in `TypeError: fetch failed`; the Azure SDKs in a RestError;
 * MSAL in its own message): a certificate this machine does not trust, or a server that is not
 * there. The codes are Node's (OpenSSL's verify errors, and libuv's for sockets).
 */

const UNTRUSTED_CERTIFICATE = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
]);
const NOT_ANSWERING = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ECONNRESET',
]);

/** The Node error codes found in an error and its causes (and MSAL's text, which keeps only the message). */
function codesOf(error: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 6 && typeof current === 'object' && current !== null; depth += 1) {
    const { code, message, cause } = current as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof code === 'string') codes.push(code);
    if (typeof message === 'string') codes.push(...(message.match(/\b[A-Z][A-Z0-9_]{5,}\b/g) ?? []));
    current = cause;
  }
  return codes;
}

/** The untrusted-certificate code an error carries, if any. */
export function untrustedCertificateCode(error: unknown): string | undefined {
  return codesOf(error).find((code) => UNTRUSTED_CERTIFICATE.has(code));
}

/** The socket error code of a server that did not answer, if any. */
export function notAnsweringCode(error: unknown): string | undefined {
  return codesOf(error).find((code) => NOT_ANSWERING.has(code));
}

/** The sentence for a TLS trust failure: what it is, and what makes Node trust a private CA. */
export function untrustedCertificateHint(host: string, code: string): string {
  return `The TLS certificate of ${host} is not trusted on this machine (${code}). If a private CA signs it (the sandbox's, a corporate proxy's), start the process with NODE_EXTRA_CA_CERTS set to that CA's PEM file: Node reads it only when it starts.`;
}
