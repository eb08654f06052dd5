import type { ExportConfig } from '../config.js';
import { usersBlobName } from './blobLayout.js';
import type { ChangeSummary } from './changes.js';
import type { CollectedOutput } from './compressedOutput.js';
import type { GuardDecision, PublishedCount } from './publicationGuard.js';
import type { ListingSummary } from './runExport.js';

/** One blob a run wrote: its name in the container and its exact bytes. */
export interface BlobRecord {
  name: string;
  bytes: number;
  sha256: string;
  /**
   * With EXPORT_WRITE=stream: the version this run committed, where the account keeps blob
   * versions (null where it does not, as in Azurite): a reader fetches exactly these bytes even
   * after a later run replaced the blob.
   */
  versionId?: string | null;
}

/**
 * Every blob a run wrote. The next run builds on the state and the delta link only when their
 * bytes are these; a reader checks the users blob and the change report the same way.
 */
export interface ManifestBlobs {
  users: BlobRecord;
  changes: BlobRecord;
  state: BlobRecord;
  /** With EXPORT_DELTA: where the next round starts; null without. */
  deltaState: BlobRecord | null;
}

/** What `manifest.json` says about one export: enough to find, verify and explain it. */
export interface ExportManifest {
  /** The run that wrote this manifest and every blob it names (the invocation id). */
  runId: string;
  /** How the blobs reached Storage (EXPORT_WRITE): with `stream`, this manifest was committed after them. */
  write: ExportConfig['write'];
  generatedAt: string;
  startedAt: string;
  userCount: number;
  blobName: string;
  format: ExportConfig['format'];
  compression: ExportConfig['compression'];
  contentType: string;
  bytes: number;
  uncompressedBytes: number;
  sha256: string;
  select: readonly string[];
  filter: string | null;
  tenant: string;
  graphEndpoint: string;
  pages: number;
  retries: number;
  listing: ListingSummary;
  /** What the publication guard decided, against the export this one replaced. */
  guard: GuardDecision;
  /** Set when the run signed in with an earlier certificate version: what must be registered, by when. */
  credentialWarning: string | null;
  /** The change report beside the export: counts, or why there was nothing to compare with. */
  changes: ChangeSummary;
  blobs: ManifestBlobs;
  /** The state this run compared with (null when it had none): still whole if this run's did not land. */
  baseline: { runId: string; stateSha256: string } | null;
  /** This publication's user count and the last ones', newest first: the guard's floor. */
  history: PublishedCount[];
  durationMs: number;
}

export interface RunFacts {
  runId: string;
  startedAt: Date;
  finishedAt: Date;
  userCount: number;
  pages: number;
  contentType: string;
  output: Omit<CollectedOutput, 'content'>;
  listing: ListingSummary;
  guard: GuardDecision;
  credentialWarning: string | null;
  changes: ChangeSummary;
  blobs: ManifestBlobs;
  baseline: ExportManifest['baseline'];
  history: PublishedCount[];
}

export function buildManifest(config: ExportConfig, run: RunFacts): ExportManifest {
  return {
    runId: run.runId,
    write: config.write,
    generatedAt: run.finishedAt.toISOString(),
    startedAt: run.startedAt.toISOString(),
    userCount: run.userCount,
    blobName: usersBlobName(config.format, config.compression),
    format: config.format,
    compression: config.compression,
    contentType: run.contentType,
    bytes: run.output.bytes,
    uncompressedBytes: run.output.uncompressedBytes,
    sha256: run.output.sha256,
    select: config.select,
    filter: config.filter ?? null,
    tenant: config.tenantId,
    graphEndpoint: config.graphEndpoint,
    pages: run.pages,
    retries: run.listing.retries.throttled + run.listing.retries.transient,
    listing: run.listing,
    guard: run.guard,
    credentialWarning: run.credentialWarning,
    changes: run.changes,
    blobs: run.blobs,
    baseline: run.baseline,
    history: run.history,
    durationMs: run.finishedAt.getTime() - run.startedAt.getTime(),
  };
}

export function manifestBytes(manifest: ExportManifest): Buffer {
  return Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
}
