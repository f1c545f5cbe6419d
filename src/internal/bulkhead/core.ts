/**
 * A bulkhead's state machine: plain mutable state and synchronous decisions.
 *
 * Every function here runs inside one synchronous step of the shell, so each decision is
 * atomic: JavaScript is single-threaded and nothing here yields. The shell owns time (it passes
 * `now`), fibers and effects; waiters are told their fate through `grant` / `reject`.
 *
 * Ownership rule that makes the bulkhead leak-free by construction: `running` counts the slots
 * held, and a slot is held by exactly one caller, either running at once (`tryAcquire`) or
 * handed to a waiter by `grant` (counted before `grant` is called). Each holder gives its slot
 * back once, with `release`. A waiter that leaves before it was granted (`leave`) holds none.
 *
 * Waiters are served first come, first served: a newcomer never takes a slot while anyone
 * waits, and every waiter's deadline is `enqueuedAt + waitTimeoutMillis` with one timeout for
 * all of them, so the queue is also in deadline order.
 */
import type { Resolved } from "./options.js"

/** Why a waiter is turned away. */
export type Rejection = "queue_full" | "timeout"

/**
 * A caller waiting for a slot. `grant` / `reject` are called at most once, synchronously, by
 * the functions below, after the waiter has left the queue.
 */
export interface Waiter {
  prev: Waiter | undefined
  next: Waiter | undefined
  queued: boolean
  /** true once a slot was handed to it: its holder must `release` it */
  granted: boolean
  readonly enqueuedAt: number
  deadline: number
  readonly grant: () => void
  readonly reject: (reason: Rejection) => void
}

export interface State {
  maxConcurrent: number
  maxWaiting: number
  waitTimeoutMillis: number
  /** slots held */
  running: number
  waiting: number
  head: Waiter | undefined
  tail: Waiter | undefined
  /** calls given a slot, at once or after waiting */
  admitted: number
  /** calls turned away because the queue was full (also waiters over a lowered `maxWaiting`) */
  rejected: number
  /** waiters turned away at their deadline */
  timedOut: number
  /** when a call was last turned away (epoch ms; -Infinity: never) */
  lastRejectedAt: number
}

export const make = (limits: Resolved): State => ({
  maxConcurrent: limits.maxConcurrent,
  maxWaiting: limits.maxWaiting,
  waitTimeoutMillis: limits.waitTimeoutMillis,
  running: 0,
  waiting: 0,
  head: undefined,
  tail: undefined,
  admitted: 0,
  rejected: 0,
  timedOut: 0,
  lastRejectedAt: -Infinity
})

/** Takes a slot when one is free and nobody waits; the caller then holds it. */
export const tryAcquire = (state: State): boolean => {
  if (state.running >= state.maxConcurrent || state.waiting > 0) return false
  state.running++
  state.admitted++
  return true
}

/**
 * For a caller `tryAcquire` turned down: queues it (true), or, when `maxWaiting` callers wait
 * already, counts it rejected (false: it fails at once and holds nothing).
 */
export const enqueue = (state: State, waiter: Waiter): boolean => {
  if (state.waiting >= state.maxWaiting) {
    state.rejected++
    state.lastRejectedAt = waiter.enqueuedAt
    return false
  }
  waiter.deadline = waiter.enqueuedAt + state.waitTimeoutMillis
  waiter.queued = true
  waiter.prev = state.tail
  waiter.next = undefined
  if (state.tail === undefined) state.head = waiter
  else state.tail.next = waiter
  state.tail = waiter
  state.waiting++
  return true
}

const unlink = (state: State, waiter: Waiter): void => {
  if (waiter.prev === undefined) state.head = waiter.next
  else waiter.prev.next = waiter.next
  if (waiter.next === undefined) state.tail = waiter.prev
  else waiter.next.prev = waiter.prev
  waiter.prev = undefined
  waiter.next = undefined
  waiter.queued = false
  state.waiting--
}

/** A waiter that left before it was granted (interrupted while waiting): it holds nothing. */
export const leave = (state: State, waiter: Waiter): void => {
  if (waiter.queued) unlink(state, waiter)
}

/**
 * Hands free slots to the waiters at the head of the queue, while there are slots under
 * `maxConcurrent`. Each slot is counted before its waiter hears of it, so a `grant` that
 * resumes the waiter (and runs, and releases) sees a consistent state.
 */
export const admitWaiters = (state: State): void => {
  while (state.running < state.maxConcurrent && state.head !== undefined) {
    const waiter = state.head
    unlink(state, waiter)
    waiter.granted = true
    state.running++
    state.admitted++
    waiter.grant()
  }
}

/** A holder gives its slot back; the slot goes to the first waiter, if the limit allows. */
export const release = (state: State): void => {
  state.running--
  admitWaiters(state)
}

/** Turns away the waiters whose deadline has come (at the head: the queue is in deadline order). */
export const expire = (state: State, now: number): void => {
  while (state.head !== undefined && state.head.deadline <= now) {
    const waiter = state.head
    unlink(state, waiter)
    state.timedOut++
    state.lastRejectedAt = now
    waiter.reject("timeout")
  }
}

/**
 * New limits, at run time. Running calls keep their slots (nothing is interrupted): above a
 * lowered `maxConcurrent` no one is admitted until `running` is below it again. Waiters over a
 * lowered `maxWaiting` are turned away, the latest first (the earlier keep their place), as
 * a full queue would have turned them away. A new `waitTimeout` applies to the waiters
 * already queued too, counted from when each started waiting; those past it time out now. A
 * raised `maxConcurrent` admits waiters at once.
 */
export const configure = (state: State, limits: Resolved, now: number): void => {
  state.maxConcurrent = limits.maxConcurrent
  state.maxWaiting = limits.maxWaiting
  state.waitTimeoutMillis = limits.waitTimeoutMillis
  while (state.waiting > state.maxWaiting) {
    const waiter = state.tail!
    unlink(state, waiter)
    state.rejected++
    state.lastRejectedAt = now
    waiter.reject("queue_full")
  }
  for (let waiter = state.head; waiter !== undefined; waiter = waiter.next) {
    waiter.deadline = waiter.enqueuedAt + limits.waitTimeoutMillis
  }
  admitWaiters(state)
  expire(state, now)
}

/** Takes every waiter out of the queue (the bulkhead is closing); the shell interrupts them. */
export const drain = (state: State): Array<Waiter> => {
  const dropped: Array<Waiter> = []
  while (state.head !== undefined) {
    const waiter = state.head
    unlink(state, waiter)
    dropped.push(waiter)
  }
  return dropped
}
