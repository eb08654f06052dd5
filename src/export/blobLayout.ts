import type { Compression, ExportFormat } from '../settings.js';

/** Where a run's blobs go, as Functions blob output binding paths. */
export interface BlobLayout {
  latestUsers: string;
  latestManifest: string;
  snapshotUsers: string;
  snapshotManifest: string;
}

/** Each run keeps a snapshot in a folder of its own, named after the run's date and time (UTC). */
export const SNAPSHOT_FOLDER = 'snapshots/{DateTime:yyyy}/{DateTime:MM}/{DateTime:dd}/{DateTime:HHmmss}';

export const MANIFEST_BLOB_NAME = 'manifest.json';

/** The users blob's name: the format, then the compression (`users.csv.gz`). */
export function usersBlobName(format: ExportFormat, compression: Compression): string {
  return `users.${format}${compression === 'gzip' ? '.gz' : ''}`;
}

export function blobLayout(target: {
  container: string;
  format: ExportFormat;
  compression: Compression;
}): BlobLayout {
  const users = usersBlobName(target.format, target.compression);
  return {
    latestUsers: `${target.container}/latest/${users}`,
    latestManifest: `${target.container}/latest/${MANIFEST_BLOB_NAME}`,
    snapshotUsers: `${target.container}/${SNAPSHOT_FOLDER}/${users}`,
    snapshotManifest: `${target.container}/${SNAPSHOT_FOLDER}/${MANIFEST_BLOB_NAME}`,
  };
}
