import { describeCredentialSource, type ExportConfig } from '../config.js';
import { ExportError } from '../errors.js';
import {
  type ChangeSummary,
  changeLines,
  ChangeTracker,
  type GzippedBytes,
  PreviousState,
  sha256OfBytes,
  stateHeaderLine,
} from './changes.js';
import { exportedProperties } from './columns.js';
import { createOutputCollector } from './compressedOutput.js';
import { type RebuiltUser, rebuiltUsers } from './deltaMerge.js';
import { createSerializer, type GraphUser, lineProjector } from './formats.js';
import { blobLayout, nameInContainer, STATE_BLOB_PATH } from './blobLayout.js';
import type { DataBlobRole, ExportWriter, FinishedBlob } from './exportWriter.js';
import type { ListingIds } from './idSet.js';
import { memoryWarning } from './memoryBudget.js';
import { type BlobRecord, buildManifest, type ExportManifest, manifestBytes } from './manifest.js';
import {
  checkPublication,
  guardHistory,
  type PreviousExportReading,
  readPreviousExport,
} from './publicationGuard.js';
import {
  type DeltaState,
  newerRunThan,
  type NewerRun,
  vouchedDeltaState,
  vouchedState,
} from './runIdentity.js';

export interface ListingProgress {
  /** Graph requests retried so far in this listing. */
  retries: number;
}

/** What a listing hands over: a page of users from Graph, or of users rebuilt from the previous state. */
export type DirectoryPage = readonly GraphUser[] | { rebuilt: readonly RebuiltUser[] };

export type PageHandler = (page: DirectoryPage, progress: ListingProgress) => Promise<void>;

export type { ListingIds } from './idSet.js';

export interface ListingOptions {
  /** List on one nextLink chain even where partitions would be faster. */
  sequential?: boolean;
  /**
   * Which ids this listing has handed over; by default a set of the listing's own. The run passes
   * one that shares the previous state's index, so a tenant's ids are held once, not twice.
   */
  ids?: ListingIds;
  /** With EXPORT_DELTA: what the last run kept, to rebuild the directory from one delta round. */
  delta?: {
    /** The kept state, only when the last manifest vouches for it. */
    previousState: GzippedBytes | undefined;
    /** The kept delta link, only when the last manifest vouches for it and for the state. */
    previous: DeltaLink | undefined;
    /** Why there is no kept link to follow, when there is none. */
    noLinkBecause?: string;
    properties: readonly string[];
    now: Date;
    /** Why this listing must be a full round whatever was kept (a rebuild came up short). */
    fullRoundBecause?: string;
  };
}

export type { DeltaState } from './runIdentity.js';

/** Where the next /users/delta round starts, as a listing ends it (the run adds its id when it keeps it). */
export type DeltaLink = Omit<DeltaState, 'runId'>;

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
  /** Users Graph listed twice (a user renamed into a partition not yet listed), exported once. */
  duplicatesDropped?: number;
  /** Why the listing did what it did (a fallback to one chain, a count that could not be read). */
  notes: string[];
  /** After a delta listing: where the next round starts. */
  delta?: DeltaLink;
}

export interface RunLog {
  info(message: string): void;
  warn(message: string): void;
}

export interface RunExportDependencies {
  /** This run's id (the invocation id): the manifest, the state and the delta state carry it. */
  runId: string;
  /** Reads the app's credential and opens the directory; fails before any user is read. */
  connect(): Promise<UserDirectory>;
  /** `latest/manifest.json` as the host read it before the run (its bytes), or undefined: the export this run would replace. */
  previousManifest: Buffer | undefined;
  /** The state the last successful run kept (`state/users.ndjson.gz`), for the change report: bytes, or a stream. */
  previousState: GzippedBytes | undefined;
  /** Where the last run's delta round ended (`state/delta.json`, as stored), with EXPORT_DELTA. */
  previousDelta: Buffer | undefined;
  /** `latest/manifest.json` as it is now (read again just before publishing, in one request), or undefined. */
  readPublishedManifest(): Promise<Buffer | undefined>;
  /** Where the blobs go: to the host's output bindings, or to Storage by the run itself (EXPORT_WRITE). */
  writer: ExportWriter;
  /**
   * With EXPORT_WRITE=stream: a version of the kept state and delta link by id, for when the ones
   * there now are not the ones the last manifest names (versions where the account keeps them).
   */
  keptVersion?: {
    state(versionId: string): GzippedBytes;
    deltaState(versionId: string): Promise<Buffer | undefined>;
  };
  now(): Date;
  log: RunLog;
}

