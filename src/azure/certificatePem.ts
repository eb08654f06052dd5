import { createPrivateKey, X509Certificate } from 'node:crypto';

import forge from 'node-forge';

import { ExportError } from '../errors.js';

export const PKCS12_CONTENT_TYPE = 'application/x-pkcs12';
export const PEM_CONTENT_TYPE = 'application/x-pem-file';

/**
 * Turns what Key Vault returns for a certificate's secret (base64 PKCS#12, or PEM) into the PEM
 * that ClientCertificateCredential takes: the PKCS#8 private key, then the certificate that
 * matches it. Nothing of the key material ever reaches an error message.
 */
export function certificatePemFromKeyVault(
  value: string,
  contentType: string | undefined,
  certificateName: string,
): string {
  const looksLikePem = value.trimStart().startsWith('-----BEGIN');
  const type = contentType ?? (looksLikePem ? PEM_CONTENT_TYPE : PKCS12_CONTENT_TYPE);
  if (type === PEM_CONTENT_TYPE) return normalisePem(value, certificateName);
  if (type === PKCS12_CONTENT_TYPE) return pemFromPkcs12(value, certificateName);
  throw new ExportError(
    `Key Vault entry "${certificateName}" has content type "${type}", not a certificate (${PKCS12_CONTENT_TYPE} or ${PEM_CONTENT_TYPE}).`,
    {
      remedy:
        'Point GRAPH_CLIENT_CERTIFICATE_NAME at a Key Vault certificate, or use GRAPH_CLIENT_SECRET_NAME for a client secret.',
      code: 'CredentialInvalid',
    },
  );
}

function unreadable(certificateName: string, format: string, reason: string, cause?: unknown): ExportError {
  return new ExportError(
    `Key Vault certificate "${certificateName}" could not be read as ${format}: ${reason}.`,
    {
      remedy:
        'Import the certificate with its private key, and keep its policy exportable (keyProperties.exportable = true) so Key Vault returns the key.',
      cause,
      code: 'CredentialInvalid',
    },
  );
}

function pemFromPkcs12(base64: string, certificateName: string): string {
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    const der = forge.util.decode64(base64.replace(/\s+/g, ''));
    // Key Vault exports PFX files with an empty password.
    p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(der), '');
  } catch (error) {
    throw unreadable(
      certificateName,
      'PKCS#12',
      'it is not a password-less PKCS#12 (PFX) file',
      sanitised(error),
    );
  }
  const keyBags = [...bagsOf(p12, 'pkcs8ShroudedKeyBag'), ...bagsOf(p12, 'keyBag')];
  const certificates = bagsOf(p12, 'certBag')
    .map((bag) => bag.cert)
    .filter((cert): cert is forge.pki.Certificate => cert !== undefined)
    .map((cert) => forge.pki.certificateToPem(cert));
  const key = keyBags.map((bag) => bag.key).find((candidate) => candidate !== undefined);
  if (key === undefined) throw unreadable(certificateName, 'PKCS#12', 'it holds no private key');
  return pairKeyWithCertificate(forge.pki.privateKeyToPem(key), certificates, certificateName, 'PKCS#12');
}

function bagsOf(p12: forge.pkcs12.Pkcs12Pfx, bagName: 'pkcs8ShroudedKeyBag' | 'keyBag' | 'certBag') {
  const bagType = forge.pki.oids[bagName]!;
  return p12.getBags({ bagType })[bagType] ?? [];
}

function normalisePem(pem: string, certificateName: string): string {
  const keys =
    pem.match(
      /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/g,
    ) ?? [];
  const certificates = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (keys.length === 0) throw unreadable(certificateName, 'PEM', 'it holds no private key');
  return pairKeyWithCertificate(keys[0]!, certificates, certificateName, 'PEM');
}

function pairKeyWithCertificate(
  keyPem: string,
  certificatePems: readonly string[],
  certificateName: string,
  format: string,
): string {
  let privateKey;
  try {
    privateKey = createPrivateKey(keyPem);
  } catch (error) {
    throw unreadable(
      certificateName,
      format,
      'its private key is not a readable unencrypted key',
      sanitised(error),
    );
  }
  if (certificatePems.length === 0) throw unreadable(certificateName, format, 'it holds no certificate');
  // The credential signs with the key and names the first certificate, so the leaf must lead.
  const leaf = certificatePems.find((pem) => new X509Certificate(pem).checkPrivateKey(privateKey));
  if (leaf === undefined) {
    throw unreadable(certificateName, format, 'none of its certificates matches its private key');
  }
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return `${pkcs8.trim()}\n${leaf.trim()}\n`;
}

/** Parsing errors keep their kind and message, never the bytes they choked on. */
function sanitised(error: unknown): Error {
  const message = error instanceof Error ? error.message : 'unreadable';
  return new Error(message.slice(0, 200).replace(/[A-Za-z0-9+/=]{40,}/g, '[redacted]'));
}
