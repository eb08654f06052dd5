/**
 * Sets of user ids in about 21-27 bytes an id, for a tenant of millions: each id is kept as a 16-byte
 * key (a GUID's own bytes, anything else a digest of it) in insertion order, found through open
 * addressing. The change report's index of the previous state and the listing's "no id twice" check
 * share it.
 */
import { createHash } from 'node:crypto';

export const ID_KEY_BYTES = 16;

/** Whether a listing has handed over a user before: the listing hands over each id once. */
export interface ListingIds {
  /** True the first time an id is seen; false for an id handed over already. */
  firstSighting(id: string): boolean;
}

/** Each ASCII character's value as a hex digit, or -1. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let digit = 0; digit < 16; digit += 1) {
  HEX_VALUE['0123456789abcdef'.charCodeAt(digit)] = digit;
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(digit)] = digit;
}
const GUID_DASHES = new Set([8, 13, 18, 23]);
/** The key idKey hands out for a GUID: reused by the next call (every caller copies or compares it at once). */
const guidKey = Buffer.alloc(ID_KEY_BYTES);

/**
 * A user id as 16 bytes: a GUID's own bytes (either case), anything else a digest of it. A GUID's
 * key is valid until the next call: sets copy it, lookups only compare it. Parsed by hand, since
 * a run makes two or three of these a user (ten million users: tens of millions of calls).
 */
export function idKey(id: string): Buffer {
  if (id.length === 36 && guidBytes(id, guidKey)) return guidKey;
  return createHash('sha256').update(id).digest().subarray(0, ID_KEY_BYTES);
}

function guidBytes(id: string, into: Buffer): boolean {
  let byte = 0;
  for (let at = 0; at < 36;) {
    if (GUID_DASHES.has(at)) {
      if (id.charCodeAt(at) !== 0x2d) return false;
      at += 1;
      continue;
    }
    const high = HEX_VALUE[id.charCodeAt(at)] ?? -1;
    const low = HEX_VALUE[id.charCodeAt(at + 1)] ?? -1;
    if (high < 0 || low < 0) return false;
    into[byte] = high * 16 + low;
    byte += 1;
    at += 2;
  }
  return true;
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

/**
 * Fixed-size records in chunks: growing adds a chunk instead of copying everything into a buffer
 * twice the size, so a tenant of ten million ids never holds its index twice while it grows.
 */
export class ChunkedRecords {
  private readonly chunks: Buffer[] = [];
  length = 0;

  constructor(
    readonly recordBytes: number,
    private readonly recordsPerChunk = 65_536,
  ) {}

  /** Appends `recordBytes` bytes of `source` from `offset`; the record's position. */
  push(source: Buffer, offset = 0): number {
    const within = this.length % this.recordsPerChunk;
    if (within === 0) this.chunks.push(Buffer.allocUnsafe(this.recordBytes * this.recordsPerChunk));
    source.copy(this.chunks.at(-1)!, within * this.recordBytes, offset, offset + this.recordBytes);
    this.length += 1;
    return this.length - 1;
  }

  /** The chunk holding record `position`, and where in it the record starts. */
  locate(position: number): { chunk: Buffer; start: number } {
    const chunk = this.chunks[Math.floor(position / this.recordsPerChunk)]!;
    return { chunk, start: (position % this.recordsPerChunk) * this.recordBytes };
  }

  /** Whether record `position` equals `recordBytes` bytes of `other` from `offset`. */
  equals(position: number, other: Buffer, offset = 0): boolean {
    const chunk = this.chunks[Math.floor(position / this.recordsPerChunk)]!;
    const start = (position % this.recordsPerChunk) * this.recordBytes;
    return chunk.compare(other, offset, offset + this.recordBytes, start, start + this.recordBytes) === 0;
  }
}

/** Open addressing grows (doubles) when the table passes this share of its slots. */
const MAX_LOAD = 0.75;

export class IdSet {
  private readonly keys = new ChunkedRecords(ID_KEY_BYTES);
  private slots = new Uint32Array(2048);

  get size(): number {
    return this.keys.length;
  }

  /** Adds a key; its position (insertion order), or -1 when the set already held it. */
  add(key: Buffer): number {
    if (this.size + 1 > this.slots.length * MAX_LOAD) this.grow();
    const mask = this.slots.length - 1;
    for (let slot = slotOf(key, 0) & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot]!;
      if (entry === 0) {
        const position = this.keys.push(key);
        this.slots[slot] = position + 1;
        return position;
      }
      if (this.keys.equals(entry - 1, key)) return -1;
    }
  }

  /** The position of a key, or -1. */
  indexOf(key: Buffer): number {
    const mask = this.slots.length - 1;
    for (let slot = slotOf(key, 0) & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot]!;
      if (entry === 0) return -1;
      if (this.keys.equals(entry - 1, key)) return entry - 1;
    }
  }

  private grow(): void {
    const slots = new Uint32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let position = 0; position < this.size; position += 1) {
      const { chunk, start } = this.keys.locate(position);
      let slot = slotOf(chunk, start) & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = position + 1;
    }
    this.slots = slots;
  }
}
