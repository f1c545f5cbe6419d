/**
 * The pool's state machine: plain mutable state and synchronous decisions.
 *
 * Every function here runs inside one synchronous step of the shell (`src/Pool.ts`), so each
 * decision is atomic: JavaScript is single-threaded and nothing here yields. The shell turns
 * the returned decisions into effects (start creations, release resources) and owns time.
 *
 * Ownership rule that makes the pool leak-free by construction: at any instant a resource is in
 * exactly one place: the `idle` list, a waiter's `entry` slot (handed off, not yet picked up),
 * a caller's hands (counted in `inUse`), or on its way to `release` (counted in `destroyed`).
 * Every move between those places is one of the functions below.
 */

import { dequeue } from "./queue.js"

export { dequeue, enqueue, expireWaiters } from "./queue.js"

/** A pooled resource and its bookkeeping. */
export interface Entry<A> {
  readonly resource: A
  readonly id: number
  readonly createdAt: number
  /** when the resource retires (maxLifetime minus jitter); Infinity when it never does */
  readonly retireAt: number
  /** when it last became idle */
  idleSince: number
  /** how many checkouts it served */
  uses: number
  /** leak detection only: when it was handed out, by whom, and whether it was reported */
  checkedOutAt: number
  holder: unknown
  leakReported: boolean
  /** the shell's return step for this entry, allocated once per resource, not per checkout */
  afterUse: ((exit: any) => any) | undefined
  /** the success a waiter it is handed to resumes with, allocated once per resource (optional: a
   *  bare entry, as the core's tests build, gets one at its first hand-off) */
  granted?: unknown
}

/**
 * A caller waiting for a resource. `grant`/`reject` are called at most once, synchronously,
 * by the state machine; the shell stores the result and resumes the waiting fiber.
 */
export interface Waiter<A> {
  prev: Waiter<A> | undefined
  next: Waiter<A> | undefined
  queued: boolean
  readonly deadline: number
  /** 0 is served first; first come, first served within a priority */
  readonly priority: number
  readonly grant: (entry: Entry<A>) => void
  /** `waiting`: for a timeout, how many waited (this one included) when it left */
  readonly reject: (reason: "timeout" | unknown, waiting?: number) => void
}

export interface Config {
  readonly size: number
  /** size + maxOverflow */
  readonly max: number
  readonly minIdle: number
  /** callers allowed to wait at capacity (Infinity: unbounded) */
  readonly maxWaiting: number
  readonly lifo: boolean
  /** idleTimeout evicts any idle resource down to minIdle idle, not only overflow ones */
  readonly evictToMinIdle?: boolean | undefined
}

export interface State<A> {
  /** replaced whole by `resize` (never mutated in place) */
  config: Config
  /** set by a resize that left more resources than the new maximum: returns are destroyed */
  shrinking: boolean
  readonly idle: Array<Entry<A>>
  inUse: number
  /** acquisitions in flight */
  creating: number
  head: Waiter<A> | undefined
  tail: Waiter<A> | undefined
  waiting: number
  closed: boolean
  created: number
  destroyed: number
  /** checkouts served (after validation) */
  checkouts: number
  /** checkouts served by a resource that had served before */
  reused: number
  timeouts: number
  /** checkouts refused at once because `maxWaiting` callers were waiting at capacity */
  exhausted: number
  /** acquisitions that failed, died or timed out (timed-out ones are also in acquireTimeouts) */
  acquireFailures: number
  /** acquisitions given up after acquireTimeout */
  acquireTimeouts: number
  /** when the last acquisition failed or timed out, and when the last one succeeded (-Infinity: never) */
  lastAcquireFailureAt: number
  lastAcquireSuccessAt: number
  validationFailures: number
  nextId: number
}

export const make = <A>(config: Config): State<A> => ({
  config,
  shrinking: false,
  idle: [],
  inUse: 0,
  creating: 0,
  head: undefined,
  tail: undefined,
  waiting: 0,
  closed: false,
  created: 0,
  destroyed: 0,
  checkouts: 0,
  reused: 0,
  timeouts: 0,
  exhausted: 0,
  acquireFailures: 0,
  acquireTimeouts: 0,
  lastAcquireFailureAt: -Infinity,
  lastAcquireSuccessAt: -Infinity,
  validationFailures: 0,
  nextId: 0
})

/** Resources that exist or are being created: what counts against `size + maxOverflow`. */
export const total = <A>(state: State<A>): number => state.idle.length + state.inUse + state.creating

