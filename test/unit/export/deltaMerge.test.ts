import { gzipSync } from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { stateHeaderLine } from '../../../src/export/changes.js';
import {
  type DeltaChanges,
  foldDeltaPage,
  mergedUsers,
  type RebuiltUser,
  rebuiltUsers,
} from '../../../src/export/deltaMerge.js';

const PROPERTIES = ['id', 'displayName', 'department', 'mail'];
const state = (users: Record<string, unknown>[]) =>
  gzipSync([stateHeaderLine(PROPERTIES, 'run-1'), ...users.map((u) => JSON.stringify(u))].join('\n'));

async function rebuiltEntries(previous: Record<string, unknown>[], rounds: Record<string, unknown>[][]) {
  const changes: DeltaChanges = new Map();
  for (const page of rounds) foldDeltaPage(changes, page);
  const entries: RebuiltUser[] = [];
  for await (const page of mergedUsers(state(previous), changes, PROPERTIES, 2)) entries.push(...page);
  return entries;
}

async function rebuild(previous: Record<string, unknown>[], rounds: Record<string, unknown>[][]) {
  return rebuiltUsers(await rebuiltEntries(previous, rounds));
}

const ada = { id: 'a', displayName: 'Ada', department: 'Sales', mail: 'ada@contoso.com' };
const bob = { id: 'b', displayName: 'Bob', department: 'Legal', mail: null };

describe('rebuilding the directory from a delta round', () => {
  it('merges a partial update over what was known, keeping what Graph left out', async () => {
    expect(await rebuild([ada, bob], [[{ id: 'a', department: 'R&D' }]])).toEqual([
      { ...ada, department: 'R&D' },
      bob,
    ]);
  });

  it('sets a property Graph sends as null to null', async () => {
    expect(await rebuild([ada], [[{ id: 'a', mail: null }]])).toEqual([{ ...ada, mail: null }]);
  });

  it('drops users marked @removed, whatever the reason, and adds new ones with every property', async () => {
    const users = await rebuild(
      [ada, bob],
      [
        [
          { id: 'b', '@removed': { reason: 'changed' } },
          { id: 'c', displayName: 'Cy' },
        ],
      ],
    );
    expect(users).toEqual([ada, { id: 'c', displayName: 'Cy', department: null, mail: null }]);
  });

  it('lets the last appearance of a user in a round win, across pages', async () => {
    const users = await rebuild(
      [ada],
      [
        [{ id: 'a', department: 'One' }],
        [
          { id: 'a', displayName: 'Ada L.' },
          { id: 'a', department: 'Two' },
        ],
      ],
    );
    expect(users).toEqual([{ ...ada, displayName: 'Ada L.', department: 'Two' }]);
  });

  it('a user removed and then restored in one round is back, from what the round says', async () => {
    const users = await rebuild(
      [ada],
      [
        [{ id: 'a', '@removed': { reason: 'changed' } }],
        [{ id: 'a', displayName: 'Ada', department: 'Back' }],
      ],
    );
    expect(users).toEqual([{ ...ada, department: 'Back' }]);
  });

  it('passes on an untouched user as its line, and every user with its line in the previous state', async () => {
    const cy = { id: 'c', displayName: 'Cy', department: null, mail: null };
    const entries = await rebuiltEntries(
      [ada, bob, cy],
      [[{ id: 'b', '@removed': { reason: 'deleted' } }, { id: 'c', department: 'Ops' }, { id: 'd' }]],
    );
    expect(entries).toEqual([
      { kept: JSON.stringify(ada), previousLine: 0 },
      // Graph's `deleted`: gone for good (`changed` would be the deleted items).
      { removed: 'permanent', previousLine: 1 },
      { user: { ...cy, department: 'Ops' }, previousLine: 2, oldLine: JSON.stringify(cy) },
      { user: { id: 'd', displayName: null, department: null, mail: null }, previousLine: undefined },
    ]);
  });

  it('drops Graph annotations from what it merges', async () => {
    const users = await rebuild(
      [ada],
      [[{ id: 'a', department: 'X', '@odata.type': '#microsoft.graph.user' }]],
    );
    expect(users).toEqual([{ ...ada, department: 'X' }]);
  });
});
