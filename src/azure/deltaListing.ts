import type { ExportConfig } from '../config.js';
import { type DeltaChanges, foldDeltaPage, mergedUsers } from '../export/deltaMerge.js';
import type { ListedPage } from '../export/paging.js';
import type { DeltaState, DirectoryPage, ListingOptions, ListingSummary } from '../export/runExport.js';
import { ExportError } from '../errors.js';

type DeltaOptions = NonNullable<ListingOptions['delta']>;
type ChainLister = (firstUrl: string) => AsyncGenerator<ListedPage>;

const DAY_MS = 86_400_000;

/** The initial /users/delta request: the selected properties, tracked from now on. */
export function initialDeltaUrl(config: ExportConfig): string {
  return `${config.graphEndpoint}/v1.0/users/delta?$select=${config.select.join(',')}`;
}

/** Why this run lists the directory in full instead of one round of changes; undefined when it need not. */
export function resyncReason(config: ExportConfig, delta: DeltaOptions): string | undefined {
  if (delta.fullRoundBecause !== undefined)
    return `${delta.fullRoundBecause}: listing the directory in full, so that no user is left out`;
  if (delta.previous === undefined)
    return 'no delta link kept yet: the first delta run lists the directory in full';
  if (delta.previousState === undefined)
    return 'no usable state to rebuild from (see Changes): listing the directory in full';
  if (JSON.stringify(delta.previous.properties) !== JSON.stringify(delta.properties)) {
    return 'EXPORT_SELECT changed since the delta link was issued: listing the directory in full';
  }
  const age = delta.now.getTime() - Date.parse(delta.previous.fullSyncAt);
  if (!(age < config.deltaResyncDays * DAY_MS)) {
    return `the last full listing is ${Math.floor(age / DAY_MS)} days old (EXPORT_DELTA_RESYNC_DAYS=${config.deltaResyncDays}): listing the directory in full`;
  }
  return undefined;
}

/**
 * Graph's answer when a delta link can no longer be used: 410 Gone, or a resync code
 * (Microsoft Graph, Use delta query: the token expired, or the service needs a full resync).
 */
export function isExpiredDeltaLink(error: unknown): boolean {
  const failure = (typeof error === 'object' && error !== null ? error : {}) as {
    statusCode?: unknown;
    code?: unknown;
  };
  return (
    failure.statusCode === 410 ||
    (typeof failure.code === 'string' &&
      /^(syncStateNotFound|resyncRequired|SyncStateInvalid)$/i.test(failure.code))
  );
}

/**
 * With EXPORT_DELTA: one round of changes merged into the kept state (the whole directory comes out,
 * as a full listing would give it), or, when there is nothing to build on or Graph refuses the
 * link, a full delta round that starts tracking again.
 */
export async function listDelta(
  config: ExportConfig,
  delta: DeltaOptions,
  listChain: ChainLister,
  handOver: (page: DirectoryPage) => Promise<void>,
  notes: string[],
): Promise<Omit<ListingSummary, 'retries'>> {
  const reason = resyncReason(config, delta);
  if (reason === undefined && delta.previous !== undefined && delta.previousState !== undefined) {
    const changes: DeltaChanges = new Map();
    let deltaLink: string | undefined;
    let pages = 0;
    try {
      for await (const page of listChain(delta.previous.deltaLink)) {
        pages += 1;
        foldDeltaPage(changes, page.users);
        deltaLink = page.deltaLink ?? deltaLink;
      }
    } catch (error) {
      if (!isExpiredDeltaLink(error)) throw error;
      notes.push(
        `Graph no longer accepts the kept delta link (${(error as Error).message.split('\n')[0] ?? ''}): listed the directory in full and started tracking again.`,
      );
      return fullRound(config, delta, listChain, handOver, notes);
    }
    if (deltaLink === undefined) throw noDeltaLink();
    for await (const rebuilt of mergedUsers(delta.previousState, changes, delta.properties))
      await handOver({ rebuilt });
    notes.push(`Delta: ${changes.size} users changed in ${pages} pages, merged into the kept state.`);
    return {
      mode: 'delta',
      partitions: 1,
      notes,
      delta: { deltaLink, fullSyncAt: delta.previous.fullSyncAt, properties: [...delta.properties] },
    };
  }
  if (reason !== undefined) notes.push(`Delta: ${reason}.`);
  return fullRound(config, delta, listChain, handOver, notes);
}

async function fullRound(
  config: ExportConfig,
  delta: DeltaOptions,
  listChain: ChainLister,
  handOver: (page: DirectoryPage) => Promise<void>,
  notes: string[],
): Promise<Omit<ListingSummary, 'retries'>> {
  let deltaLink: string | undefined;
  for await (const page of listChain(initialDeltaUrl(config))) {
    // An initial round lists the directory as it is; a removal marker would mean nothing here.
    await handOver(page.users.filter((user) => user['@removed'] === undefined));
    deltaLink = page.deltaLink ?? deltaLink;
  }
  if (deltaLink === undefined) throw noDeltaLink();
  const state: DeltaState = {
    deltaLink,
    fullSyncAt: delta.now.toISOString(),
    properties: [...delta.properties],
  };
  return { mode: 'delta-resync', partitions: 1, notes, delta: state };
}

function noDeltaLink(): ExportError {
  return new ExportError('Microsoft Graph ended a /users/delta round without an @odata.deltaLink.', {
    remedy: 'Nothing was written; the next run starts a new round.',
    code: 'GraphMalformedPage',
  });
}
