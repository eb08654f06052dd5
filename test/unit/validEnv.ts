import type { ExportConfig, VaultCredentialSource } from '../../src/config.js';
import type { Env } from '../../src/settings.js';

export const TENANT_ID = '11111111-2222-4333-8444-555555555555';
export const CLIENT_ID = '66666666-7777-4888-9999-000000000000';

/** The smallest set of settings that makes a valid configuration. */
export function validEnv(overrides: Record<string, string | undefined> = {}): Env {
  return {
    KEY_VAULT_URL: 'https://kv-test.vault.azure.net',
    GRAPH_CLIENT_SECRET_NAME: 'graph-client-secret',
    GRAPH_TENANT_ID: TENANT_ID,
    GRAPH_CLIENT_ID: CLIENT_ID,
    EXPORT_STORAGE: 'UseDevelopmentStorage=true',
    ...overrides,
  };
}

/** The Key Vault credential of a configuration that has one. */
export function vaultSource(config: ExportConfig): VaultCredentialSource {
  if (config.graphCredential.kind === 'federated')
    throw new Error('this configuration has no Key Vault credential');
  return config.graphCredential;
}
