/**
 * The change report: who was added, removed or changed since the last successful run, from a
 * canonical state of the directory kept beside the export (`state/users.ndjson.gz`). Memory stays
 * small: the previous state is indexed as 28 bytes a user (the id, a digest of the user), and old
 * and new values are read back by streaming the two states, holding only the users that changed.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';

import type { GraphUser } from './formats.js';

/** The first line of a state: what its users hold, so a run knows whether it can compare. */
export interface StateHeader {
  entraUserExportState: 1;
  properties: string[];
}

export type ChangeLine =
  | { change: 'added'; id: string; user: GraphUser }
  | { change: 'removed'; id: string; user: GraphUser }
  | { change: 'changed'; id: string; properties: Record<string, { old: unknown; new: unknown }> };

/** What the manifest says about the report. */
export interface ChangeSummary {
  /** Whether there was a previous state to compare with; when not, why. */
  compared: boolean;
  reason: string | null;
  added: number;
  removed: number;
  changed: number;
}

const KEY_BYTES = 16;
const DIGEST_BYTES = 12;
const ENTRY_BYTES = KEY_BYTES + DIGEST_BYTES;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A user id as 16 bytes: a GUID's own bytes, anything else a digest of it. */
function idKey(id: string): Buffer {
  return GUID.test(id)
    ? Buffer.from(id.replace(/-/g, ''), 'hex')
    : createHash('sha256').update(id).digest().subarray(0, KEY_BYTES);
}

/** A digest of everything exported about a user: equal digests, equal users. */
function userDigest(line: string): Buffer {
  return createHash('sha256').update(line).digest().subarray(0, DIGEST_BYTES);
}

/** The lines of a gzipped NDJSON buffer, one at a time. */
export async function* gzippedLines(content: Buffer): AsyncGenerator<string> {
  let rest = '';
  // A character's bytes may be split between two chunks: the decoder keeps the first part.
  const decoder = new StringDecoder('utf8');
  for await (const chunk of Readable.from([content]).pipe(createGunzip())) {
    const text = rest + decoder.write(chunk as Buffer);
    const lines = text.split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) if (line !== '') yield line;
  }
  rest += decoder.end();
  if (rest !== '') yield rest;
}

export function stateHeaderLine(properties: readonly string[]): string {
  const header: StateHeader = { entraUserExportState: 1, properties: [...properties] };
  return JSON.stringify(header);
}

/** The previous state, indexed: sorted (id key, digest) entries, and which ones this run saw. */
export class PreviousState {
  private constructor(
    readonly content: Buffer,
    private readonly entries: Buffer,
    readonly size: number,
    private readonly seen: Uint8Array,
  ) {}

  /** Reads a state; a reason instead when it cannot serve as a baseline for these properties. */
  static async read(
    content: Buffer | undefined,
    properties: readonly string[],
  ): Promise<PreviousState | { reason: string }> {
    if (content === undefined) return { reason: 'no previous state: this is the first run' };
    let packed = Buffer.alloc(ENTRY_BYTES * 1024);
    let count = 0;
    let header: StateHeader | undefined;
    try {
      for await (const line of gzippedLines(content)) {
        if (header === undefined) {
          const parsed = JSON.parse(line) as Partial<StateHeader>;
          if (parsed.entraUserExportState !== 1 || !Array.isArray(parsed.properties)) {
            return { reason: 'the previous state has an unknown version' };
          }
          header = { entraUserExportState: 1, properties: parsed.properties };
          if (JSON.stringify(header.properties) !== JSON.stringify(properties)) {
            return {
              reason: `the exported properties changed (EXPORT_SELECT or EXPORT_INCLUDE_MANAGER: ${header.properties.join(',')} before), so this run is the new baseline`,
            };
          }
          continue;
        }
        const { id } = JSON.parse(line) as { id: string };
        if ((count + 1) * ENTRY_BYTES > packed.length) {
          const grown = Buffer.alloc(packed.length * 2);
          packed.copy(grown);
          packed = grown;
        }
        idKey(id).copy(packed, count * ENTRY_BYTES);
        userDigest(line).copy(packed, count * ENTRY_BYTES + KEY_BYTES);
        count += 1;
      }
    } catch (error) {
      return { reason: `the previous state could not be read (${(error as Error).message})` };
    }
    if (header === undefined) return { reason: 'the previous state is empty' };
    // Sorted by id key, compared in place: no object per user.
    const order = Uint32Array.from({ length: count }, (_, index) => index);
    order.sort((a, b) =>
      packed.compare(
        packed,
        b * ENTRY_BYTES,
        b * ENTRY_BYTES + KEY_BYTES,
        a * ENTRY_BYTES,
        a * ENTRY_BYTES + KEY_BYTES,
      ),
    );
    const entries = Buffer.alloc(count * ENTRY_BYTES);
    order.forEach((from, to) =>
      packed.copy(entries, to * ENTRY_BYTES, from * ENTRY_BYTES, (from + 1) * ENTRY_BYTES),
    );
    return new PreviousState(content, entries, count, new Uint8Array(count));
  }

