import type { ExportConfig } from '../config.js';
import { ExportError } from '../errors.js';
import type { ShrinkLimit } from '../settings.js';

/** What the last published export said about itself (its `latest/manifest.json`). */
export interface PreviousExport {
  userCount: number;
  generatedAt: string | undefined;
  filter: string | null;
  /** The stored users blob's size; undefined in a manifest that does not say. */
  bytes: number | undefined;
}

/** The previous manifest as the run found it. */
export type PreviousExportReading =
  { state: 'none' } | { state: 'unreadable'; reason: string } | { state: 'found'; previous: PreviousExport };

export interface GuardDecision {
  decision: 'first-export' | 'no-baseline' | 'within-limit' | 'accepted-by-override';
  previousUserCount: number | null;
  limit: string;
}

/** Reads `latest/manifest.json` as the blob input binding hands it over (bytes, text, or nothing). */
export function readPreviousExport(content: unknown): PreviousExportReading {
  if (content === undefined || content === null) return { state: 'none' };
  const text =
    Buffer.isBuffer(content) || content instanceof Uint8Array
      ? Buffer.from(content).toString('utf8')
      : content;
  if (typeof text !== 'string') return { state: 'unreadable', reason: 'the binding did not hand over text' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { state: 'unreadable', reason: 'it is not JSON' };
  }
  const record = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  const userCount = record['userCount'];
  if (typeof userCount !== 'number' || !Number.isInteger(userCount) || userCount < 0) {
    return { state: 'unreadable', reason: 'it has no userCount' };
  }
  return {
    state: 'found',
    previous: {
      userCount,
      generatedAt: typeof record['generatedAt'] === 'string' ? record['generatedAt'] : undefined,
      filter: typeof record['filter'] === 'string' ? record['filter'] : null,
      bytes: typeof record['bytes'] === 'number' && record['bytes'] >= 0 ? record['bytes'] : undefined,
    },
  };
}

export function describeLimit(limit: ShrinkLimit): string {
  return limit.kind === 'percent' ? `${limit.value}%` : `${limit.value} users`;
}

/**
 * Entra Connect's "prevent accidental deletes", for an export: a run that would shrink the export
 * by more than EXPORT_SHRINK_LIMIT, or to zero from anything, does not replace `latest/` unless
 * EXPORT_ACCEPT_SHRINK_UNTIL says the drop is expected. Only user counts are compared: a changed
 * EXPORT_SELECT never trips it; a changed EXPORT_FILTER is judged like any other drop (a filter
 * typo is one of the mistakes the guard is for), and the refusal says the filter changed.
 */
export function checkPublication(
  previous: PreviousExportReading,
  userCount: number,
  config: Pick<ExportConfig, 'shrinkLimit' | 'acceptShrinkUntil' | 'filter'>,
  now: Date,
): GuardDecision {
  const limit = describeLimit(config.shrinkLimit);
  if (previous.state === 'none') return { decision: 'first-export', previousUserCount: null, limit };
  if (previous.state === 'unreadable') return { decision: 'no-baseline', previousUserCount: null, limit };
  const before = previous.previous.userCount;
  const drop = before - userCount;
  const allowed =
    config.shrinkLimit.kind === 'users'
      ? config.shrinkLimit.value
      : Math.floor((before * config.shrinkLimit.value) / 100);
  const toZero = before > 0 && userCount === 0;
  if (drop <= 0 || (drop <= allowed && !toZero)) {
    return { decision: 'within-limit', previousUserCount: before, limit };
  }
  if (config.acceptShrinkUntil !== undefined && now.getTime() < config.acceptShrinkUntil.getTime()) {
    return { decision: 'accepted-by-override', previousUserCount: before, limit };
  }
  const percent = before === 0 ? 100 : Math.round((drop / before) * 1000) / 10;
  const filterChanged = (config.filter ?? null) !== previous.previous.filter;
  const suggestion = new Date(now.getTime() + 2 * 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  throw new ExportError(
    `Refusing to replace latest/: this run found ${userCount} users where the last export (${previous.previous.generatedAt ?? 'undated'}) has ${before}, ` +
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
