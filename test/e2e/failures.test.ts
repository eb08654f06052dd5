import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EXPORT_COMPLETED_EVENT } from '../../src/azure/telemetry.js';
import { createAppCertificate } from '../../sandbox/certificates.js';
import { SECRET_NAME } from '../../sandbox/sandbox.js';
import { type Environment, startEnvironment } from './harness.js';

let env: Environment;
let goodExport: Map<string, Buffer>;

beforeAll(async () => {
  env = await startEnvironment({ users: 3000 });
  env.sandbox.vault.set('wrong-secret', { value: `not-the-secret-${randomUUID()}` });
  env.sandbox.vault.set('unregistered-certificate', {
    value: createAppCertificate('CN=not registered').pkcs12Base64,
    contentType: 'application/x-pkcs12',
  });
  env.sandbox.vault.set('disabled-secret', { value: env.sandbox.exportAppSecret, enabled: false });
  const run = await env.runExport();
  expect(run.exitCode, run.output).toBe(0);
  goodExport = await env.blobs();
});
afterAll(async () => env.stop());

/** Runs with a fault in place, then takes it away again. */
async function runWith(
  settings: Record<string, string | undefined>,
  arrange: () => () => void = () => () => undefined,
) {
  const restore = arrange();
  try {
    return await env.runExport(settings);
  } finally {
    restore();
  }
}

const asSecret = (name: string) => ({
  GRAPH_CLIENT_SECRET_NAME: name,
  GRAPH_CLIENT_CERTIFICATE_NAME: undefined,
});

describe('a run that fails', () => {
  const cases: [string, Record<string, string | undefined>, () => () => void, RegExp][] = [
    [
      'a wrong client secret',
      asSecret('wrong-secret'),
      () => () => undefined,
      /AADSTS7000215\).*Store the secret's Value \(not its Secret ID\) in Key Vault as "wrong-secret"/,
    ],
    [
      'an expired client secret',
      asSecret(SECRET_NAME),
      () => {
        const secret = env.sandbox.exportApp.secrets[0]!;
        const expiresAt = secret.expiresAt;
        secret.expiresAt = new Date(Date.now() - 86_400_000);
        return () => (secret.expiresAt = expiresAt);
      },
      /AADSTS7000222\).*expired.*GRAPH_CLIENT_CERTIFICATE_NAME/,
    ],
    [
      'a certificate not registered on the app',
      { GRAPH_CLIENT_CERTIFICATE_NAME: 'unregistered-certificate' },
      () => () => undefined,
      /AADSTS700027\).*"unregistered-certificate" is not registered on the app registration/,
    ],
    [
      'no admin consent for User.Read.All',
      {},
      () => {
        const roles = env.sandbox.exportApp.graphRoles;
        env.sandbox.exportApp.graphRoles = [];
        return () => (env.sandbox.exportApp.graphRoles = roles);
      },
      /403 Authorization_RequestDenied: Insufficient privileges to complete the operation\..*User\.Read\.All.*\/adminconsent\?client_id=/,
    ],
    [
      'a function identity without access to the vault',
      {},
      () => {
        env.sandbox.functionIdentity.vaultReader = false;
        return () => (env.sandbox.functionIdentity.vaultReader = true);
      },
      /was denied \(403 Forbidden\).*"Key Vault Secrets User"/,
    ],
    [
      'a certificate name the vault does not have',
      { GRAPH_CLIENT_CERTIFICATE_NAME: 'missing-certificate' },
      () => () => undefined,
      /Key Vault has no certificate "missing-certificate" .*\(404 SecretNotFound\)\. Check GRAPH_CLIENT_CERTIFICATE_NAME/,
    ],
    [
      'a disabled secret',
      asSecret('disabled-secret'),
      () => () => undefined,
      /denied \(403 Forbidden\): Operation get is not allowed on a disabled secret/,
    ],
    [
      'a tenant that does not exist',
      { GRAPH_TENANT_ID: randomUUID() },
      () => () => undefined,
      /AADSTS90002\).*Check GRAPH_TENANT_ID/,
    ],
    [
      'an app that does not exist',
      { GRAPH_CLIENT_ID: randomUUID() },
      () => () => undefined,
      /AADSTS700016\).*Check GRAPH_CLIENT_ID and GRAPH_TENANT_ID/,
    ],
    [
      'a malformed page',
      {},
      () => {
        env.sandbox.graph.faults = [{ page: 3, kind: 'malformed', times: Infinity }];
        return () => (env.sandbox.graph.faults = []);
      },
      /Microsoft Graph answered GET \/v1\.0\/users with a body that is not valid JSON/,
    ],
    [
      'a page that stays unavailable past the retries',
      {},
      () => {
        env.sandbox.graph.faults = [{ page: 2, kind: 'unavailable', times: Infinity, retryAfterSeconds: 0 }];
        return () => (env.sandbox.graph.faults = []);
      },
      /503 ServiceUnavailable: Service unavailable\. \(after 6 retries in this run\)/,
    ],
    [
      'an invalid setting',
      { EXPORT_FORMAT: 'xml', EXPORT_SCHEDULE: '0 2 * * *' },
      () => () => undefined,
      /Configuration is invalid \(2 problems\)/,
    ],
  ];

  it.each(cases)(
    'because of %s says what to do, writes no blob, and leaves the last export byte-identical',
    async (_what, settings, arrange, message) => {
      const run = await runWith(settings, arrange);
      expect(run.exitCode, run.output).toBe(1);
      expect(run.stderr).toMatch(/Export failed; nothing was written and the last export is unchanged\./);
      expect(run.stderr.replace(/\n/g, ' ')).toMatch(message);
      const after = await env.blobs();
      expect([...after.keys()]).toEqual([...goodExport.keys()]);
      for (const [name, content] of goodExport) expect(after.get(name)!.equals(content), name).toBe(true);
    },
  );

  it('reports each failure to Application Insights, and the good run as a completed event', () => {
    const exceptions = env.sandbox.appInsights.items.filter(
      (item) => item.data?.baseType === 'ExceptionData',
    );
    expect(exceptions).toHaveLength(cases.length);
    const completed = env.sandbox.appInsights.events(EXPORT_COMPLETED_EVENT);
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({ measurements: { userCount: 3000, pages: 4, retries: 0 } });
  });

  it('never lets a secret, token or key reach a log line, a blob or telemetry', async () => {
    const { sandbox } = env;
    const app = sandbox.exportAppCertificate;
    const keyBody = app.keyPem.split('\n').filter((line) => line && !line.startsWith('-----'));
    const secrets = [
      sandbox.exportAppSecret,
      sandbox.functionIdentitySecret,
      sandbox.vault.entries.get('wrong-secret')!.value,
      ...keyBody.slice(1, 4),
      app.pkcs12Base64.slice(100, 160),
      ...sandbox.tenant.issued.map((issued) => issued.token.split('.')[2]!),
    ];
    expect(sandbox.tenant.issued.length).toBeGreaterThan(4);
    const blobs = [...(await env.blobs()).values()].map((content) => content.toString('latin1'));
    const haystacks = [...env.allOutput, ...blobs, ...sandbox.appInsights.rawBodies];
    for (const secret of secrets) {
      for (const haystack of haystacks) expect(haystack.includes(secret)).toBe(false);
    }
  });
});
