import { describeCredentialSource, type ExportConfig } from '../config.js';
import { type ChangeSummary, changeLines, ChangeTracker, PreviousState, stateHeaderLine } from './changes.js';
import { exportedProperties } from './columns.js';
import { createOutputCollector } from './compressedOutput.js';
import { type RebuiltUser, rebuiltUsers } from './deltaMerge.js';
import { createSerializer, type GraphUser, lineProjector } from './formats.js';
import { memoryWarning } from './memoryBudget.js';
import { buildManifest, type ExportManifest } from './manifest.js';
import { checkPublication, type PreviousExportReading } from './publicationGuard.js';

export interface ListingProgress {
  /** Graph requests retried so far in this listing. */
  retries: number;
}

/** What a listing hands over: a page of users from Graph, or of users rebuilt from the previous state. */
export type DirectoryPage = readonly GraphUser[] | { rebuilt: readonly RebuiltUser[] };

export type PageHandler = (page: DirectoryPage, progress: ListingProgress) => Promise<void>;

export interface ListingOptions {
  /** List on one nextLink chain even where partitions would be faster. */
  sequential?: boolean;
  /** With EXPORT_DELTA: what the last run kept, to rebuild the directory from one delta round. */
  delta?: {
    previousState: Buffer | undefined;
    previous: DeltaState | undefined;
    properties: readonly string[];
    now: Date;
    /** Why this listing must be a full round whatever was kept (a rebuild came up short). */
    fullRoundBecause?: string;
  };
}

/** Where the next /users/delta round starts, kept in `state/delta.json`. */
export interface DeltaState {
  deltaLink: string;
  /** When the directory was last listed in full (an initial delta round). */
  fullSyncAt: string;
  properties: string[];
}

/** The directory as the run sees it: every user, a page at a time. */
export interface UserDirectory {
  /** Hands each page to `onPage` as it arrives and resolves with how the listing went. */
  listUsers(onPage: PageHandler, options?: ListingOptions): Promise<ListingSummary>;
  /** Signed in, but with something an admin must fix before it stops working (a renewed certificate). */
  credentialWarning?: string;
}

export interface ListingSummary {
  mode: 'sequential' | 'partitioned' | 'delta' | 'delta-resync';
  partitions: number;
  /** Graph requests retried, by why: throttling (429/503/504) or a transient failure. */
  retries: { throttled: number; transient: number };
  /** Graph's own count (`/users/$count`) after a partitioned listing, and how far the export is from it. */
  graphCount?: number;
  countDifference?: number;
  /** Why the listing did what it did (a fallback to one chain, a count that could not be read). */
  notes: string[];
  /** After a delta listing: where the next round starts. */
  delta?: DeltaState;
}

export interface RunLog {
  info(message: string): void;
  warn(message: string): void;
}

export interface RunExportDependencies {
  /** Reads the app's credential and opens the directory; fails before any user is read. */
  connect(): Promise<UserDirectory>;
  /** The export this run would replace, for the publication guard. */
  previousExport: PreviousExportReading;
  /** The state the last successful run kept (`state/users.ndjson.gz`), for the change report. */
  previousState: Buffer | undefined;
  /** Where the last run's delta round ended (`state/delta.json`), with EXPORT_DELTA. */
  previousDelta: DeltaState | undefined;
  now(): Date;
  log: RunLog;
}

export interface ExportResult {
  /** The users blob's bytes, exactly as stored. */
  users: Buffer;
  manifest: ExportManifest;
  /** The change report (NDJSON, gzipped with EXPORT_COMPRESS=gzip). */
  changes: Buffer;
  /** The canonical state of the directory the next run compares with (gzipped NDJSON). */
  state: Buffer;
  /** With EXPORT_DELTA: where the next delta round starts (JSON). */
  deltaState: Buffer | undefined;
}

const PROGRESS_EVERY_PAGES = 10;

