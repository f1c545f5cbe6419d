/**
 * One configured rule at run time: its key table, its algorithm and its counters. Every
 * method is synchronous, so a decision made inside one `Effect.sync`/`withFiber` is atomic.
 */
import type { AlgorithmName, Pair, PairAlgorithm, Rule } from "./algorithms.js"
import { pairAlgorithms } from "./algorithms.js"
import * as SlidingLog from "./slidingLog.js"
import { KeyTable } from "./table.js"

/** How many of the oldest keys a new key may look at for room before the table grows. */
const SWEEP_BUDGET = 16

/** What a `"delay"` caller needs to give its slot back if interrupted before it runs. */
export interface Reservation {
  readonly key: string
  readonly slot: number
  readonly at: number
  readonly cost: number
  /** the pair state written (sliding window: the log's total after it) */
  readonly a: number
  readonly b: number
}

export class RuleState {
  table: KeyTable<SlidingLog.Log>
  pair: PairAlgorithm | undefined
  allowed = 0
  denied = 0
  private readonly scratch: Pair = { a: 0, b: 0 }
  /** slot of the last key `take` admitted or looked at (-1 if unknown) */
  lastSlot = -1
  /**
   * Blocked keys and when their block ends (epoch ms; Infinity: until reset), in the order
   * they were blocked. Looked at only while not empty; at most `maxKeys`, the earliest
   * blocked forgotten first.
   */
  readonly blocks = new Map<string, number>()
  /** ms a key is blocked once a call of it is refused (0: never) */
  blockMillis = 0

  constructor(
    readonly name: string,
    public rule: Rule,
    public maxKeys: number
  ) {
    const algorithm: AlgorithmName = rule.algorithm
    this.pair = algorithm === "sliding-window" ? undefined : pairAlgorithms[algorithm]
    this.table = new KeyTable(maxKeys, this.pair === undefined)
  }

  /**
   * Admits the call if it fits within `maxWait` milliseconds from `now` and returns its wait
   * (0 = admitted now). Otherwise changes nothing and returns the wait it would have needed
   * (more than `maxWait`; `Infinity` when the cost never fits).
   */
  take(key: string, now: number, cost: number, maxWait: number): number {
    const table = this.table
    const rule = this.rule
    let slot = table.find(key)
    this.lastSlot = slot
    const pair = this.pair
    if (pair !== undefined) {
      let wait: number
      if (slot === -1) {
        pair.initial(now, rule, this.scratch)
        wait = pair.delay(this.scratch.a, this.scratch.b, now, cost, rule)
      } else {
        table.touch(slot)
        wait = pair.delay(table.a[slot]!, table.b[slot]!, now, cost, rule)
      }
      if (wait > maxWait) {
        this.denied++
        return wait
      }
      if (slot === -1) {
        slot = this.insertAt(key, now)
        pair.admit(this.scratch.a, this.scratch.b, now + wait, cost, rule, this.scratch)
      } else {
        pair.admit(table.a[slot]!, table.b[slot]!, now + wait, cost, rule, this.scratch)
      }
      table.a[slot] = this.scratch.a
      table.b[slot] = this.scratch.b
      this.lastSlot = slot
      this.allowed++
      return wait
    }
    const log = slot === -1 ? undefined : table.extra![slot]
    if (slot !== -1) table.touch(slot)
    const wait = SlidingLog.delay(log, now, cost, rule)
    if (wait > maxWait) {
      this.denied++
      return wait
    }
    if (slot === -1) {
      slot = this.insertAt(key, now)
      table.extra![slot] = SlidingLog.firstLog(now + wait, cost)
    } else {
      SlidingLog.admit(log!, now + wait, cost, rule)
    }
    this.lastSlot = slot
    this.allowed++
    return wait
  }

