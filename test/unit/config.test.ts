import { describe, expect, it } from 'vitest';

import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { usersBlobName } from '../../src/export/blobLayout.js';
import { DEFAULT_SELECT, Invalid, parseSchedule } from '../../src/settings.js';
import { CLIENT_ID, TENANT_ID, validEnv } from './validEnv.js';

function problemsOf(env: Record<string, string | undefined>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('loadConfig', () => {
  it('applies the documented defaults to a minimal configuration', () => {
    const config = loadConfig(validEnv());
    expect(config).toMatchObject({
      keyVaultUrl: 'https://kv-test.vault.azure.net',
      graphCredential: { kind: 'secret', name: 'graph-client-secret', setting: 'GRAPH_CLIENT_SECRET_NAME' },
      tenantId: TENANT_ID,
      clientId: CLIENT_ID,
      graphEndpoint: 'https://graph.microsoft.com',
      authorityHost: 'https://login.microsoftonline.com',
      schedule: '0 0 2 * * *',
      select: DEFAULT_SELECT,
      filter: undefined,
      format: 'json',
      compression: 'none',
      container: 'entra-users',
      parallelism: 1,
    });
  });

  it('reads a certificate credential, a national cloud, and every export option', () => {
    const config = loadConfig(
      validEnv({
        GRAPH_CLIENT_SECRET_NAME: undefined,
        GRAPH_CLIENT_CERTIFICATE_NAME: 'graph-cert',
        GRAPH_ENDPOINT: 'https://graph.microsoft.us/',
        GRAPH_AUTHORITY_HOST: 'https://login.microsoftonline.us',
        GRAPH_TENANT_ID: 'contoso.onmicrosoft.us',
        EXPORT_SELECT: 'displayName, mail,id',
        EXPORT_FILTER: "startswith(displayName,'A')",
        EXPORT_FORMAT: 'CSV',
        EXPORT_COMPRESS: 'gzip',
        EXPORT_CONTAINER: 'users-export',
        EXPORT_SCHEDULE: '0 30 1 * * Mon-Fri',
        EXPORT_STORAGE: undefined,
        EXPORT_STORAGE__blobServiceUri: 'https://st.blob.core.windows.net',
      }),
    );
    expect(config.graphCredential).toEqual({
      kind: 'certificate',
      name: 'graph-cert',
      setting: 'GRAPH_CLIENT_CERTIFICATE_NAME',
      keyVaultUrl: 'https://kv-test.vault.azure.net',
    });
    expect(config.graphEndpoint).toBe('https://graph.microsoft.us');
    expect(config.select).toEqual(['id', 'displayName', 'mail']);
    expect(config.filter).toBe("startswith(displayName,'A')");
    expect(config.format).toBe('csv');
    expect(config.compression).toBe('gzip');
    expect(config.container).toBe('users-export');
    expect(usersBlobName(config.format, config.compression)).toBe('users.csv.gz');
  });

  it('reports every problem at once, each naming its setting, before any network call', () => {
    const problems = problemsOf({
      KEY_VAULT_URL: 'http://kv-test.vault.azure.net',
      GRAPH_TENANT_ID: 'not a tenant',
      GRAPH_CLIENT_ID: '1234',
      GRAPH_ENDPOINT: 'https://graph.microsoft.com/v1.0',
      EXPORT_FORMAT: 'xml',
      EXPORT_COMPRESS: 'zip',
      EXPORT_CONTAINER: 'Bad_Container',
      EXPORT_SELECT: 'id,display name,manager/id',
      EXPORT_SCHEDULE: '0 2 * * *',
    });
    const expectations = [
      /^KEY_VAULT_URL must be an https URL/,
      /^GRAPH_TENANT_ID must be the tenant's GUID or one of its domains/,
      /^GRAPH_CLIENT_ID must be the application \(client\) ID, a GUID/,
      /^None of GRAPH_FEDERATED_IDENTITY_CLIENT_ID, GRAPH_CLIENT_CERTIFICATE_NAME and GRAPH_CLIENT_SECRET_NAME is set/,
      /^GRAPH_ENDPOINT must be an https URL with no path/,
      /^EXPORT_SCHEDULE must be an NCRONTAB expression with 6 fields; this one has 5\. Azure Functions uses 6 fields.*; got "0 2 \* \* \*"\.$/,
      /^EXPORT_SELECT must not name "manager\/id": the manager is a relationship.*EXPORT_INCLUDE_MANAGER=true/,
      /^EXPORT_FORMAT must be one of json, ndjson, csv; got "xml"/,
      /^EXPORT_COMPRESS must be one of none, gzip; got "zip"/,
      /^EXPORT_CONTAINER must be a blob container name/,
      /^EXPORT_STORAGE is missing/,
    ];
    expect(problems).toHaveLength(expectations.length);
    expectations.forEach((pattern, index) => expect(problems[index]).toMatch(pattern));
  });

  it('names each missing required setting', () => {
    expect(
      problemsOf({ EXPORT_STORAGE: 'UseDevelopmentStorage=true', GRAPH_CLIENT_SECRET_NAME: 's' }),
    ).toEqual([
      expect.stringMatching(/^GRAPH_TENANT_ID is missing/),
      expect.stringMatching(/^GRAPH_CLIENT_ID is missing/),
      expect.stringMatching(/^KEY_VAULT_URL is missing: GRAPH_CLIENT_SECRET_NAME names a Key Vault object/),
    ]);
  });

  it('rejects two credentials set together', () => {
    expect(problemsOf(validEnv({ GRAPH_CLIENT_CERTIFICATE_NAME: 'graph-cert' }))).toEqual([
      expect.stringMatching(
        /GRAPH_CLIENT_CERTIFICATE_NAME and GRAPH_CLIENT_SECRET_NAME are both set: set exactly one/,
      ),
    ]);
    expect(
      problemsOf(
        validEnv({
          GRAPH_CLIENT_CERTIFICATE_NAME: 'graph-cert',
          GRAPH_FEDERATED_IDENTITY_CLIENT_ID: CLIENT_ID,
        }),
      ),
    ).toEqual([expect.stringMatching(/^GRAPH_FEDERATED_IDENTITY_CLIENT_ID and .* are all set/)]);
  });

  it('reads a federated managed identity, needing no Key Vault, with the audience of its cloud', () => {
    const identity = '0f0e0d0c-0b0a-4909-8807-060504030201';
    const federated = (overrides: Record<string, string | undefined>) =>
      validEnv({
        KEY_VAULT_URL: undefined,
        GRAPH_CLIENT_SECRET_NAME: undefined,
        GRAPH_FEDERATED_IDENTITY_CLIENT_ID: identity,
        ...overrides,
      });
    const config = loadConfig(federated({}));
    expect(config.keyVaultUrl).toBeUndefined();
    expect(config.graphCredential).toEqual({
      kind: 'federated',
      managedIdentityClientId: identity,
      setting: 'GRAPH_FEDERATED_IDENTITY_CLIENT_ID',
      audience: 'api://AzureADTokenExchange',
    });
    const audienceIn = (host: string) => {
      const source = loadConfig(federated({ GRAPH_AUTHORITY_HOST: host })).graphCredential;
      return source.kind === 'federated' ? source.audience : undefined;
    };
    expect(audienceIn('https://login.microsoftonline.us')).toBe('api://AzureADTokenExchangeUSGov');
    expect(audienceIn('https://login.chinacloudapi.cn')).toBe('api://AzureADTokenExchangeChina');
    expect(problemsOf(federated({ GRAPH_AUTHORITY_HOST: 'https://login.example.com' }))).toEqual([
      expect.stringMatching(
        /^GRAPH_FEDERATED_IDENTITY_CLIENT_ID needs a cloud whose token-exchange audience is known/,
      ),
    ]);
    expect(problemsOf(federated({ GRAPH_FEDERATED_IDENTITY_CLIENT_ID: 'my-identity' }))).toEqual([
      expect.stringMatching(
        /^GRAPH_FEDERATED_IDENTITY_CLIENT_ID must be the managed identity's client ID, a GUID/,
      ),
    ]);
  });

  it('rejects a Key Vault name that Key Vault would not accept', () => {
    expect(problemsOf(validEnv({ GRAPH_CLIENT_SECRET_NAME: 'graph_secret' }))).toEqual([
      expect.stringMatching(/^GRAPH_CLIENT_SECRET_NAME must be a Key Vault object name/),
    ]);
  });

  it('lists on one chain unless EXPORT_PARALLELISM asks for more, within bounds', () => {
    expect(loadConfig(validEnv()).parallelism).toBe(1);
    expect(loadConfig(validEnv({ EXPORT_PARALLELISM: '8' })).parallelism).toBe(8);
    for (const value of ['0', '17', '2.5', 'many']) {
      expect(problemsOf(validEnv({ EXPORT_PARALLELISM: value }))).toEqual([
        expect.stringMatching(
          /^EXPORT_PARALLELISM must be a whole number from 1 \(one nextLink chain\) to 16/,
        ),
      ]);
    }
  });

  it('treats blank settings as unset', () => {
    expect(loadConfig(validEnv({ EXPORT_FORMAT: '  ', EXPORT_FILTER: '' })).format).toBe('json');
  });
});

describe('parseSchedule', () => {
  it.each(['0 0 2 * * *', '0 */5 * * * *', '0 30 9 * * 1-5', '0 0 0 1 Jan,Jul *', '30 15 6 * * Mon'])(
    'accepts %s',
    (schedule) => expect(parseSchedule(schedule)).toBe(schedule),
  );

  const reasonFor = (schedule: string) => {
    const parsed = parseSchedule(schedule);
    return parsed instanceof Invalid ? parsed.reason : undefined;
  };

  it('points a 5-field cron at the seconds field', () => {
    expect(reasonFor('0 2 * * *')).toMatch(/has 5\. .*"0 0 2 \* \* \*"/);
  });

  it('names the bad field', () => {
    expect(reasonFor('0 0 2? * * *')).toMatch(/invalid hour field "2\?"/);
  });
});

describe('configuration errors never echo a value that may be a secret', () => {
  // The shape of an Entra client secret (gitleaks' azure-ad-client-secret rule), made up here.
  const pastedSecret = `Abc8Q~${'x7Yz'.repeat(8)}Ab`; // 40 characters

  it('masks a client secret pasted into GRAPH_CLIENT_SECRET_NAME, with a hint of its own', () => {
    const [problem] = problemsOf(validEnv({ GRAPH_CLIENT_SECRET_NAME: pastedSecret }));
    expect(problem).not.toContain(pastedSecret.slice(0, 8));
    expect(problem).toContain(`"Abc…" (${pastedSecret.length} characters)`);
    expect(problem).toMatch(/looks like a client secret itself, not the name of the Key Vault secret/);
    expect(problem).toMatch(/consider creating a new client secret/);
  });

  it('masks the IDs and the credential names, and says the same in the error telemetry receives', () => {
    const env = validEnv({ GRAPH_CLIENT_ID: pastedSecret, GRAPH_TENANT_ID: `${pastedSecret}!` });
    const problems = problemsOf(env);
    expect(problems.join('\n')).not.toContain(pastedSecret.slice(0, 8));
    let message = '';
    try {
      loadConfig(env);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).not.toContain(pastedSecret.slice(0, 8));
    expect(problemsOf(validEnv({ GRAPH_CLIENT_ID: 'not-a-guid-but-long' }))).toEqual([
      expect.stringMatching(
        /^GRAPH_CLIENT_ID must be the application \(client\) ID, a GUID; got "not…" \(19 characters\)\.$/,
      ),
    ]);
  });

  it('still shows an ordinary setting in full', () => {
    expect(problemsOf(validEnv({ EXPORT_FORMAT: 'xml' }))).toEqual([
      'EXPORT_FORMAT must be one of json, ndjson, csv; got "xml".',
    ]);
  });
});

describe('EXPORT_ACCEPT_SHRINK_UNTIL', () => {
  const now = new Date('2026-11-26T00:00:00Z');
  const acceptUntil = (value: string) => loadConfig(validEnv({ EXPORT_ACCEPT_SHRINK_UNTIL: value }), now);

  it('refuses a day that does not exist instead of rolling it over', () => {
    for (const value of [
      '2026-02-30T00:00:00Z',
      '2026-11-31T00:00:00Z',
      '2026-11-26T24:00:00Z',
      '2026-11-26T06:00:00+25:00',
    ]) {
      expect(() => acceptUntil(value)).toThrow(
        /EXPORT_ACCEPT_SHRINK_UNTIL must be a date and time that exists/,
      );
    }
  });

  it('refuses a time further ahead than 7 days, which would turn the guard off for good', () => {
    expect(() => acceptUntil('9999-12-31T23:59:59Z')).toThrow(/more than 7 days ahead: .*not for good/);
    expect(() => acceptUntil('2026-12-03T00:00:01Z')).toThrow(/more than 7 days ahead/);
  });

  it('accepts an instant within the week, in any zone', () => {
    expect(acceptUntil('2026-11-27T06:00Z').acceptShrinkUntil?.toISOString()).toBe(
      '2026-11-27T06:00:00.000Z',
    );
    expect(acceptUntil('2026-12-03T00:00:00Z').acceptShrinkUntil?.toISOString()).toBe(
      '2026-12-03T00:00:00.000Z',
    );
    expect(acceptUntil('2026-11-26T06:30:00+02:00').acceptShrinkUntil?.toISOString()).toBe(
      '2026-11-26T04:30:00.000Z',
    );
  });
});

describe('EXPORT_SELECT', () => {
  const select = (value: string) => loadConfig(validEnv({ EXPORT_SELECT: value })).select;

  it('refuses a selection with no property in it', () => {
    expect(problemsOf(validEnv({ EXPORT_SELECT: ' , ' }))).toEqual([
      expect.stringMatching(/^EXPORT_SELECT must name at least one user property/),
    ]);
  });

  it("matches names case-insensitively and writes them in Graph's spelling", () => {
    expect(select('ID,DisplayName,USERPRINCIPALNAME,extension_abc_Office')).toEqual([
      'id',
      'displayName',
      'userPrincipalName',
      'extension_abc_Office',
    ]);
    expect(select('mail,id')).toEqual(['id', 'mail']);
  });

  it('refuses one property named twice', () => {
    expect(problemsOf(validEnv({ EXPORT_SELECT: 'displayName,mail,DisplayName' }))).toEqual([
      expect.stringMatching(/^EXPORT_SELECT names one property twice \("displayName" and "DisplayName"/),
    ]);
  });
});

describe('parseSchedule, as the host reads NCRONTAB', () => {
  const reasonFor = (schedule: string) => {
    const parsed = parseSchedule(schedule);
    return parsed instanceof Invalid ? parsed.reason : undefined;
  };

  it.each([
    ['99 99 99 * * *', /invalid second field "99": it has 99, outside 0-59/],
    ['0 60 * * * *', /minute field "60": it has 60, outside 0-59/],
    ['0 0 24 * * *', /hour field "24"/],
    ['0 0 2 0 * *', /day of month field "0": it has 0, outside 1-31/],
    ['0 0 2 * 13 *', /month field "13"/],
    ['0 0 2 * * 7', /day of week field "7": it has 7, outside 0-6/],
    ['0 */0 * * * *', /minute field "\*\/0": it has a step of 0/],
    ['0 0 2 * * Mon-Fry', /day of week field "Mon-Fry": it has "Fry"/],
    ['0 0 1-99 * * *', /hour field "1-99": it has 99/],
    ['0 0 2,,3 * * *', /hour field "2,,3": it has an empty value/],
    ['0 0 2 * Jan/x *', /month field "Jan\/x": it has a step "x"/],
    ['0 0 99999999999 * * *', /hour field "99999999999"/],
  ])('refuses %s', (schedule, reason) => expect(reasonFor(schedule)).toMatch(reason));

  it.each([
    '0 0 2 * * *',
    '*/15 * * * * *',
    '0 0 9-17/2 * * mon-FRI',
    '0 0 0 1 j,DEC *',
    '0 0 12 31 2 sun',
    '0 5/10 * * * *',
    '0 0 17-9 * * *',
  ])('accepts %s, as NCrontab does', (schedule) => expect(reasonFor(schedule)).toBeUndefined());
});

describe("the example's placeholders", () => {
  it('are reported as placeholders, naming what to set', () => {
    expect(
      problemsOf(
        validEnv({
          GRAPH_TENANT_ID: '<directory (tenant) id>',
          KEY_VAULT_URL: 'https://<your-vault>.vault.azure.net',
        }),
      ),
    ).toEqual([
      'KEY_VAULT_URL still holds the example\'s placeholder "https://<your-vault>.vault.azure.net": set it to the vault\'s URL, such as https://kv-entra-export.vault.azure.net.',
      'GRAPH_TENANT_ID still holds the example\'s placeholder "<directory (tenant) id>": set it to the directory (tenant) ID of the app registration.',
    ]);
  });
});

describe('angle brackets outside the placeholders', () => {
  it('are a value like any other where the example has no placeholder', () => {
    expect(loadConfig(validEnv({ EXPORT_FILTER: "displayName eq '<Admins>'" })).filter).toBe(
      "displayName eq '<Admins>'",
    );
  });
});
