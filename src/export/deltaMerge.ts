/**
 * Rebuilding the whole directory from the previous state and one /users/delta round, with the
 * semantics Microsoft Graph documents (user: delta): a changed user carries at least the
 * properties that changed (one never set is left out, one set to null is null), so it is merged
 * over what was known; `@removed` means gone from the directory (`changed`: in the deleted items,
 * `deleted`: for good); the same user may come more than once in a round, and the last one wins.
 */
import { usersOfState } from './changes.js';
import type { GraphUser } from './formats.js';

/** One round's changes by user id: what to merge, or that the user is gone. */
export type DeltaChanges = Map<string, { removed: true } | { removed: false; properties: GraphUser }>;

/** Folds one page of a delta round into the changes seen so far. */
export function foldDeltaPage(changes: DeltaChanges, users: readonly GraphUser[]): void {
  for (const user of users) {
    const id = String(user['id']);
    if (user['@removed'] !== undefined) {
      changes.set(id, { removed: true });
      continue;
    }
    const earlier = changes.get(id);
    const properties = Object.fromEntries(Object.entries(user).filter(([name]) => !name.includes('@')));
    // A later entry for the same user adds to an earlier one; after a removal it starts afresh.
    changes.set(id, {
      removed: false,
      properties:
        earlier !== undefined && !earlier.removed ? { ...earlier.properties, ...properties } : properties,
    });
  }
}

/**
 * Every user of the directory after the round, as pages: the previous state's users with their
 * changes merged, without the removed ones, then the users that are new. Only the changes are
 * held; the state is streamed.
 */
export async function* mergedUsers(
  previousState: Buffer,
  changes: DeltaChanges,
  properties: readonly string[],
  pageSize = 1000,
): AsyncGenerator<GraphUser[]> {
  const pending = new Map(changes);
  let page: GraphUser[] = [];
  for await (const batch of usersOfState(previousState)) {
    for (const line of batch) {
      const user = JSON.parse(line) as GraphUser;
      const id = String(user['id']);
      const change = pending.get(id);
      pending.delete(id);
      if (change?.removed === true) continue;
      page.push(change === undefined ? user : { ...user, ...change.properties });
      if (page.length >= pageSize) {
        yield page;
        page = [];
      }
    }
  }
  for (const [id, change] of pending) {
    if (change.removed) continue;
    const user: Record<string, unknown> = Object.fromEntries(properties.map((name) => [name, null]));
    page.push({ ...user, ...change.properties, id });
    if (page.length >= pageSize) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}
