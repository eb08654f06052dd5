import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeEach, describe, expect, it } from 'vitest';

const SCRIPT = join(import.meta.dirname, '..', '..', '..', 'infra', 'scripts', 'register-app.sh');
const FAKE_AZ = join(import.meta.dirname, '..', '..', 'fakes', 'fake-az.mjs');
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

interface FakeState {
  tenantId: string;
  identities?: { name: string; principalId: string; clientId: string }[];
  apps: Record<
    string,
    {
      displayName: string;
      sp: boolean;
      permissions: string[];
      consented: boolean;
      certificates: string[];
      passwords: { keyId: string; displayName: string | null; value: string }[];
      federatedCredentials?: { name: string; issuer: string; subject: string; audiences: string[] }[];
    }
  >;
  vault: {
    name: string;
    certificates: Record<
      string,
      {
        thumbprint: string;
        versions: { version: string; thumbprint: string; enabled: boolean; expires: string | null }[];
      }
    >;
    secrets: Record<string, string>;
    secretVersions?: Record<string, number>;
    deletedSecrets?: string[];
  };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'register-app-'));
  symlinkSync(FAKE_AZ, join(dir, 'az'));
  writeFileSync(
    join(dir, 'state.json'),
    JSON.stringify({
      tenantId: TENANT,
      apps: {},
      vault: { name: 'kv-export', certificates: {}, secrets: {} },
    }),
  );
});

