import { gzipSync } from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { ExportError } from '../../../src/errors.js';
import {
  type ChangeLine,
  changeLines,
  ChangeTracker,
  gzippedLines,
  PreviousState,
  stateHeaderLine,
} from '../../../src/export/changes.js';

const PROPERTIES = ['id', 'displayName', 'department'];
const guid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const user = (n: number, department = 'Sales') => ({ id: guid(n), displayName: `User ${n}`, department });

function state(users: Record<string, unknown>[], properties = PROPERTIES): Buffer {
  const lines = [stateHeaderLine(properties, 'run-1'), ...users.map((u) => JSON.stringify(u))];
  return gzipSync(`${lines.join('\n')}\n`);
}

async function report(previous: Record<string, unknown>[], current: Record<string, unknown>[]) {
  const read = await PreviousState.read(state(previous), PROPERTIES);
  if (!(read instanceof PreviousState)) throw new Error(read.reason);
  const tracker = new ChangeTracker(read);
  for (const u of current) tracker.observe(String(u['id']), JSON.stringify(u));
  return reportOf(tracker);
}

async function reportOf(tracker: ChangeTracker) {
  const lines: ChangeLine[] = [];
  for await (const line of changeLines(tracker)) lines.push(line);
  return lines;
}

/** The report a delta rebuild gives: every current user handed over with its line in the previous state. */
async function reportOfRebuild(previous: Record<string, unknown>[], current: Record<string, unknown>[]) {
  const read = await PreviousState.read(state(previous), PROPERTIES);
  if (!(read instanceof PreviousState)) throw new Error(read.reason);
  const tracker = new ChangeTracker(read);
  const oldLines = new Map(previous.map((u, position) => [u['id'], { position, line: JSON.stringify(u) }]));
  for (const u of current) {
    const old = oldLines.get(u['id']);
    tracker.observeAt(old?.position, JSON.stringify(u), old?.line ?? '');
  }
  return reportOf(tracker);
}

