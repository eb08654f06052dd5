import type { Compression, ExportFormat } from '../settings.js';

/**
 * Where a run's blobs go, as Functions blob output binding paths. Both are fixed names: the host
 * reads its clock once per `{DateTime}` token, when it binds, so a dated path cannot put one run's
 * blobs in one folder, at the run's start. Earlier exports are kept as blob versions of these
 * names (versioning is enabled by the Bicep), and the users bytes cross to the host once.
 */
export interface BlobLayout {
  latestUsers: string;
  latestManifest: string;
  /** Who was added, removed or changed since the previous export. */
  latestChanges: string;
  /** The canonical state of the directory the next run compares with. */
  state: string;
  /** With EXPORT_DELTA: where the next /users/delta round starts. */
  deltaState: string;
}

/** Each data blob's place in the layout (the manifest is `latestManifest`). */
export const LAYOUT_OF_ROLE = {
  users: 'latestUsers',
  changes: 'latestChanges',
  state: 'state',
  deltaState: 'deltaState',
} as const satisfies Record<string, keyof BlobLayout>;

/** A binding path's blob name inside its container (`latest/users.json` of `entra-users/latest/users.json`). */
export function nameInContainer(path: string): string {
  return path.slice(path.indexOf('/') + 1);
}

export const LATEST_FOLDER = 'latest';

export const MANIFEST_BLOB_NAME = 'manifest.json';
export const STATE_BLOB_PATH = 'state/users.ndjson.gz';

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
    latestUsers: `${target.container}/${LATEST_FOLDER}/${users}`,
    latestManifest: `${target.container}/${LATEST_FOLDER}/${MANIFEST_BLOB_NAME}`,
    latestChanges: `${target.container}/${LATEST_FOLDER}/changes.ndjson${target.compression === 'gzip' ? '.gz' : ''}`,
    state: `${target.container}/${STATE_BLOB_PATH}`,
    deltaState: `${target.container}/state/delta.json`,
  };
}
