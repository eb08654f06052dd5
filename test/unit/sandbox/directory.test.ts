import { describe, expect, it } from 'vitest';

import { applyDemoRuns, SandboxDirectory } from '../../../sandbox/directory.js';

/** Every user of a directory, by id, as Graph would list them. */
function snapshot(directory: SandboxDirectory): Map<string, Record<string, unknown>> {
  const users = new Map<string, Record<string, unknown>>();
  for (let index = 0; index < directory.size; index += 1)
    if (directory.exists(index)) users.set(directory.user(index).id, directory.user(index));
  return users;
}

describe('the demo tenant, run after run', () => {
  it('is the generated directory at run 1', () => {
    const directory = new SandboxDirectory({ size: 500 });
    expect(applyDemoRuns(directory, 1)).toEqual([]);
    expect(directory.revision).toBe(0);
  });

  it('gains 3 users, loses 2 and changes 5 each later run (4 moves and a rename)', () => {
    const before = snapshot(applyDemo(500, 2));
    const after = snapshot(applyDemo(500, 3));
    const added = [...after.keys()].filter((id) => !before.has(id));
    const removed = [...before.keys()].filter((id) => !after.has(id));
    const changed = [...after.keys()].filter(
      (id) => before.has(id) && JSON.stringify(before.get(id)) !== JSON.stringify(after.get(id)),
    );
    expect([added.length, removed.length, changed.length]).toEqual([3, 2, 5]);
    const renamed = changed.filter((id) => before.get(id)!['surname'] !== after.get(id)!['surname']);
    expect(renamed).toHaveLength(1);
    expect(after.get(renamed[0]!)!['userPrincipalName']).not.toBe(
      before.get(renamed[0]!)!['userPrincipalName'],
    );
  });

  it('is the same tenant at the same run, on every machine', () => {
    expect([...snapshot(applyDemo(400, 4)).entries()]).toEqual([...snapshot(applyDemo(400, 4)).entries()]);
  });
});

function applyDemo(size: number, run: number): SandboxDirectory {
  const directory = new SandboxDirectory({ size });
  applyDemoRuns(directory, run);
  return directory;
}
