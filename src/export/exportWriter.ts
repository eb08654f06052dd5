/**
 * Where a run's blobs go. With EXPORT_WRITE=bindings the run hands every blob to the Functions host
 * when it returns (output bindings: the host writes them, concurrently and without conditions);
 * with EXPORT_WRITE=stream it writes them itself as they are produced (blocks staged while the
 * listing runs) and commits them in order, each on the condition that it is still the version the
 * run read at its start, the manifest last. The run's logic is the same either way.
 */
import type { ByteStore } from './compressedOutput.js';
import type { NewerRun } from './runIdentity.js';

/** The blobs a run writes besides its manifest, in the order a stream-mode run commits them. */
export const DATA_BLOB_ROLES = ['users', 'changes', 'state', 'deltaState'] as const;
export type DataBlobRole = (typeof DATA_BLOB_ROLES)[number];

/** A data blob as the run finished writing it: committed by `commitData`, never before. */
export interface FinishedBlob {
  role: DataBlobRole;
  bytes: number;
  sha256: string;
  /** The bytes, where the writer kept them (bindings); undefined where they are staged in Storage. */
  content: Buffer | undefined;
}

/** The run a commit is made for: blobs carry its id and start, so that a later run can tell newer from older. */
export interface CommittingRun {
  runId: string;
  startedAt: Date;
}

export type CommitOutcome =
  | {
      committed: true;
      /** Each committed blob's version id, where the account keeps versions (stream); none known otherwise. */
      versionIds: Partial<Record<DataBlobRole | 'manifest', string>>;
    }
  | {
      committed: false;
      /** What was found instead of the version this run read, and what that left as it was. */
      message: string;
      /** The run that owns the blob now, when it names itself and started later. */
      newer: NewerRun | undefined;
    };

export interface ExportWriter {
  readonly mode: 'bindings' | 'stream';
  /** Where one blob's bytes go as they are produced; a second call for a role starts that blob over. */
  store(role: DataBlobRole, contentType: string): ByteStore;
  /** Commits the data blobs (stream), or keeps them for the host (bindings). */
  commitData(blobs: readonly FinishedBlob[], run: CommittingRun): Promise<CommitOutcome>;
  /** Commits the manifest, last: with stream, the manifest is the commit that readers follow. */
  commitManifest(content: Buffer, run: CommittingRun): Promise<CommitOutcome>;
}
