import type { ExportConfig } from '../config.js';
import type { GraphUser } from '../export/formats.js';
import type { ListedPage } from '../export/paging.js';
import { mergeChains, partitionFilters } from '../export/partitions.js';
import type { GraphRequests } from './graphClient.js';
import { firstUsersUrl, usersCountUrl } from './usersRequests.js';

/** Lists one nextLink chain from its first URL. */
export type ChainLister = (firstUrl: string) => AsyncGenerator<ListedPage>;

export interface PartitionedStart {
  /** One chain per partition, the first already probed. */
  chains: (() => AsyncIterator<ListedPage>)[];
}

/**
 * Probes the first partition. If Graph rejects the partition filter, the run stays on one chain:
 * the answer is undefined and the reason is in `notes`.
 */
export async function startPartitions(
  config: ExportConfig,
  listChain: ChainLister,
  notes: string[],
): Promise<PartitionedStart | undefined> {
  const filters = partitionFilters(config.filter);
  const probe = listChain(firstUsersUrl(config, filters[0]));
  let probed: IteratorResult<ListedPage>;
  try {
    probed = await probe.next();
  } catch (error) {
    if ((error as { statusCode?: unknown }).statusCode !== 400) throw error;
    notes.push(
      `Graph rejected the partition filter (${(error as Error).message}); listing on one nextLink chain instead.`,
    );
    return undefined;
  }
  async function* probedChain(): AsyncGenerator<ListedPage> {
    if (probed.done) return;
    yield probed.value;
    yield* probe;
  }
  return {
    chains: [
      () => probedChain(),
      ...filters.slice(1).map((filter) => () => listChain(firstUsersUrl(config, filter))),
    ],
  };
}

/**
 * The partitions' pages merged as they arrive, without the users of the first (unpartitioned)
 * page, which was already handed over and is listed again in its partition.
 */
export async function* partitionedPages(
  start: PartitionedStart,
  parallelism: number,
  alreadyListed: readonly GraphUser[],
): AsyncGenerator<readonly GraphUser[]> {
  const listed = new Set(alreadyListed.map((user) => user['id']));
  for await (const page of mergeChains(start.chains, parallelism)) {
    yield page.users.filter((user) => !listed.has(user['id']));
  }
}

/** Graph's own count (`/users/$count`, eventually consistent), or why it could not be read. */
export async function readGraphCount(
  config: ExportConfig,
  graph: GraphRequests,
): Promise<{ count: number } | { note: string }> {
  try {
    const count = Number(await graph.get(usersCountUrl(config), { ConsistencyLevel: 'eventual' }));
    if (!Number.isFinite(count)) throw new Error('the answer is not a number');
    return { count };
  } catch (error) {
    return { note: `Could not compare the total with /users/$count: ${(error as Error).message}` };
  }
}