/** Resources above `size` (Poolboy's overflow). */
export const overflow = <A>(state: State<A>): number => Math.max(0, total(state) - state.config.size)

/**
 * Takes an idle resource when nobody is queued (waiters are served first come, first served:
 * a newcomer never overtakes them). `fifo` takes the longest idle, `lifo` the most recent.
 */
export const takeIdle = <A>(state: State<A>): Entry<A> | undefined => {
  if (state.waiting > 0 || state.idle.length === 0 || state.closed) return undefined
  const entry = state.config.lifo ? state.idle.pop()! : state.idle.shift()!
  state.inUse++
  return entry
}

/**
 * Whether a checkout that found no idle resource must be refused instead of waiting: the pool
 * is at capacity (no slot left for a new acquisition, those in flight included) and
 * `maxWaiting` callers already wait. generic-pool's rule for `maxWaitingClients`: while a
 * slot is free the caller waits for the acquisition it starts. Counts the refusal.
 */
export const refuses = <A>(state: State<A>): boolean => {
  if (state.waiting < state.config.maxWaiting || total(state) < state.config.max) return false
  state.exhausted++
  return true
}

/**
 * How many acquisitions to start now: one per waiter not already covered by one in flight,
 * within `size + maxOverflow`, and, when `forMinIdle`, enough to bring idle resources up to
 * `minIdle`, within `size`; whichever is more. The caller starts exactly that many.
 */
export const creationsToStart = <A>(state: State<A>, forMinIdle: boolean): number => {
  if (state.closed) return 0
  const config = state.config
  const existing = total(state)
  let n = Math.min(state.waiting - state.creating, config.max - existing)
  if (forMinIdle) {
    // the two claims are separate: a top-up bounded by `size` must not cap what waiters may
    // take from the overflow (a waiter would wait for a slot that is free)
    const forIdle = Math.min(config.minIdle - state.idle.length - state.creating, config.size - existing)
    if (forIdle > n) n = forIdle
  }
  if (n <= 0) return 0
  state.creating += n
  return n
}

/** Gives a resource (already counted in `inUse`) to the first waiter; false when none waits. */
const handOff = <A>(state: State<A>, entry: Entry<A>): boolean => {
  const waiter = state.head
  if (waiter === undefined) return false
  dequeue(state, waiter)
  waiter.grant(entry)
  return true
}

/**
 * A resource comes back. Returns it when it must be destroyed (the caller releases it):
 * `destroy` (its use died, it failed validation), its lifetime is over, or the pool closed.
 * Otherwise it goes to the first waiter or to the idle list.
 */
export const checkin = <A>(state: State<A>, entry: Entry<A>, now: number, destroy: boolean): Entry<A> | undefined => {
  if (destroy || state.closed || now >= entry.retireAt || (state.shrinking && overCapacity(state))) {
    state.inUse--
    state.destroyed++
    return entry
  }
  if (handOff(state, entry)) return undefined
  state.inUse--
  entry.idleSince = now
  state.idle.push(entry)
  return undefined
}

/** An acquisition succeeded. Returns the entry when it must be destroyed (the pool closed). */
export const created = <A>(state: State<A>, entry: Entry<A>): Entry<A> | undefined => {
  state.creating--
  state.created++
  state.lastAcquireSuccessAt = entry.createdAt
  // after a shrinking resize, a resource that would exceed the new maximum is not kept
  if (state.closed || (state.shrinking && total(state) >= state.config.max)) {
    state.destroyed++
    return entry
  }
  state.inUse++
  if (handOff(state, entry)) return undefined
  state.inUse--
  state.idle.push(entry)
  return undefined
}

/**
 * An acquisition failed: the first waiter (the one it was started for) gets the error, and the
 * slot is free again. Returns whether a waiter received it.
 */
export const createFailed = <A>(state: State<A>, error: unknown, now: number, counted = false): boolean => {
  state.creating--
  // `counted`: its last attempt was counted already (`attemptFailed`, acquireRetry)
  if (!counted) {
    state.acquireFailures++
    state.lastAcquireFailureAt = now
  }
  const waiter = state.head
  if (waiter === undefined) return false
  dequeue(state, waiter)
  waiter.reject(error)
  return true
}

/**
 * An acquisition ran past acquireTimeout: the slot is free, and it counts as a failed one.
 * Unlike a failure, nobody is rejected: there is no typed error to give, and the waiter it
 * was started for keeps its place (and its own checkout deadline) for the next attempt.
 */
