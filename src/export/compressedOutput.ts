import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createGzip } from 'node:zlib';

import type { Compression } from '../config.js';

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

export function createOutputCollector(compression: Compression): OutputCollector {
  const chunks: Buffer[] = [];
  const hash = createHash('sha256');
  let bytes = 0;
  let uncompressedBytes = 0;
  const keep = (chunk: Buffer) => {
    chunks.push(chunk);
    hash.update(chunk);
    bytes += chunk.length;
  };
  const result = (): CollectedOutput => ({
    content: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes),
    bytes,
    sha256: hash.digest('hex'),
    uncompressedBytes,
  });

  if (compression === 'none') {
    return {
      write: async (chunk) => {
        uncompressedBytes += chunk.length;
        if (chunk.length > 0) keep(chunk);
      },
      finish: async () => result(),
    };
  }

  const gzip = createGzip({ chunkSize: GZIP_CHUNK_SIZE });
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