  /**
   * Runs on `rule` from `now` on, keeping each key's consumption. A sliding window staying one
   * keeps its logs as they are (each entry leaves at its own time, under the new window);
   * any other change carries each key's calls in use at `now` (`used`, rounded up) over as a
   * penalty on a fresh state of the new rule, so nothing is handed out twice, and when those
   * calls come back follows the new rule. Blocks are kept. Keys stay in recency order; past
   * a smaller `maxKeys` the least recently used are forgotten.
   */
  reconfigure(rule: Rule, maxKeys: number, now: number): void {
    const old = this.table
    const keepLogs = this.pair === undefined && rule.algorithm === "sliding-window"
    const carried: Array<readonly [string, number, SlidingLog.Log | undefined]> = []
    for (let slot = old.oldest; slot !== -1; slot = old.newer[slot]!) {
      const key = old.keys[slot]!
      if (keepLogs) carried.push([key, 0, old.extra![slot]])
      else {
        const used =
          this.pair === undefined
            ? SlidingLog.used(old.extra![slot]!, now, this.rule)
            : this.pair.used(old.a[slot]!, old.b[slot]!, now, this.rule)
        if (used > 0) carried.push([key, used, undefined])
      }
    }
    this.rule = rule
    this.maxKeys = maxKeys
    this.pair = rule.algorithm === "sliding-window" ? undefined : pairAlgorithms[rule.algorithm]
    this.table = new KeyTable(maxKeys, this.pair === undefined)
    this.lastSlot = -1
    for (const [key, used, log] of carried) {
      if (log !== undefined) this.table.extra![this.table.insert(key)] = log
      else this.adjust(key, now, used)
    }
  }

  /** The wait `cost` needs for `key` at `now` (as `take` computes it), changing nothing. */
  delay(key: string, now: number, cost: number): number {
    const slot = this.table.find(key)
    const pair = this.pair
    if (pair === undefined) return SlidingLog.delay(slot === -1 ? undefined : this.table.extra![slot], now, cost, this.rule)
    if (slot !== -1) return pair.delay(this.table.a[slot]!, this.table.b[slot]!, now, cost, this.rule)
    pair.initial(now, this.rule, this.scratch)
    return pair.delay(this.scratch.a, this.scratch.b, now, cost, this.rule)
  }

  /** Admits `cost` for `key` at `at`, a time `delay` said it fits at; returns the key's slot. */
  admitAt(key: string, at: number, cost: number): number {
    const table = this.table
    const pair = this.pair
    let slot = table.find(key)
    this.allowed++
    if (slot === -1) {
      slot = table.insert(key)
      if (pair === undefined) {
        table.extra![slot] = SlidingLog.firstLog(at, cost)
        return slot
      }
      pair.initial(at, this.rule, this.scratch)
    } else {
      table.touch(slot)
      if (pair === undefined) {
        SlidingLog.admit(table.extra![slot]!, at, cost, this.rule)
        return slot
      }
      this.scratch.a = table.a[slot]!
      this.scratch.b = table.b[slot]!
    }
    pair.admit(this.scratch.a, this.scratch.b, at, cost, this.rule, this.scratch)
    table.a[slot] = this.scratch.a
    table.b[slot] = this.scratch.b
    return slot
  }

  /**
   * Uses `points` of `key`'s allowance without checking that they fit (a penalty, `points` >
   * 0), or gives `-points` back (a reward), never past a fresh state.
   */
  adjust(key: string, now: number, points: number): void {
    const table = this.table
    const rule = this.rule
    const pair = this.pair
    let slot = table.find(key)
    if (slot === -1) {
      if (points < 0) return // a fresh key has nothing to give back
      slot = table.insert(key)
      if (pair === undefined) {
        table.extra![slot] = SlidingLog.firstLog(now, points)
        return
      }
      pair.initial(now, rule, this.scratch)
      table.a[slot] = this.scratch.a
      table.b[slot] = this.scratch.b
    } else {
      table.touch(slot)
    }
    if (pair === undefined) {
      const log = table.extra![slot]!
      if (points > 0) SlidingLog.admit(log, now, points, rule)
      else SlidingLog.reward(log, now, -points, rule)
      return
    }
    pair.adjust(table.a[slot]!, table.b[slot]!, now, points, rule, this.scratch)
    table.a[slot] = this.scratch.a
    table.b[slot] = this.scratch.b
  }

  /** Blocks `key` until `until` (epoch ms; Infinity: until reset), whatever it was before. */
  block(key: string, until: number): void {
    const blocks = this.blocks
    blocks.delete(key)
    if (blocks.size >= this.maxKeys) {
      // over the bound, the earliest blocked key is forgotten (its block ends early)
      for (const first of blocks.keys()) {
        blocks.delete(first)
        break
      }
    }
    blocks.set(key, until)
  }