export interface ExportResult {
  published: true;
  manifest: ExportManifest;
  /** The manifest's bytes, exactly as stored (serialised once). */
  manifestContent: Buffer;
}

/**
 * A run that publishes nothing (more): a run which started later had published, or, with
 * EXPORT_WRITE=stream, a blob was no longer the version this run read.
 */
export interface SupersededRun {
  published: false;
  runId: string;
  /** The later run, where one is known. */
  newer: NewerRun | undefined;
  message: string;
}

const PROGRESS_EVERY_PAGES = 10;

/**
 * One export run, start to finish. Throws on any failure, having produced nothing; publishes
 * nothing either when a run that started later has published meanwhile.
 */
export async function runExport(
  config: ExportConfig,
  deps: RunExportDependencies,
): Promise<ExportResult | SupersededRun> {
  const startedAt = deps.now();
  deps.log.info(describeSettings(config));
  const previousExport = readPreviousExport(deps.previousManifest);
  warnOfMemory(config, previousExport, deps.log);

  const properties = exportedProperties(config.select, config.includeManager);
  const kept = await keptBaseline(config, deps, previousExport, properties);
  const directory = await deps.connect();
  if (directory.credentialWarning !== undefined) deps.log.warn(`Warning: ${directory.credentialWarning}`);
  const listed = await listCompletely(config, directory, startedAt, deps, kept);
  const { listing, userCount, pages, contentType, collected } = listed;
  reportListing(listing, userCount, deps.log);
  if (previousExport.state === 'unreadable') {
    deps.log.info(
      `Guard: the last export's manifest could not be read (${previousExport.reason}); publishing without a comparison.`,
    );
  }
  const finishedAt = deps.now();
  const guard = checkPublication(previousExport, userCount, config, finishedAt);
  const report = await writeChangeReport(config, listed.tracker, kept.state, deps.writer);
  const deltaState =
    listing.delta === undefined
      ? undefined
      : await writeWhole(
          deps.writer,
          'deltaState',
          'application/json',
          Buffer.from(`${JSON.stringify({ runId: deps.runId, ...listing.delta } satisfies DeltaState)}\n`),
        );

  // Newer wins: a run that started later and has published owns latest/ (a manual run beside the timer's).
  const published = await publishedNow(deps);
  const newer = newerRunThan(published, { runId: deps.runId, startedAt }, deps.now());
  if (newer !== undefined) {
    const message =
      `Not publishing: run ${newer.runId}, which started later (${newer.startedAt}) than this one (${startedAt.toISOString()}), ` +
      'has published meanwhile; its export is newer, so latest/ and state/ stay as it left them.';
    return notPublished(deps, message, newer);
  }
  // An earlier-started run published meanwhile: this run replaces that export, so the guard and its
  // history judge against it; the change report stays against the state this run started from.
  const replaced = replacedExport(previousExport, published);
  const judged =
    replaced === previousExport ? guard : checkPublication(replaced, userCount, config, deps.now());
  if (replaced !== previousExport && replaced.state === 'found') {
    listing.notes.push(
      `Run ${replaced.previous.runId ?? '(unnamed)'} published while this run listed; this export replaces it, and the change report compares with run ${report.summary.sinceRunId ?? '(none)'}, so it may repeat changes that run reported.`,
    );
    deps.log.info(`Listing: ${listing.notes.at(-1)!}`);
  }

  const layout = blobLayout(config);
  const finished: FinishedBlob[] = [
    { role: 'users', ...collected },
    { role: 'changes', ...report.stored },
    { role: 'state', ...listed.state },
    ...(deltaState === undefined ? [] : [{ role: 'deltaState' as const, ...deltaState }]),
  ];
  // Data blobs first (stream: each on the condition that it is the version this run read), then
  // the manifest that names them: a reader who trusts the manifest gets this run's blobs or none.
  const run = { runId: deps.runId, startedAt };
  const data = await deps.writer.commitData(finished, run);
  if (!data.committed) return notPublished(deps, data.message, data.newer);
  const record = (role: DataBlobRole, path: string): BlobRecord => {
    const blob = finished.find((candidate) => candidate.role === role)!;
    return {
      name: nameInContainer(path),
      bytes: blob.bytes,
      sha256: blob.sha256,
      ...(deps.writer.mode === 'stream' ? { versionId: data.versionIds[role] ?? null } : {}),
    };
  };
  const manifest = buildManifest(config, {
    runId: deps.runId,
    startedAt,
    finishedAt,
    userCount,
    pages,
    contentType,
    output: collected,
    listing,
    guard: judged,
    credentialWarning: directory.credentialWarning ?? null,
    changes: report.summary,
    blobs: {
      users: record('users', layout.latestUsers),
      changes: record('changes', layout.latestChanges),
      state: record('state', layout.state),
      deltaState: deltaState === undefined ? null : record('deltaState', layout.deltaState),
    },
    baseline: kept.baseline,
    history: guardHistory(replaced, judged, {
      runId: deps.runId,
      startedAt: startedAt.toISOString(),
      userCount,
    }),
  });
  deps.log.info(
    `Exported ${userCount} users in ${pages} pages (${manifest.retries} retries) to ${manifest.blobName}: ` +
      `${manifest.bytes} bytes, sha256 ${manifest.sha256}, ${manifest.durationMs} ms.`,
  );
  deps.log.info(describeChanges(report.summary));
  const manifestContent = manifestBytes(manifest);
  const committed = await deps.writer.commitManifest(manifestContent, run);
  if (!committed.committed) return notPublished(deps, committed.message, committed.newer);
  return { published: true, manifest, manifestContent };
}

