import type { ExportConfig } from '../config.js';
import { ExportError } from '../errors.js';
import type { ShrinkLimit } from '../settings.js';

/** One publication, as the manifest keeps the last few for the guard's floor. */
export interface PublishedCount {
  runId: string | null;
  startedAt: string | null;
  userCount: number;
}

/** How many publications the guard's floor looks back over (the newest first, this one included). */
export const GUARD_HISTORY_RUNS = 10;

/** What the last published export said about itself (its `latest/manifest.json`), each field checked. */
export interface PreviousExport {
  userCount: number;
  generatedAt: string | undefined;
  filter: string | null;
  /** The stored users blob's size; undefined in a manifest that does not say. */
  bytes: number | undefined;
  /** The run that published it; undefined in a manifest of an earlier version. */
  runId: string | undefined;
  startedAt: string | undefined;
  /** The sha256 of each blob the run wrote, by role, as the manifest names them. */
  blobSha256: Partial<Record<'users' | 'changes' | 'state' | 'deltaState', string>>;
  /** With EXPORT_WRITE=stream, where the account keeps versions: the version of each blob that run committed. */
  blobVersionIds: Partial<Record<'users' | 'changes' | 'state' | 'deltaState', string>>;
  /** The size of every blob the manifest names (whatever their roles): what that run handed to the host. */
  blobBytes: number[];
  /** The state that run compared with, when it did: the last state known to be whole. */
  baseline: { runId: string; stateSha256: string } | undefined;
  /** The last publications' user counts, newest first (this one first). */
  history: PublishedCount[];
}

/** The previous manifest as the run found it. */
export type PreviousExportReading =
  { state: 'none' } | { state: 'unreadable'; reason: string } | { state: 'found'; previous: PreviousExport };

export interface GuardDecision {
  decision: 'first-export' | 'no-baseline' | 'within-limit' | 'accepted-by-override';
  previousUserCount: number | null;
  /** The largest user count of the last GUARD_HISTORY_RUNS publications, which a slow slide is judged against. */
  largestRecentUserCount: number | null;
  limit: string;
}

/** A run id as a run writes it (an invocation id, `-rN` on a retry). */
export const RUN_ID = /^[A-Za-z0-9-]{1,64}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const VERSION_ID = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,7})?Z$/;
const string = (value: unknown, pattern?: RegExp) =>
  typeof value === 'string' && (pattern === undefined || pattern.test(value)) ? value : undefined;
/** No tenant holds more users than this (Entra's object quota is in the tens of millions): a larger count was not written by a run. */
const MAX_USER_COUNT = 1_000_000_000;
const count = (value: unknown) =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_USER_COUNT
    ? value
    : undefined;
const size = (value: unknown) =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
/** A time as a run writes it (`Date.toISOString`); anything else Date.parse would guess at is not taken. */
/** A time as a run writes it (`Date.toISOString`). */
export const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/;
const record = (value: unknown) =>
  (typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {}) as Record<
    string,
    unknown
  >;

/**
 * Reads `latest/manifest.json` as the blob input binding hands it over (bytes, text, or nothing).
 * The manifest is read back from Storage, so it is untrusted: each field is taken only when it has
 * the shape a run writes, and one that does not is as good as absent.
 */
export function readPreviousExport(content: unknown): PreviousExportReading {
  if (content === undefined || content === null) return { state: 'none' };
  const text =
    Buffer.isBuffer(content) || content instanceof Uint8Array
      ? Buffer.from(content).toString('utf8')
      : content;
  let parsed: unknown = text;
  // A binding that reads the blob as text hands JSON over already parsed (the Node worker's tryJsonParse).
  if (typeof text === 'string') {
    try {
      parsed = JSON.parse(text);
    } catch {
      return { state: 'unreadable', reason: 'it is not JSON' };
    }
  } else if (typeof text !== 'object') {
    return { state: 'unreadable', reason: 'the binding did not hand over text' };
  }
  const manifest = record(parsed);
  const userCount = count(manifest['userCount']);
  if (userCount === undefined) return { state: 'unreadable', reason: 'it has no userCount' };
  const blobs = record(manifest['blobs']);
  const blobSha256: PreviousExport['blobSha256'] = {};
  const blobVersionIds: PreviousExport['blobVersionIds'] = {};
  for (const role of ['users', 'changes', 'state', 'deltaState'] as const) {
    const sha256 = string(record(blobs[role])['sha256'], SHA256);
    if (sha256 !== undefined) blobSha256[role] = sha256;
    // A version id is a time as Storage writes it (2026-12-01T02:00:03.1234567Z).
    const versionId = string(record(blobs[role])['versionId'], VERSION_ID);
    if (versionId !== undefined) blobVersionIds[role] = versionId;
  }
  const baseline = record(manifest['baseline']);
  const baselineRunId = string(baseline['runId'], RUN_ID);
  const baselineSha256 = string(baseline['stateSha256'], SHA256);
  const runId = string(manifest['runId'], RUN_ID);
  const startedAt = string(manifest['startedAt'], INSTANT);
  const history = Array.isArray(manifest['history'])
    ? manifest['history'].slice(0, GUARD_HISTORY_RUNS).flatMap((entry): PublishedCount[] => {
        const fields = record(entry);
        const entryCount = count(fields['userCount']);
        return entryCount === undefined
          ? []
          : [
              {
                runId: string(fields['runId'], RUN_ID) ?? null,
                startedAt: string(fields['startedAt'], INSTANT) ?? null,
                userCount: entryCount,
              },
            ];
      })
    : [];
  return {
    state: 'found',
    previous: {
      userCount,
      generatedAt: string(manifest['generatedAt']),
      filter: string(manifest['filter']) ?? null,
      bytes: size(manifest['bytes']),
      runId,
      startedAt,
      blobSha256,
      blobVersionIds,
      blobBytes: Object.values(blobs).flatMap((blob) => size(record(blob)['bytes']) ?? []),
      baseline:
        baselineRunId === undefined || baselineSha256 === undefined
          ? undefined
          : { runId: baselineRunId, stateSha256: baselineSha256 },
      // The history's first entry is the manifest's own publication; a manifest without one starts it.
      history:
        history[0]?.userCount === userCount
          ? history
          : [{ runId: runId ?? null, startedAt: startedAt ?? null, userCount }],
    },
  };
}

