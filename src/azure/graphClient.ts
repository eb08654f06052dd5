import type { TokenCredential } from '@azure/identity';
import {
  AuthenticationHandler,
  Client,
  type Context,
  type Middleware,
  RedirectHandler,
  RedirectHandlerOptions,
  TelemetryHandler,
} from '@microsoft/microsoft-graph-client';

import type { ExportConfig } from '../config.js';
import {
  DeadlineError,
  hostOf,
  REAL_TIMERS,
  REQUEST_TIMEOUT_MS,
  type Timers,
  withDeadline,
} from './deadlines.js';
import { untrustedCertificateCode } from './networkFailure.js';
import { explainTokenError } from './serviceErrors.js';

const MAX_REDIRECTS = 5;

/** The few Graph calls a listing makes. */
export interface GraphRequests {
  /** GETs an absolute Graph URL and returns the parsed body. */
  get(url: string, headers?: Record<string, string>): Promise<unknown>;
}

export function graphScope(config: ExportConfig): string {
  return `${config.graphEndpoint}/.default`;
}

/**
 * A Graph client for the app-only token. The first token is fetched here, so a bad credential
 * fails before any page is read and is explained as a sign-in problem.
 *
 * It has no RetryHandler: the Graph client runs authentication before retries, so its retries
 * resend the first attempt's token, which a long throttling wait outlives. Retries happen one
 * layer up (export/retryPolicy.ts), each attempt authenticated afresh. Redirects are followed only
 * within Graph's own origin; any other is answered as an error.
 */
export async function createGraphRequests(
  config: ExportConfig,
  credential: TokenCredential,
  runDeadline: number,
): Promise<GraphRequests> {
  const scope = graphScope(config);
  const getToken = () =>
    withDeadline(
      {
        service: 'The token endpoint',
        host: hostOf(config.authorityHost),
        waitingFor: `a token for ${scope}`,
        // No token request outlives the run's time budget either.
        timeoutMs: Math.max(0, Math.min(REQUEST_TIMEOUT_MS, runDeadline - Date.now())),
      },
      (abortSignal) =>
        credential.getToken(scope, { abortSignal, requestOptions: { timeout: REQUEST_TIMEOUT_MS } }),
    );
  try {
    await getToken();
  } catch (error) {
    throw explainTokenError(error, config);
  }
  // The Graph client's error for a refused redirect carries no headers: remember where it pointed.
  let refusedRedirectOrigin: string | undefined;
  const client = Client.initWithMiddleware({
    middleware: [
      new AuthenticationHandler({
        getAccessToken: async () => {
          const token = await getToken();
          if (!token) throw new Error('The credential returned no token.');
          return token.token;
        },
      }),
      new RedirectHandler(
        new RedirectHandlerOptions(MAX_REDIRECTS, (response) => {
          const target = redirectTarget(response, config.graphEndpoint);
          if (target === config.graphEndpoint) return true;
          refusedRedirectOrigin = target;
          return false;
        }),
      ),
      new TelemetryHandler(),
      new DeadlineFetchHandler({ requestTimeoutMs: REQUEST_TIMEOUT_MS, runDeadline, now: () => Date.now() }),
    ],
    // Tokens go only to Graph's own hosts unless the configured endpoint's host is named here.
    customHosts: new Set([new URL(config.graphEndpoint).hostname]),
  });
  return {
    get: async (url, headers = {}) => {
      try {
        return (await client.api(url).headers(headers).get()) as unknown;
      } catch (error) {
        const status = (error as { statusCode?: unknown }).statusCode;
        if (
          typeof status === 'number' &&
          status >= 300 &&
          status < 400 &&
          typeof error === 'object' &&
          error
        ) {
          Object.assign(error, { redirectedTo: refusedRedirectOrigin ?? 'unknown' });
        }
        throw error;
      }
    },
  };
}

/** The origin a redirect points at, or `unknown`. */
function redirectTarget(response: Response, origin: string): string {
  const location = response.headers.get('location');
  if (location === null) return 'unknown';
  try {
    return new URL(location, response.url || origin).origin;
  } catch {
    return 'unknown';
  }
}

export interface RequestDeadlines {
  /** The longest one request may take, headers and body. */
  requestTimeoutMs: number;
  /** Epoch milliseconds at which the run's time budget ends: no request outlives it. */
  runDeadline: number;
  now: () => number;
  timers?: Timers;
}

/** The run's time budget ended while a request was in flight: no retry can help. */
export class RunBudgetError extends DeadlineError {
  constructor(host: string, waitingFor: string, timeoutMs: number) {
    super('Microsoft Graph', host, `${waitingFor}, and the run's time budget ended`, timeoutMs);
    this.name = 'RunBudgetError';
  }
}

/**
 * The Graph client's last middleware, in place of its HTTPMessageHandler (which calls fetch with
 * no deadline): fetch under a deadline that covers the headers and the whole body, a stall
 * between two chunks included, and ends no later than the run's time budget. The body is read
 * here, so the Graph client parses a response that has already arrived.
 */
export class DeadlineFetchHandler implements Middleware {
  constructor(private readonly deadlines: RequestDeadlines) {}

  async execute(context: Context): Promise<void> {
    const { requestTimeoutMs, runDeadline, now, timers = REAL_TIMERS } = this.deadlines;
    // The Graph client passes the URL as a string (GraphRequest.send); a Request is read the same way.
    const request = context.request as string | Request;
    const url = typeof request === 'string' ? request : request.url;
    const host = hostOf(url);
    const budgetLeft = runDeadline - now();
    const endsRun = budgetLeft <= requestTimeoutMs;
    let received: number | undefined;
    const waitingFor = () =>
      received === undefined
        ? 'the response headers never came'
        : `the body was still incomplete after ${received} bytes`;
    const timeoutMs = Math.max(0, Math.min(requestTimeoutMs, budgetLeft));
    try {
      context.response = await withDeadline(
        { service: 'Microsoft Graph', host, waitingFor: '', timeoutMs },
        async (signal) => {
          const response = await fetch(request, { ...context.options, signal });
          received = 0;
          const chunks: Uint8Array[] = [];
          if (response.body !== null) {
            for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
              chunks.push(chunk);
              received += chunk.byteLength;
            }
          }
          const nullBody = [101, 204, 205, 304].includes(response.status);
          return new Response(nullBody ? null : Buffer.concat(chunks), {
            status: response.status,
            statusText: response.statusText,
            headers: response.headers,
          });
        },
        timers,
      );
    } catch (error) {
      // The Graph client keeps only the message of what fetch threw (`fetch failed`), not its
      // cause: the socket's or TLS's code goes into the message, where the explanation finds it.
      const code = error instanceof DeadlineError ? undefined : untrustedCertificateCode(error);
      if (code !== undefined && error instanceof Error) {
        throw new TypeError(`${error.message} (${code})`, { cause: error });
      }
      if (!(error instanceof DeadlineError)) throw error;
      throw endsRun
        ? new RunBudgetError(host, waitingFor(), timeoutMs)
        : new DeadlineError('Microsoft Graph', host, waitingFor(), timeoutMs);
    }
  }
}
