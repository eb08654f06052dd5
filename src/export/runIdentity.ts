/**
 * One run, one identity. A run writes several blobs, which the host uploads independently (and
 * concurrently: azure-functions-host `WorkerFunctionInvoker.BindOutputsAsync`), so any one of them
 * may fail while the others land, and two runs may interleave. The manifest therefore names the
 * exact bytes of every blob its run wrote (sha256), the state and the delta state carry the run's
 * id, and the next run builds on what it reads back only when all of them agree.
 */
import { createHash } from 'node:crypto';

import type { GzippedBytes } from './changes.js';
import type { PreviousExportReading } from './publicationGuard.js';

export function sha256Of(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** The kept state the last manifest vouches for, and whose state it is. */
export interface VouchedState {
  content: GzippedBytes;
  sha256: string;
  /** The run that wrote it, which its header must name. */
  runId: string;
  /** Whether it is the last publication's own state (else the state that publication compared with). */
  lastRunsOwn: boolean;
  /** Said in the log when the state is an earlier run's. */
  note: string | undefined;
}

/**
 * The kept state, if the last manifest names its exact bytes: as its run's own state, or as the
 * baseline that run compared with (its own state did not reach Storage, so the earlier one is
 * still there, whole). Anything else is no baseline, with the reason.
 */
export function vouchedState(
  manifest: PreviousExportReading,
  state: GzippedBytes | undefined,
  /** The state's sha256 as stored, where the caller read it through already (a stream). */
  stateSha256?: string,
): VouchedState | { reason: string } {
  if (state === undefined) return { reason: 'no previous state: this is the first run' };
  if (manifest.state !== 'found') {
    return { reason: 'there is no readable latest/manifest.json to check the kept state against' };
  }
  const previous = manifest.previous;
  if (previous.runId === undefined) {
    return {
      reason: 'the last manifest names no run (an earlier version wrote it), so this run is the new baseline',
    };
  }
  const sha256 = stateSha256 ?? (Buffer.isBuffer(state) ? sha256Of(state) : undefined);
  if (sha256 === undefined)
    throw new Error("a streamed state's sha256 must be read before it is vouched for");
  if (previous.blobSha256.state === sha256) {
    return { content: state, sha256, runId: previous.runId, lastRunsOwn: true, note: undefined };
  }
  if (previous.baseline?.stateSha256 === sha256) {
    return {
      content: state,
      sha256,
      runId: previous.baseline.runId,
      lastRunsOwn: false,
      note: `the state of the last run (${previous.runId}) did not reach Storage; comparing with the state it compared with (run ${previous.baseline.runId}), which is whole`,
    };
  }
  return {
    reason: `the state does not match the last manifest (run ${previous.runId}): its upload failed or it was changed since, so this run is the new baseline`,
  };
}

/** Where the next /users/delta round starts, kept in `state/delta.json`. */
export interface DeltaState {
  /** The run that wrote it; its manifest names this blob's sha256. */
  runId: string;
  deltaLink: string;
  /** When the directory was last listed in full (an initial delta round). */
  fullSyncAt: string;
  properties: string[];
}

/**
 * The kept delta link, when the last manifest names its bytes, it is that run's own, and the state
 * it goes with is that run's too (a link without its state would rebuild from the wrong users).
 */
export function vouchedDeltaState(
  manifest: PreviousExportReading,
  content: Buffer | undefined,
  state: VouchedState | { reason: string },
): DeltaState | { reason: string } {
  if (content === undefined)
    return { reason: 'no delta link kept yet: the first delta run lists the directory in full' };
  if (!('content' in state))
    return { reason: `no usable state to rebuild from (${state.reason}): listing the directory in full` };
  if (!state.lastRunsOwn || manifest.state !== 'found') {
    return {
      reason:
        "the kept delta link is not the kept state's (the last run's state did not reach Storage): listing the directory in full",
    };
  }
  const delta = parseDeltaState(content);
  if (
    manifest.previous.blobSha256.deltaState !== sha256Of(content) ||
    delta === undefined ||
    delta.runId !== manifest.previous.runId ||
    delta.runId !== state.runId
  ) {
    return {
      reason: `state/delta.json does not match the last manifest (run ${manifest.previous.runId ?? 'unnamed'}): listing the directory in full`,
    };
  }
  return delta;
}

/** `state/delta.json` when it has the shape a run writes; undefined for anything else. */
export function parseDeltaState(content: Buffer): DeltaState | undefined {
  try {
    const parsed = JSON.parse(content.toString('utf8')) as Partial<DeltaState>;
    return typeof parsed.runId === 'string' &&
      typeof parsed.deltaLink === 'string' &&
      typeof parsed.fullSyncAt === 'string' &&
      Array.isArray(parsed.properties) &&
      parsed.properties.every((name) => typeof name === 'string')
      ? {
          runId: parsed.runId,
          deltaLink: parsed.deltaLink,
          fullSyncAt: parsed.fullSyncAt,
          properties: parsed.properties,
        }
      : undefined;
  } catch {
    return undefined;
  }
}

/** A later run that published while this one ran. */
export interface NewerRun {
  runId: string;
  startedAt: string;
}

/**
 * Newer wins: the run that started later owns `latest/`. The manifest as it is now (read again just
 * before the outputs are handed over) names a run that started after this one: this run publishes
 * nothing. A start time ahead of `now` is not believed (a clock, or an edited blob, would otherwise
 * stop every run from publishing).
 */
export function newerRunThan(
  published: PreviousExportReading,
  own: { runId: string; startedAt: Date },
  now: Date,
): NewerRun | undefined {
  if (published.state !== 'found') return undefined;
  const { runId, startedAt } = published.previous;
  if (runId === undefined || startedAt === undefined) return undefined;
  return startedLater({ runId, startedAt }, own, now) ? { runId, startedAt } : undefined;
}

/**
 * Whether `other` started after `own` (the same millisecond: the greater run id), by a start time
 * that is not ahead of `now`; a run is never later than itself.
 */
export function startedLater(other: NewerRun, own: { runId: string; startedAt: Date }, now: Date): boolean {
  if (other.runId === own.runId) return false;
  const started = Date.parse(other.startedAt);
  if (Number.isNaN(started)) return false;
  // Two runs that started in the same millisecond: the greater run id wins, so exactly one publishes.
  const later =
    started > own.startedAt.getTime() || (started === own.startedAt.getTime() && other.runId > own.runId);
  return later && started <= now.getTime();
}
