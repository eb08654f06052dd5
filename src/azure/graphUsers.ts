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
import { followNextLinks } from '../export/paging.js';
import type { UserDirectory } from '../export/runExport.js';
import { explainGraphError, explainTokenError, isTransientGraphFailure } from './serviceErrors.js';

/** Graph's largest page for /users. */
export const USERS_PAGE_SIZE = 999;

export interface GraphDirectoryOptions {
  /** Retries of one throttled (429/503/504) request; the Graph client caps this at 10. */
  throttleRetries?: number;
  /** Retries of one page after a dropped connection or a 500/502. */
  transientRetries?: number;
  sleep?: (ms: number) => Promise<void>;
}

export function graphScope(config: ExportConfig): string {
  return `${config.graphEndpoint}/.default`;
}

/** The first /users URL: every page as large as Graph allows, only the selected properties. */
export function firstUsersUrl(config: ExportConfig): string {
  const query = new URLSearchParams({ $top: String(USERS_PAGE_SIZE), $select: config.select.join(',') });
  if (config.filter !== undefined) query.set('$filter', config.filter);
  return `${config.graphEndpoint}/v1.0/users?${query.toString().replace(/%24/g, '$').replace(/%2C/g, ',')}`;
}

/**
 * Opens the directory through Microsoft Graph. The first token is fetched here, so a bad
 * credential fails before any page is read and is explained as a sign-in problem.
 */
export async function openGraphDirectory(
  config: ExportConfig,
  credential: TokenCredential,
  options: GraphDirectoryOptions = {},
): Promise<UserDirectory> {
  const scope = graphScope(config);
  try {
    await credential.getToken(scope);
  } catch (error) {
    throw explainTokenError(error, config);
  }

  let retries = 0;
  const countRetry = () => {
    retries += 1;
    return true;
  };
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
      new RetryHandler(new RetryHandlerOptions(3, options.throttleRetries ?? 6, countRetry)),
      new RedirectHandler(new RedirectHandlerOptions()),
      new TelemetryHandler(),
      new HTTPMessageHandler(),
    ],
    // Tokens go only to Graph's own hosts unless the configured endpoint's host is named here.
    customHosts: new Set([new URL(config.graphEndpoint).hostname]),
  });

  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  return {
    get retries() {
      return retries;
    },
    async *pages() {
      const pages = followNextLinks(firstUsersUrl(config), {
        getPage: (url) => client.api(url).get() as Promise<unknown>,
        isTransient: isTransientGraphFailure,
        transientRetries: options.transientRetries ?? 3,
        sleep,
        onRetry: () => countRetry(),
      });
      try {
        yield* pages;
      } catch (error) {
        throw explainGraphError(error, config, retries);
      }
    },
  };
}
