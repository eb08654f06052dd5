/**
 * The change report: who was added, removed or changed since the last successful run, from a
 * canonical state of the directory kept beside the export (`state/users.ndjson.gz`). Memory stays
 * small: the previous state is indexed in about 36 bytes a user (id key, digest, hash slot), and old
 * and new values are read back by streaming the two states, holding only the users that changed.
 */
import { createHash, hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

import type { Deletion } from './deltaMerge.js';
import type { GraphUser } from './formats.js';

/** The first line of a state: what its users hold, so a run knows whether it can compare. */
export interface StateHeader {
  entraUserExportState: 1;
  properties: string[];
}

export type ChangeLine =
  | { change: 'added'; id: string; user: GraphUser }
  | { change: 'removed'; id: string; user: GraphUser; deletion?: Deletion }
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
  // Split on the newline byte, which UTF-8 never uses inside a character, so a character split
  // between two chunks stays whole in the bytes carried over. Each line is decoded on its own: a
  // piece of one big decoded chunk (a map key, a parsed value) would keep the whole chunk alive.
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of gunzipped(content)) {
    const bytes = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
    const lines: string[] = [];
    let start = 0;
    for (let end = bytes.indexOf(NEWLINE); end >= 0; end = bytes.indexOf(NEWLINE, start)) {
      if (end > start) lines.push(bytes.toString('utf8', start, end));
      start = end + 1;
    }
    rest = Buffer.from(bytes.subarray(start));
    if (lines.length > 0) yield lines;
  }
  if (rest.length > 0) yield [rest.toString('utf8')];
}

const NEWLINE = 0x0a;

function gunzipped(content: Buffer): AsyncIterable<Buffer> {
  return Readable.from([content]).pipe(createGunzip({ chunkSize: 256 * 1024 }));
}

