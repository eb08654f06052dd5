import {
  type Compression,
  DEFAULT_CONTAINER,
  DEFAULT_SCHEDULE,
  type Env,
  type ExportFormat,
  fileExtension,
} from '../config.js';

/** Where a run's blobs go, as Functions blob output binding paths. */
export interface BlobLayout {
  latestUsers: string;
  latestManifest: string;
  snapshotUsers: string;
  snapshotManifest: string;
}

/** Each run keeps a snapshot in a folder of its own, named after the run's date and time (UTC). */
export const SNAPSHOT_FOLDER = 'snapshots/{DateTime:yyyy}/{DateTime:MM}/{DateTime:dd}/{DateTime:HHmmss}';

export function blobLayout(container: string, extension: string): BlobLayout {
  return {
    latestUsers: `${container}/latest/users.${extension}`,
    latestManifest: `${container}/latest/manifest.json`,
    snapshotUsers: `${container}/${SNAPSHOT_FOLDER}/users.${extension}`,
    snapshotManifest: `${container}/${SNAPSHOT_FOLDER}/manifest.json`,
  };
}

/**
 * Binding paths and schedule must be known when the host loads the function, before a run can
 * validate anything, so they are read leniently here; the run itself rejects a bad value.
 */
export function registrationSettings(env: Env): { schedule: string; layout: BlobLayout } {
  const pick = <T extends string>(value: string | undefined, allowed: readonly T[], fallback: T): T =>
    allowed.find((candidate) => candidate === value?.trim().toLowerCase()) ?? fallback;
  const format = pick<ExportFormat>(env['EXPORT_FORMAT'], ['json', 'ndjson', 'csv'], 'json');
  const compression = pick<Compression>(env['EXPORT_COMPRESS'], ['none', 'gzip'], 'none');
  const container = env['EXPORT_CONTAINER']?.trim() || DEFAULT_CONTAINER;
  return {
    schedule: env['EXPORT_SCHEDULE']?.trim() ? '%EXPORT_SCHEDULE%' : DEFAULT_SCHEDULE,
    layout: blobLayout(container, fileExtension(format, compression)),
  };
}