/** One export run, start to finish. Throws on any failure, having produced nothing. */
export async function runExport(config: ExportConfig, deps: RunExportDependencies): Promise<ExportResult> {
  const startedAt = deps.now();
  deps.log.info(describeSettings(config));
  warnOfMemory(config, deps);

  const properties = exportedProperties(config.select, config.includeManager);
  // A delta rebuild meets the previous users in line order and needs no index to look them up.
  const previousState = await PreviousState.read(deps.previousState, properties, { indexed: !config.delta });
  const directory = await deps.connect();
  if (directory.credentialWarning !== undefined) deps.log.warn(`Warning: ${directory.credentialWarning}`);
  const listed = await listCompletely(config, directory, startedAt, deps, previousState);
  const { listing, userCount, pages, contentType, collected, content } = listed;
  reportListing(listing, userCount, deps.log);
  if (deps.previousExport.state === 'unreadable') {
    deps.log.info(
      `Guard: the last export's manifest could not be read (${deps.previousExport.reason}); publishing without a comparison.`,
    );
  }
  const finishedAt = deps.now();
  const guard = checkPublication(deps.previousExport, userCount, config, finishedAt);
  const report = await writeChangeReport(config, listed.tracker, listed.state, previousState);

  const manifest = buildManifest(config, {
    startedAt,
    finishedAt,
    userCount,
    pages,
    contentType,
    output: collected,
    listing,
    guard,
    credentialWarning: directory.credentialWarning ?? null,
    changes: report.summary,
  });
  deps.log.info(
    `Exported ${userCount} users in ${pages} pages (${manifest.retries} retries) to ${manifest.blobName}: ` +
      `${manifest.bytes} bytes, sha256 ${manifest.sha256}, ${manifest.durationMs} ms.`,
  );
  deps.log.info(describeChanges(report.summary));
  const deltaState =
    listing.delta === undefined ? undefined : Buffer.from(`${JSON.stringify(listing.delta)}\n`);
  return { users: content, manifest, changes: report.content, state: listed.state, deltaState };
}

/** The change report against the previous state; with none to compare with, a report that says why. */
async function writeChangeReport(
  config: ExportConfig,
  tracker: ChangeTracker,
  state: Buffer,
  previous: PreviousState | { reason: string },
): Promise<{ content: Buffer; summary: ChangeSummary }> {
  const output = createOutputCollector(config.compression);
  const summary: ChangeSummary = {
    compared: previous instanceof PreviousState,
    reason: previous instanceof PreviousState ? null : previous.reason,
    added: 0,
    removed: 0,
    changed: 0,
  };
  for await (const line of changeLines(tracker, state)) {
    summary[line.change] += 1;
    await output.write(Buffer.from(`${JSON.stringify(line)}\n`));
  }
  const { content } = await output.finish();
  return { content, summary };
}

function describeChanges(summary: ChangeSummary): string {
  return summary.compared
    ? `Changes since the last export: ${summary.added} added, ${summary.removed} removed, ${summary.changed} changed.`
    : `Changes: not compared, ${summary.reason ?? 'no baseline'}; the next run reports changes against this one.`;
}

/** Before listing: would an export the size of the last one fit in this instance and in one gRPC message? */
function warnOfMemory(config: ExportConfig, deps: RunExportDependencies): void {
  if (deps.previousExport.state !== 'found') return;
  const { userCount, bytes } = deps.previousExport.previous;
  if (bytes === undefined) return;
  const warning = memoryWarning({ userCount, bytes }, config.instanceMemoryMB);
  if (warning !== undefined) deps.log.warn(`Warning: ${warning}`);
}

/**
 * The directory listed and serialised. A partitioned listing that holds fewer users than Graph
 * counts is not published: the directory is listed again on one nextLink chain.
 */
async function listCompletely(
  config: ExportConfig,
  directory: UserDirectory,
  startedAt: Date,
  deps: RunExportDependencies,
  previous: PreviousState | { reason: string },
) {
  const options: ListingOptions = config.delta
    ? {
        delta: {
          // Only a state that reads as a baseline can be rebuilt from (a damaged one means a full round).
          previousState: previous instanceof PreviousState ? previous.content : undefined,
          previous: deps.previousDelta,
          properties: exportedProperties(config.select, config.includeManager),
          now: startedAt,
        },
      }
    : {};
  const listed = await listAndSerialise(config, directory, options, startedAt, deps, previous);
  const first = listed.listing;
  const short = first.countDifference !== undefined && first.countDifference < 0;
  if (!short || (first.mode !== 'partitioned' && first.mode !== 'delta')) return listed;
  // A fresh reading of the previous state: the first listing marked users as seen.
  const fresh =
    previous instanceof PreviousState
      ? await PreviousState.read(previous.content, exportedProperties(config.select, config.includeManager))
      : previous;
  // Listed again: a delta rebuild as a full /users/delta round, a partitioned listing on one chain.
  const delta = first.mode === 'delta';
  const why = delta
    ? `the rebuilt directory held ${listed.userCount} users but Graph counts ${first.graphCount}`
    : `the partitions held ${listed.userCount} users but Graph counts ${first.graphCount}`;
  deps.log.info(
    `Listing: ${why}; ${delta ? 'listing the directory in full (a full /users/delta round)' : 'listing again on one nextLink chain so that no user is left out'}.`,
  );
  const againOptions: ListingOptions = delta
    ? { delta: { ...options.delta!, fullRoundBecause: why } }
    : { sequential: true };
  const again = await listAndSerialise(config, directory, againOptions, startedAt, deps, fresh);
  if (!delta) {
    again.listing.notes.unshift(
      `A partitioned listing found ${listed.userCount} users where Graph counts ${first.graphCount}; this export is the one-chain listing that followed.`,
    );
  }
  again.listing.retries.throttled += first.retries.throttled;
  again.listing.retries.transient += first.retries.transient;
  return again;
}

