import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { certificatePemFromKeyVault } from '../../src/azure/certificatePem.js';
import { EXPORT_COMPLETED_EVENT } from '../../src/azure/telemetry.js';
import { DEFAULT_SELECT } from '../../src/settings.js';
import { createAppCertificate } from '../../sandbox/certificates.js';
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

describe('a Key Vault certificate that renewed itself (a new version the app does not know)', () => {
  const renewedName = 'renewing-certificate';
  const manifest = async () =>
    JSON.parse(
      (await env.container.getBlobClient('latest/manifest.json').downloadToBuffer()).toString('utf8'),
    ) as { credentialWarning: string | null; userCount: number };

  it('keeps exporting with the earlier version, and warns in the log, the manifest and telemetry', async () => {
    const { vault, exportAppCertificate } = env.sandbox;
    const expires = Math.floor(Date.now() / 1000) + 30 * 86_400;
    vault.set(renewedName, {
      value: exportAppCertificate.pkcs12Base64,
      contentType: 'application/x-pkcs12',
      expires,
    });
    const renewed = createAppCertificate('CN=entra-user-export sandbox (renewed)');
    const newest = vault.set(renewedName, {
      value: renewed.pkcs12Base64,
      contentType: 'application/x-pkcs12',
    });
    const run = await env.runExport({ GRAPH_CLIENT_CERTIFICATE_NAME: renewedName });
    expect(run.exitCode, run.output).toBe(0);
    expect(run.output).toMatch(
      new RegExp(
        `Warning: The newest version \\(${newest}\\) of the certificate "${renewedName}" is not registered on app .* \\(AADSTS700027\\); signed in with the earlier version [0-9a-f]{32}, valid until ${new Date(expires * 1000).toISOString().replace(/\./g, '\\.')}`,
      ),
    );
    expect((await manifest()).credentialWarning).toMatch(
      /register-app\.sh --credential certificate --vault <vault> registers every current version/,
    );
    const event = env.sandbox.appInsights.events(EXPORT_COMPLETED_EVENT).at(-1)!;
    expect((event['properties'] as Record<string, string>)['credentialWarning']).toMatch(/AADSTS700027/);
  });

  it('signs in with the new version, without a warning, once it is registered', async () => {
    const newest = env.sandbox.vault.versions.get(renewedName)!.at(-1)!;
    // Registering the new version: its public certificate on the app (register-app.sh's job).
    const pem = certificatePemFromKeyVault(newest.value, 'application/x-pkcs12', renewedName);
    env.sandbox.exportApp.certificates.push(pem.slice(pem.indexOf('-----BEGIN CERTIFICATE-----')));
    const run = await env.runExport({ GRAPH_CLIENT_CERTIFICATE_NAME: renewedName });
    expect(run.exitCode, run.output).toBe(0);
    expect(run.output).not.toMatch(/Warning:/);
    expect((await manifest()).credentialWarning).toBeNull();
  });

  it('fails with AADSTS700027 when no valid earlier version is registered either', async () => {
    const lonely = createAppCertificate('CN=never registered');
    env.sandbox.vault.set('lonely-certificate', {
      value: lonely.pkcs12Base64,
      contentType: 'application/x-pkcs12',
      expires: 1,
    });
    env.sandbox.vault.set('lonely-certificate', {
      value: createAppCertificate('CN=also new').pkcs12Base64,
      contentType: 'application/x-pkcs12',
    });
    const run = await env.runExport({ GRAPH_CLIENT_CERTIFICATE_NAME: 'lonely-certificate' });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/Export failed \(CredentialRejected\).*AADSTS700027/);
  });
});

