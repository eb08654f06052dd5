import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EXPORT_COMPLETED_EVENT } from '../../src/azure/telemetry.js';
import type { ExportManifest } from '../../src/export/manifest.js';
import { type Environment, startEnvironment } from './harness.js';

const USERS = 2000;
let env: Environment;
beforeAll(async () => {
  env = await startEnvironment({ users: USERS });
});
afterAll(async () => env.stop());

async function latestManifest(): Promise<ExportManifest> {
  return JSON.parse(
    (await env.container.getBlobClient('latest/manifest.json').downloadToBuffer()).toString('utf8'),
  ) as ExportManifest;
}

/** Enabled members: about 15% fewer users than the whole directory. */
const enabledMembers = "accountEnabled eq true and userType eq 'Member'";

describe('the publication guard (EXPORT_SHRINK_LIMIT)', () => {
  it('publishes the first export, and says there was nothing to compare with', async () => {
    const run = await env.runExport();
    expect(run.exitCode, run.output).toBe(0);
    expect((await latestManifest()).guard).toEqual({
      decision: 'first-export',
      previousUserCount: null,
      largestRecentUserCount: null,
      limit: '10%',
    });
  });

  it('refuses a drop beyond the limit and keeps latest/ byte-identical', async () => {
    const before = await env.blobs();
    const run = await env.runExport({ EXPORT_FILTER: enabledMembers });
    expect(run.exitCode, run.output).toBe(1);
    expect(run.stderr).toMatch(/Export failed \(GuardRefused\)/);
    expect(run.stderr).toMatch(
      /where the last export .* has 2000, a drop of \d+ \(\d+(\.\d)?%\), more than EXPORT_SHRINK_LIMIT \(10%\)/,
    );
    const after = await env.blobs();
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [name, content] of before) expect(after.get(name)!.equals(content), name).toBe(true);
  });

  it('accepts the same drop while EXPORT_ACCEPT_SHRINK_UNTIL is ahead, and records that it did', async () => {
    const until = new Date(Date.now() + 3600_000).toISOString();
    const run = await env.runExport({ EXPORT_FILTER: enabledMembers, EXPORT_ACCEPT_SHRINK_UNTIL: until });
    expect(run.exitCode, run.output).toBe(0);
    const manifest = await latestManifest();
    expect(manifest.userCount).toBeLessThan(USERS);
    expect(manifest.guard).toEqual({
      decision: 'accepted-by-override',
      previousUserCount: USERS,
      largestRecentUserCount: USERS,
      limit: '10%',
    });
  });

  it('an override that has expired accepts nothing', async () => {
    const before = await env.blobs();
    const run = await env.runExport({
      EXPORT_FILTER: "userType eq 'Guest'",
      EXPORT_ACCEPT_SHRINK_UNTIL: '2020-01-01T00:00:00Z',
    });
    expect(run.exitCode, run.output).toBe(1);
    expect(run.stderr).toMatch(/GuardRefused/);
    expect((await env.blobs()).get('latest/users.json')!.equals(before.get('latest/users.json')!)).toBe(true);
  });

  it('a limit in users lets a small drop through, and growth always publishes', async () => {
    const shrunk = await env.runExport({
      EXPORT_FILTER: `${enabledMembers} and department ne 'Sales'`,
      EXPORT_SHRINK_LIMIT: '500',
    });
    expect(shrunk.exitCode, shrunk.output).toBe(0);
    expect((await latestManifest()).guard.decision).toBe('within-limit');
    const grown = await env.runExport();
    expect(grown.exitCode, grown.output).toBe(0);
    expect(await latestManifest()).toMatchObject({ userCount: USERS, guard: { decision: 'within-limit' } });
  });

  it('tells Application Insights what the guard decided', () => {
    const decisions = env.sandbox.appInsights
      .events(EXPORT_COMPLETED_EVENT)
      .map((event) => (event['properties'] as Record<string, string>)['guardDecision']);
    expect(decisions).toEqual(['first-export', 'accepted-by-override', 'within-limit', 'within-limit']);
  });
});
