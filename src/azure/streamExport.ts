/**
 * EXPORT_WRITE=stream: the run reads and writes its blobs itself, through the same connection the
 * bindings use (`blobServiceFor`), instead of handing them to the Functions host.
 *
 * - At the start it notes each blob's ETag (or that there is none) and reads the manifest and the
 *   delta link; the kept state is read as a stream, every read pinned to that ETag (`If-Match`), so
 *   each pass sees the same bytes.
 * - Each data blob is written as blocks staged while the listing runs (Put Block, a few in flight)
 *   and committed (Put Block List) only once the run has passed its guard. Staged blocks are never
 *   visible, so a run that fails has changed nothing anyone reads; Storage drops them after a week,
 *   or when the blob is next committed ("Any blocks not specified in the block list are permanently
 *   deleted", Put Block List, learn.microsoft.com/rest/api/storageservices/put-block-list).
 * - The commits go in order, data blobs first and the manifest last, each on the condition that the
 *   blob is still the version this run read (`If-Match` its ETag, or `If-None-Match: *` when there
 *   was none). A blob another run committed meanwhile names that run in its metadata: an older run
 *   is overwritten (newer wins, as with bindings), a newer one stops this run from publishing more.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

import type { BlobClient, BlockBlobClient, ContainerClient } from '@azure/storage-blob';

import { ExportError, PartlyCommittedError } from '../errors.js';
import { type BlobLayout, LAYOUT_OF_ROLE, nameInContainer } from '../export/blobLayout.js';
import type { GzippedBytes } from '../export/changes.js';
import type { ByteStore } from '../export/compressedOutput.js';
import {
  type CommitOutcome,
  type CommittingRun,
  DATA_BLOB_ROLES,
  type DataBlobRole,
  type ExportWriter,
} from '../export/exportWriter.js';
import { INSTANT, RUN_ID } from '../export/publicationGuard.js';
import { type NewerRun, startedLater } from '../export/runIdentity.js';
import type { Env } from '../settings.js';
import { BLOB_READ_DEADLINE_MS, blobServiceFor } from './blobStorage.js';

/**
 * 2 MiB blocks, at most 2 in flight per blob and one filling: 6 MiB per blob being written,
 * whatever the tenant (`npm run bench`: more or larger blocks raise the peak, not the speed, since
 * the listing produces far fewer bytes a second than Storage takes). 50,000 committed blocks a
 * blob, the service's limit, are 97 GiB.
 */
export const BLOCK_BYTES = 2 * 1024 * 1024;
export const BLOCKS_IN_FLIGHT = 2;
/** A stream of the kept state that yields nothing for this long has stalled: the run stops it. */
export const STREAM_IDLE_DEADLINE_MS = 100_000;
/**
 * One block's upload, retries included. The SDK's `tryTimeoutInMs` is only the server-side
 * `timeout` parameter (@azure/storage-common StorageRetryPolicyV2), so a connection that stalls
 * needs a deadline of the run's own.
 */
export const BLOCK_DEADLINE_MS = 100_000;
const BLOCK_ID_BYTES = 48;

/** What the last run left, as this run found it at its start. */
export interface KeptBlobs {
  manifest: Buffer | undefined;
  /** The kept state, read from Storage on each pass (never held whole), always the version found at the start. */
  state: GzippedBytes | undefined;
  delta: Buffer | undefined;
}

export interface StreamStore {
  /** Reads the manifest and the delta link, and notes the version of every blob the run may replace. */
  readKept(): Promise<KeptBlobs>;
  /** A version of the kept state or delta link, by id (where the account keeps versions). */
  keptVersion: {
    state(versionId: string): GzippedBytes;
    deltaState(versionId: string): Promise<Buffer | undefined>;
  };
  /** `latest/manifest.json` as it is now, for the newer-wins check before the commits. */
  readManifestNow(): Promise<Buffer | undefined>;
  writer: ExportWriter;
}

export interface StreamStoreOptions {
  blockBytes?: number;
  blocksInFlight?: number;
}

