import { generateKeyPairSync, randomBytes } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { ConfigError, ExportError, redact, redactedError, toError } from '../../src/errors.js';

const privateKeyPem = generateKeyPairSync('rsa', { modulusLength: 1024 })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();
const accountKey = randomBytes(64).toString('base64');
const jwt = `eyJhbGciOiJSUzI1NiJ9.${Buffer.from('{"aud":"graph"}').toString('base64url')}.c2lnbmF0dXJlLXNpZ25hdHVyZQ`;

describe('toError', () => {
  it('keeps an Error as it is', () => {
    const error = new ExportError('x', { remedy: 'do y' });
    expect(toError(error)).toBe(error);
    expect(error.message).toBe('x do y');
  });

  it('describes a thrown plain object as JSON, never [object Object], with its credentials masked', () => {
    const error = toError({ statusCode: 400, code: 'Bad', client_secret: 'hunter2', value: 'kv-secret' });
    expect(error.message).toBe(
      'Non-error thrown: {"statusCode":400,"code":"Bad","client_secret":"[redacted]","value":"[redacted]"}',
    );
  });

  it('keeps a thrown string, redacted', () => {
    expect(toError(`token ${jwt}`).message).toBe('token [redacted]');
  });

  it('survives what JSON cannot say', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(toError(cyclic).message).toBe('Non-error thrown: [object Object]');
    expect(toError(undefined).message).toBe('Non-error thrown: undefined');
  });
});

describe('redact: the one rule for text that may carry a credential', () => {
  it.each([
    ['a JWT', `the token ${jwt} expired`, 'the token [redacted] expired'],
    ['a Bearer header', 'Authorization: Bearer abc.def-ghi', 'Authorization: Bearer [redacted]'],
    [
      'a storage connection string',
      `DefaultEndpointsProtocol=https;AccountName=st;AccountKey=${accountKey};EndpointSuffix=core.windows.net`,
      'DefaultEndpointsProtocol=https;AccountName=st;AccountKey=[redacted];EndpointSuffix=core.windows.net',
    ],
    [
      'a SAS',
      'https://st.blob.core.windows.net/c/b?sv=2024&sig=abc%2Bdef',
      'https://st.blob.core.windows.net/c/b?sv=2024&sig=[redacted]',
    ],
    [
      'a token request form',
      'client_id=1&client_secret=s3cret&scope=x',
      'client_id=1&client_secret=[redacted]&scope=x',
    ],
  ])('masks %s', (_what, text, expected) => {
    expect(redact(text)).toBe(expected);
  });

  it('masks a PEM private key whole', () => {
    const text = redact(`bad certificate:\n${privateKeyPem.trim()}\ntrailing`);
    expect(text).toBe('bad certificate:\n[redacted]\ntrailing');
  });

  it('leaves ordinary messages alone', () => {
    const message = 'GRAPH_CLIENT_ID must be the application (client) ID, a GUID; got "1234".';
    expect(redact(message)).toBe(message);
  });
});

describe('redactedError', () => {
  it('redacts the message and the stack, keeping the name', () => {
    const original = new ConfigError([`EXPORT_FILTER echoed ${jwt}`]);
    const safe = redactedError(original);
    expect(safe.name).toBe('ConfigError');
    expect(safe.message).not.toContain(jwt);
    expect(safe.stack).not.toContain(jwt);
    expect(safe.message).toContain('[redacted]');
  });
});
