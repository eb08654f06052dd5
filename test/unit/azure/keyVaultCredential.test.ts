import { ClientCertificateCredential, ClientSecretCredential } from '@azure/identity';
import { describe, expect, it } from 'vitest';

import { readGraphCredential, type SecretReader } from '../../../src/azure/keyVaultCredential.js';
import { loadConfig } from '../../../src/config.js';
import { ExportError } from '../../../src/errors.js';
import { createAppCertificate } from '../../../sandbox/certificates.js';
import { validEnv } from '../validEnv.js';

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
    const credential = await readGraphCredential(loadConfig(validEnv()), secrets);
    expect(credential).toBeInstanceOf(ClientSecretCredential);
    expect(secrets.read).toEqual(['graph-client-secret']);
  });

  it('a certificate name gives a ClientCertificateCredential from the PKCS#12 Key Vault returns', async () => {
    const app = createAppCertificate();
    const config = loadConfig(
      validEnv({ GRAPH_CLIENT_SECRET_NAME: undefined, GRAPH_CLIENT_CERTIFICATE_NAME: 'graph-cert' }),
    );
    const credential = await readGraphCredential(
      config,
      vault({ 'graph-cert': { value: app.pkcs12Base64, contentType: 'application/x-pkcs12' } }),
    );
    expect(credential).toBeInstanceOf(ClientCertificateCredential);
  });

  it('a missing entry fails with the setting to check', async () => {
    const error = await readGraphCredential(loadConfig(validEnv()), vault({})).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExportError);
    expect((error as Error).message).toMatch(/no secret "graph-client-secret".*GRAPH_CLIENT_SECRET_NAME/);
  });

  it('an empty secret fails rather than signing in with nothing', async () => {
    const error = await readGraphCredential(
      loadConfig(validEnv()),
      vault({ 'graph-client-secret': { value: '' } }),
    ).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(
      /^The client secret "graph-client-secret" in https:\/\/kv-test.vault.azure.net is empty\. Store the client secret.s Value/,
    );
  });
});
