import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DEFAULT_SELECT } from '../../src/settings.js';
import { CERTIFICATE_NAME, PEM_CERTIFICATE_NAME, SECRET_NAME } from '../../sandbox/sandbox.js';
import { type Environment, expectedUsers, startEnvironment } from './harness.js';

let env: Environment;
beforeAll(async () => {
  env = await startEnvironment({ users: 1500 });
});
afterAll(async () => env.stop());

describe('signing in with the credential from Key Vault', () => {
  it.each([
    ['a client secret', { GRAPH_CLIENT_SECRET_NAME: SECRET_NAME, GRAPH_CLIENT_CERTIFICATE_NAME: undefined }],
    ['a certificate stored as PKCS#12', { GRAPH_CLIENT_CERTIFICATE_NAME: CERTIFICATE_NAME }],
    ['a certificate stored as PEM', { GRAPH_CLIENT_CERTIFICATE_NAME: PEM_CERTIFICATE_NAME }],
  ])('with %s, the whole directory is exported', async (_what, settings) => {
    const issuedBefore = env.sandbox.tenant.issued.length;
    const run = await env.runExport(settings);
    expect(run.exitCode, run.output).toBe(0);
    const users = JSON.parse(
      (await env.container.getBlobClient('latest/users.json').downloadToBuffer()).toString('utf8'),
    ) as unknown;
    expect(users).toEqual(expectedUsers(env.sandbox, DEFAULT_SELECT));

    // The function's identity read Key Vault; the export app signed in to Graph.
    const issued = env.sandbox.tenant.issued.slice(issuedBefore);
    expect(issued.map(({ clientId, audience }) => ({ clientId, audience }))).toEqual([
      { clientId: env.sandbox.functionIdentity.clientId, audience: 'https://vault.azure.net' },
      { clientId: env.sandbox.exportApp.clientId, audience: env.sandbox.origin },
    ]);
    expect(run.stdout).toContain('Export complete: 1500 users, 2 pages, 0 retries');
  });
});
