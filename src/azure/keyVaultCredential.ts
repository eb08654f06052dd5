import { ClientCertificateCredential, ClientSecretCredential, type TokenCredential } from '@azure/identity';
import type { KeyVaultSecret } from '@azure/keyvault-secrets';

import { describeCredential, type ExportConfig } from '../config.js';
import { ExportError } from '../errors.js';
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
  const name = source.name;
  let secret;
  try {
    secret = await vault.getSecret(name);
  } catch (error) {
    throw explainKeyVaultError(error, config);
  }
  const value = secret.value ?? '';
  if (value.trim() === '') {
    throw new ExportError(`The ${describeCredential(source)} in ${config.keyVaultUrl} is empty.`, {
      remedy:
        source.kind === 'certificate'
          ? `Create the certificate in Key Vault (a completed certificate with an exportable key), or point ${source.setting} at one.`
          : `Store the client secret's Value (not its Secret ID) as a new version of "${name}", or point ${source.setting} at the secret that holds it.`,
      code: 'CredentialInvalid',
    });
  }
  const options = { authorityHost: config.authorityHost };
  if (source.kind === 'secret') {
    return new ClientSecretCredential(config.tenantId, config.clientId, value, options);
  }
  const certificate = certificatePemFromKeyVault(value, secret.properties.contentType, name);
  return new ClientCertificateCredential(config.tenantId, config.clientId, { certificate }, options);
}