/** Blob metadata a stream-mode run commits with every blob (names are C# identifiers, as metadata requires). */
const RUN_ID_METADATA = 'entrauserexportrunid';
const STARTED_AT_METADATA = 'entrauserexportstartedat';

type Role = DataBlobRole | 'manifest';

const ROLE_PATHS: Record<Role, keyof BlobLayout> = { ...LAYOUT_OF_ROLE, manifest: 'latestManifest' };

const statusOf = (error: unknown) => (error as { statusCode?: unknown }).statusCode;
const codeOf = (error: unknown) => (error as { code?: unknown }).code;

/** The stream store for a layout (`container/name` paths) on the export's storage connection. */
export function createStreamStore(
  env: Env,
  connection: string,
  layout: BlobLayout,
  options: StreamStoreOptions = {},
): StreamStore {
  const blockBytes = options.blockBytes ?? BLOCK_BYTES;
  const blocksInFlight = options.blocksInFlight ?? BLOCKS_IN_FLIGHT;
  let containerClient: ContainerClient | undefined;
  const container = () => {
    if (containerClient !== undefined) return containerClient;
    const path = layout.latestManifest;
    containerClient = blobServiceFor(env, connection).getContainerClient(path.slice(0, path.indexOf('/')));
    return containerClient;
  };
  const nameOf = (role: Role) => nameInContainer(layout[ROLE_PATHS[role]]);
  const blob = (role: Role) => container().getBlockBlobClient(nameOf(role));
  /** Each blob's ETag at the start; null when there was no such blob. */
  const startEtags = new Map<Role, string | null>();
  /**
   * The container is created only when the start found it missing: an identity or a SAS that may
   * write blobs but not create containers works wherever the container exists.
   */
  let containerMissing = false;
  let containerReady: Promise<unknown> | undefined;
  const ensureContainer = () =>
    (containerReady ??= containerMissing
      ? container()
          .createIfNotExists({ abortSignal: AbortSignal.timeout(BLOB_READ_DEADLINE_MS) })
          .catch((error: unknown) => {
            throw storageFailure(`creating the container ${container().containerName}`, error);
          })
      : Promise.resolve());

  async function etagOf(role: Role): Promise<string | null> {
    try {
      return (
        (await blob(role).getProperties({ abortSignal: AbortSignal.timeout(BLOB_READ_DEADLINE_MS) })).etag ??
        null
      );
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw storageFailure(`reading the properties of ${nameOf(role)}`, error);
    }
  }

  async function readSmall(role: Role, note: boolean): Promise<Buffer | undefined> {
    try {
      const read = await downloadWhole(blob(role));
      if (note) startEtags.set(role, read === 'container missing' ? null : (read?.etag ?? null));
      if (read === 'container missing') {
        containerMissing = true;
        return undefined;
      }
      return read?.content;
    } catch (error) {
      throw storageFailure(`reading ${nameOf(role)}`, error);
    }
  }

  const readKept = async (): Promise<KeptBlobs> => {
    const manifest = await readSmall('manifest', true);
    const delta = await readSmall('deltaState', true);
    for (const role of ['users', 'changes', 'state'] as const) startEtags.set(role, await etagOf(role));
    const stateEtag = startEtags.get('state');
    const stateBlob = blob('state');
    const state: GzippedBytes | undefined =
      stateEtag === null || stateEtag === undefined
        ? undefined
        : { open: () => pinnedStream(stateBlob, stateEtag, nameOf('state')) };
    return { manifest, state, delta };
  };

  let generation = 0;
  /** The data blobs this run committed, for what a failure of the manifest's commit leaves. */
  let committedData: string[] = [];
  const stagers = new Map<DataBlobRole, BlockStager>();
  const writer: ExportWriter = {
    mode: 'stream',
    store(role, contentType) {
      generation += 1;
      const stager = new BlockStager(blob(role), contentType, generation, {
        blockBytes,
        blocksInFlight,
        before: ensureContainer,
        describe: nameOf(role),
      });
      stagers.set(role, stager);
      return stager;
    },
    async commitData(blobs, run) {
      const versionIds: Partial<Record<Role, string>> = {};
      const committed: string[] = [];
      for (const role of DATA_BLOB_ROLES) {
        const finished = blobs.find((candidate) => candidate.role === role);
        if (finished === undefined) continue;
        const stager = stagers.get(role);
        if (stager === undefined) throw new Error(`${role} was finished without being written`);
        const outcome = await commitOnCondition(role, run, committed, (conditions, metadata) =>
          stager.commit(conditions, metadata),
        ).catch((error: unknown) => {
          throw partly(committed, error);
        });
        if (!outcome.committed) return outcome;
        if (outcome.versionId !== undefined) versionIds[role] = outcome.versionId;
        committed.push(nameOf(role));
      }
      committedData = committed;
      return { committed: true, versionIds };
    },
    async commitManifest(content, run) {
      const manifest = blob('manifest');
      const outcome = await commitOnCondition(
        'manifest',
        run,
        committedData,
        async (conditions, metadata) => {
          await ensureContainer();
          const response = await manifest.upload(content, content.length, {
            conditions,
            metadata,
            blobHTTPHeaders: { blobContentType: 'application/json' },
            abortSignal: AbortSignal.timeout(BLOB_READ_DEADLINE_MS),
          });
          return response.versionId;
        },
      ).catch((error: unknown) => {
        throw partly(committedData, error);
      });
      if (!outcome.committed) return outcome;
      return {
        committed: true,
        versionIds: outcome.versionId === undefined ? {} : { manifest: outcome.versionId },
      };
    },
  };

  /**
   * Commits one blob on the condition that it is the version this run found, or, where another run
   * committed it meanwhile and that run started earlier, the version that run left (newer wins).
   */
  async function commitOnCondition(
    role: Role,
    run: CommittingRun,
    committedBefore: readonly string[],
    commit: (
      conditions: { ifMatch: string } | { ifNoneMatch: '*' },
      metadata: Record<string, string>,
    ) => Promise<string | undefined>,
  ): Promise<
    { committed: true; versionId: string | undefined } | Extract<CommitOutcome, { committed: false }>
  > {
    const metadata = { [RUN_ID_METADATA]: run.runId, [STARTED_AT_METADATA]: run.startedAt.toISOString() };
    let expected = startEtags.get(role) ?? null;
    for (let attempt = 1; ; attempt += 1) {
      try {
        const conditions = expected === null ? { ifNoneMatch: '*' as const } : { ifMatch: expected };
        return { committed: true, versionId: await commit(conditions, metadata) };
      } catch (error) {
        // Another writer, not a broken request: a lease (412 LeaseIdMissing) or an outage is a failure.
        const code = codeOf(error);
        const conflict =
          code === 'ConditionNotMet' ||
          code === 'BlobAlreadyExists' ||
          code === 'InvalidBlockList' ||
          (code === undefined && statusOf(error) === 412);
        if (!conflict) {
          // A deadline or a lost answer: the commit may have landed all the same.
          const landed = await holderOf(role).catch(() => undefined);
          if (landed !== undefined && isThisRun(landed.run, run))
            return { committed: true, versionId: landed.versionId };
          throw storageFailure(`committing ${nameOf(role)}`, error);
        }
        const holder = await holderOf(role);
        // The SDK retried a commit whose first attempt landed (its answer lost): the blob is this run's.
        if (isThisRun(holder.run, run)) return { committed: true, versionId: holder.versionId };
        const older = holder.run !== undefined && isOlder(holder.run, run);
        // Another run's commit of this blob discarded this run's staged blocks: nothing to retry with.
        const blocksLost = code === 'InvalidBlockList';
        if (older && !blocksLost && attempt === 1 && holder.etag !== null) {
          expected = holder.etag;
          continue;
        }
        return {
          committed: false,
          newer: holder.run !== undefined && !older ? holder.run : undefined,
          message: conflictMessage(nameOf(role), holder.run, older, blocksLost, committedBefore),
        };
      }
    }
  }

  async function holderOf(
    role: Role,
  ): Promise<{ etag: string | null; versionId: string | undefined; run: NewerRun | undefined }> {
    try {
      const properties = await blob(role).getProperties({
        abortSignal: AbortSignal.timeout(BLOB_READ_DEADLINE_MS),
      });
      // Read back from Storage, so checked: a value of another shape names no run of this app.
      const runId = properties.metadata?.[RUN_ID_METADATA];
      const startedAt = properties.metadata?.[STARTED_AT_METADATA];
      const named =
        runId !== undefined && RUN_ID.test(runId) && startedAt !== undefined && INSTANT.test(startedAt);
      return {
        etag: properties.etag ?? null,
        versionId: properties.versionId,
        run: named ? { runId, startedAt } : undefined,
      };
    } catch (error) {
      if (statusOf(error) === 404) return { etag: null, versionId: undefined, run: undefined };
      throw storageFailure(`reading the properties of ${nameOf(role)}`, error);
    }
  }

  return {
    readKept,
    keptVersion: {
      state: (versionId) => {
        const version = blob('state').withVersion(versionId);
        return { open: () => pinnedStream(version, undefined, `${nameOf('state')} (version ${versionId})`) };
      },
      deltaState: async (versionId) => {
        try {
          const read = await downloadWhole(blob('deltaState').withVersion(versionId));
          return read === 'container missing' ? undefined : read?.content;
        } catch (error) {
          throw storageFailure(`reading ${nameOf('deltaState')} (version ${versionId})`, error);
        }
      },
    },
    readManifestNow: () => readSmall('manifest', false),
    writer,
  };
}

