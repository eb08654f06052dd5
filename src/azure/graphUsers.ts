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
import { idKey, IdSet, type ListingIds } from '../export/idSet.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * How long to wait before asking Graph's count once more when it disagrees with a listing. The
 * count comes from the advanced-query index, a separate store that is eventually consistent
 * (Microsoft Graph, "Advanced query capabilities on Microsoft Entra ID objects"); the docs give no
 * lag, so one short wait is tried before a disagreement costs a second listing.
 */
export const COUNT_RECHECK_DELAY_MS = 5_000;

/** A listing's own record of the ids it handed over. */
function ownIds(): ListingIds {
  const ids = new IdSet();
  return { firstSighting: (id) => ids.add(idKey(id)) >= 0 };
}

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
      // No id twice in any listing: a user renamed between two partitions' reads is listed in both.
      const ids = options.ids ?? ownIds();
      let duplicates = 0;
      const handOver = async (page: DirectoryPage) => {
        if (!('rebuilt' in page)) {
          const unique = page.filter((user) => ids.firstSighting(String(user['id'])));
          duplicates += page.length - unique.length;
          page = unique;
        }
        listed +=
          'rebuilt' in page ? page.rebuilt.filter((entry) => !('removed' in entry)).length : page.length;
        await onPage(page, { retries: total() });
      };
      const withDuplicates = (summary: ListingSummary): ListingSummary => {
        if (duplicates === 0) return summary;
        summary.notes.push(
          `Graph listed ${duplicates} user${duplicates === 1 ? '' : 's'} a second time (renamed during the listing); each was exported once.`,
        );
        return { ...summary, duplicatesDropped: duplicates };
      };
      /** Graph's count against the listing's total; asked twice when they differ (the count is eventually consistent). */
      const compareWithCount = async (): Promise<Pick<ListingSummary, 'graphCount' | 'countDifference'>> => {
        let graphCount = await readGraphCount(config, graph);
        if (
          'count' in graphCount &&
          graphCount.count !== listed &&
          Date.now() + COUNT_RECHECK_DELAY_MS < deadline
        ) {
          const first = graphCount;
          await sleep(COUNT_RECHECK_DELAY_MS);
          const again = await readGraphCount(config, graph);
          notes.push(
            `Graph counted ${first.count} users where the listing holds ${listed}; asked again after ${COUNT_RECHECK_DELAY_MS / 1000} s: ${'count' in again ? again.count : 'no answer'}.`,
          );
          // A second reading that fails leaves the first one standing: the disagreement is not resolved.
          graphCount = 'count' in again ? again : first;
        }
        if ('note' in graphCount) {
          notes.push(graphCount.note);
          return {};
        }
        return { graphCount: graphCount.count, countDifference: listed - graphCount.count };
      };
      if (options.delta !== undefined) {
        try {
          const summary = await listDelta(config, options.delta, listChain, handOver, notes);
          if (summary.mode !== 'delta') return withDuplicates({ ...summary, retries: { ...retries } });
          // A rebuild is only as good as every change Graph sent: its total is checked like a partitioned listing's.
          return withDuplicates({ ...summary, retries: { ...retries }, ...(await compareWithCount()) });
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
          return withDuplicates({ mode: 'sequential', partitions: 1, retries: { ...retries }, notes });
        }
        await sequential.return(undefined);
        for await (const users of partitionedPages(partitioned, config.parallelism, first.value.users)) {
          await handOver(users);
        }
        const counted = await compareWithCount();
        return withDuplicates({
          mode: 'partitioned',
          partitions: partitioned.chains.length,
          retries: { ...retries },
          notes,
          ...counted,
        });
      } catch (error) {
        throw explainGraphError(error, config, retries);
      }
    },
  };
}
