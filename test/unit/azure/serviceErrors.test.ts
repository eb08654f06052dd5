import { describe, expect, it } from 'vitest';

import {
  explainGraphError,
  explainKeyVaultError,
  explainTokenError,
  isTransientGraphFailure,
} from '../../../src/azure/serviceErrors.js';
import { loadConfig } from '../../../src/config.js';
import { CLIENT_ID, TENANT_ID, validEnv } from '../validEnv.js';

const config = loadConfig(validEnv());
const certificateConfig = loadConfig(
  validEnv({ GRAPH_CLIENT_SECRET_NAME: undefined, GRAPH_CLIENT_CERTIFICATE_NAME: 'graph-cert' }),
);

function aadError(code: string): Error {
  return Object.assign(new Error(`invalid_client: AADSTS${code}: Something went wrong.\nTrace ID: abc`), {
    name: 'AuthenticationRequiredError',
  });
}

function restError(statusCode: number, code: string, message = 'denied'): Error {
  return Object.assign(new Error(message), { name: 'RestError', statusCode, code });
}

describe('explainTokenError', () => {
  it.each([
    ['7000215', config, /Value \(not its Secret ID\)/],
    ['7000222', config, /expired.*GRAPH_CLIENT_CERTIFICATE_NAME/],
    ['700027', certificateConfig, /"graph-cert" is not registered on the app registration .*clock/],
    [
      '700016',
      config,
      new RegExp(`No application ${CLIENT_ID} exists in tenant ${TENANT_ID}.*GRAPH_CLIENT_ID`),
    ],
    ['90002', config, /Tenant .* was not found .*GRAPH_TENANT_ID.*GRAPH_AUTHORITY_HOST/],
  ])('AADSTS%s names the remedy and keeps the cause', (code, cfg, remedy) => {
    const original = aadError(code);
    const explained = explainTokenError(original, cfg);
    expect(explained.message).toMatch(new RegExp(`\\(AADSTS${code}\\)`));
    expect(explained.message).toMatch(remedy);
    expect(explained.cause).toBe(original);
  });
});

describe('explainKeyVaultError', () => {
  it('a 403 asks for the Key Vault Secrets User role', () => {
    expect(explainKeyVaultError(restError(403, 'Forbidden'), config).message).toMatch(
      /Access to the secret "graph-client-secret" in https:\/\/kv-test\.vault\.azure\.net was denied \(403 Forbidden\).*"Key Vault Secrets User"/,
    );
  });

  it('a 404 names the setting to check', () => {
    expect(explainKeyVaultError(restError(404, 'SecretNotFound'), certificateConfig).message).toMatch(
      /Key Vault has no certificate "graph-cert" .*\(404 SecretNotFound\)\. Check GRAPH_CLIENT_CERTIFICATE_NAME and KEY_VAULT_URL/,
    );
  });

  it('no identity at all explains managed identity and az login', () => {
    const error = Object.assign(new Error('DefaultAzureCredential failed'), {
      name: 'AggregateAuthenticationError',
    });
    expect(explainKeyVaultError(error, config).message).toMatch(
      /No Azure identity .*managed identity.*az login/,
    );
  });
});

describe('explainGraphError', () => {
  it('403 Authorization_RequestDenied asks for User.Read.All with the admin-consent URL', () => {
    const error = Object.assign(new Error('Insufficient privileges to complete the operation.'), {
      statusCode: 403,
      code: 'Authorization_RequestDenied',
    });
    const explained = explainGraphError(error, config, 0);
    expect(explained.message).toMatch(/403 Authorization_RequestDenied: Insufficient privileges/);
    expect(explained.message).toContain('User.Read.All');
    expect(explained.message).toContain(
      `https://login.microsoftonline.com/${TENANT_ID}/adminconsent?client_id=${CLIENT_ID}`,
    );
  });

  it('throttling past the retries says how many were made', () => {
    const error = Object.assign(new Error('Too many requests'), { statusCode: 429, code: 'TooManyRequests' });
    expect(explainGraphError(error, config, 6).message).toMatch(/429 TooManyRequests.*after 6 retries/);
  });

  it('a token error raised inside a Graph request is explained as a sign-in problem', () => {
    expect(explainGraphError(aadError('7000222'), config, 0).message).toMatch(/AADSTS7000222.*expired/);
  });

  it('a 400 points at the filter and select settings', () => {
    const error = Object.assign(new Error('Invalid filter clause'), { statusCode: 400, code: 'BadRequest' });
    expect(explainGraphError(error, config, 0).message).toMatch(/EXPORT_FILTER and EXPORT_SELECT/);
  });
});

describe('isTransientGraphFailure', () => {
  it('retries dropped connections and gateway errors, not answers', () => {
    expect(isTransientGraphFailure({ statusCode: -1, code: 'TypeError' })).toBe(true);
    expect(isTransientGraphFailure({ statusCode: 502 })).toBe(true);
    expect(isTransientGraphFailure({ statusCode: 403, code: 'Authorization_RequestDenied' })).toBe(false);
    expect(isTransientGraphFailure({ statusCode: -1, code: 'SyntaxError' })).toBe(false);
  });
});