/** Whether a blob's metadata names this very run: its own commit, landed. */
function isThisRun(holder: NewerRun | undefined, run: CommittingRun): boolean {
  return holder?.runId === run.runId && holder.startedAt === run.startedAt.toISOString();
}

/**
 * Whether the run that holds a blob started before this one: not later, by the newer-wins rule
 * (a start ahead of the clock is not believed, so an edited blob cannot stop every run).
 */
function isOlder(holder: NewerRun, run: CommittingRun): boolean {
  if (Number.isNaN(Date.parse(holder.startedAt)) || holder.runId === run.runId) return false;
  return !startedLater(holder, run, new Date());
}

function conflictMessage(
  name: string,
  holder: NewerRun | undefined,
  older: boolean,
  blocksLost: boolean,
  committedBefore: readonly string[],
): string {
  const who =
    holder === undefined
      ? `${name} was changed since this run started by something that names no run of this app`
      : older && blocksLost
        ? `run ${holder.runId}, which started earlier (${holder.startedAt}), committed ${name} while this run wrote it, which discards this run's staged blocks`
        : `run ${holder.runId}, which started ${older ? 'earlier' : 'later'} (${holder.startedAt}), has committed ${name} since this run started`;
  const already =
    committedBefore.length === 0
      ? 'this run committed nothing'
      : `this run had committed ${committedBefore.join(', ')}, which latest/manifest.json does not name, so readers and the next run do not take them`;
  return `Not publishing: ${who}; ${already}, and publishes nothing more.`;
}