describe('the change report', () => {
  it('lists exactly the users added, removed and changed, with old and new values', async () => {
    const previous = Array.from({ length: 2000 }, (_, n) => user(n));
    const current = previous
      .filter((u) => u.id !== guid(7) && u.id !== guid(1500))
      .map((u) => (u.id === guid(42) ? { ...u, department: 'R&D' } : u));
    current.push(user(5000, 'Legal'));
    expect(await report(previous, current)).toEqual([
      { change: 'removed', id: guid(7), user: user(7) },
      { change: 'removed', id: guid(1500), user: user(1500) },
      { change: 'changed', id: guid(42), properties: { department: { old: 'Sales', new: 'R&D' } } },
      { change: 'added', id: guid(5000), user: user(5000, 'Legal') },
    ]);
  });

  it('gives a rebuild that knows each line the same report as a listing looked up by id', async () => {
    const previous = Array.from({ length: 500 }, (_, n) => user(n));
    const current = previous
      .filter((u) => u.id !== guid(3))
      .map((u) => (u.id === guid(9) ? { ...u, displayName: 'Renamed' } : u));
    current.push(user(900, 'Legal'));
    const expected = await report(previous, current);
    expect(expected.map((line) => [line.change, line.id])).toEqual([
      ['removed', guid(3)],
      ['changed', guid(9)],
      ['added', guid(900)],
    ]);
    expect(await reportOfRebuild(previous, current)).toEqual(expected);
  });

  it('reads the kept state as untrusted input: a line that is not a user of the header, or an id twice, makes it no baseline', async () => {
    const raw = (lines: string[]) =>
      gzipSync(`${[stateHeaderLine(PROPERTIES, 'run-1'), ...lines].join('\n')}\n`);
    const good = [user(1), user(2)].map((u) => JSON.stringify(u));
    const read = await PreviousState.read(raw(good), PROPERTIES);
    expect(read).toBeInstanceOf(PreviousState);
    expect((read as PreviousState).runId).toBe('run-1');
    const cases: [string, string][] = [
      ['{"id":"not json at all', 'line 4 is not JSON'],
      ['["an", "array"]', 'line 4 is not a user object'],
      [JSON.stringify({ ...user(3), passwordProfile: { password: 'x' } }), 'line 4 holds other properties'],
      [JSON.stringify({ id: guid(3), displayName: 'No department' }), 'line 4 holds other properties'],
      [
        JSON.stringify({ department: 'Sales', displayName: 'Reordered', id: guid(3) }),
        'line 4 holds other properties',
      ],
      [JSON.stringify({ ...user(3), id: 42 }), 'line 4 has no string id'],
      [JSON.stringify(user(1, 'Again')), 'line 4 holds a user id that an earlier line already holds'],
    ];
    for (const [line, reason] of cases) {
      const outcome = await PreviousState.read(raw([...good, line]), PROPERTIES);
      expect(outcome, line).toEqual({
        reason: expect.stringContaining(`the previous state is not usable (${reason}`) as unknown,
      });
    }
    // Nothing of the line itself is quoted: it may hold a user's personal data.
    const secretLine = JSON.stringify({ ...user(3), passwordProfile: 'Hunter2!' });
    expect(JSON.stringify(await PreviousState.read(raw([secretLine]), PROPERTIES))).not.toContain('Hunter2');
  });

  it('holds a bounded number of old values, reading the states again for the rest', async () => {
    const previous = Array.from({ length: 400 }, (_, n) => user(n));
    // Everyone but a few changed (a mass move), one user removed, one added.
    const current = previous
      .map((u, n) => (n % 50 === 0 ? u : user(n, `D${n}`)))
      .filter((u) => u.id !== guid(5));
    current.reverse();
    current.push(user(1000, 'New'));
    const read = await PreviousState.read(state(previous), PROPERTIES);
    if (!(read instanceof PreviousState)) throw new Error(read.reason);
    const tracker = new ChangeTracker(read);
    for (const u of current) tracker.observe(u.id, JSON.stringify(u));
    const lines: ChangeLine[] = [];
    for await (const line of changeLines(tracker, 7)) lines.push(line);
    const changedIds = current.filter((u) => u.department.startsWith('D')).map((u) => u.id);
    expect(lines[0]).toEqual({ change: 'removed', id: guid(5), user: user(5) });
    expect(lines.filter((line) => line.change === 'added').map((line) => line.id)).toEqual([guid(1000)]);
    const changed = lines.filter((line) => line.change === 'changed');
    expect(changed.map((line) => line.id).sort()).toEqual([...changedIds].sort());
    for (const line of changed) {
      const n = Number(line.id.slice(-12));
      expect(line.properties).toEqual({ department: { old: 'Sales', new: `D${n}` } });
    }
    expect(lines).toHaveLength(changedIds.length + 2);
  });

  it('reports nothing when nothing changed, whatever order the users come in', async () => {
    const users = Array.from({ length: 300 }, (_, n) => user(n));
    expect(await report(users, [...users].reverse())).toEqual([]);
  });

  it('tells a value that became null from one that did not change', async () => {
    const lines = await report([user(1)], [{ ...user(1), department: null }]);
    expect(lines).toEqual([
      { change: 'changed', id: guid(1), properties: { department: { old: 'Sales', new: null } } },
    ]);
  });

  it('reads back every character of a large state, whatever chunk a multi-byte one falls in', async () => {
    const users = Array.from({ length: 5000 }, (_, n) => ({
      id: guid(n),
      displayName: `Núñez ${'ñ'.repeat(n % 7)}`,
      department: '中文',
    }));
    const lines = [];
    for await (const batch of gzippedLines(state(users))) lines.push(...batch);
    expect(lines.slice(1).map((line) => JSON.parse(line) as unknown)).toEqual(users);
    expect(await report(users, users)).toEqual([]);
  });

  it('handles ids that are not GUIDs', async () => {
    const lines = await report(
      [{ id: 'alpha', displayName: 'A', department: 'x' }],
      [{ id: 'beta', displayName: 'B', department: 'x' }],
    );
    expect(lines.map((line) => [line.change, line.id])).toEqual([
      ['removed', 'alpha'],
      ['added', 'beta'],
    ]);
  });

  it('has no baseline on the first run, or when the exported properties changed', async () => {
    expect(await PreviousState.read(undefined, PROPERTIES)).toEqual({
      reason: 'no previous state: this is the first run',
    });
    expect(await PreviousState.read(state([user(1)], ['id', 'displayName']), PROPERTIES)).toMatchObject({
      reason: expect.stringMatching(/the exported properties changed/) as unknown,
    });
    expect(await PreviousState.read(Buffer.from('not gzip'), PROPERTIES)).toMatchObject({
      reason: expect.stringMatching(/could not be read/) as unknown,
    });
    // Cut short: the header reads, the rest does not.
    const whole = state(Array.from({ length: 3000 }, (_, n) => user(n)));
    expect(await PreviousState.read(whole.subarray(0, whole.length - 100), PROPERTIES)).toMatchObject({
      reason: expect.stringMatching(/not usable \(unexpected end of file\)/) as unknown,
    });
    // A state of the earlier version (no run id in its header) is no baseline either.
    const legacy = gzipSync(`${JSON.stringify({ entraUserExportState: 1, properties: PROPERTIES })}\n`);
    expect(await PreviousState.read(legacy, PROPERTIES)).toMatchObject({
      reason: expect.stringMatching(/written by another version/) as unknown,
    });
  });
});

describe('a kept state read as a stream', () => {
  it('fails the run when Storage fails mid-read, instead of taking the state for no baseline', async () => {
    const whole = state(Array.from({ length: 3000 }, (_, n) => user(n)));
    const failing = {
      async *open() {
        yield whole.subarray(0, 1000);
        throw new ExportError(
          'EXPORT_WRITE=stream: reading state/users.ndjson.gz failed: (HTTP 503 ServerBusy)',
          {
            code: 'StorageUnavailable',
          },
        );
      },
    };
    await expect(PreviousState.read(failing, PROPERTIES)).rejects.toThrow(/HTTP 503 ServerBusy/);
    // Bytes that are not a state are still no baseline, with the reason.
    const broken = {
      async *open() {
        yield whole.subarray(0, 1000);
      },
    };
    const read = await PreviousState.read(broken, PROPERTIES);
    expect('reason' in read && read.reason).toMatch(/not usable|could not be read/);
  });
});
