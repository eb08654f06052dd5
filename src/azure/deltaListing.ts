import type { ExportConfig } from '../config.js';
import { type DeltaChanges, foldDeltaPage, mergedUsers } from '../export/deltaMerge.js';
import type { ListedPage } from '../export/paging.js';
import type { DeltaLink, DirectoryPage, ListingOptions, ListingSummary } from '../export/runExport.js';
import { ExportError } from '../errors.js';

type DeltaOptions = NonNullable<ListingOptions['delta']>;
type ChainLister = (firstUrl: string) => AsyncGenerator<ListedPage>;

const DAY_MS = 86_400_000;
const DELTA_PATH = /^\/v1\.0\/users\/(?:microsoft\.graph\.)?delta(?:\(\))?$/i;

/** The initial /users/delta request: the selected properties, tracked from now on. */
export function initialDeltaUrl(config: ExportConfig): string {
  return `${config.graphEndpoint}/v1.0/users/delta?$select=${config.select.join(',')}`;
}

/** Why this run lists the directory in full instead of one round of changes; undefined when it need not. */
export function resyncReason(config: ExportConfig, delta: DeltaOptions): string | undefined {
  if (delta.fullRoundBecause !== undefined)
    return `${delta.fullRoundBecause}: listing the directory in full, so that no user is left out`;
  if (delta.previous === undefined)
    return delta.noLinkBecause ?? 'no delta link kept yet: the first delta run lists the directory in full';
  if (delta.previousState === undefined)
    return 'no usable state to rebuild from (see Changes): listing the directory in full';
  if (JSON.stringify(delta.previous.properties) !== JSON.stringify(delta.properties)) {
    return 'EXPORT_SELECT changed since the delta link was issued: listing the directory in full';
  }
  const link = keptLinkProblem(config, delta.previous.deltaLink);
  if (link !== undefined)
    return `the kept delta link ${link}; it is not followed: listing the directory in full`;
  const fullSyncAt = Date.parse(delta.previous.fullSyncAt);
  if (!Number.isFinite(fullSyncAt) || fullSyncAt > delta.now.getTime()) {
    return `the kept time of the last full listing (${JSON.stringify(delta.previous.fullSyncAt.slice(0, 40))}) is not a past instant, so it is not believed: listing the directory in full`;
  }
  const age = delta.now.getTime() - fullSyncAt;
  if (!(age < config.deltaResyncDays * DAY_MS)) {
    return `the last full listing is ${Math.floor(age / DAY_MS)} days old (EXPORT_DELTA_RESYNC_DAYS=${config.deltaResyncDays}): listing the directory in full`;
  }
  return undefined;
}

/**
 * What is wrong with a kept delta link, read back from Storage: it is followed with the app's Graph
 * token, so it must be what Graph issues for this selection, checked like a nextLink (an https URL
 * at GRAPH_ENDPOINT's origin) and at the /users/delta path. Graph encodes the round's query in its
 * token ("Use delta query", Microsoft Graph docs: the deltaLink "already includes the encoded
 * parameters"), so a `$select` in plain sight must be this run's, and `$filter` is refused.
 */
export function keptLinkProblem(config: ExportConfig, link: string): string | undefined {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    return 'is not a URL';
  }
  const graph = new URL(config.graphEndpoint);
  if (url.protocol !== 'https:' || url.origin !== graph.origin) {
    return `points at ${url.protocol === 'https:' ? url.origin : 'a plain http URL'}, not GRAPH_ENDPOINT (${graph.origin})`;
  }
  // Graph echoes the form of the request (`/users/delta`, or `/users/microsoft.graph.delta()`,
  // which the docs call the same function: msgraph-sdk-java #1870 shows the second coming back).
  if (!DELTA_PATH.test(url.pathname)) return `is not a /v1.0/users/delta link (${url.pathname.slice(0, 80)})`;
  const select = url.searchParams.get('$select');
  if (select !== null && select !== config.select.join(',')) {
    return `was issued for another $select (${select.slice(0, 200)}) than EXPORT_SELECT`;
  }
  if (url.searchParams.has('$filter')) return 'carries a $filter, which this export never sends';
  return undefined;
}

/**
 * Graph's answer when a kept delta link can no longer be used: 410 Gone, or a resync code
 * (Microsoft Graph, Use delta query: the token expired, or the service needs a full resync), and
 * 400 or 404 for a link it no longer reads (a token from another app or tenant, a damaged one).
 * Each means one full round; a first round refused the same way is a real error.
 */
export function isRefusedDeltaLink(error: unknown): boolean {
  const failure = (typeof error === 'object' && error !== null ? error : {}) as {
    statusCode?: unknown;
    code?: unknown;
  };
  return (
    failure.statusCode === 410 ||
    failure.statusCode === 400 ||
    failure.statusCode === 404 ||
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
      if (!isRefusedDeltaLink(error)) throw error;
      const status = (error as { statusCode?: unknown }).statusCode;
      notes.push(
        `Graph refused the kept delta link (${typeof status === 'number' ? `${status}: ` : ''}${(error as Error).message.split('\n')[0] ?? ''}): listed the directory in full and started tracking again.`,
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
  const state: DeltaLink = {
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
