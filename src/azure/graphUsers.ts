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
import type { GraphUser } from '../export/formats.js';
import { followNextLinks, type ListedPage } from '../export/paging.js';
import { mergeChains, partitionFilters } from '../export/partitions.js';
import type { ListingSummary, UserDirectory } from '../export/runExport.js';
import { explainGraphError, explainTokenError, isTransientGraphFailure } from './serviceErrors.js';

/** Graph's largest page for /users. */
export const USERS_PAGE_SIZE = 999;

/** Retries of one throttled (429/503/504) request, honouring Retry-After; the Graph client allows 10. */
const THROTTLE_RETRIES = 6;
/** Retries of one page after a dropped connection or a 500/502. */
const TRANSIENT_RETRIES = 3;

export function graphScope(config: ExportConfig): string {
  return `${config.graphEndpoint}/.default`;
}

/** The first /users URL: every page as large as Graph allows, only the selected properties. */
export function firstUsersUrl(config: ExportConfig, filter = config.filter): string {
  const query = new URLSearchParams({ $top: String(USERS_PAGE_SIZE), $select: config.select.join(',') });
  if (filter !== undefined) query.set('$filter', filter);
  return `${config.graphEndpoint}/v1.0/users?${query.toString().replace(/%24/g, '$').replace(/%2C/g, ',')}`;
}

/**
 * Opens the directory through Microsoft Graph. The first token is fetched here, so a bad
 * credential fails before any page is read and is explained as a sign-in problem.
 */
export async function openGraphDirectory(
  config: ExportConfig,
  credential: TokenCredential,
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
      new RetryHandler(new RetryHandlerOptions(3, THROTTLE_RETRIES, countRetry)),
      new RedirectHandler(new RedirectHandlerOptions()),
      new TelemetryHandler(),
      new HTTPMessageHandler(),
    ],
    // Tokens go only to Graph's own hosts unless the configured endpoint's host is named here.
    customHosts: new Set([new URL(config.graphEndpoint).hostname]),
  });

  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  const chain = (url: string) =>
    followNextLinks(url, {
      getPage: (pageUrl) => client.api(pageUrl).get() as Promise<unknown>,
      isTransient: isTransientGraphFailure,
      transientRetries: TRANSIENT_RETRIES,
      sleep,
      onRetry: () => countRetry(),
    });
  const summary: ListingSummary = { mode: 'sequential', partitions: 1, notes: [] };

  async function* listUsers(): AsyncGenerator<readonly GraphUser[]> {
    const sequential = chain(firstUsersUrl(config));
    const first = await sequential.next();
    if (first.done) return;
    yield first.value.users;
    // One page is the whole directory; otherwise the first page tells whether to partition.
    const partitioned =
      first.value.nextLink !== undefined && config.parallelism > 1 ? await startPartitions() : undefined;
    if (partitioned === undefined) {
      for await (const page of sequential) yield page.users;
      return;
    }
    await sequential.return(undefined);
    summary.mode = 'partitioned';
    summary.partitions = partitioned.length;
    // The first page's users are listed again in their partitions.
    const alreadyExported = new Set(first.value.users.map((user) => user['id']));
    for await (const page of mergeChains(partitioned, config.parallelism)) {
      yield page.users.filter((user) => !alreadyExported.has(user['id']));
    }
    await compareWithGraphCount();
  }

  /** Probes the first partition; if Graph rejects the partition filter, the run stays on one chain. */
  async function startPartitions(): Promise<(() => AsyncIterator<ListedPage>)[] | undefined> {
    const filters = partitionFilters(config.filter);
    const probe = chain(firstUsersUrl(config, filters[0]));
    let probed: IteratorResult<ListedPage>;
    try {
      probed = await probe.next();
    } catch (error) {
      if ((error as { statusCode?: unknown }).statusCode !== 400) throw error;
      summary.notes.push(
        `Graph rejected the partition filter (${(error as Error).message}); listing on one nextLink chain instead.`,
      );
      return undefined;
    }
    async function* probedChain(): AsyncGenerator<ListedPage> {
      if (probed.done) return;
      yield probed.value;
      yield* probe;
    }
    return [
      () => probedChain(),
      ...filters.slice(1).map((filter) => () => chain(firstUsersUrl(config, filter))),
    ];
  }

  async function compareWithGraphCount(): Promise<void> {
    try {
      let request = client
        .api(`${config.graphEndpoint}/v1.0/users/$count`)
        .header('ConsistencyLevel', 'eventual');
      if (config.filter !== undefined) request = request.filter(config.filter);
      summary.graphCount = Number(await request.get());
      if (!Number.isFinite(summary.graphCount)) throw new Error('the answer is not a number');
    } catch (error) {
      delete summary.graphCount;
      summary.notes.push(`Could not compare the total with /users/$count: ${(error as Error).message}`);
    }
  }

  let exported = 0;
  return {
    get retries() {
      return retries;
    },
    async *pages() {
      try {
        for await (const users of listUsers()) {
          exported += users.length;
          yield users;
        }
      } catch (error) {
        throw explainGraphError(error, config, retries);
      }
    },
    listing: async () => {
      if (summary.graphCount !== undefined) summary.countDifference = exported - summary.graphCount;
      return summary;
    },
  };
}
