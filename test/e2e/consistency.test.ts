/**
 * What a run leaves behind is consistent, or the next run knows it is not: one failed upload, a
 * tampered blob, two runs at once, a rename during a partitioned listing, a kept link Graph
 * refuses, a count that lags, a slow slide. Each case has a container of its own in one sandbox.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';

import { BlobLeaseClient, BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ChangeLine } from '../../src/export/changes.js';
import type { ExportManifest } from '../../src/export/manifest.js';
import { foreignOrigin } from '../../sandbox/graph.js';
import { containerReader, type Environment, expectedUsers, sortedById, startEnvironment } from './harness.js';

const SELECT = 'id,displayName,userPrincipalName,department';
const USERS = 2600;

let env: Environment;
let service: BlobServiceClient;
beforeAll(async () => {
  env = await startEnvironment({ users: USERS });
  service = BlobServiceClient.fromConnectionString(env.azurite.connectionString);
});
afterAll(async () => env.stop());

/** A case's own container, and what it reads back from it. */
function storage(name: string) {
  const container = service.getContainerClient(name);
  const { blob, manifest, ndjson } = containerReader(container);
  return { container, blob, manifest, ndjson, settings: { EXPORT_CONTAINER: name, EXPORT_SELECT: SELECT } };
}

/** What a fresh full listing gives now: every export must equal it, as a set. */
const graphHolds = () => sortedById(expectedUsers(env.sandbox, SELECT.split(',')));
const idOf = (index: number) => env.sandbox.directory.user(index).id;

/** Rewrites a kept blob; with `vouch`, also the manifest's sha256 of it (someone who edits both). */
async function tamper(
  container: ContainerClient,
  path: string,
  change: (content: Buffer) => Buffer,
  { vouch = false, role }: { vouch?: boolean; role?: keyof ExportManifest['blobs'] } = {},
) {
  const blob = container.getBlockBlobClient(path);
  const changed = change(await blob.downloadToBuffer());
  await blob.uploadData(changed);
  if (!vouch || role === undefined) return;
  const manifestBlob = container.getBlockBlobClient('latest/manifest.json');
  const manifest = JSON.parse((await manifestBlob.downloadToBuffer()).toString('utf8')) as ExportManifest;
  manifest.blobs[role] = {
    ...manifest.blobs[role]!,
    sha256: createHash('sha256').update(changed).digest('hex'),
  };
  await manifestBlob.uploadData(Buffer.from(JSON.stringify(manifest)));
}

const stateLines = (change: (lines: string[]) => string[]) => (content: Buffer) =>
  gzipSync(`${change(gunzipSync(content).toString('utf8').trimEnd().split('\n')).join('\n')}\n`);