function notPublished(
  deps: RunExportDependencies,
  message: string,
  newer: NewerRun | undefined,
): SupersededRun {
  deps.log.warn(message);
  return { published: false, runId: deps.runId, newer, message };
}

/** A small blob (the delta link) written in one piece. */
async function writeWhole(
  writer: ExportWriter,
  role: DataBlobRole,
  contentType: string,
  content: Buffer,
): Promise<Omit<FinishedBlob, 'role'>> {
  const output = createOutputCollector('none', undefined, writer.store(role, contentType));
  await output.write(content);
  const { bytes, sha256, content: kept } = await output.finish();
  return { bytes, sha256, content: kept };
}

/** The export this run replaces: the one published now when another run published one meanwhile, else the one it started from. */
function replacedExport(atStart: PreviousExportReading, now: PreviousExportReading): PreviousExportReading {
  const runOf = (reading: PreviousExportReading) =>
    reading.state === 'found' ? reading.previous.runId : undefined;
  return now.state === 'found' && runOf(now) !== runOf(atStart) ? now : atStart;
}

/**
 * `latest/manifest.json` as it is now. A run that cannot tell whether a newer run published does
 * not publish: a read that fails, or a manifest that no longer reads although it changed since the
 * run started (a write in progress), read once more and still unreadable, stops the run.
 */
async function publishedNow(deps: RunExportDependencies): Promise<PreviousExportReading> {
  for (let attempt = 1; ; attempt += 1) {
    let content: Buffer | undefined;
    try {
      content = await deps.readPublishedManifest();
    } catch (error) {
      throw cannotTell(`it could not be read (${(error as Error).message.split('\n')[0] ?? ''})`, error);
    }
    const reading = readPreviousExport(content);
    // The same unreadable bytes as at the start are no news: the guard has already said so.
    if (reading.state !== 'unreadable' || (content !== undefined && deps.previousManifest?.equals(content))) {
      return reading;
    }
    if (attempt === 2)
      throw cannotTell(`it changed since this run started and does not read (${reading.reason})`);
  }
}

function cannotTell(why: string, cause?: unknown): ExportError {
  return new ExportError(
    `Could not tell whether a newer run has published: latest/manifest.json was read again before publishing, and ${why}.`,
    {
      remedy:
        'Nothing was written. Check that EXPORT_STORAGE (or EXPORT_STORAGE__blobServiceUri and its identity) reaches the account and may read blobs there; the next run tries again.',
      code: 'StorageUnavailable',
      cause,
    },
  );
}

/** What the last run left, as far as its manifest vouches for it. */
interface KeptBaseline {
  /** The state to compare with, or why there is none. */
  state: PreviousState | { reason: string };
  /** That state's run and bytes, for this run's manifest: still whole if this run's state does not land. */
  baseline: { runId: string; stateSha256: string } | null;
  /** With EXPORT_DELTA: the link to follow, or why not. */
  delta: DeltaState | { reason: string } | undefined;
}

