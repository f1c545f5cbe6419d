/**
 * The waiter queue of the pool's state machine (`core.ts`): a doubly linked list ordered by
 * priority, first come first served within one, and the expiry of waiters at their deadline.
 * Synchronous and atomic like the rest of the core.
 */
import type { State, Waiter } from "./core.js"

/**
 * Queues a waiter behind every waiter of its priority or a more urgent one (a lower number),
 * ahead of less urgent ones: first come, first served within a priority. The walk from the
 * tail stops at once when every waiter has the same priority (the common case).
 */
export const enqueue = <A>(state: State<A>, waiter: Waiter<A>): void => {
  waiter.queued = true
  let before = state.tail
  while (before !== undefined && before.priority > waiter.priority) before = before.prev
  const after = before === undefined ? state.head : before.next
  waiter.prev = before
  waiter.next = after
  if (before === undefined) state.head = waiter
  else before.next = waiter
  if (after === undefined) state.tail = waiter
  else after.prev = waiter
  state.waiting++
}

/** Removes a waiter from the queue; a no-op when it already left (served, timed out). */
export const dequeue = <A>(state: State<A>, waiter: Waiter<A>): void => {
  if (!waiter.queued) return
  waiter.queued = false
  if (waiter.prev === undefined) state.head = waiter.next
  else waiter.prev.next = waiter.next
  if (waiter.next === undefined) state.tail = waiter.prev
  else waiter.next.prev = waiter.prev
  waiter.prev = waiter.next = undefined
  state.waiting--
}

/**
 * Times out every waiter whose deadline passed, and returns the earliest deadline of those
 * left (Infinity: none). Deadlines are not in queue order (a checkout may have its own timeout,
 * a priority may queue it ahead), so this scans the queue: it runs only when the earliest
 * deadline passes, never per checkout. The expired ones leave the queue before any is told: a
 * rejection resumes its fiber at once, and what that fiber does (return a resource, queue
 * again) must find the queue consistent; the earliest deadline is read after, so a waiter
 * queued meanwhile counts.
 */
export const expireWaiters = <A>(state: State<A>, now: number): number => {
  let expired: Array<Waiter<A>> | undefined
  let waitingThen: Array<number> | undefined
  for (let waiter = state.head; waiter !== undefined; ) {
    const following = waiter.next
    if (waiter.deadline <= now) {
      if (expired === undefined) {
        expired = []
        waitingThen = []
      }
      expired.push(waiter)
      waitingThen!.push(state.waiting)
      dequeue(state, waiter)
      state.timeouts++
    }
    waiter = following
  }
  if (expired !== undefined) for (let i = 0; i < expired.length; i++) expired[i]!.reject("timeout", waitingThen![i])
  let next = Infinity
  for (let waiter = state.head; waiter !== undefined; waiter = waiter.next) if (waiter.deadline < next) next = waiter.deadline
  return next
}