/** The counts a new manifest keeps: this publication first, then the earlier ones the guard still judges by. */
export function guardHistory(
  previous: PreviousExportReading,
  guard: GuardDecision,
  published: PublishedCount,
): PublishedCount[] {
  // An accepted drop (or no comparison at all) starts the floor afresh, or the next run would refuse it again.
  const continues = guard.decision === 'within-limit' && previous.state === 'found';
  return [published, ...(continues ? previous.previous.history : [])].slice(0, GUARD_HISTORY_RUNS);
}

export function describeLimit(limit: ShrinkLimit): string {
  return limit.kind === 'percent' ? `${limit.value}%` : `${limit.value} users`;
}

/**
 * Entra Connect's "prevent accidental deletes", for an export: a run that would shrink the export
 * by more than EXPORT_SHRINK_LIMIT, or to zero from anything, does not replace `latest/` unless
 * EXPORT_ACCEPT_SHRINK_UNTIL says the drop is expected. The drop is measured from the last export
 * and from the largest of the last GUARD_HISTORY_RUNS publications, so a slow slide (9% a run) is
 * refused like a sudden drop. Only user counts are compared: a changed EXPORT_SELECT never trips
 * it; a changed EXPORT_FILTER is judged like any other drop (a filter typo is one of the mistakes
 * the guard is for), and the refusal says the filter changed.
 */
export function checkPublication(
  previous: PreviousExportReading,
  userCount: number,
  config: Pick<ExportConfig, 'shrinkLimit' | 'acceptShrinkUntil' | 'filter'>,
  now: Date,
): GuardDecision {
  const limit = describeLimit(config.shrinkLimit);
  if (previous.state === 'none')
    return { decision: 'first-export', previousUserCount: null, largestRecentUserCount: null, limit };
  if (previous.state === 'unreadable')
    return { decision: 'no-baseline', previousUserCount: null, largestRecentUserCount: null, limit };
  const last = previous.previous.userCount;
  const largest = Math.max(last, ...previous.previous.history.map((entry) => entry.userCount));
  const counts = { previousUserCount: last, largestRecentUserCount: largest, limit };
  const tooLarge = (before: number) => {
    const drop = before - userCount;
    const allowed =
      config.shrinkLimit.kind === 'users'
        ? config.shrinkLimit.value
        : Math.floor((before * config.shrinkLimit.value) / 100);
    return drop > 0 && (drop > allowed || (before > 0 && userCount === 0));
  };
  const fromLast = tooLarge(last);
  if (!fromLast && !tooLarge(largest)) return { decision: 'within-limit', ...counts };
  if (config.acceptShrinkUntil !== undefined && now.getTime() < config.acceptShrinkUntil.getTime()) {
    return { decision: 'accepted-by-override', ...counts };
  }
  const before = fromLast ? last : largest;
  const drop = before - userCount;
  const toZero = before > 0 && userCount === 0;
  const percent = before === 0 ? 100 : Math.round((drop / before) * 1000) / 10;
  const filterChanged = (config.filter ?? null) !== previous.previous.filter;
  const suggestion = new Date(now.getTime() + 2 * 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const against = fromLast
    ? `the last export (${previous.previous.generatedAt ?? 'undated'}) has ${before}`
    : `the largest of the last ${previous.previous.history.length} exports had ${before} (the last one ${last}: a slow slide is refused like a sudden drop)`;
  throw new ExportError(
    `Refusing to replace latest/: this run found ${userCount} users where ${against}, ` +
      `a drop of ${drop} (${percent}%)${toZero ? ' to none at all' : ''}, more than EXPORT_SHRINK_LIMIT (${limit}) allows.` +
      (filterChanged
        ? ` EXPORT_FILTER changed since then (was ${previous.previous.filter === null ? 'none' : `"${previous.previous.filter}"`}).`
        : ''),
    {
      remedy:
        `Nothing was written. If the drop is expected (leavers, a new filter), set EXPORT_ACCEPT_SHRINK_UNTIL to a UTC time shortly after the next run, such as ${suggestion}, and run again: it accepts the drop until then and expires by itself. ` +
        'If not, check EXPORT_FILTER and the directory before the next run.',
      code: 'GuardRefused',
    },
  );
}
