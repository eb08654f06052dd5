import { createPrivateKey, createSign, createVerify, X509Certificate } from 'node:crypto';

import forge from 'node-forge';
import { beforeAll, describe, expect, it } from 'vitest';

import { certificatePemFromKeyVault } from '../../../src/azure/certificatePem.js';
import { ExportError } from '../../../src/errors.js';
import { type AppCertificate, createAppCertificate } from '../../../sandbox/certificates.js';

let app: AppCertificate;
let other: AppCertificate;
beforeAll(() => {
  app = createAppCertificate();
  other = createAppCertificate('CN=other');
});

/** The PEM works for signing exactly as ClientCertificateCredential uses it. */
function expectUsablePair(pem: string, expected: AppCertificate) {
  const certificates = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  expect(new X509Certificate(certificates[0]!).fingerprint256).toBe(
    new X509Certificate(expected.certificatePem).fingerprint256,
  );
  const signature = createSign('sha256').update('assertion').sign(createPrivateKey(pem));
  expect(createVerify('sha256').update('assertion').verify(expected.certificatePem, signature)).toBe(true);
}

function failure(run: () => unknown): ExportError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ExportError);
    return error as ExportError;
  }
  throw new Error('expected a failure');
}

describe('certificatePemFromKeyVault', () => {
  it('turns Key Vault PKCS#12 (base64, empty password) into a PKCS#8 key and its certificate', () => {
    expectUsablePair(certificatePemFromKeyVault(app.pkcs12Base64, 'application/x-pkcs12', 'cert'), app);
  });

  it('reads a PKCS#12 encrypted with AES-256, as OpenSSL 3 writes it', () => {
    const keys = forge.pki.privateKeyFromPem(app.keyPem);
    const cert = forge.pki.certificateFromPem(app.certificatePem);
    const p12 = forge.pkcs12.toPkcs12Asn1(keys, [cert], '', { algorithm: 'aes256' });
    const base64 = forge.util.encode64(forge.asn1.toDer(p12).getBytes());
    expectUsablePair(certificatePemFromKeyVault(base64, 'application/x-pkcs12', 'cert'), app);
  });

  it('puts the certificate that matches the key first when the PKCS#12 carries a chain', () => {
    const keys = forge.pki.privateKeyFromPem(app.keyPem);
    const chain = [
      forge.pki.certificateFromPem(other.certificatePem),
      forge.pki.certificateFromPem(app.certificatePem),
    ];
    const p12 = forge.pkcs12.toPkcs12Asn1(keys, chain, '', { algorithm: '3des' });
    const base64 = forge.util.encode64(forge.asn1.toDer(p12).getBytes());
    expectUsablePair(certificatePemFromKeyVault(base64, 'application/x-pkcs12', 'cert'), app);
  });

  it('accepts PEM with the certificate before the key, and PEM without a content type', () => {
    const pem = `${app.certificatePem}\n${app.keyPem}`;
    expectUsablePair(certificatePemFromKeyVault(pem, 'application/x-pem-file', 'cert'), app);
    expectUsablePair(certificatePemFromKeyVault(pem, undefined, 'cert'), app);
  });

  it('explains a certificate exported without its private key', () => {
    const error = failure(() =>
      certificatePemFromKeyVault(app.certificatePem, 'application/x-pem-file', 'graph-cert'),
    );
    expect(error.message).toMatch(
      /"graph-cert" could not be read as PEM: it holds no private key\..*exportable/,
    );
  });

  it('explains a key that matches none of the certificates', () => {
    const error = failure(() =>
      certificatePemFromKeyVault(
        `${app.keyPem}${other.certificatePem}`,
        'application/x-pem-file',
        'graph-cert',
      ),
    );
    expect(error.message).toMatch(/none of its certificates matches its private key/);
  });

  it('explains bytes that are not a PKCS#12, without echoing them', () => {
    const garbage = Buffer.from('not a pfx at all, but long enough to look like base64 data').toString(
      'base64',
    );
    const error = failure(() => certificatePemFromKeyVault(garbage, 'application/x-pkcs12', 'graph-cert'));
    expect(error.message).toMatch(/could not be read as PKCS#12: it is not a password-less PKCS#12/);
    expect(JSON.stringify({ message: error.message, cause: String(error.cause) })).not.toContain(garbage);
  });

  it('refuses an entry that is a plain secret, pointing at the right setting', () => {
    const error = failure(() => certificatePemFromKeyVault('s3cr3t', 'text/plain', 'graph-cert'));
    expect(error.message).toMatch(/content type "text\/plain", not a certificate.*GRAPH_CLIENT_SECRET_NAME/);
  });
});
