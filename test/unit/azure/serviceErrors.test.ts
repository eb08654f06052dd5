import { describe, expect, it } from 'vitest';

import {
  classifyGraphFailure,
  explainGraphError,
  explainKeyVaultError,
  explainTokenError,
} from '../../../src/azure/serviceErrors.js';
import { RetriesExhaustedError } from '../../../src/export/retryPolicy.js';
import { loadConfig } from '../../../src/config.js';
import { CLIENT_ID, TENANT_ID, validEnv, vaultSource } from '../validEnv.js';

const config = loadConfig(validEnv());
const none = { throttled: 0, transient: 0 };
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

describe('explainTokenError for the secretless credential', () => {
  const IDENTITY = '0f0e0d0c-0b0a-4909-8807-060504030201';
  const federated = (authorityHost?: string) =>
    loadConfig(
      validEnv({
        KEY_VAULT_URL: undefined,
        GRAPH_CLIENT_SECRET_NAME: undefined,
        GRAPH_FEDERATED_IDENTITY_CLIENT_ID: IDENTITY,
        GRAPH_AUTHORITY_HOST: authorityHost,
      }),
    );

  it('AADSTS70025 (no federated credential on the app) says the registration step was skipped and names the script', () => {
    const explained = explainTokenError(aadError('70025'), federated());
    expect(explained.message).toMatch(/\(AADSTS70025\)/);
    expect(explained.message).toMatch(
      new RegExp(
        `The app registration ${CLIENT_ID} has no federated credential.*managed identity ${IDENTITY}.*was skipped\\. Run infra/scripts/register-app\\.sh --credential federated --identity <identity name>.*issuer https://login\\.microsoftonline\\.com/${TENANT_ID}/v2\\.0.*audience api://AzureADTokenExchange`,
      ),
    );
    expect(explained.message).not.toMatch(/Key Vault/);
  });

  it.each([
    [
      'https://login.chinacloudapi.cn',
      'https://login.partner.microsoftonline.cn',
      'api://AzureADTokenExchangeChina',
    ],
    [
      'https://login.microsoftonline.us',
      'https://login.microsoftonline.us',
      'api://AzureADTokenExchangeUSGov',
    ],
  ])(
    'with sign-in host %s, names the issuer the identity token carries (%s) and audience %s',
    (host, issuer, audience) => {
      const explained = explainTokenError(aadError('700213'), federated(host));
      expect(explained.message).toContain(`issuer ${issuer}/${TENANT_ID}/v2.0`);
      expect(explained.message).toContain(`audience ${audience}`);
    },
  );

  it('takes no audience for the air-gapped clouds the docs do not cover: a certificate is the way there', () => {
    expect(() => federated('https://login.microsoftonline.eaglex.ic.gov')).toThrow(
      /GRAPH_FEDERATED_IDENTITY_CLIENT_ID needs a cloud whose token-exchange audience is known/,
    );
  });
});

