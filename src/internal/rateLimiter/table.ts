/**
 * The key table of one rate-limit rule: bounded, least-recently-used, no timer per key.
 *
 * Keys come from users (IPs, API keys), so there can be any number of them. The table keeps
 * each key's state in parallel typed arrays indexed by a slot number (struct of arrays): per
 * key that is the `Map` entry from key to slot, two float64 state numbers, two int32 links of
 * the recency list and one pointer back to the key, about 60 bytes plus the key string, with
 * nothing allocated per decision. A `Map` from key to object would cost about twice that and
 * allocate on every update.
 *
 * Recency is a doubly linked list through `newer`/`older`: `touch` moves a slot to the newest
 * end in O(1). (Reordering the `Map` itself by delete + set leaves holes that make finding its
 * oldest entry linear.) At `maxKeys` the oldest key is evicted; `sweep` drops keys whose state
 * is back to "as if never seen", oldest first (the rule does so when it needs a slot).
 */

const NONE = -1

export class KeyTable<Extra = never> {
  readonly index = new Map<string, number>()
  keys: Array<string | undefined>
  a: Float64Array
  b: Float64Array
  /** per-slot state that is not two numbers (the sliding-window log); absent otherwise */
  extra: Array<Extra | undefined> | undefined
  newer: Int32Array
  older: Int32Array
  /** most recently used slot */
  newest = NONE
  /** least recently used slot: the next to evict or sweep */
  oldest = NONE
  /** head of the free slot list, chained through `older` */
  free = NONE
  /** slots ever handed out; slots >= used are unused */
  used = 0
  evictions = 0

  constructor(
    readonly maxKeys: number,
    withExtra = false,
    initialCapacity = 64
  ) {
    const capacity = Math.max(1, Math.min(initialCapacity, maxKeys))
    this.keys = new Array(capacity)
    this.extra = withExtra ? new Array(capacity) : undefined
    this.a = new Float64Array(capacity)
    this.b = new Float64Array(capacity)
    this.newer = new Int32Array(capacity)
    this.older = new Int32Array(capacity)
  }

  get size(): number {
    return this.index.size
  }

  get capacity(): number {
    return this.a.length
  }

  /** No free slot left: the next insert grows the table (or, at `maxKeys`, evicts). */
  get isFull(): boolean {
    return this.free === NONE && this.used === this.a.length
  }

  /** The slot of `key`, or -1. Does not change recency. */
  find(key: string): number {
    const slot = this.index.get(key)
    return slot === undefined ? NONE : slot
  }

  /** Marks a slot as the most recently used. */
  touch(slot: number): void {
    if (slot === this.newest) return
    this.unlink(slot)
    this.linkNewest(slot)
  }

  /** Adds `key` (not present) and returns its slot, evicting the oldest key when full. */
  insert(key: string): number {
    let slot: number
    if (this.index.size >= this.maxKeys) {
      slot = this.oldest
      this.remove(slot)
      this.evictions++
    }
    if (this.free !== NONE) {
      slot = this.free
      this.free = this.older[slot]!
    } else {
      if (this.used === this.a.length) this.grow()
      slot = this.used++
    }
    this.keys[slot] = key
    this.index.set(key, slot)
    this.linkNewest(slot)
    return slot
  }

  /** Forgets the key in `slot`. */
  remove(slot: number): void {
    this.index.delete(this.keys[slot]!)
    this.keys[slot] = undefined
    if (this.extra !== undefined) this.extra[slot] = undefined
    this.unlink(slot)
    this.older[slot] = this.free
    this.free = slot
  }

  /**
   * Removes up to `budget` of the oldest keys for which `isFresh(slot)` holds, stopping at the
   * first that does not: keys further on were used more recently.
   */
  sweep(budget: number, isFresh: (slot: number) => boolean): void {
    while (budget-- > 0 && this.oldest !== NONE && isFresh(this.oldest)) this.remove(this.oldest)
  }

  private grow(): void {
    const capacity = Math.min(this.maxKeys, this.a.length * 2)
    this.a = grown(this.a, new Float64Array(capacity))
    this.b = grown(this.b, new Float64Array(capacity))
    this.newer = grown(this.newer, new Int32Array(capacity))
    this.older = grown(this.older, new Int32Array(capacity))
    this.keys.length = capacity
    if (this.extra !== undefined) this.extra.length = capacity
  }

  private unlink(slot: number): void {
    const newer = this.newer[slot]!
    const older = this.older[slot]!
    if (newer === NONE) this.newest = older
    else this.older[newer] = older
    if (older === NONE) this.oldest = newer
    else this.newer[older] = newer
  }

  private linkNewest(slot: number): void {
    this.older[slot] = this.newest
    this.newer[slot] = NONE
    if (this.newest === NONE) this.oldest = slot
    else this.newer[this.newest] = slot
    this.newest = slot
  }
}

/** `into`, holding `from`'s values at the start (a typed array grown to a new capacity). */
const grown = <A extends Float64Array | Int32Array>(from: A, into: A): A => {
  into.set(from)
  return into
}
