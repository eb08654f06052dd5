/**
 * The change report: who was added, removed or changed since the last successful run, from a
 * canonical state of the directory kept beside the export (`state/users.ndjson.gz`). Memory stays
 * small: the previous state is indexed in about 36 bytes a user (id key, digest, hash slot), and old
 * and new values are read back by streaming the two states, holding only the users that changed.
 */
import { createHash, hash } from 'node:crypto';
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
  return hash('sha256', line, 'buffer').subarray(0, DIGEST_BYTES);
}

/**
 * The id of a state line without parsing the rest: every line starts with `{"id":` (the
 * exported properties always begin with the id), and a GUID needs no unescaping.
 */
export function idOfLine(line: string): string {
  if (line.startsWith('{"id":"')) {
    const end = line.indexOf('"', 7);
    const id = line.slice(7, end);
    if (end > 7 && !id.includes('\\')) return id;
  }
  return String((JSON.parse(line) as { id: unknown }).id);
}

/** The lines of a gzipped NDJSON buffer, a chunk's worth at a time (a yield per line costs more than the line). */
export async function* gzippedLines(content: Buffer): AsyncGenerator<string[]> {
  let rest = '';
  // A character's bytes may be split between two chunks: the decoder keeps the first part.
  const decoder = new StringDecoder('utf8');
  for await (const chunk of Readable.from([content]).pipe(createGunzip({ chunkSize: 256 * 1024 }))) {
    const lines = (rest + decoder.write(chunk as Buffer)).split('\n');
    rest = lines.pop() ?? '';
    const complete = lines.filter((line) => line !== '');
    if (complete.length > 0) yield complete;
  }
  rest += decoder.end();
  if (rest !== '') yield [rest];
}

/** Every line after the first (a state's header), in batches. */
export async function* usersOfState(content: Buffer): AsyncGenerator<string[]> {
  let first = true;
  for await (const lines of gzippedLines(content)) {
    yield first ? lines.slice(1) : lines;
    first = false;
  }
}

export function stateHeaderLine(properties: readonly string[]): string {
  const header: StateHeader = { entraUserExportState: 1, properties: [...properties] };
  return JSON.stringify(header);
}

/** The previous state, indexed: sorted (id key, digest) entries, and which ones this run saw. */
export class PreviousState {
  private readonly seen: Uint8Array;

  private constructor(
    readonly content: Buffer,
    private readonly entries: Buffer,
    readonly size: number,
    /** entry index + 1 in each slot (0: empty); twice as many slots as entries, a power of two. */
    private readonly slots: Uint32Array,
  ) {
    this.seen = new Uint8Array(size);
  }

  /** How many users of the previous state this run has not seen (so far). */
  unseen(): number {
    let count = 0;
    for (const seen of this.seen) if (seen === 0) count += 1;
    return count;
  }

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
      for await (const batch of gzippedLines(content))
        for (const line of batch) {
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
          const id = idOfLine(line);
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
    return new PreviousState(
      content,
      packed.subarray(0, count * ENTRY_BYTES),
      count,
      buildSlots(packed, count),
    );
  }

  /** The entry of an id key, or -1: open addressing over the first four bytes of the key. */
  private find(key: Buffer): number {
    const mask = this.slots.length - 1;
    for (let slot = slotOf(key, 0) & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot]!;
      if (entry === 0) return -1;
      const start = (entry - 1) * ENTRY_BYTES;
      if (this.entries.compare(key, 0, KEY_BYTES, start, start + KEY_BYTES) === 0) return entry - 1;
    }
  }

  /**
   * Classifies one current user (its state line) and marks it seen; `position` is the user's line
   * number in the previous state (entries are kept in line order), or -1.
   */
  observe(id: string, line: string): { kind: 'added' | 'changed' | 'unchanged'; position: number } {
    const position = this.find(idKey(id));
    if (position < 0) return { kind: 'added', position };
    this.seen[position] = 1;
    const digest = userDigest(line);
    const start = position * ENTRY_BYTES + KEY_BYTES;
    const same = this.entries.compare(digest, 0, DIGEST_BYTES, start, start + DIGEST_BYTES) === 0;
    return { kind: same ? 'unchanged' : 'changed', position };
  }

  /** Whether this run saw the user on line `position` of the previous state. */
  sawLine(position: number): boolean {
    return this.seen[position] === 1;
  }
}

