import type { TokenCredential } from '@azure/identity';

import type { ExportConfig } from '../config.js';
import { followNextLinks } from '../export/paging.js';
import { RUN_TIME_BUDGET_MS } from '../export/retryPolicy.js';
import type {
  DirectoryPage,
  ListingOptions,
  ListingSummary,
  PageHandler,
  UserDirectory,
} from '../export/runExport.js';
import { createGraphRequests } from './graphClient.js';
import { partitionedPages, readGraphCount, startPartitions } from './partitionedListing.js';
import { classifyGraphFailure, explainGraphError, type RetryCounts } from './serviceErrors.js';
import { firstUsersUrl } from './usersRequests.js';
import { listDelta } from './deltaListing.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The directory through Microsoft Graph: one nextLink chain, or, with EXPORT_PARALLELISM above 1
 * and more than one page, the partitions listed concurrently.
 */
export async function openGraphDirectory(
  config: ExportConfig,
  credential: TokenCredential,
): Promise<UserDirectory> {
  const deadline = Date.now() + RUN_TIME_BUDGET_MS;
  const retries: RetryCounts = { throttled: 0, transient: 0 };
  const total = () => retries.throttled + retries.transient;
  const graph = await createGraphRequests(config, credential, deadline);
  const listChain = (url: string) =>
    followNextLinks(url, {
      getPage: (pageUrl) => graph.get(pageUrl),
      origin: config.graphEndpoint,
      retry: {
        classify: (error) => classifyGraphFailure(error, Date.now()),
        deadline,
        now: () => Date.now(),
        sleep,
        onRetry: (kind) => void (retries[kind] += 1),
      },
    });

  return {
    async listUsers(onPage: PageHandler, options: ListingOptions = {}): Promise<ListingSummary> {
      const notes: string[] = [];
      let listed = 0;
      const handOver = async (page: DirectoryPage) => {
        listed +=
          'rebuilt' in page ? page.rebuilt.filter((entry) => !('removed' in entry)).length : page.length;
        await onPage(page, { retries: total() });
      };
      if (options.delta !== undefined) {
        try {
          const summary = await listDelta(config, options.delta, listChain, handOver, notes);
          if (summary.mode !== 'delta') return { ...summary, retries: { ...retries } };
          // A rebuild is only as good as every change Graph sent: its total is checked like a partitioned listing's.
          const graphCount = await readGraphCount(config, graph);
          if ('note' in graphCount) notes.push(graphCount.note);
          return {
            ...summary,
            retries: { ...retries },
            ...('count' in graphCount
              ? { graphCount: graphCount.count, countDifference: listed - graphCount.count }
              : {}),
          };
        } catch (error) {
          throw explainGraphError(error, config, retries);
        }
      }
      try {
        const sequential = listChain(firstUsersUrl(config));
        const first = await sequential.next();
        if (first.done) return { mode: 'sequential', partitions: 1, retries: { ...retries }, notes };
        await handOver(first.value.users);
        // One page is the whole directory; otherwise the first page tells whether to partition.
        const partitioned =
          first.value.nextLink !== undefined && config.parallelism > 1 && options.sequential !== true
            ? await startPartitions(config, listChain, notes)
            : undefined;
        if (partitioned === undefined) {
          for await (const page of sequential) await handOver(page.users);
          return { mode: 'sequential', partitions: 1, retries: { ...retries }, notes };
        }
        await sequential.return(undefined);
        for await (const users of partitionedPages(partitioned, config.parallelism, first.value.users)) {
          await handOver(users);
        }
        const graphCount = await readGraphCount(config, graph);
        if ('note' in graphCount) notes.push(graphCount.note);
        return {
          mode: 'partitioned',
          partitions: partitioned.chains.length,
          retries: { ...retries },
          notes,
          ...('count' in graphCount
            ? { graphCount: graphCount.count, countDifference: listed - graphCount.count }
            : {}),
        };
      } catch (error) {
        throw explainGraphError(error, config, retries);
      }
    },
  };
}
