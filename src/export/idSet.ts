/**
 * Sets of user ids in about 24 bytes an id, for a tenant of millions: each id is kept as a 16-byte
 * key (a GUID's own bytes, anything else a digest of it) in insertion order, found through open
 * addressing. The change report's index of the previous state and the listing's "no id twice" check
 * share it.
 */
import { createHash } from 'node:crypto';

export const ID_KEY_BYTES = 16;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A user id as 16 bytes: a GUID's own bytes, anything else a digest of it. */
export function idKey(id: string): Buffer {
  return GUID.test(id)
    ? Buffer.from(id.replace(/-/g, ''), 'hex')
    : createHash('sha256').update(id).digest().subarray(0, ID_KEY_BYTES);
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

export class IdSet {
  private keys = Buffer.alloc(ID_KEY_BYTES * 1024);
  private slots = new Uint32Array(2048);
  size = 0;

  /** Adds a key; its position (insertion order), or -1 when the set already held it. */
  add(key: Buffer): number {
    if ((this.size + 1) * 2 > this.slots.length) this.grow();
    const mask = this.slots.length - 1;
    for (let slot = slotOf(key, 0) & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot]!;
      if (entry === 0) {
        if ((this.size + 1) * ID_KEY_BYTES > this.keys.length) {
          const grown = Buffer.alloc(this.keys.length * 2);
          this.keys.copy(grown);
          this.keys = grown;
        }
        key.copy(this.keys, this.size * ID_KEY_BYTES, 0, ID_KEY_BYTES);
        this.size += 1;
        this.slots[slot] = this.size;
        return this.size - 1;
      }
      if (this.matches(entry - 1, key)) return -1;
    }
  }

  /** The position of a key, or -1. */
  indexOf(key: Buffer): number {
    const mask = this.slots.length - 1;
    for (let slot = slotOf(key, 0) & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot]!;
      if (entry === 0) return -1;
      if (this.matches(entry - 1, key)) return entry - 1;
    }
  }

  private matches(position: number, key: Buffer): boolean {
    const start = position * ID_KEY_BYTES;
    return this.keys.compare(key, 0, ID_KEY_BYTES, start, start + ID_KEY_BYTES) === 0;
  }

  private grow(): void {
    const slots = new Uint32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let position = 0; position < this.size; position += 1) {
      let slot = slotOf(this.keys, position * ID_KEY_BYTES) & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = position + 1;
    }
    this.slots = slots;
  }
}