/** How many lines a gzipped NDJSON buffer holds, without decoding them; throws if it is not whole. */
async function countGzippedLines(content: Buffer): Promise<number> {
  let count = 0;
  let last = NEWLINE;
  for await (const chunk of gunzipped(content)) {
    for (let at = chunk.indexOf(NEWLINE); at >= 0; at = chunk.indexOf(NEWLINE, at + 1)) count += 1;
    if (chunk.length > 0) last = chunk[chunk.length - 1]!;
  }
  return last === NEWLINE ? count : count + 1;
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

/**
 * The previous state: its header checked, its lines counted, and, for a listing that must look users
 * up by id, an index of (id key, digest) entries in line order; which lines this run saw.
 */
export class PreviousState {
  private readonly seen: Uint8Array;
  private index: { entries: Buffer; slots: Uint32Array } | undefined;

  private constructor(
    readonly content: Buffer,
    readonly size: number,
  ) {
    this.seen = new Uint8Array(size);
  }

  /** How many users of the previous state this run has not seen (so far). */
  unseen(): number {
    let count = 0;
    for (const seen of this.seen) if (seen === 0) count += 1;
    return count;
  }

  /**
   * Reads a state; a reason instead when it cannot serve as a baseline for these properties.
   * `indexed`: also build the index now (a listing from Graph needs it; a delta rebuild, which
   * meets the previous users in line order, does not).
   */
  static async read(
    content: Buffer | undefined,
    properties: readonly string[],
    { indexed = true }: { indexed?: boolean } = {},
  ): Promise<PreviousState | { reason: string }> {
    if (content === undefined) return { reason: 'no previous state: this is the first run' };
    try {
      const header = await readHeader(content);
      if (header === undefined) return { reason: 'the previous state is empty' };
      if (header.entraUserExportState !== 1 || !Array.isArray(header.properties)) {
        return { reason: 'the previous state has an unknown version' };
      }
      if (JSON.stringify(header.properties) !== JSON.stringify(properties)) {
        return {
          reason: `the exported properties changed (EXPORT_SELECT or EXPORT_INCLUDE_MANAGER: ${header.properties.join(',')} before), so this run is the new baseline`,
        };
      }
      if (!indexed) return new PreviousState(content, (await countGzippedLines(content)) - 1);
      const index = await buildIndex(content);
      const state = new PreviousState(content, index.size);
      state.index = index;
      return state;
    } catch (error) {
      return { reason: `the previous state could not be read (${(error as Error).message})` };
    }
  }

  /** Builds the index if this state was read without it (a delta round Graph refused, listed in full). */
  async ensureIndex(): Promise<void> {
    this.index ??= await buildIndex(this.content);
  }

  /** The entry of an id key, or -1: open addressing over the first four bytes of the key. */
  private find(key: Buffer): number {
    if (this.index === undefined) throw new Error('PreviousState: ensureIndex() before looking a user up');
    const { entries, slots } = this.index;
    const mask = slots.length - 1;
    for (let slot = slotOf(key, 0) & mask; ; slot = (slot + 1) & mask) {
      const entry = slots[slot]!;
      if (entry === 0) return -1;
      const start = (entry - 1) * ENTRY_BYTES;
      if (entries.compare(key, 0, KEY_BYTES, start, start + KEY_BYTES) === 0) return entry - 1;
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
    const same = this.index!.entries.compare(digest, 0, DIGEST_BYTES, start, start + DIGEST_BYTES) === 0;
    return { kind: same ? 'unchanged' : 'changed', position };
  }

  /** Marks the user on line `position` seen, where the caller already knows which line it is. */
  markSeen(position: number): void {
    this.seen[position] = 1;
  }

  /** Whether this run saw the user on line `position` of the previous state. */
  sawLine(position: number): boolean {
    return this.seen[position] === 1;
  }
}

/** The first line of a gzipped state, parsed; undefined for an empty one. */
async function readHeader(content: Buffer): Promise<Partial<StateHeader> | undefined> {
  for await (const batch of gzippedLines(content)) return JSON.parse(batch[0]!) as Partial<StateHeader>;
  return undefined;
}

/** (id key, digest) of every user line, in line order, and the hash slots over them. */
async function buildIndex(content: Buffer): Promise<{ entries: Buffer; slots: Uint32Array; size: number }> {
  let packed = Buffer.alloc(ENTRY_BYTES * 1024);
  let count = 0;
  for await (const batch of usersOfState(content))
    for (const line of batch) {
      if ((count + 1) * ENTRY_BYTES > packed.length) {
        const grown = Buffer.alloc(packed.length * 2);
        packed.copy(grown);
        packed = grown;
      }
      idKey(idOfLine(line)).copy(packed, count * ENTRY_BYTES);
      userDigest(line).copy(packed, count * ENTRY_BYTES + KEY_BYTES);
      count += 1;
    }
  return { entries: packed.subarray(0, count * ENTRY_BYTES), slots: buildSlots(packed, count), size: count };
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
  private readonly deletions = new Map<number, Deletion>();

  constructor(readonly previous: PreviousState | undefined) {
    this.changedLines = new Uint8Array(previous?.size ?? 0);
  }

  /** Before users from a listing: they are looked up by id. */
  async readyForLookups(): Promise<void> {
    await this.previous?.ensureIndex();
  }

  /** A user from a listing: looked up in the previous state by id. */
  observe(id: string, line: string): void {
    if (this.previous === undefined) return;
    const { kind, position } = this.previous.observe(id, line);
    this.record(kind, position);
  }

  /**
   * A user whose line in the previous state is known (`undefined`: it was not there): unchanged
   * when its line is the old one, which a rebuild passes for a user it kept as it was.
   */
  observeAt(position: number | undefined, line: string, oldLine: string): void {
    if (this.previous === undefined) return;
    if (position === undefined) return this.record('added', -1);
    this.previous.markSeen(position);
    this.record(line === oldLine ? 'unchanged' : 'changed', position);
  }

  /** A user of the previous state a delta round removed, and how, when Graph said. */
  observeRemoval(position: number, deletion: Deletion | undefined): void {
    if (deletion !== undefined) this.deletions.set(position, deletion);
  }

  /** How the previous state's user on line `position` left, when a delta round said. */
  deletionOf(position: number): Deletion | undefined {
    return this.deletions.get(position);
  }

  private record(kind: 'added' | 'changed' | 'unchanged', position: number): void {
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

/** How many changed users' old values a pass holds: bounds the report's memory on a day everyone changes. */
export const OLD_VALUES_PER_PASS = 50_000;

/**
 * The report's lines: removals (read back from the previous state as they are met), then additions
 * and changes in listing order (read back from the new state). Old values are held for at most
 * OLD_VALUES_PER_PASS changed users at a time; past that the two states are read again for the
 * next ones, which then follow in listing order of their own.
 */
export async function* changeLines(
  tracker: ChangeTracker,
  newState: Buffer,
  oldValuesPerPass = OLD_VALUES_PER_PASS,
): AsyncGenerator<ChangeLine> {
  const previous = tracker.previous;
  if (previous === undefined) return;
  let from = 0;
  let reported = 0;
  for (let pass = 0; ; pass += 1) {
    // Old values (as lines, parsed when compared) of the next changed users, from line `from` on.
    const oldLines = new Map<string, string>();
    const removals = pass === 0 && previous.unseen() > 0;
    if (removals || reported < tracker.changed) {
      let position = 0;
      read: for await (const batch of usersOfState(previous.content)) {
        for (const line of batch) {
          if (removals && !previous.sawLine(position)) yield removedLine(line, tracker.deletionOf(position));
          else if (position >= from && tracker.changedLine(position)) {
            if (oldLines.size === oldValuesPerPass) {
              if (!removals) break read;
            } else {
              oldLines.set(idOfLine(line), line);
              from = position + 1;
            }
          }
          position += 1;
        }
      }
    }
    const additions = pass === 0 && tracker.added > 0;
    if (additions || oldLines.size > 0) {
      let index = 0;
      for await (const batch of usersOfState(newState)) {
        for (const line of batch) {
          const kind = tracker.kindOf(index);
          index += 1;
          if (kind === 'unchanged' || (kind === 'added' && !additions)) continue;
          const user = JSON.parse(line) as GraphUser;
          const id = String(user['id']);
          if (kind === 'added') yield { change: 'added', id, user };
          const old = oldLines.get(id);
          if (kind === 'changed' && old !== undefined)
            yield { change: 'changed', id, properties: differences(JSON.parse(old) as GraphUser, user) };
        }
      }
    }
    reported += oldLines.size;
    if (oldLines.size === 0 || reported >= tracker.changed) return;
  }
}

function removedLine(line: string, deletion: Deletion | undefined): ChangeLine {
  const user = JSON.parse(line) as GraphUser;
  const id = String(user['id']);
  return deletion === undefined ? { change: 'removed', id, user } : { change: 'removed', id, user, deletion };
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
