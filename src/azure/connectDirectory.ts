import {
  ClientAssertionCredential,
  DefaultAzureCredential,
  ManagedIdentityCredential,
  type TokenCredential,
} from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';

import {
  describeCredential,
  type ExportConfig,
  type FederatedCredentialSource,
  type VaultCredentialSource,
} from '../config.js';
import type { UserDirectory } from '../export/runExport.js';
import { openGraphDirectory } from './graphUsers.js';
import { earlierCertificateVersions, readGraphCredential, type SecretReader } from './keyVaultCredential.js';
import { explainManagedIdentityError } from './serviceErrors.js';

/**
 * The production wiring: the app signs in with its federated managed identity, or with the
 * credential the function's own identity reads from Key Vault; that credential opens the
 * directory through Graph.
 */
export async function connectDirectory(config: ExportConfig): Promise<UserDirectory> {
  const source = config.graphCredential;
  if (source.kind === 'federated') return openGraphDirectory(config, federatedCredential(config, source));
  return connectWithVault(config, source, new SecretClient(source.keyVaultUrl, new DefaultAzureCredential()));
}

/** The app's client assertion is a token the function's managed identity gets for the token-exchange audience. */
export function federatedCredential(
  config: ExportConfig,
  source: FederatedCredentialSource,
): TokenCredential {
  const identity = new ManagedIdentityCredential({ clientId: source.managedIdentityClientId });
  return new ClientAssertionCredential(
    config.tenantId,
    config.clientId,
    async () => {
      try {
        return (await identity.getToken(`${source.audience}/.default`)).token;
      } catch (error) {
        throw explainManagedIdentityError(error, source);
      }
    },
    { authorityHost: config.authorityHost },
  );
}

/**
 * A Key Vault certificate with the default policy renews itself before it expires, as a new
 * version with a new thumbprint the app registration does not know yet (AADSTS700027). Rather
 * than fail every run from that day, sign in with the newest earlier version that is still valid
 * and warn, for as long as it lasts, that the new one must be registered.
 */
export async function connectWithVault(
  config: ExportConfig,
  source: VaultCredentialSource,
  vault: SecretReader,
): Promise<UserDirectory> {
  const newest = await readGraphCredential(config, source, vault);
  try {
    return await openGraphDirectory(config, newest.credential);
  } catch (error) {
    if (
      source.kind !== 'certificate' ||
      !isUnregisteredCertificate(error) ||
      vault.listPropertiesOfSecretVersions === undefined
    ) {
      throw error;
    }
    const versions = [];
    for await (const properties of vault.listPropertiesOfSecretVersions(source.name)) {
      versions.push(properties);
    }
    for (const version of earlierCertificateVersions(versions, newest.version, new Date())) {
      const earlier = await readGraphCredential(config, source, vault, version);
      let directory: UserDirectory;
      try {
        directory = await openGraphDirectory(config, earlier.credential);
      } catch (earlierError) {
        if (isUnregisteredCertificate(earlierError)) continue;
        throw earlierError;
      }
      const expires = versions.find((properties) => properties.version === version)?.expiresOn;
      return {
        ...directory,
        credentialWarning:
          `The newest version (${newest.version ?? 'unknown'}) of the ${describeCredential(source)} is not registered on app ${config.clientId} (AADSTS700027); ` +
          `signed in with the earlier version ${version}${expires ? `, valid until ${expires.toISOString()}` : ''}. ` +
          'Register the new version before then: infra/scripts/register-app.sh --credential certificate --vault <vault> registers every current version.',
      };
    }
    throw error;
  }
}

function isUnregisteredCertificate(error: unknown): boolean {
  return error instanceof Error && /AADSTS700027/.test(error.message);
}
