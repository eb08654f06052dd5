import { describe, expect, it } from 'vitest';

import {
  GUARD_HISTORY_RUNS,
  checkPublication,
  guardHistory,
  readPreviousExport,
} from '../../../src/export/publicationGuard.js';
import {
  newerRunThan,
  parseDeltaState,
  sha256Of,
  vouchedDeltaState,
  vouchedState,
} from '../../../src/export/runIdentity.js';
import type { ShrinkLimit } from '../../../src/settings.js';

const RUN_A = '11111111-1111-4111-8111-111111111111';
const RUN_B = '22222222-2222-4222-8222-222222222222';
const state = Buffer.from('the state of run B');
const olderState = Buffer.from('the state of run A');
const delta = Buffer.from(
  JSON.stringify({
    runId: RUN_B,
    deltaLink: 'https://g/v1.0/users/delta?$deltatoken=x',
    fullSyncAt: '2026-11-30T02:00:00.000Z',
    properties: ['id'],
  }),
);

const manifestOf = (fields: Record<string, unknown>) =>
  readPreviousExport(Buffer.from(JSON.stringify(fields)));
const manifest = manifestOf({
  runId: RUN_B,
  startedAt: '2026-12-01T02:00:00.000Z',
  userCount: 10,
  blobs: {
    users: { name: 'latest/users.csv', bytes: 1, sha256: 'a'.repeat(64) },
    state: { name: 'state/users.ndjson.gz', bytes: state.length, sha256: sha256Of(state) },
    deltaState: { name: 'state/delta.json', bytes: delta.length, sha256: sha256Of(delta) },
  },
  baseline: { runId: RUN_A, stateSha256: sha256Of(olderState) },
});

