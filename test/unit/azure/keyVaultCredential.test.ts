import { ClientCertificateCredential, ClientSecretCredential } from '@azure/identity';
import { describe, expect, it } from 'vitest';

import {
  earlierCertificateVersions,
  readGraphCredential,
  type SecretReader,
} from '../../../src/azure/keyVaultCredential.js';
import { loadConfig } from '../../../src/config.js';
import { ExportError } from '../../../src/errors.js';
import { createAppCertificate } from '../../../sandbox/certificates.js';
import { validEnv, vaultSource } from '../validEnv.js';

function vault(
  entries: Record<string, { value?: string; contentType?: string }>,
): SecretReader & { read: string[] } {
  const read: string[] = [];
  return {
    read,
    getSecret: async (name) => {
      read.push(name);
      const entry = entries[name];
      if (!entry)
        throw Object.assign(new Error(`A secret with (name/id) ${name} was not found`), {
          statusCode: 404,
          code: 'SecretNotFound',
        });
      return {
        value: entry.value,
        properties: { name, vaultUrl: 'https://kv-test.vault.azure.net', contentType: entry.contentType },
      };
    },
  };
}

describe('readGraphCredential', () => {
  it('a client secret name gives a ClientSecretCredential', async () => {
    const secrets = vault({ 'graph-client-secret': { value: 'the-secret' } });
    const config0 = loadConfig(validEnv());
    const { credential } = await readGraphCredential(config0, vaultSource(config0), secrets);
    expect(credential).toBeInstanceOf(ClientSecretCredential);
    expect(secrets.read).toEqual(['graph-client-secret']);
  });

  it('a certificate name gives a ClientCertificateCredential from the PKCS#12 Key Vault returns', async () => {
    const app = createAppCertificate();
    const config = loadConfig(
      validEnv({ GRAPH_CLIENT_SECRET_NAME: undefined, GRAPH_CLIENT_CERTIFICATE_NAME: 'graph-cert' }),
    );
    const { credential } = await readGraphCredential(
      config,
      vaultSource(config),
      vault({ 'graph-cert': { value: app.pkcs12Base64, contentType: 'application/x-pkcs12' } }),
    );
    expect(credential).toBeInstanceOf(ClientCertificateCredential);
  });

  it('a missing entry fails with the setting to check', async () => {
    const config = loadConfig(validEnv());
    const error = await readGraphCredential(config, vaultSource(config), vault({})).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExportError);
    expect((error as Error).message).toMatch(/no secret "graph-client-secret".*GRAPH_CLIENT_SECRET_NAME/);
  });

  it('an empty secret fails rather than signing in with nothing', async () => {
    const config = loadConfig(validEnv());
    const error = await readGraphCredential(
      config,
      vaultSource(config),
      vault({ 'graph-client-secret': { value: '' } }),
    ).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(
      /^The client secret "graph-client-secret" in https:\/\/kv-test.vault.azure.net is empty\. Store the client secret.s Value/,
    );
  });
});

describe('earlierCertificateVersions', () => {
  const now = new Date('2026-11-25T02:00:00Z');
  const at = (iso: string) => new Date(iso);
  it('tries every other enabled version valid now, newest first', () => {
    expect(
      earlierCertificateVersions(
        [
          { version: 'v1', createdOn: at('2025-01-01T00:00:00Z'), expiresOn: at('2026-01-01T00:00:00Z') },
          { version: 'v2', createdOn: at('2025-12-01T00:00:00Z'), expiresOn: at('2026-12-20T00:00:00Z') },
          {
            version: 'v3',
            createdOn: at('2026-10-01T00:00:00Z'),
            expiresOn: at('2027-12-20T00:00:00Z'),
            enabled: false,
          },
          { version: 'v4', createdOn: at('2026-11-01T00:00:00Z'), expiresOn: at('2027-11-01T00:00:00Z') },
          { version: 'v5', createdOn: at('2026-11-20T00:00:00Z'), notBefore: at('2026-12-01T00:00:00Z') },
          { version: 'v6', createdOn: at('2026-11-24T00:00:00Z') },
        ],
        'v6',
        now,
      ),
    ).toEqual(['v4', 'v2']);
  });
});