function register(args: string[], extraEnv: Record<string, string> = {}) {
  const result = spawnSync('bash', [SCRIPT, ...args], {
    env: {
      PATH: `${dir}:${process.env['PATH'] ?? ''}`,
      FAKE_AZ_STATE: join(dir, 'state.json'),
      FAKE_AZ_LOG: join(dir, 'calls.log'),
      ...extraEnv,
    },
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
const state = () => JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as FakeState;

/** An app registration that already exists in the fake tenant. */
function seedApp(displayName: string): string {
  const current = state();
  const appId = randomUUID();
  current.apps[appId] = {
    displayName,
    sp: true,
    permissions: [],
    consented: false,
    certificates: [],
    passwords: [],
  };
  (current.apps[appId] as Record<string, unknown>)['appId'] = appId;
  writeFileSync(join(dir, 'state.json'), JSON.stringify(current));
  return appId;
}
const calls = () =>
  readFileSync(join(dir, 'calls.log'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as string[]).join(' '));

describe('infra/scripts/register-app.sh', () => {
  it('registers the app with User.Read.All and consent, a Key Vault certificate, and prints the settings', () => {
    const run = register(['--credential', 'certificate', '--vault', 'kv-export']);
    expect(run.status, run.stderr).toBe(0);
    const [app] = Object.values(state().apps);
    expect(app).toMatchObject({
      displayName: 'entra-user-export',
      sp: true,
      permissions: ['df021288-bdef-4463-88db-98f22de89214'],
      consented: true,
    });
    const thumbprint = state().vault.certificates['graph-client-certificate']!.thumbprint;
    expect(app!.certificates).toEqual([thumbprint]);
    const appId = Object.keys(state().apps)[0]!;
    expect(run.stdout).toBe(
      `KEY_VAULT_URL=https://kv-export.vault.azure.net\nGRAPH_TENANT_ID=${TENANT}\nGRAPH_CLIENT_ID=${appId}\nGRAPH_CLIENT_CERTIFICATE_NAME=graph-client-certificate\n`,
    );
  });

  it("never takes another app whose name merely starts with the same text (the CLI's --display-name is a prefix match)", () => {
    const prod = seedApp('entra-user-export-prod');
    const run = register(['--credential', 'certificate', '--vault', 'kv-export']);
    expect(run.status, run.stderr).toBe(0);
    expect(state().apps[prod]).toMatchObject({
      certificates: [],
      consented: false,
      permissions: [],
      passwords: [],
    });
    const created = Object.values(state().apps).find((app) => app.displayName === 'entra-user-export');
    expect(created).toMatchObject({ consented: true });
    expect(run.stdout).not.toContain(prod);
    expect(calls().filter((call) => call.includes(prod))).toEqual([]);
  });

  it('refuses to choose between two apps of the same name, and names them', () => {
    const first = seedApp('entra-user-export');
    const second = seedApp('entra-user-export');
    const run = register(['--credential', 'certificate', '--vault', 'kv-export']);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(first);
    expect(run.stderr).toContain(second);
    expect(run.stderr).toMatch(
      /2 app registrations are named exactly 'entra-user-export'.*\n.*\n.*choose one with --app-id/s,
    );
    expect(calls().filter((call) => / (create|add|reset|set|admin-consent)\b/.test(call))).toEqual([]);
  });

  it('uses the app --app-id names, and refuses one that does not exist', () => {
    seedApp('entra-user-export');
    const chosen = seedApp('entra-user-export');
    const run = register(['--credential', 'certificate', '--vault', 'kv-export', '--app-id', chosen]);
    expect(run.status, run.stderr).toBe(0);
    expect(state().apps[chosen]).toMatchObject({ consented: true });
    expect(run.stdout).toContain(`GRAPH_CLIENT_ID=${chosen}`);
    const missing = register([
      '--credential',
      'certificate',
      '--vault',
      'kv-export',
      '--app-id',
      '00000000-0000-4000-8000-000000000000',
    ]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(
      /no app registration with application ID 00000000-0000-4000-8000-000000000000/,
    );
  });

  it('matches a display name with a quote in it exactly', () => {
    const existing = seedApp("O'Brien's export");
    const run = register([
      '--credential',
      'certificate',
      '--vault',
      'kv-export',
      '--app-name',
      "O'Brien's export",
    ]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain(`GRAPH_CLIENT_ID=${existing}`);
    expect(calls()).toContain(
      `ad app list --filter displayName eq 'O''Brien''s export' --query [].appId -o tsv`,
    );
  });

  it('changes nothing when run again', () => {
    expect(register(['--credential', 'certificate', '--vault', 'kv-export']).status).toBe(0);
    const before = state();
    writeFileSync(join(dir, 'calls.log'), '');
    const again = register(['--credential', 'certificate', '--vault', 'kv-export']);
    expect(again.status, again.stderr).toBe(0);
    expect(state()).toEqual(before);
    expect(calls().filter((call) => / (create|add|reset|set|download)\b/.test(call))).toEqual([]);
    expect(again.stderr).toMatch(/app registration 'entra-user-export' exists/);
  });

  it('stores a client secret only in Key Vault, never on screen', () => {
    const run = register(['--vault', 'kv-export', '--credential', 'secret']);
    expect(run.status, run.stderr).toBe(0);
    const secret = state().vault.secrets['graph-client-secret']!;
    expect(secret).toMatch(/^fake~[0-9a-f]{32}$/);
    expect(run.stdout + run.stderr).not.toContain(secret);
    expect(calls().join('\n')).not.toContain(secret);
    expect(run.stdout).toMatch(/GRAPH_CLIENT_SECRET_NAME=graph-client-secret\n$/);
    // The deployment step names the same credential, in the one parameter the Bicep and azd take.
    expect(run.stderr).toContain('graphCredential=secret:graph-client-secret');
    expect(run.stderr).toContain('azd env set GRAPH_CREDENTIAL secret:graph-client-secret');
  });

  describe('client secret rotation (--rotate)', () => {
    const secretArgs = ['--vault', 'kv-export', '--credential', 'secret'];
    const theApp = () => Object.values(state().apps)[0]!;

    it('stores a new version in Key Vault first, then leaves the app exactly that one secret', () => {
      expect(register(secretArgs).status).toBe(0);
      const first = theApp().passwords[0]!;
      const again = register(secretArgs);
      expect(again.stderr).toMatch(/exists in kv-export \(to rotate it, run again with --rotate\)/);
      expect(theApp().passwords).toEqual([first]);

      const rotated = register([...secretArgs, '--rotate']);
      expect(rotated.status, rotated.stderr).toBe(0);
      const passwords = theApp().passwords;
      expect(passwords).toHaveLength(1);
      expect(passwords[0]!.keyId).not.toBe(first.keyId);
      expect(state().vault.secrets['graph-client-secret']).toBe(passwords[0]!.value);
      expect(state().vault.secretVersions?.['graph-client-secret']).toBe(2);
      expect(rotated.stdout + rotated.stderr).not.toContain(passwords[0]!.value);
      const order = calls().filter((call) => / (secret set|credential delete)\b/.test(call));
      expect(order.map((call) => call.split(' ').slice(0, 4).join(' '))).toEqual([
        'keyvault secret set --vault-name',
        'keyvault secret set --vault-name',
        'ad app credential delete',
      ]);
    });

    it('takes a new app secret off the app again when Key Vault refuses it, so none is left orphaned', () => {
      expect(register(secretArgs).status).toBe(0);
      const first = theApp().passwords[0]!;
      const failed = register([...secretArgs, '--rotate'], { FAKE_AZ_FAIL_SECRET_SET: '1' });
      expect(failed.status).toBe(1);
      expect(failed.stderr).toMatch(
        /could not store the new client secret .* removed from the app again, and the previous one still works/,
      );
      expect(theApp().passwords).toEqual([first]);
      expect(state().vault.secrets['graph-client-secret']).toBe(first.value);
    });

    it('says a soft-deleted secret name must be recovered, before it makes any app secret', () => {
      const current = state();
      current.vault.deletedSecrets = ['graph-client-secret'];
      writeFileSync(join(dir, 'state.json'), JSON.stringify(current));
      const run = register(secretArgs);
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(
        /was deleted and soft delete keeps it: recover it \(az keyvault secret recover/,
      );
      expect(theApp().passwords).toEqual([]);
    });

    it('is for client secrets only', () => {
      expect(register(['--credential', 'certificate', '--vault', 'kv-export', '--rotate']).stderr).toMatch(
        /--rotate is for --credential secret/,
      );
    });
  });

  it('gives the app a Key Vault certificate by default, the credential every way of running it shares', () => {
    const run = register(['--vault', 'kv-export']);
    expect(run.status, run.stderr).toBe(0);
    const [app] = Object.values(state().apps);
    expect(app!.certificates).toHaveLength(1);
    expect(app!.federatedCredentials ?? []).toEqual([]);
    expect(run.stdout).toContain('GRAPH_CLIENT_CERTIFICATE_NAME=graph-client-certificate');
    expect(run.stderr).toContain('graphCredential=certificate:graph-client-certificate');
  });

  describe('--credential federated: the app trusts the function identity', () => {
    const identity = { name: 'id-prod-abc123', principalId: randomUUID(), clientId: randomUUID() };
    const withIdentity = () => {
      const current = state();
      current.identities = [identity];
      writeFileSync(join(dir, 'state.json'), JSON.stringify(current));
    };

    it("adds one federated credential: this tenant's issuer, the identity's principal ID, the exchange audience", () => {
      withIdentity();
      const run = register(['--credential', 'federated', '--identity', identity.name]);
      expect(run.status, run.stderr).toBe(0);
      const [app] = Object.values(state().apps);
      expect(app!.federatedCredentials).toEqual([
        expect.objectContaining({
          issuer: `https://login.microsoftonline.com/${TENANT}/v2.0`,
          subject: identity.principalId,
          audiences: ['api://AzureADTokenExchange'],
        }),
      ]);
      expect(app!.certificates).toEqual([]);
      expect(app!.passwords).toEqual([]);
      expect(state().vault.secrets).toEqual({});
      const appId = Object.keys(state().apps)[0]!;
      expect(run.stdout).toBe(
        `GRAPH_TENANT_ID=${TENANT}\nGRAPH_CLIENT_ID=${appId}\nGRAPH_FEDERATED_IDENTITY_CLIENT_ID=${identity.clientId}\n`,
      );
      expect(run.stderr).toContain('graphCredential=federated');
      // Idempotent: a second run finds the trust and adds nothing.
      expect(register(['--credential', 'federated', '--identity', identity.name]).status).toBe(0);
      expect(Object.values(state().apps)[0]!.federatedCredentials).toHaveLength(1);
    });

    // In China the issuer is the one its tokens carry, not the sign-in host az cloud show names
    // (docs.azure.cn, "Configure an application to trust a managed identity").
    it.each([
      ['AzureUSGovernment', 'https://login.microsoftonline.us', 'api://AzureADTokenExchangeUSGov'],
      ['AzureChinaCloud', 'https://login.partner.microsoftonline.cn', 'api://AzureADTokenExchangeChina'],
    ])("uses %s's issuer (%s) and audience (%s)", (cloud, issuerHost, audience) => {
      withIdentity();
      const current = state() as FakeState & { cloud?: string };
      current.cloud = cloud;
      writeFileSync(join(dir, 'state.json'), JSON.stringify(current));
      expect(register(['--credential', 'federated', '--identity', identity.name]).status).toBe(0);
      expect(Object.values(state().apps)[0]!.federatedCredentials![0]).toMatchObject({
        issuer: `${issuerHost}/${TENANT}/v2.0`,
        audiences: [audience],
      });
    });

    it('names an identity it cannot find, before touching any app', () => {
      const run = register(['--credential', 'federated', '--identity', 'id-missing']);
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/expected one managed identity named 'id-missing'.*found 0/);
      expect(state().apps).toEqual({});
    });
  });

  describe('a Key Vault certificate that renews itself', () => {
    const renew = (expiresOfOld: string | null) => {
      const current = state();
      const certificate = current.vault.certificates['graph-client-certificate']!;
      if (expiresOfOld !== null) certificate.versions[0]!.expires = expiresOfOld;
      const thumbprint = randomUUID().replace(/-/g, '').toUpperCase().slice(0, 40).padEnd(40, 'A');
      certificate.versions.push({
        version: randomUUID().replace(/-/g, ''),
        thumbprint,
        enabled: true,
        expires: null,
      });
      certificate.thumbprint = thumbprint;
      writeFileSync(join(dir, 'state.json'), JSON.stringify(current));
      return thumbprint;
    };
    const args = ['--credential', 'certificate', '--vault', 'kv-export'];

    it('registers the new version beside the old one while both are valid, checked by thumbprint', () => {
      expect(register(args).status).toBe(0);
      const first = state().vault.certificates['graph-client-certificate']!.versions[0]!.thumbprint;
      const renewed = renew(null);
      const run = register(args);
      expect(run.status, run.stderr).toBe(0);
      expect(Object.values(state().apps)[0]!.certificates).toEqual([first, renewed]);
      expect(register(args).status).toBe(0);
      expect(Object.values(state().apps)[0]!.certificates).toEqual([first, renewed]);
    });

    it('removes a version that has expired from the app, keeping the current one', () => {
      expect(register(args).status).toBe(0);
      const renewed = renew('2020-01-01T00:00:00+00:00');
      const run = register(args);
      expect(run.status, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/removed expired certificate version/);
      expect(Object.values(state().apps)[0]!.certificates).toEqual([renewed]);
    });
  });

  it('--sign-in-activity adds AuditLog.Read.All beside User.Read.All, once', () => {
    const args = ['--credential', 'certificate', '--vault', 'kv-export', '--sign-in-activity'];
    expect(register(args).status).toBe(0);
    expect(register(args).status).toBe(0);
    expect(Object.values(state().apps)[0]!.permissions).toEqual([
      'df021288-bdef-4463-88db-98f22de89214',
      'b0afded3-3588-46d8-8b3d-9842eff778da',
    ]);
  });

  it('prints the consent URL when the caller is not an admin', () => {
    const run = register(['--credential', 'certificate', '--vault', 'kv-export'], { FAKE_AZ_NOT_ADMIN: '1' });
    expect(run.status).toBe(0);
    const appId = Object.keys(state().apps)[0]!;
    expect(run.stderr).toContain(
      `https://login.microsoftonline.com/${TENANT}/adminconsent?client_id=${appId}`,
    );
  });

  it('explains a vault it cannot see, and bad arguments', () => {
    expect(register(['--credential', 'certificate', '--vault', 'kv-nope']).stderr).toMatch(
      /no Key Vault named 'kv-nope'/,
    );
    expect(register(['--credential', 'certificate']).stderr).toMatch(
      /--vault is required with --credential certificate/,
    );
    expect(register([]).stderr).toMatch(/--vault is required with --credential certificate/);
    expect(register(['--credential', 'federated']).stderr).toMatch(
      /--identity is required with --credential federated/,
    );
    expect(register(['--vault', 'kv-export', '--credential', 'password']).status).toBe(1);
  });

  it('--help describes it', () => {
    const run = register(['--help']);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Usage: infra\/scripts\/register-app\.sh --vault NAME/);
  });

  it('is shellcheck clean', () => {
    // Debian's shellcheck package; .ci/run installs it.
    expect(() =>
      execFileSync('shellcheck', [SCRIPT, join(import.meta.dirname, '..', '..', '..', '.ci', 'run')], {
        encoding: 'utf8',
      }),
    ).not.toThrow();
  });
});
