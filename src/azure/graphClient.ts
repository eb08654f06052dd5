import type { TokenCredential } from '@azure/identity';
import {
  AuthenticationHandler,
  Client,
  HTTPMessageHandler,
  RedirectHandler,
  RedirectHandlerOptions,
  TelemetryHandler,
} from '@microsoft/microsoft-graph-client';

import type { ExportConfig } from '../config.js';
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
): Promise<GraphRequests> {
  const scope = graphScope(config);
  try {
    await credential.getToken(scope);
  } catch (error) {
    throw explainTokenError(error, config);
  }
  // The Graph client's error for a refused redirect carries no headers: remember where it pointed.
  let refusedRedirectOrigin: string | undefined;
  const client = Client.initWithMiddleware({
    middleware: [
      new AuthenticationHandler({
        getAccessToken: async () => {
          const token = await credential.getToken(scope);
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
      new HTTPMessageHandler(),
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
