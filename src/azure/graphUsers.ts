import type { TokenCredential } from '@azure/identity';

import type { ExportConfig } from '../config.js';
import type { GraphUser } from '../export/formats.js';
import { followNextLinks } from '../export/paging.js';
import type { ListingSummary, PageHandler, UserDirectory } from '../export/runExport.js';
import { createGraphRequests } from './graphClient.js';
import { partitionedPages, readGraphCount, startPartitions } from './partitionedListing.js';
import { explainGraphError, isTransientGraphFailure } from './serviceErrors.js';
import { firstUsersUrl } from './usersRequests.js';

/** Retries of one page after a dropped connection or a 500/502. */
const TRANSIENT_RETRIES = 3;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The directory through Microsoft Graph: one nextLink chain, or, with EXPORT_PARALLELISM above 1
 * and more than one page, the partitions listed concurrently.
 */
export async function openGraphDirectory(
  config: ExportConfig,
  credential: TokenCredential,
): Promise<UserDirectory> {
  const retries = { count: 0 };
  const countRetry = () => void (retries.count += 1);
  const graph = await createGraphRequests(config, credential, countRetry);
  const listChain = (url: string) =>
    followNextLinks(url, {
      getPage: (pageUrl) => graph.get(pageUrl),
      isTransient: isTransientGraphFailure,
      transientRetries: TRANSIENT_RETRIES,
      sleep,
      onRetry: countRetry,
    });

  return {
    async listUsers(onPage: PageHandler): Promise<ListingSummary> {
      const notes: string[] = [];
      let listed = 0;
      const handOver = async (users: readonly GraphUser[]) => {
        listed += users.length;
        await onPage(users, { retries: retries.count });
      };
      try {
        const sequential = listChain(firstUsersUrl(config));
        const first = await sequential.next();
        if (first.done) return { mode: 'sequential', partitions: 1, retries: retries.count, notes };
        await handOver(first.value.users);
        // One page is the whole directory; otherwise the first page tells whether to partition.
        const partitioned =
          first.value.nextLink !== undefined && config.parallelism > 1
            ? await startPartitions(config, listChain, notes)
            : undefined;
        if (partitioned === undefined) {
          for await (const page of sequential) await handOver(page.users);
          return { mode: 'sequential', partitions: 1, retries: retries.count, notes };
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
          retries: retries.count,
          notes,
          ...('count' in graphCount
            ? { graphCount: graphCount.count, countDifference: listed - graphCount.count }
            : {}),
        };
      } catch (error) {
        throw explainGraphError(error, config, retries.count);
      }
    },
  };
}
