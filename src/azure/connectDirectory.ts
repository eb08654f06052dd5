import { DefaultAzureCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';

import { describeCredential, type ExportConfig } from '../config.js';
import type { UserDirectory } from '../export/runExport.js';
import { openGraphDirectory } from './graphUsers.js';
import { earlierCertificateVersions, readGraphCredential, type SecretReader } from './keyVaultCredential.js';

/**
 * The production wiring: the function's own identity reads the app's credential from Key Vault,
 * and that credential opens the directory through Graph.
 */
export async function connectDirectory(config: ExportConfig): Promise<UserDirectory> {
  return connectWithVault(config, new SecretClient(config.keyVaultUrl, new DefaultAzureCredential()));
}

/**
 * A Key Vault certificate with the default policy renews itself before it expires, as a new
 * version with a new thumbprint the app registration does not know yet (AADSTS700027). Rather
 * than fail every run from that day, sign in with the newest earlier version that is still valid
 * and warn, for as long as it lasts, that the new one must be registered.
 */
export async function connectWithVault(config: ExportConfig, vault: SecretReader): Promise<UserDirectory> {
  const newest = await readGraphCredential(config, vault);
  try {
    return await openGraphDirectory(config, newest.credential);
  } catch (error) {
    if (
      config.graphCredential.kind !== 'certificate' ||
      !isUnregisteredCertificate(error) ||
      vault.listPropertiesOfSecretVersions === undefined
    ) {
      throw error;
    }
    const versions = [];
    for await (const properties of vault.listPropertiesOfSecretVersions(config.graphCredential.name)) {
      versions.push(properties);
    }
    for (const version of earlierCertificateVersions(versions, newest.version, new Date())) {
      const earlier = await readGraphCredential(config, vault, version);
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
          `The newest version (${newest.version ?? 'unknown'}) of the ${describeCredential(config.graphCredential)} is not registered on app ${config.clientId} (AADSTS700027); ` +
          `signed in with the earlier version ${version}${expires ? `, valid until ${expires.toISOString()}` : ''}. ` +
          'Register the new version before then: infra/scripts/register-app.sh --vault <vault> registers every current version.',
      };
    }
    throw error;
  }
}

function isUnregisteredCertificate(error: unknown): boolean {
  return error instanceof Error && /AADSTS700027/.test(error.message);
}
