import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import {
  backoffMs,
  type FailureKind,
  parseRetryAfter,
  RETRY_LIMITS,
  RetriesExhaustedError,
  RUN_TIME_BUDGET_MS,
  withRetries,
} from '../../../src/export/retryPolicy.js';

/** A request that fails as listed, then answers. */
function scripted(failures: FailureKind[]) {
  let attempt = 0;
  return {
    attempts: () => attempt,
    request: async () => {
      const failure = failures[attempt];
      attempt += 1;
      // The classifier below reads the thrown value as the failure kind it stands for.
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      if (failure) throw failure;
      return 'page';
    },
  };
}

function environment(options: { deadline?: number } = {}) {
  let clock = 0;
  const slept: number[] = [];
  return {
    slept,
    env: {
      classify: (error: unknown) => error as FailureKind,
      deadline: options.deadline ?? Number.MAX_SAFE_INTEGER,
      now: () => clock,
      sleep: async (ms: number) => {
        slept.push(ms);
        clock += ms;
      },
      onRetry: () => undefined,
    },
  };
}

describe('withRetries', () => {
  it('makes a fresh attempt (and so a fresh token) after each wait Graph asks for', async () => {
    const requests = scripted([
      { kind: 'throttled', retryAfterMs: 30_000 },
      { kind: 'throttled', retryAfterMs: 120_000 },
    ]);
    const { env, slept } = environment();
    await expect(withRetries(requests.request, env)).resolves.toBe('page');
    expect(requests.attempts()).toBe(3);
    expect(slept).toEqual([30_000, 120_000]);
  });

  it('backs off 2, 4, 8 s when Graph gives no usable Retry-After', async () => {
    const requests = scripted(
      Array.from({ length: 3 }, () => ({ kind: 'throttled', retryAfterMs: undefined }) as const),
    );
    const { env, slept } = environment();
    await withRetries(requests.request, env);
    expect(slept).toEqual([2000, 4000, 8000]);
  });

  it('gives up after the allowed throttled retries', async () => {
    const requests = scripted(
      Array.from({ length: 20 }, () => ({ kind: 'throttled', retryAfterMs: 1000 }) as const),
    );
    const { env } = environment();
    const error = (await withRetries(requests.request, env).catch(
      (e: unknown) => e,
    )) as RetriesExhaustedError;
    expect(error.reason).toBe('attempts');
    expect(requests.attempts()).toBe(RETRY_LIMITS.throttled + 1);
  });

  it('fails at once when Graph asks for a wait longer than the export waits', async () => {
    const requests = scripted([{ kind: 'throttled', retryAfterMs: RETRY_LIMITS.maxWaitMs + 1000 }]);
    const { env, slept } = environment();
    const error = (await withRetries(requests.request, env).catch(
      (e: unknown) => e,
    )) as RetriesExhaustedError;
    expect(error.reason).toBe('wait-too-long');
    expect(slept).toEqual([]);
  });

  it("fails at once when a wait would run past the run's time budget", async () => {
    const requests = scripted([{ kind: 'throttled', retryAfterMs: 60_000 }]);
    const { env, slept } = environment({ deadline: 59_000 });
    const error = (await withRetries(requests.request, env).catch(
      (e: unknown) => e,
    )) as RetriesExhaustedError;
    expect(error.reason).toBe('deadline');
    expect(slept).toEqual([]);
  });

  it('never retries a failure that no retry helps', async () => {
    const requests = scripted([{ kind: 'fatal' }]);
    const { env } = environment();
    await expect(withRetries(requests.request, env)).rejects.toEqual({ kind: 'fatal' });
    expect(requests.attempts()).toBe(1);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-25T02:00:00Z');
  it.each([
    ['5', 5000],
    ['0', undefined],
    ['-3', undefined],
    ['Wed, 25 Nov 2026 02:01:00 GMT', 60_000],
    ['Wed, 25 Nov 2026 01:59:00 GMT', undefined],
    ['later', undefined],
    ['', undefined],
  ])('reads %j as %s ms', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});

describe('the retry budget', () => {
  it("keeps a run's waiting inside host.json's functionTimeout", () => {
    const host = JSON.parse(
      readFileSync(join(import.meta.dirname, '..', '..', '..', 'host.json'), 'utf8'),
    ) as {
      functionTimeout: string;
    };
    const [hours, minutes, seconds] = host.functionTimeout.split(':').map(Number) as [number, number, number];
    const timeoutMs = ((hours * 60 + minutes) * 60 + seconds) * 1000;
    expect(RUN_TIME_BUDGET_MS).toBeLessThanOrEqual(timeoutMs - 5 * 60_000);
  });

  it('bounds one page: at most 10 requests and the waits the README documents', () => {
    const requests = 1 + RETRY_LIMITS.throttled + RETRY_LIMITS.transient;
    const worstWaitMs =
      RETRY_LIMITS.throttled * RETRY_LIMITS.maxWaitMs +
      Array.from({ length: RETRY_LIMITS.transient }, (_, retry) => backoffMs(retry) / 2).reduce(
        (a, b) => a + b,
        0,
      );
    expect(requests).toBe(10);
    expect(worstWaitMs).toBe(30 * 60_000 + 7000);
  });
});