  private find(key: Buffer): number {
    let low = 0;
    let high = this.size - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const order = this.entries.compare(
        key,
        0,
        KEY_BYTES,
        middle * ENTRY_BYTES,
        middle * ENTRY_BYTES + KEY_BYTES,
      );
      if (order === 0) return middle;
      if (order < 0) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }

  /** Classifies one current user (its state line) and marks it seen. */
  observe(id: string, line: string): 'added' | 'changed' | 'unchanged' {
    const position = this.find(idKey(id));
    if (position < 0) return 'added';
    this.seen[position] = 1;
    const digest = userDigest(line);
    const start = position * ENTRY_BYTES + KEY_BYTES;
    return this.entries.compare(digest, 0, DIGEST_BYTES, start, start + DIGEST_BYTES) === 0
      ? 'unchanged'
      : 'changed';
  }

  wasSeen(id: string): boolean {
    const position = this.find(idKey(id));
    return position >= 0 && this.seen[position] === 1;
  }
}

/** Follows one listing: every user's state line, classified against the previous state. */
export class ChangeTracker {
  readonly added = new Set<string>();
  readonly changed = new Set<string>();

  constructor(readonly previous: PreviousState | undefined) {}

  observe(id: string, line: string): void {
    if (this.previous === undefined) return;
    const kind = this.previous.observe(id, line);
    if (kind === 'added') this.added.add(id);
    if (kind === 'changed') this.changed.add(id);
  }
}

/**
 * The report's lines: additions and changes in listing order (read back from the new state),
 * then removals (read back from the previous one), each with the values it needs.
 */
export async function* changeLines(tracker: ChangeTracker, newState: Buffer): AsyncGenerator<ChangeLine> {
  const previous = tracker.previous;
  if (previous === undefined) return;
  const oldUsers = new Map<string, GraphUser>();
  const removed: GraphUser[] = [];
  let first = true;
  for await (const line of gzippedLines(previous.content)) {
    if (first) {
      first = false;
      continue;
    }
    const user = JSON.parse(line) as GraphUser;
    const id = String(user['id']);
    if (!previous.wasSeen(id)) removed.push(user);
    else if (tracker.changed.has(id)) oldUsers.set(id, user);
  }
  first = true;
  for await (const line of gzippedLines(newState)) {
    if (first) {
      first = false;
      continue;
    }
    const user = JSON.parse(line) as GraphUser;
    const id = String(user['id']);
    if (tracker.added.has(id)) yield { change: 'added', id, user };
    const old = oldUsers.get(id);
    if (old !== undefined) yield { change: 'changed', id, properties: differences(old, user) };
  }
  for (const user of removed) yield { change: 'removed', id: String(user['id']), user };
}

/** The properties whose values differ, with both values. */
export function differences(
  old: GraphUser,
  current: GraphUser,
): Record<string, { old: unknown; new: unknown }> {
  const changed: Record<string, { old: unknown; new: unknown }> = {};
  for (const property of new Set([...Object.keys(old), ...Object.keys(current)])) {
    const before = old[property] ?? null;
    const after = current[property] ?? null;
    if (JSON.stringify(before) !== JSON.stringify(after)) changed[property] = { old: before, new: after };
  }
  return changed;
}
