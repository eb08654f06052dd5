import { BlobServiceClient } from '@azure/storage-blob';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ChangeLine } from '../../src/export/changes.js';
import { containerReader, type Environment, expectedUsers, sortedById, startEnvironment } from './harness.js';

const SELECT = 'id,displayName,userPrincipalName,department,jobTitle,mail';
const settings = { EXPORT_SELECT: SELECT, EXPORT_FORMAT: 'ndjson', EXPORT_DELTA: 'true' };

let env: Environment;
beforeAll(async () => {
  env = await startEnvironment({ users: 2000 });
});
afterAll(async () => env.stop());

const kept = () => containerReader(env.container);
const blob = (name: string) => kept().blob(name);
const manifest = () => kept().manifest();
const lines = (name: string) => kept().ndjson(name);
const sorted = sortedById;
/** What a fresh full listing gives: the export must equal it, as a set. */
const freshListing = () => sorted(expectedUsers(env.sandbox, SELECT.split(',')));
const deltaRequests = (before: number) =>
  env.sandbox.graph.requests.slice(before).filter((request) => request.path.startsWith('/v1.0/users'));

describe('delta listing (EXPORT_DELTA)', () => {
  it('the first run lists the directory in full through /users/delta and keeps the delta link', async () => {
    const before = env.sandbox.graph.requests.length;
    const run = await env.runExport(settings);
    expect(run.exitCode, run.output).toBe(0);
    expect((await manifest()).listing.mode).toBe('delta-resync');
    expect(run.stdout).toContain('Delta: no delta link kept yet');
    expect(sorted(await lines('latest/users.ndjson'))).toEqual(freshListing());
    expect(deltaRequests(before).every((request) => request.path === '/v1.0/users/delta')).toBe(true);
    expect(JSON.parse((await blob('state/delta.json')).toString('utf8'))).toMatchObject({
      deltaLink: expect.stringContaining('/v1.0/users/delta?$deltatoken=') as unknown,
      properties: SELECT.split(','),
    });
  });

  it('later runs fetch only the changes and rebuild the whole export, equal to a fresh listing', async () => {
    const { directory } = env.sandbox;
    const before = (index: number) => freshListing().find((user) => user['id'] === directory.user(index).id)!;
    const [changedUser, renamedUser, softUser, permanentUser] = [5, 6, 7, 8].map(before) as [
      Record<string, unknown>,
      Record<string, unknown>,
      Record<string, unknown>,
      Record<string, unknown>,
    ];
    directory.update(5, { department: 'Delta Dept', jobTitle: null });
    directory.update(6, { userPrincipalName: 'renamed.6@sandbox.onmicrosoft.com' });
    directory.remove(7);
    directory.remove(8, 'permanent');
    const [added] = directory.add(1) as [number];
    const requestsBefore = env.sandbox.graph.requests.length;
    const run = await env.runExport(settings);
    expect(run.exitCode, run.output).toBe(0);
    expect((await manifest()).listing.mode).toBe('delta');
    // One page of changes instead of the whole directory, and Graph's count to check the total.
    expect(deltaRequests(requestsBefore).map((request) => request.path)).toEqual([
      '/v1.0/users/delta',
      '/v1.0/users/$count',
    ]);
    expect((await manifest()).listing).toMatchObject({ countDifference: 0 });
    expect(sorted(await lines('latest/users.ndjson'))).toEqual(freshListing());
    // Exactly what was done, with old and new values; how each user left, from Graph's @removed reason.
    const addedUser = freshListing().find((user) => user['id'] === directory.user(added).id)!;
    const report = (await lines('latest/changes.ndjson')) as unknown as ChangeLine[];
    expect(report).toEqual([
      { change: 'removed', id: softUser['id'], user: softUser, deletion: 'soft' },
      { change: 'removed', id: permanentUser['id'], user: permanentUser, deletion: 'permanent' },
      {
        change: 'changed',
        id: changedUser['id'],
        properties: {
          department: { old: changedUser['department'], new: 'Delta Dept' },
          jobTitle: { old: changedUser['jobTitle'], new: null },
        },
      },
      {
        change: 'changed',
        id: renamedUser['id'],
        properties: {
          userPrincipalName: {
            old: renamedUser['userPrincipalName'],
            new: 'renamed.6@sandbox.onmicrosoft.com',
          },
        },
      },
      { change: 'added', id: addedUser['id'], user: addedUser },
    ]);
    expect((await manifest()).changes).toEqual({
      compared: true,
      reason: null,
      sinceRunId: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
      added: 1,
      removed: 2,
      changed: 2,
    });
  });

  it('when the same user comes twice in a round, the last one wins', async () => {
    env.sandbox.graph.duplicateDeltaEntries = true;
    try {
      env.sandbox.directory.update(9, { department: 'Twice' });
      expect((await env.runExport(settings)).exitCode).toBe(0);
    } finally {
      env.sandbox.graph.duplicateDeltaEntries = false;
    }
    expect(sorted(await lines('latest/users.ndjson'))).toEqual(freshListing());
  });

  it.each(['csv', 'json'] as const)(
    'in %s, a rebuilt export holds the same records a full listing writes',
    async (format) => {
      env.sandbox.directory.update(10, { displayName: `=${format} formula`, jobTitle: 'Line\nbreak' });
      const rebuilt = await env.runExport({ ...settings, EXPORT_FORMAT: format });
      expect(rebuilt.exitCode, rebuilt.output).toBe(0);
      expect((await manifest()).listing.mode).toBe('delta');
      const records = async (container = env.container) => {
        const text = (await container.getBlobClient(`latest/users.${format}`).downloadToBuffer()).toString(
          'utf8',
        );
        const rows = format === 'json' ? (JSON.parse(text) as unknown[]) : (parse(text) as unknown[]);
        return rows.map((row) => JSON.stringify(row)).sort();
      };
      const fromDelta = await records();
      // The full listing goes to a container of its own: the delta chain here stays this run's.
      const full = await env.runExport({
        ...settings,
        EXPORT_FORMAT: format,
        EXPORT_DELTA: 'false',
        EXPORT_CONTAINER: `full-${format}`,
      });
      expect(full.exitCode, full.output).toBe(0);
      const fullContainer = BlobServiceClient.fromConnectionString(
        env.azurite.connectionString,
      ).getContainerClient(`full-${format}`);
      expect(fromDelta).toEqual(await records(fullContainer));
    },
  );

  it('an expired delta link lists in full again, says so, and still reports the changes', async () => {
    env.sandbox.directory.update(11, { department: 'After expiry' });
    env.sandbox.graph.expireDeltaLinks = true;
    let run;
    try {
      run = await env.runExport(settings);
    } finally {
      env.sandbox.graph.expireDeltaLinks = false;
    }
    expect(run.exitCode, run.output).toBe(0);
    expect(run.stdout).toMatch(/Graph refused the kept delta link \(410: .*listed the directory in full/);
    expect((await manifest()).listing.mode).toBe('delta-resync');
    expect(sorted(await lines('latest/users.ndjson'))).toEqual(freshListing());
    expect(
      ((await lines('latest/changes.ndjson')) as unknown as ChangeLine[]).map((line) => line.id),
    ).toEqual([env.sandbox.directory.user(11).id]);
  });

  it("a rebuild short of Graph's count is not published: a full round follows, and says why", async () => {
    const [added] = env.sandbox.directory.add(1) as [number];
    env.sandbox.graph.omitDeltaAdditions = true;
    let run;
    try {
      run = await env.runExport(settings);
    } finally {
      env.sandbox.graph.omitDeltaAdditions = false;
    }
    expect(run.exitCode, run.output).toBe(0);
    expect(run.stdout).toMatch(
      /the rebuilt directory held \d+ users but Graph counts \d+; listing the directory in full/,
    );
    const { listing } = await manifest();
    expect(listing.mode).toBe('delta-resync');
    expect(listing.notes.join(' ')).toMatch(/Graph counts .*listing the directory in full/);
    expect(sorted(await lines('latest/users.ndjson'))).toEqual(freshListing());
    const report = (await lines('latest/changes.ndjson')) as unknown as ChangeLine[];
    expect(report.map((line) => [line.change, line.id])).toEqual([
      ['added', env.sandbox.directory.user(added).id],
    ]);
  });

  it('a damaged state is not rebuilt from: a full round, and the next run is a delta run again', async () => {
    const state = env.container.getBlockBlobClient('state/users.ndjson.gz');
    const whole = await state.downloadToBuffer();
    await state.uploadData(whole.subarray(0, Math.floor(whole.length / 2)));
    env.sandbox.directory.update(13, { department: 'After damage' });
    const run = await env.runExport(settings);
    expect(run.exitCode, run.output).toBe(0);
    expect(run.stdout).toMatch(/Changes: not compared, the state does not match the last manifest/);
    expect(run.stdout).toContain('Delta: no usable state to rebuild from');
    expect((await manifest()).listing.mode).toBe('delta-resync');
    expect(sorted(await lines('latest/users.ndjson'))).toEqual(freshListing());
    expect((await env.runExport(settings)).exitCode).toBe(0);
    expect((await manifest()).listing.mode).toBe('delta');
  });

  it('a failed delta run changes neither the export, the state nor the delta link', async () => {
    const kept = ['latest/users.ndjson', 'state/users.ndjson.gz', 'state/delta.json'];
    const before = await Promise.all(kept.map(blob));
    env.sandbox.directory.update(12, { department: 'never published' });
    env.sandbox.graph.faults.push({ kind: 'status', status: 500, page: 1, times: Infinity });
    try {
      expect((await env.runExport(settings)).exitCode).toBe(1);
    } finally {
      env.sandbox.graph.faults.length = 0;
    }
    const after = await Promise.all(kept.map(blob));
    after.forEach((content, index) => expect(content.equals(before[index]!)).toBe(true));
  });

  it('refuses an EXPORT_FILTER, which /users/delta cannot apply', async () => {
    const run = await env.runExport({ ...settings, EXPORT_FILTER: "userType eq 'Member'" });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(
      /EXPORT_DELTA and EXPORT_FILTER are both set: \/users\/delta filters only by id/,
    );
  });
});