describe('explainKeyVaultError', () => {
  it('a 403 asks for the Key Vault Secrets User role', () => {
    expect(explainKeyVaultError(restError(403, 'Forbidden'), vaultSource(config)).message).toMatch(
      /Access to the secret "graph-client-secret" in https:\/\/kv-test\.vault\.azure\.net was denied \(403 Forbidden\).*"Key Vault Secrets User"/,
    );
  });

  it('a 404 names the setting to check', () => {
    expect(
      explainKeyVaultError(restError(404, 'SecretNotFound'), vaultSource(certificateConfig)).message,
    ).toMatch(
      /Key Vault has no certificate "graph-cert" .*\(404 SecretNotFound\)\. Check GRAPH_CLIENT_CERTIFICATE_NAME and KEY_VAULT_URL/,
    );
  });

  it('no identity at all explains managed identity and az login', () => {
    const error = Object.assign(new Error('DefaultAzureCredential failed'), {
      name: 'AggregateAuthenticationError',
    });
    expect(explainKeyVaultError(error, vaultSource(config)).message).toMatch(
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
    const explained = explainGraphError(error, config, none);
    expect(explained.message).toMatch(/403 Authorization_RequestDenied: Insufficient privileges/);
    expect(explained.message).toContain('User.Read.All');
    expect(explained.message).toContain(
      `https://login.microsoftonline.com/${TENANT_ID}/adminconsent?client_id=${CLIENT_ID}`,
    );
  });

  it('throttling past the retries says how many were made, with a stable code', () => {
    const error = Object.assign(new Error('Too many requests'), { statusCode: 429, code: 'TooManyRequests' });
    const explained = explainGraphError(new RetriesExhaustedError('attempts', error, 0), config, {
      throttled: 6,
      transient: 1,
    });
    expect(explained.message).toMatch(
      /kept throttling .*429 TooManyRequests.*6 throttled and 1 transient retries/,
    );
    expect(explained.code).toBe('GraphThrottled');
  });

  it("a wait beyond the run's time budget is a clear failure, not a silent stop", () => {
    const error = Object.assign(new Error('Too many requests'), {
      statusCode: 503,
      code: 'ServiceUnavailable',
    });
    const explained = explainGraphError(new RetriesExhaustedError('deadline', error, 900_000), config, none);
    expect(explained.message).toMatch(/waiting 900 s more would run past the run's time budget/);
    expect(explained.code).toBe('GraphThrottled');
  });

  it('an expired token Graph keeps rejecting points at the clock, not at the cloud settings', () => {
    const error = Object.assign(new Error('Lifetime validation failed, the token is expired.'), {
      statusCode: 401,
      code: 'InvalidAuthenticationToken',
    });
    const explained = explainGraphError(error, config, none);
    expect(explained.message).toMatch(/clock/);
    expect(explained.message).not.toMatch(/same cloud/);
  });

  it('a redirect to another origin is refused, naming the origin only', () => {
    const error = Object.assign(new Error('Found'), {
      statusCode: 302,
      headers: new Headers({ location: 'https://elsewhere.example/v1.0/users?token=secret' }),
    });
    const explained = explainGraphError(error, config, none);
    expect(explained.message).toMatch(/redirected .* to another origin \(https:\/\/elsewhere\.example\)/);
    expect(explained.message).not.toContain('secret');
    expect(explained.code).toBe('GraphForeignOrigin');
  });

  it('a token error raised inside a Graph request is explained as a sign-in problem', () => {
    expect(explainGraphError(aadError('7000222'), config, none).message).toMatch(/AADSTS7000222.*expired/);
  });

  it('a 400 points at the filter and select settings', () => {
    const error = Object.assign(new Error('Invalid filter clause'), { statusCode: 400, code: 'BadRequest' });
    expect(explainGraphError(error, config, none).message).toMatch(/EXPORT_FILTER and EXPORT_SELECT/);
  });
});

describe('classifyGraphFailure', () => {
  const now = Date.parse('2026-11-25T02:00:00Z');
  const throttled = (status: number, retryAfter?: string) =>
    Object.assign(new Error('slow down'), {
      statusCode: status,
      headers: new Headers(retryAfter === undefined ? {} : { 'retry-after': retryAfter }),
    });

  it('waits as Retry-After says on 429, 503 and 504, in seconds or as a date', () => {
    expect(classifyGraphFailure(throttled(429, '7'), now)).toEqual({ kind: 'throttled', retryAfterMs: 7000 });
    expect(classifyGraphFailure(throttled(503, 'Wed, 25 Nov 2026 02:00:30 GMT'), now)).toEqual({
      kind: 'throttled',
      retryAfterMs: 30_000,
    });
    expect(classifyGraphFailure(throttled(504), now)).toEqual({ kind: 'throttled', retryAfterMs: undefined });
  });

  it('backs off on its own when Retry-After is in the past or unreadable', () => {
    expect(classifyGraphFailure(throttled(429, 'Tue, 24 Nov 2026 02:00:00 GMT'), now)).toEqual({
      kind: 'throttled',
      retryAfterMs: undefined,
    });
    expect(classifyGraphFailure(throttled(429, 'soon'), now)).toEqual({
      kind: 'throttled',
      retryAfterMs: undefined,
    });
  });

  it('retries a connection dropped before the headers or in the middle of the body, and gateway errors', () => {
    expect(classifyGraphFailure({ statusCode: -1, code: 'TypeError' }, now)).toEqual({ kind: 'transient' });
    // The Graph client reports a reset while reading the body as status 200, code TypeError, "terminated".
    expect(classifyGraphFailure({ statusCode: 200, code: 'TypeError', message: 'terminated' }, now)).toEqual({
      kind: 'transient',
    });
    expect(classifyGraphFailure({ statusCode: 502 }, now)).toEqual({ kind: 'transient' });
    expect(classifyGraphFailure({ statusCode: 500 }, now)).toEqual({ kind: 'transient' });
  });

  it('does not retry answers that say something is wrong', () => {
    expect(classifyGraphFailure({ statusCode: 403, code: 'Authorization_RequestDenied' }, now)).toEqual({
      kind: 'fatal',
    });
    expect(classifyGraphFailure({ statusCode: 200, code: 'SyntaxError' }, now)).toEqual({ kind: 'fatal' });
    expect(classifyGraphFailure({ statusCode: 400 }, now)).toEqual({ kind: 'fatal' });
  });
});
