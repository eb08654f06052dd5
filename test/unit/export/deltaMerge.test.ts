import { gzipSync } from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { stateHeaderLine } from '../../../src/export/changes.js';
import { type DeltaChanges, foldDeltaPage, mergedUsers } from '../../../src/export/deltaMerge.js';

const PROPERTIES = ['id', 'displayName', 'department', 'mail'];
const state = (users: Record<string, unknown>[]) =>
  gzipSync([stateHeaderLine(PROPERTIES), ...users.map((u) => JSON.stringify(u))].join('\n'));

async function rebuild(previous: Record<string, unknown>[], rounds: Record<string, unknown>[][]) {
  const changes: DeltaChanges = new Map();
  for (const page of rounds) foldDeltaPage(changes, page);
  const users = [];
  for await (const page of mergedUsers(state(previous), changes, PROPERTIES, 2)) users.push(...page);
  return users;
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

  it('drops Graph annotations from what it merges', async () => {
    const users = await rebuild(
      [ada],
      [[{ id: 'a', department: 'X', '@odata.type': '#microsoft.graph.user' }]],
    );
    expect(users).toEqual([{ ...ada, department: 'X' }]);
  });
});
