import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createGzip } from 'node:zlib';

import { ExportError } from '../errors.js';
import type { Compression } from '../settings.js';

export interface CollectedOutput {
  content: Buffer;
  bytes: number;
  sha256: string;
  uncompressedBytes: number;
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
              remedy: 'Set EXPORT_COMPRESS=gzip (about 8x smaller), or narrow EXPORT_SELECT.',
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
export function createOutputCollector(compression: Compression, level?: number): OutputCollector {
  const stored = createGrowingBuffer();
  const hash = createHash('sha256');
  let bytes = 0;
  let uncompressedBytes = 0;
  const keep = (chunk: Buffer) => {
    stored.append(chunk);
    hash.update(chunk);
    bytes += chunk.length;
  };
  const result = (): CollectedOutput => ({
    content: stored.contents(),
    bytes,
    sha256: hash.digest('hex'),
    uncompressedBytes,
  });

  if (compression === 'none') {
    return {
      write: async (chunk) => {
        uncompressedBytes += chunk.length;
        keep(chunk);
      },
      finish: async () => result(),
    };
  }

  const gzip = createGzip({ chunkSize: GZIP_CHUNK_SIZE, ...(level === undefined ? {} : { level }) });
  gzip.on('data', keep);
  const ended = once(gzip, 'end');
  return {
    async write(chunk) {
      uncompressedBytes += chunk.length;
      if (!gzip.write(chunk)) await once(gzip, 'drain');
    },
    async finish() {
      gzip.end();
      await ended;
      return result();
    },
  };
}
