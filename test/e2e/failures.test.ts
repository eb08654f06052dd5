import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EXPORT_COMPLETED_EVENT } from '../../src/azure/telemetry.js';
import type { ErrorCode } from '../../src/errors.js';
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
  const cases: [string, Record<string, string | undefined>, () => () => void, RegExp, ErrorCode][] = [
    [
      'a wrong client secret',
      asSecret('wrong-secret'),
      () => () => undefined,
      /AADSTS7000215\).*Store the secret's Value \(not its Secret ID\) in Key Vault as "wrong-secret"/,
      'CredentialRejected',
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
      'CredentialRejected',
    ],
    [
      'a certificate not registered on the app',
      { GRAPH_CLIENT_CERTIFICATE_NAME: 'unregistered-certificate' },
      () => () => undefined,
      /AADSTS700027\).*"unregistered-certificate" is not registered on the app registration/,
      'CredentialRejected',
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
      'GraphForbidden',
    ],
    [
      'a function identity without access to the vault',
      {},
      () => {
        env.sandbox.functionIdentity.vaultReader = false;
        return () => (env.sandbox.functionIdentity.vaultReader = true);
      },
      /was denied \(403 Forbidden\).*"Key Vault Secrets User"/,
      'KeyVaultDenied',
    ],
    [
      'a certificate name the vault does not have',
      { GRAPH_CLIENT_CERTIFICATE_NAME: 'missing-certificate' },
      () => () => undefined,
      /Key Vault has no certificate "missing-certificate" .*\(404 SecretNotFound\)\. Check GRAPH_CLIENT_CERTIFICATE_NAME/,
      'KeyVaultNotFound',
    ],
    [
      'a disabled secret',
      asSecret('disabled-secret'),
      () => () => undefined,
      /denied \(403 Forbidden\): Operation get is not allowed on a disabled secret/,
      'KeyVaultDenied',
    ],
    [
      'a tenant that does not exist',
      { GRAPH_TENANT_ID: randomUUID() },
      () => () => undefined,
      /AADSTS90002\).*Check GRAPH_TENANT_ID/,
      'CredentialRejected',
    ],
    [
      'an app that does not exist',
      { GRAPH_CLIENT_ID: randomUUID() },
      () => () => undefined,
      /AADSTS700016\).*Check GRAPH_CLIENT_ID and GRAPH_TENANT_ID/,
      'CredentialRejected',
    ],
    [
      'a malformed page',
      {},
      () => {
        env.sandbox.graph.faults = [{ page: 3, kind: 'malformed', times: Infinity }];
        return () => (env.sandbox.graph.faults = []);
      },
      /Microsoft Graph answered GET \/v1\.0\/users with a body that is not valid JSON/,
      'GraphMalformedPage',
    ],
    [
      'a page that stays unavailable past the retries',
      {},
      () => {
        env.sandbox.graph.faults = [{ page: 2, kind: 'unavailable', times: Infinity, retryAfterSeconds: 1 }];
        return () => (env.sandbox.graph.faults = []);
      },
      /kept throttling GET \/v1\.0\/users \(last answer: 503 ServiceUnavailable\): the request kept failing after every allowed retry \(6 throttled and 0 transient retries in this run\)/,
      'GraphThrottled',
    ],
    [
      'an invalid setting',
      { EXPORT_FORMAT: 'xml', EXPORT_SCHEDULE: '0 2 * * *' },
      () => () => undefined,
      /Configuration is invalid \(2 problems\)/,
      'ConfigInvalid',
    ],
    [
      'a nextLink Graph had already sent (a loop)',
      {},
      () => {
        env.sandbox.graph.faults = [{ page: 2, kind: 'repeat-next-link' }];
        return () => (env.sandbox.graph.faults = []);
      },
      /Microsoft Graph answered page 2 of \/users with an @odata\.nextLink it had already sent/,
      'GraphPagingLoop',
    ],
    [
      'a nextLink to another origin',
      {},
      () => {
        env.sandbox.graph.faults = [{ page: 2, kind: 'foreign-next-link' }];
        return () => (env.sandbox.graph.faults = []);
      },
      /page 2 of \/users with an @odata\.nextLink to https:\/\/localhost:\d+, another origin than GRAPH_ENDPOINT/,
      'GraphForeignOrigin',
    ],
    [
      'a redirect to another origin',
      {},
      () => {
        env.sandbox.graph.faults = [{ page: 3, kind: 'redirect', times: Infinity }];
        return () => (env.sandbox.graph.faults = []);
      },
      /redirected GET \/v1\.0\/users to another origin \(https:\/\/localhost:\d+\)/,
      'GraphForeignOrigin',
    ],
    [
      'a Retry-After longer than the export waits',
      {},
      () => {
        env.sandbox.graph.faults = [{ page: 2, kind: 'throttle', retryAfterSeconds: 900 }];
        return () => (env.sandbox.graph.faults = []);
      },
      /Graph asked to wait 900 s, longer than the 300 s the export waits at once/,
      'GraphThrottled',
    ],
    [
      'a storm of 500s past the retries',
      {},
      () => {
        env.sandbox.graph.faults = [{ page: 2, kind: 'status', status: 500, times: Infinity }];
        return () => (env.sandbox.graph.faults = []);
      },
      /kept failing GET \/v1\.0\/users \(last answer: 500 InternalServerError\).*0 throttled and 3 transient retries/,
      'GraphUnavailable',
    ],
    [
      'an export that would shrink to no users at all',
      { EXPORT_FILTER: "userType eq 'Nobody'" },
      () => () => undefined,
      /Refusing to replace latest\/: this run found 0 users where the last export .* has 3000, a drop of 3000 \(100%\) to none at all.*EXPORT_FILTER changed since then \(was none\).*EXPORT_ACCEPT_SHRINK_UNTIL/,
      'GuardRefused',
    ],
    [
      'an EXPORT_FILTER with an unbalanced parenthesis',
      { EXPORT_FILTER: '(accountEnabled eq true' },
      () => () => undefined,
      /EXPORT_FILTER has 1 "\(" without "\)"; got "\(accountEnabled eq true"/,
      'ConfigInvalid',
    ],
    [
      'an EXPORT_FILTER with a control character',
      { EXPORT_FILTER: 'accountEnabled eq\ttrue' },
      () => () => undefined,
      /EXPORT_FILTER must not contain control characters/,
      'ConfigInvalid',
    ],
  ];

  it.each(cases)(
    'because of %s says what to do, writes no blob, and leaves the last export byte-identical',
    async (_what, settings, arrange, message, code) => {
      const run = await runWith(settings, arrange);
      expect(run.exitCode, run.output).toBe(1);
      expect(run.stderr).toContain(
        `Export failed (${code}); nothing was written and the last export is unchanged.`,
      );
      expect(run.stderr.replace(/\n/g, ' ')).toMatch(message);
      const after = await env.blobs();
      expect([...after.keys()]).toEqual([...goodExport.keys()]);
      for (const [name, content] of goodExport) expect(after.get(name)!.equals(content), name).toBe(true);
    },
  );

  it('a --settings file that does not exist is an error, not a run of something else', async () => {
    const requestsBefore = env.sandbox.graph.requests.length;
    const run = await env.runExport({}, ['--settings', 'local.setings.json']);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(
      /--settings local\.setings\.json: there is no such file \(.*local\.setings\.json\)\./,
    );
    expect(run.stdout).not.toMatch(/sandbox/);
    expect(env.sandbox.graph.requests.length).toBe(requestsBefore);
  });

  it('reports each failure to Application Insights, and the good run as a completed event', () => {
    const exceptions = env.sandbox.appInsights.items.filter(
      (item) => item.data?.baseType === 'ExceptionData',
    );
    expect(exceptions).toHaveLength(cases.length);
    expect(
      exceptions.map((item) => (item.data?.baseData?.['properties'] as Record<string, string>)['errorCode']),
    ).toEqual(cases.map((testCase) => testCase[4]));
    const completed = env.sandbox.appInsights.events(EXPORT_COMPLETED_EVENT);
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({
      properties: { listingMode: 'sequential', guardDecision: 'first-export' },
      measurements: { userCount: 3000, pages: 4, retries: 0, throttledRetries: 0, transientRetries: 0 },
    });
    expect(JSON.stringify(env.sandbox.appInsights.items)).not.toContain('foreign-user-1');
  });

  it('never lets a secret, token or key reach a log line, a blob or telemetry', async () => {
    const { sandbox } = env;
    const app = sandbox.exportAppCertificate;
    const keyBody = app.keyPem.split('\n').filter((line) => line && !line.startsWith('-----'));
    const secrets = [
      sandbox.exportAppSecret,
      sandbox.managedIdentity.identityHeader,
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
