import { describe, expect, it } from 'vitest';

import {
  estimateInstancePeakBytes,
  GRPC_MESSAGE_LIMIT_BYTES,
  HAND_OVER_OVERHEAD_BYTES,
  handOverTooLarge,
  estimateStreamPeakBytes,
  largestStreamTenant,
  largestTenant,
  memoryWarning,
  STATE_BYTES_PER_USER,
} from '../../../src/export/memoryBudget.js';

const MB = 1024 * 1024;
// npm run bench, 1M small users: stored bytes and the worker's measured peak (docs/performance.md).
const benchJson = { userCount: 1_000_000, bytes: 438_059_469, workerPeak: 770 * MB };
const benchJsonGzip = { userCount: 1_000_000, bytes: 54_324_416, workerPeak: 354 * MB };

describe('the instance memory budget', () => {
  it("never estimates less than the worker's measured peak plus the hand-over's five copies", () => {
    for (const run of [benchJson, benchJsonGzip]) {
      expect(estimateInstancePeakBytes(run)).toBeGreaterThanOrEqual(run.workerPeak + 5 * run.bytes);
    }
  });

  it('says a 1M-user uncompressed JSON export needs a 4 GB instance, and gzip fits in 2 GB', () => {
    expect(largestTenant(2048, 438)).toBeLessThan(1_000_000);
    expect(largestTenant(4096, 438)).toBeGreaterThan(1_000_000);
    expect(largestTenant(2048, 54)).toBeGreaterThan(1_500_000);
  });

  it('is capped by the one gRPC message the outputs cross in (the users blob and the state together), whatever the instance', () => {
    expect(largestTenant(1_000_000, 1000)).toBe(
      Math.floor((GRPC_MESSAGE_LIMIT_BYTES - HAND_OVER_OVERHEAD_BYTES) / (1000 + STATE_BYTES_PER_USER)),
    );
  });

  it('warns when an export the size of the last one nears the instance, naming both remedies', () => {
    const warning = memoryWarning(benchJson, 2048);
    expect(warning).toMatch(/418 MiB for 1,000,000 users/);
    expect(warning).toMatch(/EXPORT_COMPRESS=gzip/);
    expect(warning).toMatch(/instanceMemoryMB=4096/);
    expect(warning).toMatch(/EXPORT_WRITE=stream/);
    expect(memoryWarning({ userCount: 700_000, bytes: 306_000_000 }, 4096)).toBeUndefined();
    expect(memoryWarning(benchJsonGzip, 2048)).toBeUndefined();
  });

  it('warns when the users blob nears the 2 GiB one message can carry, even on the largest instance', () => {
    const warning = memoryWarning({ userCount: 4_000_000, bytes: 1_800_000_000 }, 4096);
    expect(warning).toMatch(/2 GiB/);
    expect(warning).toMatch(/EXPORT_COMPRESS=gzip/);
    expect(warning).toMatch(/EXPORT_WRITE=stream/);
  });
});

describe('the memory budget with EXPORT_WRITE=stream', () => {
  it('holds a tenant of ten million in a 2 GB instance, in any format, and has no message cap', () => {
    expect(largestStreamTenant(2048)).toBeGreaterThan(10_000_000);
    expect(largestStreamTenant(4096)).toBeGreaterThan(2 * largestStreamTenant(2048));
    // The export's size does not count: nothing crosses to the host.
    const huge = { userCount: 4_000_000, bytes: 3_000_000_000 };
    expect(memoryWarning(huge, 4096, 'stream')).toBeUndefined();
    expect(memoryWarning(huge, 4096, 'bindings')).toMatch(/EXPORT_WRITE=stream/);
  });

  it('warns when the per-user index of a tenant that size nears the instance', () => {
    const users = largestStreamTenant(2048);
    const warning = memoryWarning({ userCount: users, bytes: 100 * MB }, 2048, 'stream');
    expect(warning).toMatch(/stream mode/);
    expect(warning).toMatch(/instanceMemoryMB=4096/);
    expect(estimateStreamPeakBytes(users)).toBeLessThanOrEqual(2048 * MB);
  });
});

