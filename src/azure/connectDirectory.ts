import { DefaultAzureCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';

import type { ExportConfig } from '../config.js';
import type { UserDirectory } from '../export/runExport.js';
import { openGraphDirectory } from './graphUsers.js';
import { readGraphCredential } from './keyVaultCredential.js';

/**
 * The production wiring: the function's own identity reads the app's credential from Key Vault,
 * and that credential opens the directory through Graph.
 */
export async function connectDirectory(config: ExportConfig): Promise<UserDirectory> {
  const vault = new SecretClient(config.keyVaultUrl, new DefaultAzureCredential());
  const graphCredential = await readGraphCredential(config, vault);
  return openGraphDirectory(config, graphCredential);
}
