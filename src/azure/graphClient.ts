import type { TokenCredential } from '@azure/identity';
import {
  AuthenticationHandler,
  Client,
  HTTPMessageHandler,
  RedirectHandler,
  RedirectHandlerOptions,
  RetryHandler,
  RetryHandlerOptions,
  TelemetryHandler,
} from '@microsoft/microsoft-graph-client';

import type { ExportConfig } from '../config.js';
import { explainTokenError } from './serviceErrors.js';

/** Retries of one throttled (429/503/504) request, honouring Retry-After; the Graph client allows 10. */
const THROTTLE_RETRIES = 6;
/** The Graph client's wait before a throttled retry when Graph sends no Retry-After, in seconds. */
const THROTTLE_DELAY_SECONDS = 3;

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
 * fails before any page is read and is explained as a sign-in problem. `onThrottled` is told of
 * every throttled request the client retries.
 */
export async function createGraphRequests(
  config: ExportConfig,
  credential: TokenCredential,
  onThrottled: () => void,
): Promise<GraphRequests> {
  const scope = graphScope(config);
  try {
    await credential.getToken(scope);
  } catch (error) {
    throw explainTokenError(error, config);
  }
  const client = Client.initWithMiddleware({
    middleware: [
      new AuthenticationHandler({
        getAccessToken: async () => {
          const token = await credential.getToken(scope);
          if (!token) throw new Error('The credential returned no token.');
          return token.token;
        },
      }),
      // Throttling is expected on large tenants: honour Retry-After, a few more times than the default.
      new RetryHandler(
        new RetryHandlerOptions(THROTTLE_DELAY_SECONDS, THROTTLE_RETRIES, () => {
          onThrottled();
          return true;
        }),
      ),
      new RedirectHandler(new RedirectHandlerOptions()),
      new TelemetryHandler(),
      new HTTPMessageHandler(),
    ],
    // Tokens go only to Graph's own hosts unless the configured endpoint's host is named here.
    customHosts: new Set([new URL(config.graphEndpoint).hostname]),
  });
  return {
    get: async (url, headers = {}) => (await client.api(url).headers(headers).get()) as unknown,
  };
}