describe('what a run leaves behind', () => {
  it('one failed upload (the state held by a lease): the next run compares with the last whole state and lists in full, then delta runs are exact again', async () => {
    const kept = storage('failed-upload');
    const settings = { ...kept.settings, EXPORT_FORMAT: 'ndjson', EXPORT_DELTA: 'true' };
    expect((await env.runExport(settings)).exitCode).toBe(0);
    const firstManifest = await kept.manifest();
    const firstRun = firstManifest.runId;
    const { directory } = env.sandbox;
    const movedBefore = graphHolds().find((user) => user['id'] === idOf(20))!;
    directory.update(20, { department: 'Moved while the state upload failed' });

    const lease = new BlobLeaseClient(kept.container.getBlobClient('state/users.ndjson.gz'));
    await lease.acquireLease(-1);
    const failed = await env.runExport(settings);
    await lease.releaseLease();
    expect(failed.exitCode).toBe(1);
    expect(failed.output).toMatch(/state\/users\.ndjson\.gz/);
    // Every other blob landed: the manifest names a state that is not there.
    expect((await kept.manifest()).generatedAt).not.toBe(firstManifest.generatedAt);

    const removedBefore = graphHolds().find((user) => user['id'] === idOf(21))!;
    directory.remove(21);
    const next = await env.runExport(settings);
    expect(next.exitCode, next.output).toBe(0);
    expect(sortedById(await kept.ndjson('latest/users.ndjson'))).toEqual(graphHolds());
    expect(next.stdout).toContain('did not reach Storage');
    expect((await kept.manifest()).listing.mode).toBe('delta-resync');
    // The report is against the last state that is whole, the first run's: both changes, exactly.
    expect((await kept.manifest()).changes).toMatchObject({ compared: true, sinceRunId: firstRun });
    expect((await kept.ndjson('latest/changes.ndjson')) as unknown as ChangeLine[]).toEqual([
      { change: 'removed', id: idOf(21), user: removedBefore },
      {
        change: 'changed',
        id: idOf(20),
        properties: {
          department: { old: movedBefore['department'], new: 'Moved while the state upload failed' },
        },
      },
    ]);

    directory.update(22, { department: 'After recovery' });
    const recovered = await env.runExport(settings);
    expect(recovered.exitCode, recovered.output).toBe(0);
    expect((await kept.manifest()).listing.mode).toBe('delta');
    expect(sortedById(await kept.ndjson('latest/users.ndjson'))).toEqual(graphHolds());
    expect(
      ((await kept.ndjson('latest/changes.ndjson')) as unknown as ChangeLine[]).map((line) => line.id),
    ).toEqual([idOf(22)]);
  });

  it.each([
    { blob: 'latest/users.ndjson', nextReportCompared: true },
    { blob: 'latest/changes.ndjson', nextReportCompared: true },
    { blob: 'state/delta.json', nextReportCompared: true },
    // The manifest that would vouch for the new state is lost: that state is not trusted.
    { blob: 'latest/manifest.json', nextReportCompared: false },
  ])(
    'when the upload of $blob fails, the next runs publish what Graph holds and report exactly',
    async (failing) => {
      const kept = storage(`failed-${failing.blob.replace(/[^a-z]+/g, '-')}`);
      const settings = { ...kept.settings, EXPORT_FORMAT: 'ndjson', EXPORT_DELTA: 'true' };
      expect((await env.runExport(settings)).exitCode).toBe(0);
      const { directory } = env.sandbox;
      const index =
        70 + ['latest/users.ndjson', 'latest/changes.ndjson', 'state/delta.json'].indexOf(failing.blob);
      const lease = new BlobLeaseClient(kept.container.getBlobClient(failing.blob));
      await lease.acquireLease(-1);
      directory.update(index, { department: `Changed when ${failing.blob} failed` });
      const failed = await env.runExport(settings);
      await lease.releaseLease();
      expect(failed.exitCode).toBe(1);

      directory.update(index + 10, { department: 'Changed after the failure' });
      const next = await env.runExport(settings);
      expect(next.exitCode, next.output).toBe(0);
      expect(sortedById(await kept.ndjson('latest/users.ndjson'))).toEqual(graphHolds());
      const report = (await kept.ndjson('latest/changes.ndjson')) as unknown as ChangeLine[];
      if (failing.nextReportCompared) {
        // Against the failed run's state, which landed: only what changed since.
        expect(report.map((line) => line.id)).toEqual([idOf(index + 10)]);
      } else {
        expect(report).toEqual([]);
        expect((await kept.manifest()).changes).toMatchObject({
          compared: false,
          reason: expect.stringMatching(/the state does not match the last manifest/) as unknown,
        });
      }

      directory.update(index + 20, { department: 'Changed two runs later' });
      const later = await env.runExport(settings);
      expect(later.exitCode, later.output).toBe(0);
      expect((await kept.manifest()).listing.mode).toBe('delta');
      expect(sortedById(await kept.ndjson('latest/users.ndjson'))).toEqual(graphHolds());
      expect(
        ((await kept.ndjson('latest/changes.ndjson')) as unknown as ChangeLine[]).map((line) => line.id),
      ).toEqual([idOf(index + 20)]);
    },
  );

  it('a state edited between runs is not trusted: the next run lists in full, publishes what Graph holds and reports nothing false', async () => {
    const kept = storage('edited-state');
    const settings = { ...kept.settings, EXPORT_FORMAT: 'json', EXPORT_DELTA: 'true' };
    expect((await env.runExport(settings)).exitCode).toBe(0);
    await tamper(
      kept.container,
      'state/users.ndjson.gz',
      stateLines((lines) => [
        ...lines.map((line) =>
          line.includes(idOf(30)) ? line.replace(/"department":"[^"]*"/, '"department":"Edited"') : line,
        ),
        '{"id":"not json at all',
        JSON.stringify({
          id: 'made-up-user',
          displayName: 'Nobody',
          userPrincipalName: 'x@y',
          department: null,
        }),
        lines[1]!,
        JSON.stringify({ ...(JSON.parse(lines[2]!) as object), passwordProfile: { password: 'Leaked-123' } }),
      ]),
    );
    const run = await env.runExport(settings);
    expect(run.exitCode, run.output).toBe(0);
    const manifest = await kept.manifest();
    const text = (await kept.blob('latest/users.json')).toString('utf8');
    expect(sortedById(JSON.parse(text) as Record<string, unknown>[])).toEqual(graphHolds());
    expect(manifest.userCount).toBe(graphHolds().length);
    expect(run.stdout).toMatch(/Changes: not compared, the state does not match the last manifest/);
    expect(manifest.listing.mode).toBe('delta-resync');
    for (const [, content] of await env.blobs())
      expect(content.toString('latin1')).not.toContain('Leaked-123');
    for (const path of ['latest/users.json', 'latest/changes.ndjson']) {
      expect((await kept.blob(path)).toString('utf8')).not.toMatch(/Edited|made-up-user|passwordProfile/);
    }
  });

  it('a state edited together with its manifest entry is still read line by line: any bad line makes it no baseline', async () => {
    const kept = storage('edited-state-and-manifest');
    const settings = { ...kept.settings, EXPORT_FORMAT: 'csv', EXPORT_DELTA: 'true' };
    expect((await env.runExport(settings)).exitCode).toBe(0);
    await tamper(
      kept.container,
      'state/users.ndjson.gz',
      stateLines((lines) => [...lines, '{"id":"not json at all']),
      { vouch: true, role: 'state' },
    );
    const run = await env.runExport(settings);
    // Not a Graph failure, and not a failed run: the kept state is unusable, so the run lists in full.
    expect(run.exitCode, run.output).toBe(0);
    expect(run.output).not.toContain('GraphMalformedPage');
    expect((await kept.manifest()).listing.mode).toBe('delta-resync');
    expect((await kept.manifest()).userCount).toBe(graphHolds().length);
    expect(run.stdout).toMatch(/the previous state is not usable \(line \d+ is not JSON\)/);
  });

  it.each([
    {
      what: 'a delta link to another origin',
      link: (link: string) => link.replace(new URL(link).origin, foreignOrigin(new URL(link).origin)),
      expected: /the kept delta link points at https:\/\/localhost:\d+, not GRAPH_ENDPOINT/,
    },
    {
      what: 'a delta link issued for another $select',
      link: (link: string) => `${link}&$select=id,displayName`,
      expected: /the kept delta link was issued for another \$select \(id,displayName\)/,
    },
    {
      what: 'a fullSyncAt in the future',
      fullSyncAt: '2999-01-01T00:00:00.000Z',
      expected: /the kept time of the last full listing \("2999-01-01T00:00:00.000Z"\) is not a past instant/,
    },
  ])(
    'a kept delta state with $what, even vouched for by the manifest, is not followed',
    async (tampering) => {
      const kept = storage(`delta-${tampering.what.replace(/[^a-z]+/gi, '-').toLowerCase()}`.slice(0, 60));
      const settings = { ...kept.settings, EXPORT_FORMAT: 'ndjson', EXPORT_DELTA: 'true' };
      expect((await env.runExport(settings)).exitCode).toBe(0);
      await tamper(
        kept.container,
        'state/delta.json',
        (content) => {
          const delta = JSON.parse(content.toString('utf8')) as { deltaLink: string; fullSyncAt: string };
          return Buffer.from(
            JSON.stringify({
              ...delta,
              deltaLink: tampering.link?.(delta.deltaLink) ?? delta.deltaLink,
              fullSyncAt: tampering.fullSyncAt ?? delta.fullSyncAt,
            }),
          );
        },
        { vouch: true, role: 'deltaState' },
      );
      const requestsBefore = env.sandbox.graph.requests.length;
      const run = await env.runExport(settings);
      expect(run.exitCode, run.output).toBe(0);
      expect(run.stdout).toMatch(tampering.expected);
      expect((await kept.manifest()).listing.mode).toBe('delta-resync');
      expect(
        env.sandbox.graph.requests
          .slice(requestsBefore)
          .some((request) => request.path.startsWith('foreign:')),
      ).toBe(false);
      expect(sortedById(await kept.ndjson('latest/users.ndjson'))).toEqual(graphHolds());
    },
  );

  it('a delta state changed without its manifest is not followed either', async () => {
    const kept = storage('delta-unvouched');
    const settings = { ...kept.settings, EXPORT_FORMAT: 'ndjson', EXPORT_DELTA: 'true' };
    expect((await env.runExport(settings)).exitCode).toBe(0);
    await tamper(kept.container, 'state/delta.json', (content) => Buffer.concat([content, Buffer.from(' ')]));
    const run = await env.runExport(settings);
    expect(run.exitCode, run.output).toBe(0);
    expect((await kept.manifest()).listing.mode).toBe('delta-resync');
    expect(run.stdout).toMatch(/state\/delta\.json does not match the last manifest/);
  });

  it('two runs at once: the one that started later wins, and the earlier one publishes nothing when it ends last', async () => {
    const kept = storage('overlap');
    const settings = { ...kept.settings, EXPORT_FORMAT: 'ndjson', EXPORT_PARALLELISM: '1' };
    expect((await env.runExport(settings)).exitCode).toBe(0);
    // The first run is held at its second page until the second run has published.
    let release: () => void = () => undefined;
    let held: () => void = () => undefined;
    const releasedGate = new Promise<void>((resolve) => (release = resolve));
    const heldGate = new Promise<void>((resolve) => (held = resolve));
    let holding = true;
    env.sandbox.graph.beforePage = async (record) => {
      if (!holding || record.query['$skiptoken'] === undefined || record.path !== '/v1.0/users') return;
      holding = false;
      held();
      await releasedGate;
    };
    try {
      const earlier = env.runExport(settings);
      await heldGate;
      const { directory } = env.sandbox;
      directory.update(40, { department: 'Changed during the overlap' });
      directory.remove(41);
      const later = await env.runExport(settings);
      expect(later.exitCode, later.output).toBe(0);
      const laterManifest = await kept.manifest();
      release();
      const outcome = await earlier;
      expect(outcome.exitCode, outcome.output).toBe(0);
      // latest/ is the later run's, as Graph holds it now.
      expect(sortedById(await kept.ndjson('latest/users.ndjson'))).toEqual(graphHolds());
      expect(await kept.manifest()).toEqual(laterManifest);
      expect(outcome.stdout).toContain(`Not publishing: run ${laterManifest.runId}, which started later`);
      expect(outcome.stdout).toContain('Published nothing');
      expect(env.sandbox.appInsights.events('EntraUserExportSuperseded').at(-1)).toMatchObject({
        properties: { outcome: 'superseded', newerRunId: laterManifest.runId },
      });
    } finally {
      env.sandbox.graph.beforePage = undefined;
      release();
    }
    // Nothing is reported twice: the next run compares with the later run's state.
    const next = await env.runExport(settings);
    expect(next.exitCode, next.output).toBe(0);
    expect((await kept.manifest()).changes).toMatchObject({
      compared: true,
      added: 0,
      removed: 0,
      changed: 0,
    });
  });

  it('a user renamed into a later partition during a partitioned listing is exported once', async () => {
    const kept = storage('rename-during-partitions');
    const settings = { ...kept.settings, EXPORT_FORMAT: 'ndjson', EXPORT_PARALLELISM: '8' };
    const { directory } = env.sandbox;
    // Not on the first (unpartitioned) page, and in the first partition (UPNs up to '0').
    const index = Array.from({ length: directory.size }, (_, n) => n).find(
      (n) => n > 1500 && directory.exists(n) && directory.userPrincipalName(n).toLowerCase() < '0',
    )!;
    expect(index).toBeDefined();
    let renamed = false;
    env.sandbox.graph.beforePage = (record) => {
      if (renamed || !(record.query['$filter'] ?? '').includes("userPrincipalName ge 'z'")) return;
      renamed = true;
      directory.update(index, { userPrincipalName: `zz-renamed-${index}@sandbox.onmicrosoft.com` });
    };
    let run;
    try {
      run = await env.runExport(settings);
    } finally {
      env.sandbox.graph.beforePage = undefined;
    }
    expect(renamed).toBe(true);
    expect(run.exitCode, run.output).toBe(0);
    const ids = (await kept.ndjson('latest/users.ndjson')).map((user) => user['id']);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(graphHolds().length);
    expect((await kept.manifest()).listing).toMatchObject({
      mode: 'partitioned',
      duplicatesDropped: 1,
      countDifference: 0,
    });
    // The next run does not see the renamed user as removed.
    const next = await env.runExport(settings);
    expect(next.exitCode, next.output).toBe(0);
    const report = (await kept.ndjson('latest/changes.ndjson')) as unknown as ChangeLine[];
    expect(report.filter((line) => line.change === 'removed')).toEqual([]);
  });

  it.each([400, 404])(
    'a kept delta link Graph answers with %i: one full round with the reason, then delta again',
    async (status) => {
      const kept = storage(`refused-link-${status}`);
      const changed = status === 400 ? 54 : 55;
      const settings = { ...kept.settings, EXPORT_FORMAT: 'ndjson', EXPORT_DELTA: 'true' };
      expect((await env.runExport(settings)).exitCode).toBe(0);
      env.sandbox.directory.update(changed, { department: `Before the ${status}` });
      env.sandbox.graph.refuseDeltaLinksWith = status;
      let run;
      try {
        run = await env.runExport(settings);
      } finally {
        env.sandbox.graph.refuseDeltaLinksWith = undefined;
      }
      expect(run.exitCode, run.output).toBe(0);
      expect(run.stdout).toContain(`Graph refused the kept delta link (${status}: `);
      expect(run.output).not.toContain('check EXPORT_FILTER and EXPORT_SELECT');
      expect((await kept.manifest()).listing.mode).toBe('delta-resync');
      expect(sortedById(await kept.ndjson('latest/users.ndjson'))).toEqual(graphHolds());
      expect(
        ((await kept.ndjson('latest/changes.ndjson')) as unknown as ChangeLine[]).map((line) => line.id),
      ).toEqual([idOf(changed)]);
      expect((await env.runExport(settings)).exitCode).toBe(0);
      expect((await kept.manifest()).listing.mode).toBe('delta');
    },
  );

  it("Graph's count lagging a deletion is asked again before it costs a full round; a full round keeps the delta round's removal reasons", async () => {
    const kept = storage('lagging-count');
    const settings = { ...kept.settings, EXPORT_FORMAT: 'ndjson', EXPORT_DELTA: 'true' };
    expect((await env.runExport(settings)).exitCode).toBe(0);
    const { directory, graph } = env.sandbox;
    directory.remove(60);
    graph.countLag = [1];
    const once = await env.runExport(settings);
    expect(once.exitCode, once.output).toBe(0);
    expect((await kept.manifest()).listing).toMatchObject({ mode: 'delta', countDifference: 0 });
    expect((await kept.manifest()).listing.notes.join(' ')).toMatch(/asked again after 5 s/);
    expect(((await kept.ndjson('latest/changes.ndjson')) as unknown as ChangeLine[])[0]).toMatchObject({
      change: 'removed',
      id: idOf(60),
      deletion: 'soft',
    });

    // A count that stays one above the truth: a full round follows, and the report still says how the user left.
    directory.remove(61, 'permanent');
    graph.countLag = [1, 1, 1];
    const twice = await env.runExport(settings);
    graph.countLag = [];
    expect(twice.exitCode, twice.output).toBe(0);
    expect((await kept.manifest()).listing.mode).toBe('delta-resync');
    expect(sortedById(await kept.ndjson('latest/users.ndjson'))).toEqual(graphHolds());
    expect((await kept.ndjson('latest/changes.ndjson')) as unknown as ChangeLine[]).toEqual([
      expect.objectContaining({ change: 'removed', id: idOf(61), deletion: 'permanent' }),
    ]);
  });
});