describe('what the next run builds on', () => {
  it('trusts a kept state only when the last manifest names its exact bytes', () => {
    expect(vouchedState(manifest, state)).toMatchObject({ runId: RUN_B, lastRunsOwn: true });
    expect(vouchedState(manifest, Buffer.from('the state of run B, edited'))).toEqual({
      reason: `the state does not match the last manifest (run ${RUN_B}): its upload failed or it was changed since, so this run is the new baseline`,
    });
    expect(vouchedState({ state: 'none' }, state)).toMatchObject({
      reason: expect.stringMatching(/no readable latest\/manifest.json/) as unknown,
    });
    expect(vouchedState(manifestOf({ userCount: 10 }), state)).toMatchObject({
      reason: expect.stringMatching(/names no run/) as unknown,
    });
    expect(vouchedState(manifest, undefined)).toEqual({ reason: 'no previous state: this is the first run' });
  });

  it("falls back to the state the last run compared with when the last run's own state did not land", () => {
    expect(vouchedState(manifest, olderState)).toMatchObject({
      runId: RUN_A,
      lastRunsOwn: false,
      note: expect.stringMatching(/did not reach Storage/) as unknown,
    });
    // That state has no delta link of its own here: the link is the later run's.
    expect(vouchedDeltaState(manifest, delta, vouchedState(manifest, olderState))).toMatchObject({
      reason: expect.stringMatching(/not the kept state's/) as unknown,
    });
  });

  it('follows a kept delta link only when the manifest names its bytes and it is the same run as the state', () => {
    const vouched = vouchedState(manifest, state);
    expect(vouchedDeltaState(manifest, delta, vouched)).toMatchObject({ runId: RUN_B, properties: ['id'] });
    const edited = Buffer.from(delta.toString().replace('$deltatoken=x', '$deltatoken=y'));
    expect(vouchedDeltaState(manifest, edited, vouched)).toMatchObject({
      reason: expect.stringMatching(/state\/delta.json does not match the last manifest/) as unknown,
    });
    const otherRun = Buffer.from(delta.toString().replace(RUN_B, RUN_A));
    const vouchingOtherRun = manifestOf({
      runId: RUN_B,
      userCount: 10,
      blobs: { state: { sha256: sha256Of(state) }, deltaState: { sha256: sha256Of(otherRun) } },
    });
    expect(
      vouchedDeltaState(vouchingOtherRun, otherRun, vouchedState(vouchingOtherRun, state)),
    ).toMatchObject({
      reason: expect.stringMatching(/does not match the last manifest/) as unknown,
    });
    expect(parseDeltaState(Buffer.from('{"deltaLink": 5}'))).toBeUndefined();
  });

  it('reads a manifest field only when it has the shape a run writes', () => {
    const reading = manifestOf({
      runId: 'not a run id!',
      userCount: 3,
      blobs: { state: { sha256: 'not-a-digest' } },
      baseline: { runId: RUN_A },
      history: [{ userCount: 3 }, { userCount: -1 }, { userCount: 7, runId: RUN_A }],
    });
    expect(reading).toMatchObject({
      state: 'found',
      previous: { runId: undefined, blobSha256: {}, baseline: undefined },
    });
    if (reading.state !== 'found') throw new Error('unreachable');
    expect(reading.previous.history.map((entry) => entry.userCount)).toEqual([3, 7]);
  });
});

describe('newer wins', () => {
  const own = { runId: RUN_A, startedAt: new Date('2026-12-01T02:00:00.000Z') };
  const now = new Date('2026-12-01T02:30:00.000Z');
  const publishedBy = (runId: string, startedAt: string) => manifestOf({ runId, startedAt, userCount: 1 });

  it('gives way to a run that started later and has published', () => {
    expect(newerRunThan(publishedBy(RUN_B, '2026-12-01T02:05:00.000Z'), own, now)).toEqual({
      runId: RUN_B,
      startedAt: '2026-12-01T02:05:00.000Z',
    });
  });

  it('publishes over an older run, its own manifest, a manifest of an earlier version, or a start time ahead of now', () => {
    expect(newerRunThan(publishedBy(RUN_B, '2026-12-01T01:55:00.000Z'), own, now)).toBeUndefined();
    expect(newerRunThan(publishedBy(RUN_A, '2026-12-01T02:05:00.000Z'), own, now)).toBeUndefined();
    expect(
      newerRunThan(manifestOf({ userCount: 1, startedAt: '2026-12-01T02:05:00.000Z' }), own, now),
    ).toBeUndefined();
    // An edited blob (or a skewed clock) with a start in the future would otherwise stop every run.
    expect(newerRunThan(publishedBy(RUN_B, '2999-01-01T00:00:00.000Z'), own, now)).toBeUndefined();
    expect(newerRunThan({ state: 'none' }, own, now)).toBeUndefined();
  });
});

describe("the guard's floor over time", () => {
  const percent = (value: number): ShrinkLimit => ({ kind: 'percent', value });
  const config = { shrinkLimit: percent(10), acceptShrinkUntil: undefined, filter: undefined };
  const at = new Date('2026-12-01T02:00:00Z');

  it('refuses a slow slide of 9% a run once it is past the limit against the largest recent count', () => {
    let previous = readPreviousExport(null);
    const published: number[] = [];
    let count = 1000;
    for (let run = 0; run < 10; run += 1) {
      let guard;
      try {
        guard = checkPublication(previous, count, config, at);
      } catch {
        break;
      }
      published.push(count);
      const history = guardHistory(previous, guard, {
        runId: `run-${run}`,
        startedAt: null,
        userCount: count,
      });
      previous = manifestOf({ runId: `run-${run}`, userCount: count, history });
      count = Math.round(count * 0.91);
    }
    // 1000 and 910 published; 828 is 17% below 1000 and refused, though only 9% below 910.
    expect(published).toEqual([1000, 910]);
  });

  it('starts the floor afresh after a drop accepted by EXPORT_ACCEPT_SHRINK_UNTIL, and keeps at most the last runs', () => {
    const previous = manifestOf({ runId: 'r', userCount: 1000 });
    const accepted = checkPublication(
      previous,
      500,
      { ...config, acceptShrinkUntil: new Date('2026-12-01T04:00:00Z') },
      at,
    );
    expect(accepted.decision).toBe('accepted-by-override');
    expect(guardHistory(previous, accepted, { runId: 'n', startedAt: null, userCount: 500 })).toEqual([
      { runId: 'n', startedAt: null, userCount: 500 },
    ]);
    const long = manifestOf({
      runId: 'r',
      userCount: 100,
      history: Array.from({ length: 30 }, (_, n) => ({ runId: `r${n}`, startedAt: null, userCount: 100 })),
    });
    const within = checkPublication(long, 100, config, at);
    expect(guardHistory(long, within, { runId: 'n', startedAt: null, userCount: 100 })).toHaveLength(
      GUARD_HISTORY_RUNS,
    );
  });
});
