/**
 * The change report: who was added, removed or changed since the last successful run, from a
 * canonical state of the directory kept beside the export (`state/users.ndjson.gz`). Memory stays
 * small: the previous state is indexed in about 36 bytes a user (id key, digest, hash slot), and old
 * and new values are read back by streaming the two states, holding only the users that changed.
 */
import { createHash, hash } from 'node:crypto';
import { pipeline, Readable } from 'node:stream';
import { constants, createGunzip, gzipSync } from 'node:zlib';

import { ExportError } from '../errors.js';
import type { Deletion } from './deltaMerge.js';
import type { GraphUser } from './formats.js';
import { ChunkedRecords, idKey, IdSet, type ListingIds } from './idSet.js';

/** The first line of a state: what its users hold and which run wrote it, so a run knows whether it can compare. */
export interface StateHeader {
  entraUserExportState: 2;
  /** The run that wrote the state; its manifest names the state's sha256. */
  runId: string;
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
  /** The run whose state this report compares with: what changed since that run. */
  sinceRunId: string | null;
  added: number;
  removed: number;
  changed: number;
}

const DIGEST_BYTES = 12;

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

/**
 * A kept state's gzipped bytes: in memory (as a blob input hands them over), or a way to read them
 * from Storage again, each time the same version (EXPORT_WRITE=stream reads the state as a stream,
 * once for each pass, never holding it whole).
 */
export type GzippedBytes = Buffer | { open(): AsyncIterable<Uint8Array> };

/** The sha256 of gzipped bytes as stored, read through once. */
export async function sha256OfBytes(content: GzippedBytes): Promise<string> {
  const digest = createHash('sha256');
  if (Buffer.isBuffer(content)) return digest.update(content).digest('hex');
  for await (const chunk of content.open()) digest.update(chunk);
  return digest.digest('hex');
}