/** A well-spread slot number from a 16-byte key, whatever part of it varies. */
function slotOf(bytes: Buffer, offset: number): number {
  const mixed =
    bytes.readUInt32LE(offset) ^
    Math.imul(bytes.readUInt32LE(offset + 4), 0x85ebca6b) ^
    Math.imul(bytes.readUInt32LE(offset + 8), 0xc2b2ae35) ^
    Math.imul(bytes.readUInt32LE(offset + 12), 0x27d4eb2f);
  return Math.imul(mixed ^ (mixed >>> 15), 0x9e3779b1) >>> 0;
}

function buildSlots(entries: Buffer, count: number): Uint32Array {
  let size = 1;
  while (size < count * 2) size *= 2;
  const slots = new Uint32Array(size);
  const mask = size - 1;
  for (let entry = 0; entry < count; entry += 1) {
    let slot = slotOf(entries, entry * ENTRY_BYTES) & mask;
    while (slots[slot] !== 0) slot = (slot + 1) & mask;
    slots[slot] = entry + 1;
  }
  return slots;
}

const UNCHANGED = 0;
const ADDED = 1;
const CHANGED = 2;

/**
 * Follows one listing: every user's state line classified against the previous state, kept as a
 * byte per line of each state (this run's, in listing order; the previous one's changed lines), so
 * reading the states back needs no lookup.
 */
export class ChangeTracker {
  added = 0;
  changed = 0;
  private kinds = new Uint8Array(1024);
  private observed = 0;
  private readonly changedLines: Uint8Array;

  constructor(readonly previous: PreviousState | undefined) {
    this.changedLines = new Uint8Array(previous?.size ?? 0);
  }

  observe(id: string, line: string): void {
    if (this.previous === undefined) return;
    const { kind, position } = this.previous.observe(id, line);
    if (this.observed === this.kinds.length) {
      const grown = new Uint8Array(this.kinds.length * 2);
      grown.set(this.kinds);
      this.kinds = grown;
    }
    this.kinds[this.observed] = kind === 'added' ? ADDED : kind === 'changed' ? CHANGED : UNCHANGED;
    this.observed += 1;
    if (kind === 'added') this.added += 1;
    if (kind === 'changed') {
      this.changed += 1;
      this.changedLines[position] = 1;
    }
  }

  /** How this run's user on line `index` of its state compares. */
  kindOf(index: number): 'added' | 'changed' | 'unchanged' {
    const kind = this.kinds[index];
    return kind === ADDED ? 'added' : kind === CHANGED ? 'changed' : 'unchanged';
  }

  /** Whether the previous state's user on line `position` changed. */
  changedLine(position: number): boolean {
    return this.changedLines[position] === 1;
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
  // Only the lines of users that changed are parsed; with nothing to report, nothing is read.
  if (tracker.changed > 0 || previous.unseen() > 0) {
    let position = 0;
    for await (const batch of usersOfState(previous.content)) {
      for (const line of batch) {
        if (!previous.sawLine(position)) removed.push(JSON.parse(line) as GraphUser);
        else if (tracker.changedLine(position)) oldUsers.set(idOfLine(line), JSON.parse(line) as GraphUser);
        position += 1;
      }
    }
  }
  if (tracker.changed > 0 || tracker.added > 0) {
    let index = 0;
    for await (const batch of usersOfState(newState)) {
      for (const line of batch) {
        const kind = tracker.kindOf(index);
        index += 1;
        if (kind === 'unchanged') continue;
        const user = JSON.parse(line) as GraphUser;
        const id = String(user['id']);
        if (kind === 'added') yield { change: 'added', id, user };
        const old = oldUsers.get(id);
        if (kind === 'changed' && old !== undefined)
          yield { change: 'changed', id, properties: differences(old, user) };
      }
    }
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