describe('the one message every output travels in (azure-functions-host Startup.cs, MaxMessageLengthBytes)', () => {
  const GIB = 1024 ** 3;

  it('refuses outputs that fit one by one but not together, naming each and the remedy', () => {
    const refused = handOverTooLarge([
      { name: 'latest/users.json', bytes: 1_600_000_000 },
      { name: 'latest/changes.ndjson', bytes: 100_000_000 },
      { name: 'state/users.ndjson.gz', bytes: 450_000_000 },
      { name: 'latest/manifest.json', bytes: 2_000 },
    ]);
    expect(refused?.code).toBe('ExportTooLarge');
    expect(refused?.message).toBe(
      "This run's outputs total 2,150,002,000 bytes (latest/users.json 1,600,000,000 bytes, latest/changes.ndjson 100,000,000 bytes, " +
        'state/users.ndjson.gz 450,000,000 bytes, latest/manifest.json 2,000 bytes), more than the 2 GiB (2,147,483,647 bytes) ' +
        'the Functions host takes from the worker in one message, which carries them all; nothing was published. ' +
        'Set EXPORT_WRITE=stream (the run writes its blobs itself, with no such limit), or EXPORT_COMPRESS=gzip (about 8x smaller), or narrow EXPORT_SELECT.',
    );
    expect(refused?.remedy).toMatch(/EXPORT_COMPRESS=gzip/);
  });

  it('lets through outputs whose sum fits, with room for the rest of the message', () => {
    expect(
      handOverTooLarge([
        { name: 'latest/users.json', bytes: 1.9 * GIB },
        { name: 'state/users.ndjson.gz', bytes: 0.09 * GIB },
      ]),
    ).toBeUndefined();
    expect(
      handOverTooLarge([
        { name: 'latest/users.json', bytes: GRPC_MESSAGE_LIMIT_BYTES - HAND_OVER_OVERHEAD_BYTES + 1 },
      ]),
    ).toBeDefined();
  });

  it("warns when the last run's outputs together near 2 GiB, though its users blob alone does not", () => {
    const warning = memoryWarning(
      { userCount: 3_000_000, bytes: 1.2 * GIB, outputBytes: [1.2 * GIB, 0.1 * GIB, 0.4 * GIB, 3_000] },
      1_000_000,
    );
    expect(warning).toMatch(/outputs together 1,741 MiB, near the 2 GiB .*one message/);
    expect(memoryWarning({ userCount: 3_000_000, bytes: 1.2 * GIB }, 1_000_000)).toBeUndefined();
  });
});

describe("docs/performance.md's table of the largest tenant per instance size", () => {
  it('is what the budget computes for each format with the bindings, and with stream, rounded down', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(new URL('../../../docs/performance.md', import.meta.url), 'utf8');
    const bytesPerUser = [438, 224, 54, 110];
    const rows = [...readme.matchAll(/^\| ([\d,]+) MB[^|]*\|([^\n]+)\|$/gm)];
    expect(rows.map((row) => row[1])).toEqual(['512', '2,048', '4,096']);
    for (const row of rows) {
      const instanceMemoryMB = Number(row[1]!.replace(/,/g, ''));
      const cells = row[2]!.split('|').map((cell) => Number(cell.trim().replace(/,/g, '')));
      const rounded = (users: number) => {
        const step = users < 100_000 ? 1000 : users < 10_000_000 ? 10_000 : 100_000;
        return Math.floor(users / step) * step;
      };
      const expected = [
        ...bytesPerUser.map((bytes) => rounded(largestTenant(instanceMemoryMB, bytes))),
        rounded(largestStreamTenant(instanceMemoryMB)),
      ];
      expect(cells).toEqual(expected);
    }
  });
});
