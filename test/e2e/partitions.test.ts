import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ExportManifest } from '../../src/export/manifest.js';
import { UPN_FIRST_CHARACTERS } from '../../sandbox/directory.js';
import { type Environment, startEnvironment } from './harness.js';

const USERS = 12_000;
let env: Environment;
beforeAll(async () => {
  env = await startEnvironment({ users: USERS });
});
afterAll(async () => env.stop());

async function exportIds(settings: Record<string, string | undefined>) {
  const requestsBefore = env.sandbox.graph.requests.length;
  const run = await env.runExport({ EXPORT_SELECT: 'id,userPrincipalName', ...settings });
  expect(run.exitCode, run.output).toBe(0);
  const users = JSON.parse(
    (await env.container.getBlobClient('latest/users.json').downloadToBuffer()).toString('utf8'),
  ) as {
    id: string;
    userPrincipalName: string;
  }[];
  const manifest = JSON.parse(
    (await env.container.getBlobClient('latest/manifest.json').downloadToBuffer()).toString('utf8'),
  ) as ExportManifest;
  return {
    users,
    ids: users.map((user) => user.id),
    manifest,
    run,
    requests: env.sandbox.graph.requests.slice(requestsBefore),
  };
}

describe('partitioned listing (EXPORT_PARALLELISM > 1)', () => {
  it('the sandbox directory has UPNs starting with every allowed character, in both cases, and guests', () => {
    const upns = Array.from({ length: USERS }, (_, index) => env.sandbox.directory.userPrincipalName(index));
    for (const character of UPN_FIRST_CHARACTERS)
      expect(
        upns.some((upn) => upn.startsWith(character)),
        character,
      ).toBe(true);
    expect(upns.some((upn) => /^[A-Z]/.test(upn))).toBe(true);
    expect(upns.some((upn) => upn.includes('#EXT#'))).toBe(true);
  });

  it("exports exactly the same users as one chain, each once, and matches Graph's count", async () => {
    const sequential = await exportIds({ EXPORT_PARALLELISM: '1' });
    const partitioned = await exportIds({ EXPORT_PARALLELISM: '8' });
    expect(sequential.ids).toHaveLength(USERS);
    expect(new Set(partitioned.ids).size).toBe(partitioned.ids.length);
    expect([...partitioned.ids].sort()).toEqual([...sequential.ids].sort());
    expect(sequential.manifest.listing).toEqual({ mode: 'sequential', partitions: 1, notes: [] });
    expect(partitioned.manifest.listing).toMatchObject({
      mode: 'partitioned',
      partitions: UPN_FIRST_CHARACTERS.length,
      graphCount: USERS,
      countDifference: 0,
    });
    const filters = new Set(partitioned.requests.map((request) => request.query['$filter']).filter(Boolean));
    expect(filters.size).toBe(UPN_FIRST_CHARACTERS.length);
    expect(filters).toContain("startswith(userPrincipalName,'''')");
  });

  it("combines the user's EXPORT_FILTER with each partition", async () => {
    const filter = "accountEnabled eq true or userType eq 'Guest'";
    const sequential = await exportIds({ EXPORT_PARALLELISM: '1', EXPORT_FILTER: filter });
    const partitioned = await exportIds({ EXPORT_PARALLELISM: '6', EXPORT_FILTER: filter });
    expect(sequential.ids.length).toBeLessThan(USERS);
    expect([...partitioned.ids].sort()).toEqual([...sequential.ids].sort());
    expect(partitioned.manifest.listing).toMatchObject({ mode: 'partitioned', countDifference: 0 });
    expect(partitioned.requests.map((request) => request.query['$filter'])).toContain(
      `(${filter}) and startswith(userPrincipalName,'q')`,
    );
  });

  it('stays on one chain when the first page is the whole directory', async () => {
    const guests = await exportIds({ EXPORT_PARALLELISM: '8', EXPORT_FILTER: "userType eq 'Guest'" });
    expect(guests.ids.length).toBeGreaterThan(0);
    expect(guests.manifest.listing.mode).toBe('sequential');
    expect(guests.requests).toHaveLength(1);
  });

  it('falls back to one chain, and says why, when Graph rejects the partition filter', async () => {
    env.sandbox.graph.rejectedFilters = /startswith/;
    try {
      const fallback = await exportIds({ EXPORT_PARALLELISM: '8' });
      expect(fallback.ids).toHaveLength(USERS);
      expect(fallback.manifest.listing).toMatchObject({ mode: 'sequential', partitions: 1 });
      expect(fallback.manifest.listing.notes[0]).toMatch(
        /^Graph rejected the partition filter \(Unsupported Query\.\); listing on one nextLink chain instead\.$/,
      );
      expect(fallback.run.stdout).toContain('Listing: Graph rejected the partition filter');
    } finally {
      env.sandbox.graph.rejectedFilters = undefined;
    }
  });

  it('survives throttling inside partitions', async () => {
    env.sandbox.graph.faults = [{ page: 1, kind: 'throttle', retryAfterSeconds: 1, times: 3 }];
    try {
      const throttled = await exportIds({ EXPORT_PARALLELISM: '8' });
      expect(new Set(throttled.ids).size).toBe(USERS);
      expect(throttled.manifest.retries).toBe(3);
    } finally {
      env.sandbox.graph.faults = [];
    }
  });
});