export const createTimedOut = <A>(state: State<A>, now: number): void => {
  state.creating--
  state.acquireFailures++
  state.acquireTimeouts++
  state.lastAcquireFailureAt = now
}

/**
 * One attempt of an acquisition that will be retried failed: counted as a failure, the slot
 * stays taken (the retry is still counted in `creating`), nobody is told yet.
 */
export const attemptFailed = <A>(state: State<A>, now: number): void => {
  state.acquireFailures++
  state.lastAcquireFailureAt = now
}

/**
 * Takes an idle resource out for a background validation: it counts as in use meanwhile, so
 * nobody else gets it and it still counts against capacity. false: it is no longer idle.
 */
export const takeForValidation = <A>(state: State<A>, entry: Entry<A>): boolean => {
  const index = state.idle.indexOf(entry)
  if (index < 0 || state.closed) return false
  state.idle.splice(index, 1)
  state.inUse++
  return true
}

/**
 * A resource passed its background validation: to the first waiter, or back to the idle list
 * at its place by `idleSince` (a validation is not a use: it does not reset the idle time).
 * Returns it when it must be destroyed (the pool closed).
 */
export const validated = <A>(state: State<A>, entry: Entry<A>): Entry<A> | undefined => {
  if (state.closed) {
    state.inUse--
    state.destroyed++
    return entry
  }
  if (handOff(state, entry)) return undefined
  state.inUse--
  const idle = state.idle
  let at = idle.length
  while (at > 0 && idle[at - 1]!.idleSince > entry.idleSince) at--
  idle.splice(at, 0, entry)
  return undefined
}

/**
 * A timed-out acquisition returned a resource after all. It never enters the pool (nobody
 * counts on it, and its slot went to another attempt): it is counted created and destroyed,
 * and the caller releases it.
 */
export const createdTooLate = <A>(state: State<A>): void => {
  state.created++
  state.destroyed++
}

/** An acquisition was interrupted (the pool is closing): the slot is free. */
export const createAborted = <A>(state: State<A>): void => {
  state.creating--
}

/**
 * Housekeeping: removes idle resources whose lifetime is over, and overflow resources idle for
 * at least `idleTimeoutMillis` (longest idle first, never below `size`). Returns them; the
 * caller releases them.
 */
export const evict = <A>(state: State<A>, now: number, idleTimeoutMillis: number): Array<Entry<A>> => {
  const evicted: Array<Entry<A>> = []
  const idle = state.idle
  for (let i = 0; i < idle.length; ) {
    if (now >= idle[i]!.retireAt) evicted.push(idle.splice(i, 1)[0]!)
    else i++
  }
  // idle[0] is the longest idle under both strategies (returns are pushed at the end, a
  // validated resource goes back to its place)
  const config = state.config
  while (
    idle.length > 0 &&
    (config.evictToMinIdle === true ? idle.length > config.minIdle : total(state) > config.size) &&
    now - idle[0]!.idleSince >= idleTimeoutMillis
  ) {
    evicted.push(idle.shift()!)
  }
  state.destroyed += evicted.length
  return evicted
}

/** Above the maximum after a shrinking resize; clears `shrinking` once back within it. */
const overCapacity = <A>(state: State<A>): boolean => {
  if (total(state) > state.config.max) return true
  state.shrinking = false
  return false
}

/**
 * Runtime resize: the new sizing applies from now on. Idle resources above the new maximum are
 * removed at once, longest idle first (returned: the caller releases them); resources in use
 * are never taken back, and each one returned while the pool is still above the maximum is
 * destroyed instead of pooled or handed to a waiter. Waiters keep their place and deadline; a
 * larger maximum serves them with new acquisitions (the caller starts them).
 */
export const resize = <A>(state: State<A>, config: Config): Array<Entry<A>> => {
  state.config = config
  const removed: Array<Entry<A>> = []
  while (state.idle.length > 0 && total(state) > config.max) removed.push(state.idle.shift()!)
  state.destroyed += removed.length
  state.shrinking = total(state) > config.max
  return removed
}

/** Closes the pool: removes every idle resource (returned for release) and every waiter. */
export const close = <A>(state: State<A>): { readonly idle: Array<Entry<A>>; readonly waiters: Array<Waiter<A>> } => {
  state.closed = true
  const idle = state.idle.splice(0, state.idle.length)
  state.destroyed += idle.length
  const waiters: Array<Waiter<A>> = []
  while (state.head !== undefined) {
    const waiter = state.head
    dequeue(state, waiter)
    waiters.push(waiter)
  }
  return { idle, waiters }
}