/** A failure after some blobs were committed says so: the handler must not claim nothing was written. */
function partly(committed: readonly string[], error: unknown): unknown {
  return committed.length > 0 && error instanceof ExportError
    ? new PartlyCommittedError([...committed], error)
    : error;
}

function storageFailure(doing: string, cause: unknown): ExportError {
  const first = cause instanceof Error ? (cause.message.split('\n')[0] ?? '').trim() : String(cause);
  const status = statusOf(cause);
  const code = codeOf(cause);
  // A 503 without a body has no message: the status and Storage's error code say what happened.
  const answer = [typeof status === 'number' ? `HTTP ${status}` : '', typeof code === 'string' ? code : '']
    .filter(Boolean)
    .join(' ');
  const message = [first, answer === '' ? '' : `(${answer})`].filter(Boolean).join(' ') || 'no answer';
  return new ExportError(`EXPORT_WRITE=stream: ${doing} failed: ${message}`, {
    remedy:
      'Check that EXPORT_STORAGE (or EXPORT_STORAGE__blobServiceUri and its identity) reaches the account and may read and write blobs there (Storage Blob Data Contributor); nothing was published and the next run tries again.',
    code: 'StorageUnavailable',
    cause,
  });
}

/** A small blob's bytes and ETag, in one request with a deadline over the body too; undefined when absent. */
async function downloadWhole(
  blob: BlobClient,
): Promise<{ content: Buffer; etag: string | null } | 'container missing' | undefined> {
  const deadline = AbortSignal.timeout(BLOB_READ_DEADLINE_MS);
  try {
    const response = await blob.download(0, undefined, { abortSignal: deadline });
    const body = response.readableStreamBody as Readable | undefined;
    const chunks: Buffer[] = [];
    if (body !== undefined) {
      const stop = () =>
        body.destroy(new Error(`no answer from Storage within ${BLOB_READ_DEADLINE_MS / 1000} s`));
      deadline.addEventListener('abort', stop, { once: true });
      try {
        for await (const chunk of body) chunks.push(Buffer.from(chunk as Uint8Array));
      } finally {
        deadline.removeEventListener('abort', stop);
      }
    }
    return { content: Buffer.concat(chunks), etag: response.etag ?? null };
  } catch (error) {
    if (statusOf(error) === 404)
      return codeOf(error) === 'ContainerNotFound' ? 'container missing' : undefined;
    throw error;
  }
}