/** One listing of the directory, serialised (and compressed) as its pages arrive. */
async function listAndSerialise(
  config: ExportConfig,
  directory: UserDirectory,
  options: ListingOptions,
  startedAt: Date,
  deps: RunExportDependencies,
  previous: PreviousState | { reason: string },
) {
  const properties = exportedProperties(config.select, config.includeManager);
  const serializer = createSerializer(config.format, properties);
  const output = createOutputCollector(config.compression);
  // The canonical state: every user as exported, one JSON line each, whatever EXPORT_FORMAT is.
  const lineOf = lineProjector(properties);
  const stateOutput = createOutputCollector('gzip', 1);
  await stateOutput.write(Buffer.from(`${stateHeaderLine(properties)}\n`));
  const tracker = new ChangeTracker(previous instanceof PreviousState ? previous : undefined);
  let userCount = 0;
  let pages = 0;
  const listing = await directory.listUsers(async (page, progress) => {
    // Each user's state line, computed once: the state holds it, JSON and NDJSON exports reuse it.
    const lines: string[] = [];
    let users: () => readonly GraphUser[];
    if ('rebuilt' in page) {
      for (const entry of page.rebuilt) {
        if ('kept' in entry) {
          tracker.observeAt(entry.previousLine, entry.kept, entry.kept);
          lines.push(entry.kept);
          continue;
        }
        if ('removed' in entry) {
          tracker.observeRemoval(entry.previousLine, entry.removed);
          continue;
        }
        const line = lineOf(entry.user);
        tracker.observeAt(entry.previousLine, line, entry.previousLine === undefined ? '' : entry.oldLine);
        lines.push(line);
      }
      users = () => rebuiltUsers(page.rebuilt);
    } else {
      await tracker.readyForLookups();
      for (const user of page) {
        const line = lineOf(user);
        tracker.observe(String(user['id']), line);
        lines.push(line);
      }
      users = () => page;
    }
    pages += 1;
    userCount += lines.length;
    await output.write(serializer.pageOfLines(lines, users));
    if (lines.length > 0) await stateOutput.write(Buffer.from(`${lines.join('\n')}\n`));
    if (pages % PROGRESS_EVERY_PAGES === 0) {
      deps.log.info(describeProgress(pages, userCount, progress, startedAt, deps.now()));
    }
  }, options);
  await output.write(serializer.end());
  const { content, ...collected } = await output.finish();
  const state = (await stateOutput.finish()).content;
  return {
    listing,
    userCount,
    pages,
    contentType: serializer.contentType,
    collected,
    content,
    state,
    tracker,
  };
}

/** The start line: every effective setting that is not a secret. */
export function describeSettings(config: ExportConfig): string {
  return [
    `Export starting: tenant ${config.tenantId}, client ${config.clientId}`,
    `credential: ${describeCredentialSource(config.graphCredential)}`,
    `Graph ${config.graphEndpoint} via ${config.authorityHost}`,
    `select ${config.select.join(',')}${config.includeManager ? ' + manager' : ''}`,
    `filter ${config.filter ?? '(none)'}`,
    `format ${config.format}, compression ${config.compression}, container ${config.container}`,
    `parallelism ${config.parallelism}, schedule ${config.schedule}`,
  ].join('; ');
}

function describeProgress(
  pages: number,
  users: number,
  progress: ListingProgress,
  startedAt: Date,
  now: Date,
): string {
  const seconds = Math.max((now.getTime() - startedAt.getTime()) / 1000, 0.001);
  return `Progress: ${pages} pages, ${users} users (${Math.round(users / seconds)} users/s), ${progress.retries} retries so far.`;
}

function reportListing(listing: ListingSummary, userCount: number, log: RunLog): void {
  for (const note of listing.notes) log.info(`Listing: ${note}`);
  if (listing.countDifference !== undefined && listing.countDifference !== 0) {
    log.info(
      `Listing: exported ${userCount} users, Graph counts ${listing.graphCount}: a difference of ${listing.countDifference} (Graph's count is eventually consistent; recorded in the manifest).`,
    );
  }
}
