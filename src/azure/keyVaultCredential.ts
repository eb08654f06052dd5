import { ClientCertificateCredential, ClientSecretCredential, type TokenCredential } from '@azure/identity';
import type { KeyVaultSecret, SecretProperties } from '@azure/keyvault-secrets';

import { describeCredential, type ExportConfig, type VaultCredentialSource } from '../config.js';
import { ExportError } from '../errors.js';
import { certificatePemFromKeyVault } from './certificatePem.js';
import { hostOf, REQUEST_TIMEOUT_MS, withDeadline } from './deadlines.js';
import { explainKeyVaultError } from './serviceErrors.js';

/** The Key Vault calls the export makes. */
export interface SecretReader {
  getSecret(
    name: string,
    options?: { version?: string; abortSignal?: AbortSignal; requestOptions?: { timeout?: number } },
  ): Promise<Pick<KeyVaultSecret, 'value' | 'properties'>>;
  /** Every version of a secret (a certificate's renewals are versions of its secret). */
  listPropertiesOfSecretVersions?(name: string): AsyncIterable<SecretProperties>;
}

/** An Entra ID credential built from one version of the Key Vault entry. */
export interface GraphCredential {
  credential: TokenCredential;
  version: string | undefined;
}

/**
 * The versions of a certificate to try when its newest version is not registered on the app:
 * every other enabled one that is valid now, newest first.
 */
export function earlierCertificateVersions(
  versions: readonly Pick<
    SecretProperties,
    'version' | 'enabled' | 'createdOn' | 'expiresOn' | 'notBefore'
  >[],
  newest: string | undefined,
  now: Date,
): string[] {
  return versions
    .filter(
      (version) =>
        version.version !== undefined &&
        version.version !== newest &&
        version.enabled !== false &&
        (version.expiresOn === undefined || version.expiresOn.getTime() > now.getTime()) &&
        (version.notBefore === undefined || version.notBefore.getTime() <= now.getTime()),
    )
    .sort((a, b) => (b.createdOn?.getTime() ?? 0) - (a.createdOn?.getTime() ?? 0))
    .map((version) => version.version!);
}

/**
 * Reads the app registration's credential from Key Vault (its newest version, or the one named)
 * and returns the Entra ID credential that gets Graph tokens with it.
 */
export async function readGraphCredential(
  config: ExportConfig,
  source: VaultCredentialSource,
  vault: SecretReader,
  version?: string,
): Promise<GraphCredential> {
  const name = source.name;
  let secret;
  try {
    // The deadline covers the whole call: the vault's 401 challenge, the identity's token, the read.
    secret = await withDeadline(
      {
        service: 'Key Vault',
        host: hostOf(source.keyVaultUrl),
        waitingFor: `the ${source.kind} "${name}"`,
        timeoutMs: REQUEST_TIMEOUT_MS,
      },
      (abortSignal) =>
        vault.getSecret(name, {
          ...(version === undefined ? {} : { version }),
          abortSignal,
          requestOptions: { timeout: REQUEST_TIMEOUT_MS },
        }),
    );
  } catch (error) {
    throw explainKeyVaultError(error, source);
  }
  const value = secret.value ?? '';
  if (value.trim() === '') {
    throw new ExportError(`The ${describeCredential(source)} in ${source.keyVaultUrl} is empty.`, {
      remedy:
        source.kind === 'certificate'
          ? `Create the certificate in Key Vault (a completed certificate with an exportable key), or point ${source.setting} at one.`
          : `Store the client secret's Value (not its Secret ID) as a new version of "${name}", or point ${source.setting} at the secret that holds it.`,
      code: 'CredentialInvalid',
    });
  }
  const options = { authorityHost: config.authorityHost };
  const read = secret.properties.version;
  if (source.kind === 'secret') {
    return {
      credential: new ClientSecretCredential(config.tenantId, config.clientId, value, options),
      version: read,
    };
  }
  const certificate = certificatePemFromKeyVault(value, secret.properties.contentType, name);
  return {
    credential: new ClientCertificateCredential(config.tenantId, config.clientId, { certificate }, options),
    version: read,
  };
}