/** What the last run left, checked before anything is built on it: the state and delta link its manifest vouches for. */
async function keptBaseline(
  config: ExportConfig,
  deps: RunExportDependencies,
  previousExport: PreviousExportReading,
  properties: readonly string[],
): Promise<KeptBaseline> {
  // A streamed state is read through once for its sha256 (a blob input's bytes are hashed in memory).
  const vouch = async (content: GzippedBytes | undefined) => {
    const streamed = content !== undefined && !Buffer.isBuffer(content);
    const sha256 =
      streamed && previousExport.state === 'found' && previousExport.previous.runId !== undefined
        ? await sha256OfBytes(content)
        : undefined;
    // Without a manifest that names a run, the state is no baseline whatever its bytes: no hash needed.
    return vouchedState(previousExport, content, streamed ? (sha256 ?? '') : undefined);
  };
  let vouched = await vouch(deps.previousState);
  // A stream-mode run that stopped after committing its state, before its manifest, replaced the
  // state the manifest names; where the account keeps versions, that version is still there.
  const versions = previousExport.state === 'found' ? previousExport.previous.blobVersionIds : {};
  let deltaContent = deps.previousDelta;
  if ('reason' in vouched && versions.state !== undefined && deps.keptVersion !== undefined) {
    const named = await vouch(deps.keptVersion.state(versions.state));
    if (!('reason' in named)) {
      deps.log.info(
        `Changes: ${STATE_BLOB_PATH} is not the state the last manifest names (${vouched.reason}); comparing with the version it names (${versions.state}).`,
      );
      vouched = named;
      if (versions.deltaState !== undefined)
        deltaContent = await deps.keptVersion.deltaState(versions.deltaState);
    }
  }
  let state: PreviousState | { reason: string };
  if ('reason' in vouched) state = vouched;
  else {
    state = await PreviousState.read(vouched.content, properties);
    if (state instanceof PreviousState && state.runId !== vouched.runId) {
      state = { reason: `the state names another run than the manifest entry for it (${vouched.runId})` };
    }
    if (state instanceof PreviousState && vouched.note !== undefined)
      deps.log.info(`Changes: ${vouched.note}.`);
  }
  const baseline =
    state instanceof PreviousState && !('reason' in vouched)
      ? { runId: state.runId, stateSha256: vouched.sha256 }
      : null;
  const delta = config.delta
    ? vouchedDeltaState(previousExport, deltaContent, state instanceof PreviousState ? vouched : state)
    : undefined;
  return { state, baseline, delta };
}

/** The change report against the previous state; with none to compare with, a report that says why. */
async function writeChangeReport(
  config: ExportConfig,
  tracker: ChangeTracker,
  previous: PreviousState | { reason: string },
  writer: ExportWriter,
): Promise<{ stored: Omit<FinishedBlob, 'role'>; summary: ChangeSummary }> {
  const output = createOutputCollector(
    config.compression,
    undefined,
    writer.store('changes', storedContentType(NDJSON_CONTENT_TYPE, config.compression)),
  );
  const summary: ChangeSummary = {
    compared: previous instanceof PreviousState,
    reason: previous instanceof PreviousState ? null : previous.reason,
    sinceRunId: previous instanceof PreviousState ? previous.runId : null,
    added: 0,
    removed: 0,
    changed: 0,
  };
  for await (const line of changeLines(tracker)) {
    summary[line.change] += 1;
    await output.write(Buffer.from(`${JSON.stringify(line)}\n`));
  }
  const { bytes, sha256, content } = await output.finish();
  return { stored: { bytes, sha256, content }, summary };
}

const GZIP_CONTENT_TYPE = 'application/gzip';
const NDJSON_CONTENT_TYPE = 'application/x-ndjson';

/** The Content-Type a stream-mode run stores a blob with: its format's, or gzip's when compressed. */
function storedContentType(contentType: string, compression: ExportConfig['compression']): string {
  return compression === 'gzip' ? GZIP_CONTENT_TYPE : contentType;
}

function describeChanges(summary: ChangeSummary): string {
  return summary.compared
    ? `Changes since the last export: ${summary.added} added, ${summary.removed} removed, ${summary.changed} changed.`
    : `Changes: not compared, ${summary.reason ?? 'no baseline'}; the next run reports changes against this one.`;
}