/** A blob's bytes as they arrive, however large, with the same deadline on silence (the runner's copies). */
export function blobChunks(blob: BlobClient, name: string): AsyncGenerator<Uint8Array> {
  return pinnedStream(blob, undefined, name);
}

/**
 * The blob's bytes as they arrive, from the version with this ETag only (a rewritten blob fails the
 * read with 412 instead of mixing versions). The deadline is on silence, not on the whole read: an
 * abort signal given to download() stays on the body until it ends (@typespec/ts-http-runtime
 * nodeHttpClient "Keep abort forwarding until the outgoing request and response have both
 * completed"), and a state of hundreds of MB read at the pace of its reader takes minutes. So the
 * signal is aborted only when no bytes came for STREAM_IDLE_DEADLINE_MS.
 */
async function* pinnedStream(
  blob: BlobClient,
  etag: string | undefined,
  name: string,
): AsyncGenerator<Uint8Array> {
  const silence = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(
      () => silence.abort(new Error(`no bytes from Storage for ${STREAM_IDLE_DEADLINE_MS / 1000} s`)),
      STREAM_IDLE_DEADLINE_MS,
    );
  };
  arm();
  let body: Readable | undefined;
  try {
    // A version needs no ETag: it never changes.
    const response = await blob.download(0, undefined, {
      ...(etag === undefined ? {} : { conditions: { ifMatch: etag } }),
      abortSignal: silence.signal,
    });
    body = response.readableStreamBody as Readable | undefined;
    if (body === undefined) return;
    for await (const chunk of body) {
      // The reader's own time with a chunk is not the server's silence.
      clearTimeout(timer);
      yield chunk as Uint8Array;
      arm();
    }
  } catch (error) {
    throw readFailure(name, silence.signal.aborted ? silence.signal.reason : error);
  } finally {
    clearTimeout(timer);
    body?.destroy();
  }
}

function readFailure(name: string, error: unknown): Error {
  if (statusOf(error) === 412) {
    return new ExportError(
      `${name} was rewritten while this run read it (another run committed a new state).`,
      {
        remedy: 'Nothing was published; the next run compares with the new state.',
        code: 'StorageUnavailable',
        cause: error,
      },
    );
  }
  return storageFailure(`reading ${name}`, error);
}

/**
 * A blob written as staged blocks: each full block goes to Storage as soon as it is filled, a few
 * at a time; nothing is visible until `commit`. Block ids are the same length for every block of
 * the blob (a rule of Put Block) and carry this run's generation, so that a second listing of the
 * same run, or another run staging the same blob, never collides with these.
 */
