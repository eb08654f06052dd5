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
