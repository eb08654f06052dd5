/**
 * Rebuilding the whole directory from the previous state and one /users/delta round, with the
 * semantics Microsoft Graph documents (user: delta): a changed user carries at least the
 * properties that changed (one never set is left out, one set to null is null), so it is merged
 * over what was known; `@removed` means gone from the directory (`changed`: in the deleted items,
 * `deleted`: for good); the same user may come more than once in a round, and the last one wins.
 */
import { type GzippedBytes, idOfLine, usersOfState } from './changes.js';
import type { GraphUser } from './formats.js';

/**
 * How a user left the directory, from `@removed.reason`: `soft` (Graph's `changed`: in the deleted
 * items, restorable for 30 days) or `permanent` (`deleted`).
 */
export type Deletion = 'soft' | 'permanent';

/** One round's changes by user id: what to merge, or that the user is gone (and how, when Graph said). */
export type DeltaChanges = Map<
  string,
  { removed: true; deletion: Deletion | undefined } | { removed: false; properties: GraphUser }
>;

function deletionOf(marker: unknown): Deletion | undefined {
  const reason =
    typeof marker === 'object' && marker !== null ? (marker as { reason?: unknown }).reason : undefined;
  return reason === 'changed' ? 'soft' : reason === 'deleted' ? 'permanent' : undefined;
}

/** Folds one page of a delta round into the changes seen so far. */
export function foldDeltaPage(changes: DeltaChanges, users: readonly GraphUser[]): void {
  for (const user of users) {
    const id = String(user['id']);
    if (user['@removed'] !== undefined) {
      changes.set(id, { removed: true, deletion: deletionOf(user['@removed']) });
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
 * A user of the rebuilt directory: a previous state's line kept as it was, or a user from the
 * round (merged over its old line, or new), with where it was in the previous state.
 */
export type RebuiltUser =
  | { kept: string; previousLine: number }
  | { removed: Deletion | undefined; previousLine: number }
  | { user: GraphUser; previousLine: number; oldLine: string }
  | { user: GraphUser; previousLine: undefined };

/**
 * Every user of the directory after the round, as pages: the previous state's users with their
 * changes merged, the removed ones as markers (the change report says how they left), then the
 * users that are new. Only the changes are held; the state is streamed, and a user the round did
 * not touch is passed on as its line, unparsed.
 */
export async function* mergedUsers(
  previousState: GzippedBytes,
  changes: DeltaChanges,
  properties: readonly string[],
  pageSize = 1000,
): AsyncGenerator<RebuiltUser[]> {
  const pending = new Map(changes);
  let page: RebuiltUser[] = [];
  let position = 0;
  for await (const batch of usersOfState(previousState)) {
    for (const line of batch) {
      const previousLine = position;
      position += 1;
      const id = pending.size === 0 ? undefined : idOfLine(line);
      const change = id === undefined ? undefined : pending.get(id);
      if (id === undefined || change === undefined) {
        page.push({ kept: line, previousLine });
      } else {
        pending.delete(id);
        if (change.removed) page.push({ removed: change.deletion, previousLine });
        else
          page.push({
            user: { ...(JSON.parse(line) as GraphUser), ...change.properties },
            previousLine,
            oldLine: line,
          });
      }
      if (page.length >= pageSize) {
        yield page;
        page = [];
      }
    }
  }
  for (const [id, change] of pending) {
    if (change.removed) continue;
    const user: Record<string, unknown> = Object.fromEntries(properties.map((name) => [name, null]));
    page.push({ user: { ...user, ...change.properties, id }, previousLine: undefined });
    if (page.length >= pageSize) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}

/** The users a rebuilt page holds, as objects (kept lines parsed). */
export function rebuiltUsers(entries: readonly RebuiltUser[]): GraphUser[] {
  const users: GraphUser[] = [];
  for (const entry of entries) {
    if ('kept' in entry) users.push(JSON.parse(entry.kept) as GraphUser);
    else if ('user' in entry) users.push(entry.user);
  }
  return users;
}
