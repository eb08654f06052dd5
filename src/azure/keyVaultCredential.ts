import { ClientCertificateCredential, ClientSecretCredential, type TokenCredential } from '@azure/identity';
import type { KeyVaultSecret } from '@azure/keyvault-secrets';

import type { ExportConfig } from '../config.js';
import { certificatePemFromKeyVault } from './certificatePem.js';
import { explainKeyVaultError } from './serviceErrors.js';

/** The one Key Vault call the export makes. */
export interface SecretReader {
  getSecret(name: string): Promise<Pick<KeyVaultSecret, 'value' | 'properties'>>;
}

/**
 * Reads the app registration's credential from Key Vault and returns the Entra ID credential
 * that gets Graph tokens with it.
 */
export async function readGraphCredential(
  config: ExportConfig,
  vault: SecretReader,
): Promise<TokenCredential> {
  const source = config.graphCredential;
  const name = source.kind === 'certificate' ? source.certificateName : source.secretName;
  let secret;
  try {
    secret = await vault.getSecret(name);
  } catch (error) {
    throw explainKeyVaultError(error, config);
  }
  const value = secret.value ?? '';
  if (value === '') {
    throw explainKeyVaultError(
      Object.assign(new Error('the entry has no value'), { statusCode: 404, code: 'EmptySecret' }),
      config,
    );
  }
  const options = { authorityHost: config.authorityHost };
  if (source.kind === 'secret') {
    return new ClientSecretCredential(config.tenantId, config.clientId, value, options);
  }
  const certificate = certificatePemFromKeyVault(value, secret.properties.contentType, name);
  return new ClientCertificateCredential(config.tenantId, config.clientId, { certificate }, options);
}
