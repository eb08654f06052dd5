import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ChangeLine } from '../../src/export/changes.js';
import type { ExportManifest } from '../../src/export/manifest.js';
import { type Environment, expectedUsers, startEnvironment } from './harness.js';

const SELECT = 'id,displayName,userPrincipalName,department,userType';
const FILTER = "userType eq 'Member'";
const settings = { EXPORT_SELECT: SELECT, EXPORT_FILTER: FILTER, EXPORT_FORMAT: 'ndjson' };

let env: Environment;
beforeAll(async () => {
  env = await startEnvironment({ users: 1200 });
});
afterAll(async () => env.stop());

const blob = async (name: string) => env.container.getBlobClient(name).downloadToBuffer();
const manifest = async () =>
  JSON.parse((await blob('latest/manifest.json')).toString('utf8')) as ExportManifest;
const changes = async () =>
  (await blob('latest/changes.ndjson'))
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as ChangeLine);
const exported = async () =>
  (await blob('latest/users.ndjson'))
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
const members = () =>
  expectedUsers(
    env.sandbox,
    SELECT.split(','),
    (index) => env.sandbox.directory.user(index)['userType'] === 'Member',
  );
const byId = (users: Record<string, unknown>[]) =>
  [...users].sort((a, b) => String(a['id']).localeCompare(String(b['id'])));

describe('the change report, over a sequence of runs', () => {
  it('the first run has no baseline and says so, and keeps the state', async () => {
    const run = await env.runExport(settings);
    expect(run.exitCode, run.output).toBe(0);
    expect((await manifest()).changes).toEqual({
      compared: false,
      reason: 'no previous state: this is the first run',
      sinceRunId: null,
      added: 0,
      removed: 0,
      changed: 0,
    });
    expect(await changes()).toEqual([]);
    const state = gunzipSync(await blob('state/users.ndjson.gz'))
      .toString('utf8')
      .split('\n');
    // The state names the run that wrote it, and the manifest names the state's exact bytes.
    const { runId, blobs } = await manifest();
    expect(JSON.parse(state[0]!)).toEqual({ entraUserExportState: 2, runId, properties: SELECT.split(',') });
    expect(blobs.state).toEqual({
      name: 'state/users.ndjson.gz',
      bytes: (await blob('state/users.ndjson.gz')).length,
      sha256: createHash('sha256')
        .update(await blob('state/users.ndjson.gz'))
        .digest('hex'),
    });
  });

  it('lists exactly what changed: added, deleted, moved out of the filter, renamed, a new department', async () => {
    const { directory } = env.sandbox;
    const memberIndexes = Array.from({ length: directory.size }, (_, i) => i).filter(
      (i) => directory.user(i)['userType'] === 'Member',
    );
    const [deleted, movedOut, renamed, moved] = memberIndexes.slice(10, 14) as [
      number,
      number,
      number,
      number,
    ];
    const before = (index: number) => expectedUsers(env.sandbox, SELECT.split(','), (i) => i === index)[0]!;
    const deletedUser = before(deleted);
    const movedOutUser = before(movedOut);
    const renamedUser = before(renamed);
    const movedUser = before(moved);
    directory.remove(deleted);
    directory.update(movedOut, { userType: 'Guest' });
    directory.update(renamed, { userPrincipalName: `renamed.${renamed}@sandbox.onmicrosoft.com` });
    directory.update(moved, { department: 'Moved, "Quoted" Dept' });
    const [addedIndex] = directory.add(1) as [number];
    directory.update(addedIndex, { userType: 'Member' });

    const run = await env.runExport(settings);
    expect(run.exitCode, run.output).toBe(0);
    expect(run.stdout).toContain('Changes since the last export: 1 added, 2 removed, 2 changed.');
    const lines = await changes();
    expect(lines.filter((line) => line.change === 'removed')).toEqual(
      expect.arrayContaining([
        { change: 'removed', id: deletedUser['id'], user: deletedUser },
        { change: 'removed', id: movedOutUser['id'], user: movedOutUser },
      ]),
    );
    expect(lines).toContainEqual({
      change: 'changed',
      id: renamedUser['id'],
      properties: {
        userPrincipalName: {
          old: renamedUser['userPrincipalName'],
          new: `renamed.${renamed}@sandbox.onmicrosoft.com`,
        },
      },
    });
    expect(lines).toContainEqual({
      change: 'changed',
      id: movedUser['id'],
      properties: { department: { old: movedUser['department'], new: 'Moved, "Quoted" Dept' } },
    });
    const added = lines.filter((line) => line.change === 'added');
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({ id: directory.user(addedIndex).id });
    expect(lines).toHaveLength(5);
    const previousRun = (await manifest()).baseline?.runId;
    expect((await manifest()).changes).toEqual({
      compared: true,
      reason: null,
      sinceRunId: previousRun,
      added: 1,
      removed: 2,
      changed: 2,
    });
    expect(previousRun).toMatch(/^[0-9a-f-]{36}$/);
    // The export itself is the whole directory, as a fresh listing gives it.
    expect(byId(await exported())).toEqual(byId(members()));
    const event = env.sandbox.appInsights.events('EntraUserExportCompleted').at(-1)!;
    expect(event['measurements']).toMatchObject({ usersAdded: 1, usersRemoved: 2, usersChanged: 2 });
  });

  it('a restored user comes back as added; an unchanged directory reports nothing', async () => {
    const deletedIndex = Array.from({ length: env.sandbox.directory.size }, (_, i) => i).find(
      (i) => !env.sandbox.directory.exists(i),
    )!;
    env.sandbox.directory.restore(deletedIndex);
    expect((await env.runExport(settings)).exitCode).toBe(0);
    expect((await changes()).map((line) => [line.change, line.id])).toEqual([
      ['added', env.sandbox.directory.user(deletedIndex).id],
    ]);
    expect((await env.runExport(settings)).exitCode).toBe(0);
    expect(await changes()).toEqual([]);
    expect((await manifest()).changes).toMatchObject({ compared: true, added: 0, removed: 0, changed: 0 });
  });

  it('a failed run changes neither the export nor the state', async () => {
    const state = await blob('state/users.ndjson.gz');
    const report = await blob('latest/changes.ndjson');
    env.sandbox.directory.update(0, { department: 'never published' });
    env.sandbox.graph.faults.push({ kind: 'status', status: 500, page: 2, times: Infinity });
    try {
      expect((await env.runExport(settings)).exitCode).toBe(1);
    } finally {
      env.sandbox.graph.faults.length = 0;
    }
    expect((await blob('state/users.ndjson.gz')).equals(state)).toBe(true);
    expect((await blob('latest/changes.ndjson')).equals(report)).toBe(true);
  });

  it('a new EXPORT_SELECT starts a new baseline, saying why', async () => {
    expect((await env.runExport({ ...settings, EXPORT_SELECT: `${SELECT},mail` })).exitCode).toBe(0);
    expect((await manifest()).changes).toMatchObject({
      compared: false,
      reason: expect.stringMatching(/^the exported properties changed/) as unknown,
    });
  });
});
