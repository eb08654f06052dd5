import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createGzip } from 'node:zlib';

import { ExportError } from '../errors.js';
import type { Compression } from '../settings.js';

export interface CollectedOutput {
  /** The stored bytes, where the store keeps them in memory; undefined where it sent them on (Storage). */
  content: Buffer | undefined;
  bytes: number;
  sha256: string;
  uncompressedBytes: number;
}

/**
 * Where a blob's stored bytes go: a buffer in memory (for the output bindings), or blocks staged
 * in Storage (EXPORT_WRITE=stream). `append` takes each chunk at once; `ready` waits while the
 * store has as much in flight as it allows, and fails once the store has.
 */
export interface ByteStore {
  append(chunk: Buffer): void;
  ready(): Promise<void>;
  /** Everything appended is stored; the bytes, when the store holds them. */
  finish(): Promise<Buffer | undefined>;
}

/**
 * Collects serialised chunks into the blob's bytes, compressing as they arrive when gzip is
 * on, and hashes what is stored.
 */
export interface OutputCollector {
  write(chunk: Buffer): Promise<void>;
  finish(): Promise<CollectedOutput>;
}

// Large zlib chunks let compression keep pace with parsing instead of emitting 16 KiB crumbs.
const GZIP_CHUNK_SIZE = 1024 * 1024;

/**
 * Room reserved, not used: pages count only once written. The worker hands every output to the
 * host in one gRPC message capped at 2 GiB, so no blob can be larger; a run holds several of
 * these (the users, the state, the change report), and larger reservations can exhaust the
 * process's address space.
 */
const MAX_BLOB_BYTES = 2 * 1024 ** 3;

/**
 * The blob's bytes in one buffer that grows in place (a resizable ArrayBuffer), so the finished
 * blob is never copied: collecting chunks and concatenating them would hold it twice at the end.
 */
/** The blob's bytes in memory; past the 2 GiB the host takes, the next `ready` or `finish` fails. */
export function memoryStore(): ByteStore {
  const buffer = createGrowingBuffer();
  let failure: Error | undefined;
  const check = () => {
    if (failure !== undefined) throw failure;
  };
  return {
    append(chunk) {
      if (failure !== undefined) return;
      // Called from gzip's data events, where a throw would escape the run: kept for `ready`.
      try {
        buffer.append(chunk);
      } catch (error) {
        failure = error instanceof Error ? error : new Error(String(error));
      }
    },
    ready: async () => check(),
    finish: async () => {
      check();
      return buffer.contents();
    },
  };
}

function createGrowingBuffer(): { append(chunk: Buffer): void; contents(): Buffer } {
  const memory = new ArrayBuffer(0, { maxByteLength: MAX_BLOB_BYTES });
  const view = new Uint8Array(memory);
  let length = 0;
  return {
    append(chunk) {
      const needed = length + chunk.length;
      if (needed > memory.byteLength) {
        // Growing in steps keeps resize calls rare; the untouched part of a step costs nothing.
        if (needed > MAX_BLOB_BYTES) {
          throw new ExportError(
            `The export passed ${MAX_BLOB_BYTES} bytes, more than the Functions host takes from the worker in one message.`,
            {
              remedy:
                'Set EXPORT_WRITE=stream (the run writes its blobs itself, with no such limit), or EXPORT_COMPRESS=gzip (about 8x smaller), or narrow EXPORT_SELECT.',
              code: 'ExportTooLarge',
            },
          );
        }
        memory.resize(Math.min(MAX_BLOB_BYTES, Math.max(needed, memory.byteLength * 2, 1024 * 1024)));
      }
      view.set(chunk, length);
      length = needed;
    },
    contents() {
      memory.resize(length);
      return Buffer.from(memory, 0, length);
    },
  };
}

/**
 * @param level zlib's level for gzip: the default for what users download; the kept state, read
 *   back by the next run only, takes the fastest (1).
 */
export function createOutputCollector(
  compression: Compression,
  level?: number,
  stored: ByteStore = memoryStore(),
): OutputCollector {
  const hash = createHash('sha256');
  let bytes = 0;
  let uncompressedBytes = 0;
  const keep = (chunk: Buffer) => {
    stored.append(chunk);
    hash.update(chunk);
    bytes += chunk.length;
  };
  const result = async (): Promise<CollectedOutput> => ({
    content: await stored.finish(),
    bytes,
    sha256: hash.digest('hex'),
    uncompressedBytes,
  });

  if (compression === 'none') {
    return {
      write: async (chunk) => {
        uncompressedBytes += chunk.length;
        keep(chunk);
        await stored.ready();
      },
      finish: result,
    };
  }

  const gzip = createGzip({ chunkSize: GZIP_CHUNK_SIZE, ...(level === undefined ? {} : { level }) });
  gzip.on('data', keep);
  const ended = once(gzip, 'end');
  return {
    async write(chunk) {
      uncompressedBytes += chunk.length;
      if (!gzip.write(chunk)) await once(gzip, 'drain');
      await stored.ready();
    },
    async finish() {
      gzip.end();
      await ended;
      return result();
    },
  };
}
