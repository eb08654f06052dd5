import { describe, expect, it } from 'vitest';

import {
  estimateInstancePeakBytes,
  GRPC_MESSAGE_LIMIT_BYTES,
  largestTenant,
  memoryWarning,
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

  it('is capped by the one gRPC message the outputs cross in, whatever the instance', () => {
    expect(largestTenant(1_000_000, 1000)).toBe(Math.floor(GRPC_MESSAGE_LIMIT_BYTES / 1000));
  });

  it('warns when an export the size of the last one nears the instance, naming both remedies', () => {
    const warning = memoryWarning(benchJson, 2048);
    expect(warning).toMatch(/418 MiB for 1,000,000 users/);
    expect(warning).toMatch(/EXPORT_COMPRESS=gzip/);
    expect(warning).toMatch(/instanceMemoryMB=4096/);
    expect(memoryWarning({ userCount: 700_000, bytes: 306_000_000 }, 4096)).toBeUndefined();
    expect(memoryWarning(benchJsonGzip, 2048)).toBeUndefined();
  });

  it('warns when the users blob nears the 2 GiB one message can carry, even on the largest instance', () => {
    const warning = memoryWarning({ userCount: 4_000_000, bytes: 1_800_000_000 }, 4096);
    expect(warning).toMatch(/2 GiB/);
    expect(warning).toMatch(/EXPORT_COMPRESS=gzip/);
  });
});

describe("docs/performance.md's table of the largest tenant per instance size", () => {
  it('is what the budget computes, rounded down', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(new URL('../../../docs/performance.md', import.meta.url), 'utf8');
    const bytesPerUser = [438, 224, 54, 110];
    const rows = [...readme.matchAll(/^\| ([\d,]+) MB[^|]*\|([^\n]+)\|$/gm)];
    expect(rows.map((row) => row[1])).toEqual(['512', '2,048', '4,096']);
    for (const row of rows) {
      const instanceMemoryMB = Number(row[1]!.replace(/,/g, ''));
      const cells = row[2]!.split('|').map((cell) => Number(cell.trim().replace(/,/g, '')));
      const expected = bytesPerUser.map((bytes) => {
        const users = largestTenant(instanceMemoryMB, bytes);
        const step = users < 100_000 ? 1000 : 10_000;
        return Math.floor(users / step) * step;
      });
      expect(cells).toEqual(expected);
    }
  });
});
