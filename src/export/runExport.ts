import { type ExportConfig, fileExtension } from '../config.js';
import { createOutputCollector } from './compressedOutput.js';
import { createSerializer, type GraphUser } from './formats.js';

/** The directory as the run sees it: users a page at a time, and how often Graph was retried. */
export interface UserDirectory {
  pages(): AsyncIterable<readonly GraphUser[]>;
  readonly retries: number;
  /** How the listing went; called once every page has been read. */
  listing(): Promise<ListingSummary>;
}

export interface ListingSummary {
  mode: 'sequential' | 'partitioned';
  partitions: number;
  /** Graph's own count (`/users/$count`) after a partitioned listing, and how far the export is from it. */
  graphCount?: number;
  countDifference?: number;
  /** Why the listing did what it did (a fallback to one chain, a count that could not be read). */
  notes: string[];
}

export interface RunLog {
  info(message: string): void;
}

export interface RunExportDependencies {
  /** Reads the app's credential and opens the directory; fails before any user is read. */
  connect(): Promise<UserDirectory>;
  now(): Date;
  log: RunLog;
}

export interface ExportManifest {
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
  durationMs: number;
}

export interface ExportResult {
  /** The users blob's bytes, exactly as stored. */
  users: Buffer;
  manifest: ExportManifest;
}

const PROGRESS_EVERY_PAGES = 10;

/** One export run, start to finish. Throws on any failure, having produced nothing. */
export async function runExport(config: ExportConfig, deps: RunExportDependencies): Promise<ExportResult> {
  const startedAt = deps.now();
  deps.log.info(describeSettings(config));

  const directory = await deps.connect();
  const serializer = createSerializer(config.format, config.select);
  const output = createOutputCollector(config.compression);
  let userCount = 0;
  let pages = 0;
  for await (const page of directory.pages()) {
    pages += 1;
    userCount += page.length;
    await output.write(serializer.page(page));
    if (pages % PROGRESS_EVERY_PAGES === 0) {
      const seconds = Math.max((deps.now().getTime() - startedAt.getTime()) / 1000, 0.001);
      deps.log.info(
        `Progress: ${pages} pages, ${userCount} users (${Math.round(userCount / seconds)} users/s), ${directory.retries} retries so far.`,
      );
    }
  }
  await output.write(serializer.end());
  const collected = await output.finish();
  const listing = await directory.listing();
  for (const note of listing.notes) deps.log.info(`Listing: ${note}`);
  if (listing.countDifference !== undefined && listing.countDifference !== 0) {
    deps.log.info(
      `Listing: exported ${userCount} users, Graph counts ${listing.graphCount}: a difference of ${listing.countDifference} (Graph's count is eventually consistent; recorded in the manifest).`,
    );
  }

  const finishedAt = deps.now();
  const manifest: ExportManifest = {
    generatedAt: finishedAt.toISOString(),
    startedAt: startedAt.toISOString(),
    userCount,
    blobName: `users.${fileExtension(config.format, config.compression)}`,
    format: config.format,
    compression: config.compression,
    contentType: serializer.contentType,
    bytes: collected.bytes,
    uncompressedBytes: collected.uncompressedBytes,
    sha256: collected.sha256,
    select: config.select,
    filter: config.filter ?? null,
    tenant: config.tenantId,
    graphEndpoint: config.graphEndpoint,
    pages,
    retries: directory.retries,
    listing,
    durationMs: finishedAt.getTime() - startedAt.getTime(),
  };
  deps.log.info(
    `Exported ${userCount} users in ${pages} pages (${manifest.retries} retries) to ${manifest.blobName}: ` +
      `${collected.bytes} bytes, sha256 ${collected.sha256}, ${manifest.durationMs} ms.`,
  );
  return { users: collected.content, manifest };
}

/** The start line: every effective setting that is not a secret. */
export function describeSettings(config: ExportConfig): string {
  const credential =
    config.graphCredential.kind === 'certificate'
      ? `certificate "${config.graphCredential.certificateName}"`
      : `client secret "${config.graphCredential.secretName}"`;
  return [
    `Export starting: tenant ${config.tenantId}, client ${config.clientId}`,
    `credential: ${credential} in ${config.keyVaultUrl}`,
    `Graph ${config.graphEndpoint} via ${config.authorityHost}`,
    `select ${config.select.join(',')}`,
    `filter ${config.filter ?? '(none)'}`,
    `format ${config.format}, compression ${config.compression}, container ${config.container}`,
    `parallelism ${config.parallelism}`,
  ].join('; ');
}

export function manifestBytes(manifest: ExportManifest): Buffer {
  return Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
}
