/**
 * When to try a Graph request again, and how long to wait: the one retry layer of a run (the
 * Graph client's own RetryHandler is not used, so that every attempt goes through authentication
 * again and gets a token that is still valid).
 */

/** How a failed request is to be treated. */
export type FailureKind =
  /** 429, 503, 504: Graph asks the caller to slow down, maybe saying for how long. */
  | { kind: 'throttled'; retryAfterMs: number | undefined }
  /** A dropped connection (before or during the body), 500, 502: try the same request again. */
  | { kind: 'transient' }
  /** Anything else: no retry helps. */
  | { kind: 'fatal' };

export type RetryKind = 'throttled' | 'transient';

export interface RetryLimits {
  /** Retries of one request after throttling. */
  throttled: number;
  /** Retries of one request after a dropped connection or a 500/502. */
  transient: number;
  /** The longest single wait honoured; Graph asking for more fails the run. */
  maxWaitMs: number;
}

/**
 * How long a run may take before it stops waiting on Graph: under host.json's functionTimeout
 * (one hour), leaving time to serialise, hand the blobs over and report. A test ties the two.
 */
export const RUN_TIME_BUDGET_MS = 50 * 60_000;

export const RETRY_LIMITS: RetryLimits = { throttled: 6, transient: 3, maxWaitMs: 5 * 60_000 };

export interface RetryEnvironment {
  classify(error: unknown): FailureKind;
  /** Epoch milliseconds after which the run must not start another wait (its time budget). */
  deadline: number;
  now(): number;
  sleep(ms: number): Promise<void>;
  onRetry(kind: RetryKind): void;
  limits?: RetryLimits;
}

/** A throttled request that cannot be retried within the limits; carries what Graph last said. */
export class RetriesExhaustedError extends Error {
  constructor(
    readonly reason: 'attempts' | 'wait-too-long' | 'deadline',
    readonly lastError: unknown,
    readonly waitMs: number,
  ) {
    super(
      reason === 'attempts'
        ? 'the request kept failing after every allowed retry'
        : reason === 'wait-too-long'
          ? `Graph asked to wait ${Math.ceil(waitMs / 1000)} s, longer than the ${RETRY_LIMITS.maxWaitMs / 1000} s the export waits at once`
          : `waiting ${Math.ceil(waitMs / 1000)} s more would run past the run's time budget`,
      { cause: lastError },
    );
    this.name = 'RetriesExhaustedError';
  }
}

/** The wait when Graph gives none (or a useless one): 2 s, 4 s, 8 s ... */
export function backoffMs(retry: number): number {
  return 1000 * 2 ** (retry + 1);
}

/**
 * `Retry-After` in seconds or as an HTTP date. A date in the past, zero, or anything unreadable
 * gives undefined: the caller then backs off on its own rather than hammering Graph.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const seconds = Number(text);
    return seconds > 0 ? seconds * 1000 : undefined;
  }
  const date = Date.parse(text);
  if (Number.isNaN(date) || date <= now) return undefined;
  return date - now;
}

/** Runs one request, retrying throttling and transient failures within the limits and the deadline. */
export async function withRetries<T>(request: () => Promise<T>, environment: RetryEnvironment): Promise<T> {
  const limits = environment.limits ?? RETRY_LIMITS;
  const used = { throttled: 0, transient: 0 };
  for (;;) {
    try {
      return await request();
    } catch (error) {
      const failure = environment.classify(error);
      if (failure.kind === 'fatal') throw error;
      const retry = used[failure.kind];
      if (retry >= limits[failure.kind]) throw new RetriesExhaustedError('attempts', error, 0);
      const waitMs =
        failure.kind === 'throttled' ? (failure.retryAfterMs ?? backoffMs(retry)) : backoffMs(retry) / 2;
      if (waitMs > limits.maxWaitMs) throw new RetriesExhaustedError('wait-too-long', error, waitMs);
      if (environment.now() + waitMs > environment.deadline) {
        throw new RetriesExhaustedError('deadline', error, waitMs);
      }
      used[failure.kind] += 1;
      environment.onRetry(failure.kind);
      await environment.sleep(waitMs);
    }
  }
}