describe('secretless: the app trusts the function managed identity as a federated credential', () => {
  const federated = () => ({
    KEY_VAULT_URL: undefined,
    GRAPH_CLIENT_CERTIFICATE_NAME: undefined,
    GRAPH_CLIENT_SECRET_NAME: undefined,
    GRAPH_FEDERATED_IDENTITY_CLIENT_ID: env.sandbox.functionIdentity.clientId,
  });

  it('exports the whole directory with no secret, certificate or vault anywhere', async () => {
    const issuedBefore = env.sandbox.tenant.issued.length;
    const vaultReadsBefore = env.sandbox.vault.requests.length;
    const run = await env.runExport(federated());
    expect(run.exitCode, run.output).toBe(0);
    const users = JSON.parse(
      (await env.container.getBlobClient('latest/users.json').downloadToBuffer()).toString('utf8'),
    ) as unknown;
    expect(users).toEqual(expectedUsers(env.sandbox, DEFAULT_SELECT));
    expect(run.stdout).toContain(
      `credential: managed identity ${env.sandbox.functionIdentity.clientId} (federated credential), audience api://AzureADTokenExchange`,
    );
    // The identity's token for the exchange audience was the assertion; Key Vault was never asked.
    const issued = env.sandbox.tenant.issued.slice(issuedBefore);
    expect(issued.map(({ clientId, audience }) => ({ clientId, audience }))).toEqual([
      { clientId: env.sandbox.functionIdentity.clientId, audience: 'api://AzureADTokenExchange' },
      { clientId: env.sandbox.exportApp.clientId, audience: env.sandbox.origin },
    ]);
    expect(env.sandbox.vault.requests.length).toBe(vaultReadsBefore);
    expect(env.sandbox.managedIdentity.requests.at(-1)).toEqual({
      clientId: env.sandbox.functionIdentity.clientId,
      resource: 'api://AzureADTokenExchange',
    });
  });

  it('a federated credential whose subject is not the identity principal ID fails with the remedy', async () => {
    const trust = env.sandbox.exportApp.federatedCredentials[0]!;
    const principalId = trust.subject;
    // The common slip: the identity's client ID where its object (principal) ID belongs.
    trust.subject = env.sandbox.functionIdentity.clientId;
    try {
      const run = await env.runExport(federated());
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toMatch(/Export failed \(CredentialRejected\).*\(AADSTS700213\)/);
      expect(run.stderr).toMatch(
        /does not trust the managed identity .*: it needs a federated credential with issuer https:\/\/login\.microsoftonline\.com\/[0-9a-f-]+\/v2\.0, subject = that identity's principal \(object\) ID, and audience api:\/\/AzureADTokenExchange\. Run infra\/scripts\/register-app\.sh --credential federated/,
      );
    } finally {
      trust.subject = principalId;
    }
  });

  it('an app with no federated credential fails with the same remedy, and writes nothing', async () => {
    const before = (await env.container.getBlobClient('latest/manifest.json').downloadToBuffer()).toString(
      'utf8',
    );
    const trusts = env.sandbox.exportApp.federatedCredentials.splice(0);
    try {
      const run = await env.runExport(federated());
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toMatch(/\(AADSTS700211\).*register-app\.sh --credential federated --identity/);
    } finally {
      env.sandbox.exportApp.federatedCredentials.push(...trusts);
    }
    const after = (await env.container.getBlobClient('latest/manifest.json').downloadToBuffer()).toString(
      'utf8',
    );
    expect(after).toBe(before);
  });

  it('without a managed identity (a workstation), says the credential works in Azure and what to use here', async () => {
    const run = await env.runExport({
      ...federated(),
      IDENTITY_ENDPOINT: undefined,
      IDENTITY_HEADER: undefined,
    });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(
      /GRAPH_FEDERATED_IDENTITY_CLIENT_ID is set, but no managed identity is available here.*use a Key Vault certificate \(GRAPH_CLIENT_CERTIFICATE_NAME\)/,
    );
  });

  it('an identity that is not assigned to the function names the setting to fix', async () => {
    const run = await env.runExport({
      ...federated(),
      GRAPH_FEDERATED_IDENTITY_CLIENT_ID: '0f0e0d0c-0b0a-4909-8807-060504030201',
    });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(
      /managed identity 0f0e0d0c-0b0a-4909-8807-060504030201 could not get a api:\/\/AzureADTokenExchange token.*Set GRAPH_FEDERATED_IDENTITY_CLIENT_ID to the client ID of a user-assigned identity assigned to this function app/,
    );
  });
});