class BlockStager implements ByteStore {
  private readonly blockIds: string[] = [];
  /** The block being filled, and how much of it is. */
  private block: Buffer | undefined;
  private filled = 0;
  /** Blocks whose upload has ended, to fill again: the stager's memory stays a few blocks, however long the blob. */
  private readonly free: Buffer[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;
  private readonly idPrefix: string;

  constructor(
    private readonly blob: BlockBlobClient,
    private readonly contentType: string,
    generation: number,
    private readonly options: {
      blockBytes: number;
      blocksInFlight: number;
      before: () => Promise<unknown>;
      describe: string;
    },
  ) {
    const random = createHash('sha256').update(crypto.randomUUID()).digest('hex').slice(0, 32);
    this.idPrefix = `${random}-${String(generation).padStart(4, '0')}-`;
  }

  append(chunk: Buffer): void {
    if (this.failure !== undefined) return;
    for (let offset = 0; offset < chunk.length;) {
      this.block ??= this.free.pop() ?? Buffer.allocUnsafe(this.options.blockBytes);
      const copied = chunk.copy(this.block, this.filled, offset);
      this.filled += copied;
      offset += copied;
      if (this.filled === this.block.length) this.stageFilled();
    }
  }

  async ready(): Promise<void> {
    while (this.inFlight.size >= this.options.blocksInFlight) await Promise.race(this.inFlight);
    this.check();
  }

  async finish(): Promise<undefined> {
    if (this.filled > 0 && this.failure === undefined) this.stageFilled();
    await Promise.all(this.inFlight);
    this.check();
    this.free.length = 0;
    return undefined;
  }

  /** Makes the staged blocks the blob's content, on these conditions; the new version's id, if the account keeps versions. */
  async commit(
    conditions: { ifMatch: string } | { ifNoneMatch: '*' },
    metadata: Record<string, string>,
  ): Promise<string | undefined> {
    await this.options.before();
    const response = await this.blob.commitBlockList(this.blockIds, {
      conditions,
      metadata,
      blobHTTPHeaders: { blobContentType: this.contentType },
      abortSignal: AbortSignal.timeout(BLOB_READ_DEADLINE_MS),
    });
    return response.versionId;
  }

  private check(): void {
    if (this.failure === undefined) return;
    if (codeOf(this.failure) === 'InvalidBlobOrBlock') {
      throw new ExportError(
        `EXPORT_WRITE=stream: Storage refused the blocks of ${this.options.describe}: the blob holds uncommitted blocks of another length, left by another tool's upload that did not finish.`,
        {
          remedy:
            'Nothing was published. Write the blob whole once (upload it again, or delete it: the next run writes it), which discards those blocks; Storage also drops them a week after they were staged.',
          code: 'StorageUnavailable',
          cause: this.failure,
        },
      );
    }
    throw storageFailure(`writing ${this.options.describe}`, this.failure);
  }

  private stageFilled(): void {
    const buffer = this.block!;
    const body = buffer.subarray(0, this.filled);
    this.block = undefined;
    this.filled = 0;
    // 48 bytes before base64, the length both Azure SDKs use (@azure/storage-blob generateBlockID,
    // Azure.Storage.Blobs GenerateBlockId): the blocks a failed upload of theirs left on the blob
    // are the same length, which Put Block requires of every uncommitted block of a blob.
    const id = Buffer.from(
      `${this.idPrefix}${String(this.blockIds.length).padStart(BLOCK_ID_BYTES - this.idPrefix.length, '0')}`,
    ).toString('base64');
    this.blockIds.push(id);
    const staging = this.options
      .before()
      .then(() =>
        this.blob.stageBlock(id, body, body.length, { abortSignal: AbortSignal.timeout(BLOCK_DEADLINE_MS) }),
      )
      .then(
        () => void this.free.push(buffer),
        (error: unknown) => {
          this.failure ??= error;
        },
      )
      .finally(() => this.inFlight.delete(staging));
    this.inFlight.add(staging);
  }
}