/** The lines of gzipped NDJSON, a chunk's worth at a time (a yield per line costs more than the line). */
export async function* gzippedLines(content: GzippedBytes): AsyncGenerator<string[]> {
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

function gunzipped(content: GzippedBytes): AsyncIterable<Buffer> {
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  // A pipeline, so that a reader that stops early (the header alone) also ends the download, and a
  // failed download fails the reading.
  pipeline(Readable.from(Buffer.isBuffer(content) ? [content] : content.open()), gunzip, () => {});
  return gunzip;
}

/** Every line after the first (a state's header), in batches. */
export async function* usersOfState(content: GzippedBytes): AsyncGenerator<string[]> {
  let first = true;
  for await (const lines of gzippedLines(content)) {
    yield first ? lines.slice(1) : lines;
    first = false;
  }
}

export function stateHeaderLine(properties: readonly string[], runId: string): string {
  const header: StateHeader = { entraUserExportState: 2, runId, properties: [...properties] };
  return JSON.stringify(header);
}

/** Why a kept state is not a baseline; the reason goes to the log, the manifest and the report. */
export interface NotABaseline {
  reason: string;
}

/**
 * The previous state, read as untrusted input: its header checked, every line parsed and checked
 * (an object with a string id, exactly the header's properties, no id twice), and an index of
 * (id key, digest) in line order for the listing to look users up; which lines this run saw.
 */
export class PreviousState {
  private readonly seen: Uint8Array;

  private constructor(
    readonly content: GzippedBytes,
    /** The run that wrote it (its header's runId). */
    readonly runId: string,
    private readonly ids: IdSet,
    private readonly digests: ChunkedRecords,
  ) {
    this.seen = new Uint8Array(ids.size);
  }

  /** How many users the state holds. */
  get size(): number {
    return this.ids.size;
  }

  /** How many users of the previous state this run has not seen (so far). */
  unseen(): number {
    let count = 0;
    for (const seen of this.seen) if (seen === 0) count += 1;
    return count;
  }

  /** Reads a state; a reason instead when it cannot serve as a baseline for these properties. */
  static async read(
    content: GzippedBytes | undefined,
    properties: readonly string[],
  ): Promise<PreviousState | NotABaseline> {
    if (content === undefined) return { reason: 'no previous state: this is the first run' };
    let header: Partial<StateHeader> | undefined;
    try {
      header = await readHeader(content);
    } catch (error) {
      // Storage failing to hand the state over is not a state that is no baseline: the run fails
      // (and is retried) instead of publishing a report that compared nothing.
      if (error instanceof ExportError) throw error;
      return { reason: `the previous state could not be read (${(error as Error).message})` };
    }
    if (header === undefined) return { reason: 'the previous state is empty' };
    if (
      header.entraUserExportState !== 2 ||
      typeof header.runId !== 'string' ||
      !/^[A-Za-z0-9-]{1,64}$/.test(header.runId) ||
      !Array.isArray(header.properties)
    ) {
      return { reason: 'the previous state was written by another version, so this run is the new baseline' };
    }
    if (JSON.stringify(header.properties) !== JSON.stringify(properties)) {
      return {
        reason: `the exported properties changed (EXPORT_SELECT or EXPORT_INCLUDE_MANAGER: ${header.properties.join(',')} before), so this run is the new baseline`,
      };
    }
    try {
      const { ids, digests } = await buildIndex(content, properties);
      return new PreviousState(content, header.runId, ids, digests);
    } catch (error) {
      if (error instanceof ExportError) throw error;
      return { reason: `the previous state is not usable (${(error as Error).message})` };
    }
  }

  /**
   * Classifies one current user (its state line) and marks it seen; `position` is the user's line
   * number in the previous state (entries are kept in line order), or -1.
   */
  observe(id: string, line: string): { kind: 'added' | 'changed' | 'unchanged'; position: number } {
    const position = this.ids.indexOf(idKey(id));
    if (position < 0) return { kind: 'added', position };
    this.seen[position] = 1;
    const same = this.digests.equals(position, userDigest(line));
    return { kind: same ? 'unchanged' : 'changed', position };
  }

  /** The line of the user with this id key, or -1. */
  positionOf(key: Buffer): number {
    return this.ids.indexOf(key);
  }

  /** Marks the user on line `position` seen; false when it was seen already. */
  sight(position: number): boolean {
    if (this.seen[position] === 1) return false;
    this.seen[position] = 1;
    return true;
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
async function readHeader(content: GzippedBytes): Promise<Partial<StateHeader> | undefined> {
  for await (const batch of gzippedLines(content)) return JSON.parse(batch[0]!) as Partial<StateHeader>;
  return undefined;
}

/**
 * Every user line checked as the run wrote it (a state is read back from Storage, where anyone with
 * write access may have changed it), and (id key, digest) of each in line order. Throws on the
 * first line that is not a user of these properties; no value of the line is quoted.
 */
async function buildIndex(
  content: GzippedBytes,
  properties: readonly string[],
): Promise<{ ids: IdSet; digests: ChunkedRecords }> {
  const ids = new IdSet();
  const digests = new ChunkedRecords(DIGEST_BYTES);
  for await (const batch of usersOfState(content))
    for (const line of batch) {
      const lineNumber = digests.length + 2;
      const id = checkedStateLine(line, properties, lineNumber);
      if (ids.add(idKey(id)) < 0) {
        throw new Error(`line ${lineNumber} holds a user id that an earlier line already holds`);
      }
      digests.push(userDigest(line));
    }
  return { ids, digests };
}

/** A state line's id, once the line is known to be a user with exactly `properties`, in order. */
function checkedStateLine(line: string, properties: readonly string[], lineNumber: number): string {
  let user: unknown;
  try {
    user = JSON.parse(line);
  } catch {
    throw new Error(`line ${lineNumber} is not JSON`);
  }
  if (typeof user !== 'object' || user === null || Array.isArray(user)) {
    throw new Error(`line ${lineNumber} is not a user object`);
  }
  const names = Object.keys(user);
  if (names.length !== properties.length || names.some((name, at) => name !== properties[at])) {
    throw new Error(`line ${lineNumber} holds other properties than the state's header lists`);
  }
  const id = (user as { id?: unknown }).id;
  if (typeof id !== 'string' || id === '') throw new Error(`line ${lineNumber} has no string id`);
  return id;
}

const UNCHANGED = 0;
const ADDED = 1;
const CHANGED = 2;

/** How many lines of added and changed users are compressed together. */
const REPORTED_LINES_PER_MEMBER = 1000;

/**
 * Follows one listing: every user's state line classified against the previous state, kept as a
 * byte per line of each state (this run's, in listing order; the previous one's changed lines), so
 * reading the states back needs no lookup. The lines of the users added or changed are kept too,
 * gzipped (about 60 bytes a user), for the report: the new state itself need not be read back,
 * so it can go to Storage as it is written (EXPORT_WRITE=stream).
 */
export class ChangeTracker implements ListingIds {
  added = 0;
  changed = 0;
  private kinds = new Uint8Array(1024);
  private observed = 0;
  private readonly changedLines: Uint8Array;
  private readonly deletions = new Map<number, Deletion>();
  /** Gzip members of the added and changed users' lines, in listing order, and the lines not yet compressed. */
  private readonly reported: Buffer[] = [];
  private pending: string[] = [];
  /** The ids listed that the previous state does not hold (with none, every id). */
  private readonly newIds = new IdSet();

  constructor(readonly previous: PreviousState | undefined) {
    this.changedLines = new Uint8Array(previous?.size ?? 0);
  }

  /**
   * No id twice in a listing, in the previous state's own index: an id it holds is marked seen on
   * its line (which the change report reads anyway), only new ids take room of their own.
   */
  firstSighting(id: string): boolean {
    const key = idKey(id);
    if (this.previous !== undefined) {
      const position = this.previous.positionOf(key);
      if (position >= 0) return this.previous.sight(position);
    }
    return this.newIds.add(key) >= 0;
  }

  /** A user from a listing: looked up in the previous state by id. */
  observe(id: string, line: string): void {
    if (this.previous === undefined) return;
    const { kind, position } = this.previous.observe(id, line);
    this.record(kind, position, line);
  }

  /**
   * A user whose line in the previous state is known (`undefined`: it was not there): unchanged
   * when its line is the old one, which a rebuild passes for a user it kept as it was.
   */
  observeAt(position: number | undefined, line: string, oldLine: string): void {
    if (this.previous === undefined) return;
    if (position === undefined) return this.record('added', -1, line);
    this.previous.markSeen(position);
    this.record(line === oldLine ? 'unchanged' : 'changed', position, line);
  }

  /** A user of the previous state a delta round removed, and how, when Graph said. */
  observeRemoval(position: number, deletion: Deletion | undefined): void {
    if (deletion !== undefined) this.deletions.set(position, deletion);
  }

  /**
   * Takes the removal reasons an earlier listing of the same run found (a delta round whose rebuild
   * did not check out, listed again in full): the full listing sees who left, not how.
   */
  keepDeletionsOf(earlier: ChangeTracker): void {
    for (const [position, deletion] of earlier.deletions) this.deletions.set(position, deletion);
  }

  /** How the previous state's user on line `position` left, when a delta round said. */
  deletionOf(position: number): Deletion | undefined {
    return this.deletions.get(position);
  }

  /** The added and changed users' lines, in listing order, as gzip (one member per batch). */
  reportedLines(): GzippedBytes {
    this.compressPending();
    const members = this.reported;
    return {
      async *open() {
        yield* members;
      },
    };
  }

  private compressPending(): void {
    if (this.pending.length === 0) return;
    this.reported.push(gzipSync(`${this.pending.join('\n')}\n`, { level: constants.Z_BEST_SPEED }));
    this.pending = [];
  }

  private record(kind: 'added' | 'changed' | 'unchanged', position: number, line: string): void {
    if (kind !== 'unchanged') {
      this.pending.push(line);
      if (this.pending.length === REPORTED_LINES_PER_MEMBER) this.compressPending();
    }
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

  /** How many users the listing handed over. */
  get listed(): number {
    return this.observed;
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
 * and changes in listing order (from the lines the tracker kept). Old values are held for at most
 * OLD_VALUES_PER_PASS changed users at a time; past that the previous state is read again for the
 * next ones, which then follow in listing order of their own.
 */
export async function* changeLines(
  tracker: ChangeTracker,
  oldValuesPerPass = OLD_VALUES_PER_PASS,
): AsyncGenerator<ChangeLine> {
  const previous = tracker.previous;
  if (previous === undefined) return;
  const reportedLines = tracker.reportedLines();
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
      // The kept lines are the listing's users that are not unchanged, in listing order.
      let index = 0;
      for await (const batch of gzippedLines(reportedLines)) {
        for (const line of batch) {
          let kind = tracker.kindOf(index);
          while (kind === 'unchanged' && index < tracker.listed) kind = tracker.kindOf((index += 1));
          index += 1;
          if (kind === 'added' && !additions) continue;
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