describe('the guard over time', () => {
  let small: Environment;
  beforeAll(async () => {
    small = await startEnvironment({ users: 1000 });
  });
  afterAll(async () => small.stop());

  it('refuses a slow slide (9% a run) once it passes EXPORT_SHRINK_LIMIT against the largest recent export', async () => {
    const settings = { EXPORT_SELECT: 'id', EXPORT_FORMAT: 'ndjson' };
    const count = async () =>
      (
        JSON.parse(
          (await small.container.getBlobClient('latest/manifest.json').downloadToBuffer()).toString('utf8'),
        ) as ExportManifest
      ).userCount;
    expect((await small.runExport(settings)).exitCode).toBe(0);
    expect(await count()).toBe(1000);
    let removed = 0;
    const slide = () => {
      const remaining = small.sandbox.directory.size - removed;
      const leaving = Math.floor(remaining * 0.09);
      for (let index = removed; index < removed + leaving; index += 1) small.sandbox.directory.remove(index);
      removed += leaving;
    };
    slide();
    expect((await small.runExport(settings)).exitCode).toBe(0);
    expect(await count()).toBe(910);
    slide();
    const refused = await small.runExport(settings);
    expect(refused.exitCode).toBe(1);
    expect(refused.output).toMatch(
      /found 829 users where the largest of the last 2 exports had 1000 \(the last one 910: a slow slide is refused like a sudden drop\)/,
    );
    expect(await count()).toBe(910);
  });
});
