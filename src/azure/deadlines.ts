/**
 * How long any one outbound call may take. Without these, a server that accepts the connection
 * and then stalls (before its headers, or between two chunks of the body) holds a run until the
 * host kills it an hour later, with nothing logged.
 *
 * The values are the ones Microsoft's own clients use:
 * - 100 s for one request, headers and body: the default of .NET's HttpClient (dotnet/runtime,
 *   src/libraries/System.Net.Http/src/System/Net/Http/HttpClient.cs, `s_defaultTimeout`), under
 *   the Microsoft Graph .NET SDK, and the Azure SDK's `RetryOptions.NetworkTimeout` default
 *   ("exceeded the configured timeout of 0:01:40"; learn.microsoft.com, Azure.Core RetryOptions).
 * - 30 s for the telemetry flush: OpenTelemetry's export timeout default (`exportTimeoutMillis`,
 *   OTEL_BSP_EXPORT_TIMEOUT / OTEL_BLRP_EXPORT_TIMEOUT = 30000 in the OpenTelemetry
 *   specification's SDK environment variables), which the Application Insights 3.x exporters run on.
 */
export const REQUEST_TIMEOUT_MS = 100_000;
export const TELEMETRY_FLUSH_TIMEOUT_MS = 30_000;

/** A call that passed its deadline: which service, which host, and what it was waiting for. */
export class DeadlineError extends Error {
  constructor(
    readonly service: string,
    readonly host: string,
    readonly waitingFor: string,
    readonly timeoutMs: number,
  ) {
    super(`${service} (${host}) did not answer within ${timeoutMs / 1000} s: ${waitingFor}.`);
    this.name = 'DeadlineError';
  }
}

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const REAL_TIMERS: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface Deadline {
  service: string;
  host: string;
  /** What was awaited, for the message: "the token for https://graph.microsoft.com/.default". */
  waitingFor: string;
  timeoutMs: number;
}

/**
 * Runs `work` with a signal that aborts at the deadline, and settles by then whatever `work`
 * does with the signal: a library that ignores it (MSAL's network calls take no caller signal)
 * is abandoned, not awaited.
 */
export async function withDeadline<T>(
  deadline: Deadline,
  work: (signal: AbortSignal) => Promise<T>,
  timers: Timers = REAL_TIMERS,
): Promise<T> {
  const controller = new AbortController();
  let handle: unknown;
  const expired = new Promise<never>((_, reject) => {
    handle = timers.setTimeout(() => {
      const error = new DeadlineError(
        deadline.service,
        deadline.host,
        deadline.waitingFor,
        deadline.timeoutMs,
      );
      controller.abort(error);
      reject(error);
    }, deadline.timeoutMs);
  });
  try {
    return await Promise.race([work(controller.signal), expired]);
  } finally {
    timers.clearTimeout(handle);
  }
}

/** The host of a URL, for messages; the text itself when it is not one. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