  /** When `key`'s block ends (epoch ms, Infinity: never), or 0 if it is not blocked at `now`. */
  blockedUntil(key: string, now: number): number {
    const until = this.blocks.get(key)
    if (until === undefined) return 0
    if (until > now) return until
    this.blocks.delete(key)
    return 0
  }

  /** The state `take` just wrote for a `"delay"` caller admitted at `at`, to undo it later. */
  reservation(key: string, at: number, cost: number): Reservation {
    const slot = this.lastSlot
    const table = this.table
    return this.pair === undefined
      ? { key, slot, at, cost, a: table.extra![slot]![1]!, b: 0 }
      : { key, slot, at, cost, a: table.a[slot]!, b: table.b[slot]! }
  }

  /**
   * Gives an interrupted waiter's slot back, if nothing was admitted for the key after it
   * (then the state is exactly what the reservation wrote). Otherwise later callers already
   * hold slots computed after it, and handing its capacity to newcomers could admit two calls
   * in one slot, so the slot stays used: conservative, never over-admits.
   */
  cancel(reservation: Reservation, before: { readonly a: number; readonly b: number } | undefined): boolean {
    const table = this.table
    const slot = table.find(reservation.key)
    if (slot !== reservation.slot) return false
    if (this.pair === undefined) {
      const undone = SlidingLog.undo(table.extra![slot]!, reservation.at, reservation.cost, reservation.a)
      if (undone) this.allowed--
      return undone
    }
    if (table.a[slot] !== reservation.a || table.b[slot] !== reservation.b || before === undefined) return false
    table.a[slot] = before.a
    table.b[slot] = before.b
    this.allowed--
    return true
  }

  /** The state of `key` now as a pair (the initial state if never seen). */
  snapshot(key: string, now: number): { a: number; b: number } | undefined {
    if (this.pair === undefined) return undefined
    const slot = this.table.find(key)
    if (slot === -1) {
      const out = { a: 0, b: 0 }
      this.pair.initial(now, this.rule, out)
      return out
    }
    return { a: this.table.a[slot]!, b: this.table.b[slot]! }
  }

  /** Calls of cost 1 that would be admitted at `now` for `key`. */
  remaining(key: string, now: number): number {
    const slot = this.table.find(key)
    return this.remainingAt(slot, now)
  }

  remainingAt(slot: number, now: number): number {
    const rule = this.rule
    if (slot === -1) {
      if (this.pair === undefined) return rule.limit
      this.pair.initial(now, rule, this.scratch)
      return this.pair.remaining(this.scratch.a, this.scratch.b, now, rule)
    }
    const table = this.table
    // a penalty may take a key past its limit: none remain, never fewer
    return Math.max(
      0,
      this.pair === undefined
        ? SlidingLog.remaining(table.extra![slot], now, rule)
        : this.pair.remaining(table.a[slot]!, table.b[slot]!, now, rule)
    )
  }

  resetAfterAt(slot: number, now: number): number {
    if (slot === -1) return 0
    const table = this.table
    return this.pair === undefined
      ? SlidingLog.resetAfter(table.extra![slot], now, this.rule)
      : this.pair.resetAfter(table.a[slot]!, table.b[slot]!, now, this.rule)
  }

  reset(key: string): void {
    this.blocks.delete(key)
    const slot = this.table.find(key)
    if (slot !== -1) this.table.remove(slot)
  }

  /**
   * A slot for `key` (not in the table) at `now`. Keys whose state is back to "as if never
   * seen" are dropped only here, when the table has no free slot left. Dropping one changes no
   * decision, but a key that comes back then pays for being removed and added again: dropped on
   * a schedule, every key that returned after its state refilled paid that (about 150 ns a call
   * with 1,000 keys round-robin). So the table grows only for keys in use, and keys that keep
   * coming back keep their slots. The key being decided is not in the table, so any may go.
   */
  private insertAt(key: string, now: number): number {
    const table = this.table
    if (table.isFull) {
      const rule = this.rule
      const pair = this.pair
      table.sweep(
        SWEEP_BUDGET,
        pair !== undefined
          ? (slot) => pair.isFresh(table.a[slot]!, table.b[slot]!, now, rule)
          : (slot) => SlidingLog.isFresh(table.extra![slot]!, now, rule)
      )
    }
    return table.insert(key)
  }
}
