import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { createOutputCollector } from '../../../src/export/compressedOutput.js';

const chunks = Array.from({ length: 50 }, (_, index) => Buffer.from(`chunk ${index} `.repeat(5000)));
const original = Buffer.concat(chunks);

describe('createOutputCollector', () => {
  it('stores the bytes as written when compression is off, with their size and sha256', async () => {
    const output = createOutputCollector('none');
    for (const chunk of chunks) await output.write(chunk);
    const result = await output.finish();
    expect(result.content!.equals(original)).toBe(true);
    expect(result.bytes).toBe(original.length);
    expect(result.uncompressedBytes).toBe(original.length);
    expect(result.sha256).toBe(createHash('sha256').update(original).digest('hex'));
  });

  it('gzips as it goes: the stored bytes gunzip to the original and hash as stored', async () => {
    const output = createOutputCollector('gzip');
    for (const chunk of chunks) await output.write(chunk);
    const result = await output.finish();
    expect(gunzipSync(result.content!).equals(original)).toBe(true);
    expect(result.bytes).toBe(result.content!.length);
    expect(result.bytes).toBeLessThan(original.length / 10);
    expect(result.uncompressedBytes).toBe(original.length);
    expect(result.sha256).toBe(createHash('sha256').update(result.content!).digest('hex'));
  });
});
