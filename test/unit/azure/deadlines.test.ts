import type { TokenCredential } from '@azure/identity';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { DeadlineError, REQUEST_TIMEOUT_MS, withDeadline } from '../../../src/azure/deadlines.js';
import { createGraphRequests } from '../../../src/azure/graphClient.js';
import { readGraphCredential, type SecretReader } from '../../../src/azure/keyVaultCredential.js';
import { loadConfig } from '../../../src/config.js';
import { validEnv, vaultSource } from '../validEnv.js';

afterEach(() => {
  vi.useRealTimers();
});

/** Settles the promise's outcome once the clock has moved past the deadline. */
async function afterDeadline(promise: Promise<unknown>): Promise<unknown> {
  const outcome = promise.then(
    () => 'resolved',
    (error: unknown) => error,
  );
  await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT_MS + 1);
  return outcome;
}

describe('every outbound call has a deadline', () => {
  it('withDeadline aborts the work and rejects at the deadline, even when the work ignores its signal', async () => {
    vi.useFakeTimers();
    let aborted = false;
    const outcome = afterDeadline(
      withDeadline(
        { service: 'Key Vault', host: 'kv.example', waitingFor: 'a secret', timeoutMs: REQUEST_TIMEOUT_MS },
        (signal) => {
          signal.addEventListener('abort', () => (aborted = true));
          return new Promise(() => undefined);
        },
      ),
    );
    const error = await outcome;
    expect(error).toBeInstanceOf(DeadlineError);
    expect((error as Error).message).toBe('Key Vault (kv.example) did not answer within 100 s: a secret.');
    expect(aborted).toBe(true);
  });

  it('a Key Vault that never answers fails the read at 100 s, naming the vault', async () => {
    vi.useFakeTimers();
    const config = loadConfig(validEnv());
    const requests: unknown[] = [];
    const stalled: SecretReader = {
      getSecret: (_name, options) => {
        requests.push(options);
        return new Promise(() => undefined);
      },
    };
    const error = await afterDeadline(readGraphCredential(config, vaultSource(config), stalled));
    expect((error as Error).message).toMatch(
      /^Could not read the secret "graph-client-secret" in https:\/\/kv-test\.vault\.azure\.net: Key Vault \(kv-test\.vault\.azure\.net\) did not answer within 100 s/,
    );
    // The SDK gets the deadline too, so its own pipeline cancels the request.
    expect(requests[0]).toMatchObject({ requestOptions: { timeout: REQUEST_TIMEOUT_MS } });
    expect((requests[0] as { abortSignal: AbortSignal }).abortSignal.aborted).toBe(true);
  });

  it('a token endpoint that never answers fails the sign-in at 100 s', async () => {
    vi.useFakeTimers();
    const config = loadConfig(validEnv());
    const credential: TokenCredential = { getToken: () => new Promise(() => undefined) };
    const error = await afterDeadline(createGraphRequests(config, credential, Date.now() + 3_600_000));
    expect((error as Error).message).toMatch(
      /The token endpoint \(login\.microsoftonline\.com\) did not answer within 100 s/,
    );
  });
});
