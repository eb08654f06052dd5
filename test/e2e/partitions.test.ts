import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ExportManifest } from '../../src/export/manifest.js';
import { partitionRanges } from '../../src/export/partitions.js';
import { UNUSUAL_FIRST_CHARACTERS, UPN_FIRST_CHARACTERS } from '../../sandbox/directory.js';
import { type Environment, startEnvironment } from './harness.js';

const USERS = 12_000;
const PARTITIONS = partitionRanges().length;
let env: Environment;
beforeAll(async () => {
  env = await startEnvironment({ users: USERS });
});
afterAll(async () => env.stop());

async function exportIds(settings: Record<string, string | undefined>) {
  const requestsBefore = env.sandbox.graph.requests.length;
  // These runs compare listings, not publications: the guard would stop the filtered ones.
  const run = await env.runExport({
    EXPORT_SELECT: 'id,userPrincipalName',
    EXPORT_SHRINK_LIMIT: '100%',
    ...settings,
  });
  expect(run.exitCode, run.output).toBe(0);
  const users = JSON.parse(
    (await env.container.getBlobClient('latest/users.json').downloadToBuffer()).toString('utf8'),
  ) as { id: string; userPrincipalName: string }[];
  const manifest = JSON.parse(
    (await env.container.getBlobClient('latest/manifest.json').downloadToBuffer()).toString('utf8'),
  ) as ExportManifest;
  return {
    users,
    ids: users.map((user) => user.id).sort(),
    manifest,
    run,
    requests: env.sandbox.graph.requests.slice(requestsBefore),
  };
}

describe('partitioned listing (EXPORT_PARALLELISM > 1)', () => {
  it('the sandbox directory has UPNs starting with every printable ASCII character, letters beyond ASCII, both cases, and guests', () => {
    const upns = Array.from({ length: USERS }, (_, index) => env.sandbox.directory.userPrincipalName(index));
    for (const character of [...Array.from(UPN_FIRST_CHARACTERS), ...UNUSUAL_FIRST_CHARACTERS])
      expect(
        upns.some((upn) => upn.startsWith(character)),
        character,
      ).toBe(true);
    expect(upns.some((upn) => /^[A-Z]/.test(upn))).toBe(true);
    expect(upns.some((upn) => upn.includes('#EXT#'))).toBe(true);
  });

  it("exports exactly the same users as one chain, whatever their UPNs start with, and matches Graph's count", async () => {
    const sequential = await exportIds({ EXPORT_PARALLELISM: '1' });
    const partitioned = await exportIds({ EXPORT_PARALLELISM: '8' });
    expect(sequential.ids).toHaveLength(USERS);
    expect(partitioned.ids).toEqual(sequential.ids);
    expect(new Set(partitioned.ids).size).toBe(USERS);
    expect(partitioned.users.some((user) => user.userPrincipalName.startsWith('$'))).toBe(true);
    expect(sequential.manifest.listing).toEqual({
      mode: 'sequential',
      partitions: 1,
      retries: { throttled: 0, transient: 0 },
      notes: [],
    });
    expect(partitioned.manifest.listing).toMatchObject({
      mode: 'partitioned',
      partitions: PARTITIONS,
      graphCount: USERS,
      countDifference: 0,
    });
    const filters = new Set(partitioned.requests.map((request) => request.query['$filter']).filter(Boolean));
    expect([...filters].sort()).toEqual([...partitionRanges()].sort());
  });

  it("combines the user's EXPORT_FILTER with each range, and counts with the same filter, encoded", async () => {
    const filter = "accountEnabled eq true or userType eq 'Guest'";
    const sequential = await exportIds({ EXPORT_PARALLELISM: '1', EXPORT_FILTER: filter });
    const partitioned = await exportIds({ EXPORT_PARALLELISM: '6', EXPORT_FILTER: filter });
    expect(sequential.ids.length).toBeLessThan(USERS);
    expect(partitioned.ids).toEqual(sequential.ids);
    expect(partitioned.manifest.listing).toMatchObject({ mode: 'partitioned', countDifference: 0 });
    expect(partitioned.requests.map((request) => request.query['$filter'])).toContain(
      `(${filter}) and (userPrincipalName ge 'p' and userPrincipalName le 'q')`,
    );
    const count = partitioned.requests.find((request) => request.path === '/v1.0/users/$count');
    expect(count?.query['$filter']).toBe(filter);
    expect(count?.status).toBe(200);
  });

  it('counts right with an & in EXPORT_FILTER (sent encoded)', async () => {
    const filter = "department eq 'R&D' or accountEnabled eq false";
    const sequential = await exportIds({ EXPORT_PARALLELISM: '1', EXPORT_FILTER: filter });
    const partitioned = await exportIds({ EXPORT_PARALLELISM: '8', EXPORT_FILTER: filter });
    expect(partitioned.ids).toEqual(sequential.ids);
    expect(partitioned.manifest.listing).toMatchObject({
      graphCount: sequential.ids.length,
      countDifference: 0,
    });
  });

  it('lists again on one chain, rather than publish fewer users, when the ranges come up short of $count', async () => {
    env.sandbox.graph.rangesMiss = (upn) => upn.startsWith('$') || upn.startsWith('é');
    try {
      const relisted = await exportIds({ EXPORT_PARALLELISM: '8' });
      expect(relisted.ids).toHaveLength(USERS);
      expect(relisted.manifest.listing.mode).toBe('sequential');
      expect(relisted.manifest.listing.notes[0]).toMatch(
        /^A partitioned listing found \d+ users where Graph counts 12000; this export is the one-chain listing that followed\.$/,
      );
      expect(relisted.run.stdout).toMatch(/listing again on one nextLink chain so that no user is left out/);
    } finally {
      env.sandbox.graph.rangesMiss = undefined;
    }
  });

  it('stays on one chain when the first page is the whole directory', async () => {
    const guests = await exportIds({
      EXPORT_PARALLELISM: '8',
      EXPORT_FILTER: "userType eq 'Guest' and accountEnabled eq false",
    });
    expect(guests.ids.length).toBeGreaterThan(0);
    expect(guests.manifest.listing.mode).toBe('sequential');
    expect(guests.requests).toHaveLength(1);
  });

  it('falls back to one chain, and says why, when Graph rejects the partition filter', async () => {
    env.sandbox.graph.rejectedFilters = /userPrincipalName (ge|le)/;
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

  it('exports the same users as one chain under throttling inside partitions', async () => {
    env.sandbox.graph.faults = [{ page: 1, kind: 'throttle', retryAfterSeconds: 1, times: 3 }];
    try {
      const throttled = await exportIds({ EXPORT_PARALLELISM: '8' });
      const sequential = await exportIds({ EXPORT_PARALLELISM: '1' });
      expect(throttled.ids).toEqual(sequential.ids);
      expect(throttled.manifest.listing.retries).toEqual({ throttled: 3, transient: 0 });
    } finally {
      env.sandbox.graph.faults = [];
    }
  });
});