/** Before listing: would an export the size of the last one fit in this instance and in one gRPC message? */
function warnOfMemory(config: ExportConfig, previousExport: PreviousExportReading, log: RunLog): void {
  if (previousExport.state !== 'found') return;
  const { userCount, bytes, blobBytes } = previousExport.previous;
  if (bytes === undefined) return;
  const outputBytes = blobBytes.length > 0 ? blobBytes : undefined;
  const warning = memoryWarning(
    { userCount, bytes, ...(outputBytes && { outputBytes }) },
    config.instanceMemoryMB,
    config.write,
  );
  if (warning !== undefined) log.warn(`Warning: ${warning}`);
}

/**
 * The directory listed and serialised. A partitioned listing or a delta rebuild whose total
 * disagrees with Graph's count (checked twice; either way: short, or more than Graph holds) is
 * not published: the directory is listed again, on one nextLink chain or as a full delta round.
 */
async function listCompletely(
  config: ExportConfig,
  directory: UserDirectory,
  startedAt: Date,
  deps: RunExportDependencies,
  kept: KeptBaseline,
) {
  const previous = kept.state;
  const properties = exportedProperties(config.select, config.includeManager);
  const options: ListingOptions = config.delta
    ? {
        delta: {
          previousState: previous instanceof PreviousState ? previous.content : undefined,
          previous: kept.delta === undefined || 'reason' in kept.delta ? undefined : kept.delta,
          ...(kept.delta !== undefined && 'reason' in kept.delta ? { noLinkBecause: kept.delta.reason } : {}),
          properties,
          now: startedAt,
        },
      }
    : {};
  const listed = await listAndSerialise(config, directory, options, startedAt, deps, previous);
  const first = listed.listing;
  const disagrees = first.countDifference !== undefined && first.countDifference !== 0;
  if (!disagrees || (first.mode !== 'partitioned' && first.mode !== 'delta')) return listed;
  // A fresh reading of the previous state: the first listing marked users as seen.
  const fresh =
    previous instanceof PreviousState ? await PreviousState.read(previous.content, properties) : previous;
  // Listed again: a delta rebuild as a full /users/delta round, a partitioned listing on one chain.
  const delta = first.mode === 'delta';
  const why = `the ${delta ? 'rebuilt directory' : 'partitions'} held ${listed.userCount} users but Graph counts ${first.graphCount}`;
  deps.log.info(
    `Listing: ${why}; ${delta ? 'listing the directory in full (a full /users/delta round)' : 'listing again on one nextLink chain so that no user is left out or counted twice'}.`,
  );
  const againOptions: ListingOptions = delta
    ? { delta: { ...options.delta!, fullRoundBecause: why } }
    : { sequential: true };
  const again = await listAndSerialise(config, directory, againOptions, startedAt, deps, fresh);
  // The full round sees who is gone, not how: the delta round said (soft or permanent deletion).
  if (delta) again.tracker.keepDeletionsOf(listed.tracker);
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
  const serializer = createSerializer(config.format, properties, {
    bom: config.csvBom,
    formulaGuard: config.csvFormulaGuard,
  });
  const output = createOutputCollector(
    config.compression,
    undefined,
    deps.writer.store('users', storedContentType(serializer.contentType, config.compression)),
  );
  // The canonical state: every user as exported, one JSON line each, whatever EXPORT_FORMAT is.
  const lineOf = lineProjector(properties);
  const stateOutput = createOutputCollector('gzip', 1, deps.writer.store('state', GZIP_CONTENT_TYPE));
  await stateOutput.write(Buffer.from(`${stateHeaderLine(properties, deps.runId)}\n`));
  const tracker = new ChangeTracker(previous instanceof PreviousState ? previous : undefined);
  let userCount = 0;
  let pages = 0;
  const handlePage: PageHandler = async (page, progress) => {
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
  };
  const listing = await directory.listUsers(handlePage, { ...options, ids: tracker });
  await output.write(serializer.end());
  const collected = await output.finish();
  const { bytes, sha256, content } = await stateOutput.finish();
  return {
    listing,
    userCount,
    pages,
    contentType: serializer.contentType,
    collected,
    state: { bytes, sha256, content },
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
    `format ${config.format}, compression ${config.compression}, write ${config.write}, container ${config.container}`,
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
