/**
 * The timers of many pending calls in one structure, so they share one wake-up instead of
 * arming a timer each (the scheme of Node's own `timers` module).
 *
 * Timers are kept in one list per duration: calls that use the same duration (one call site,
 * one profile) are added in deadline order, so adding is an append and removing an unlink,
 * both O(1). The next wake-up is the earliest head among the lists, of which there are as
 * many as distinct durations in use (a handful). No time is read here and nothing runs:
 * callers pass `now` and decide what an expired timer does.
 */

/** One pending timer; callers extend it with what expiring means to them. */
export interface Timer {
  /** epoch milliseconds at which the timer is due */
  deadline: number
  /** insertion order, breaking ties between equal deadlines */
  sequence: number
  previous: Timer | undefined
  next: Timer | undefined
  /** the list holding the timer; undefined once removed or expired */
  list: TimerList | undefined
}

/** The timers of one duration, in deadline order (a doubly linked list). */
export interface TimerList {
  readonly duration: number
  head: Timer | undefined
  tail: Timer | undefined
}

export interface TimerWheel {
  /** by duration; a list may be empty (kept for the next timer of its duration) */
  readonly lists: Map<number, TimerList>
  /** how many timers are pending */
  size: number
  sequence: number
}

export const make = (): TimerWheel => ({ lists: new Map(), size: 0, sequence: 0 })

/** Initial fields of a timer, for objects that will be added later. */
export const unscheduled = { deadline: 0, sequence: 0, previous: undefined, next: undefined, list: undefined } as const

/**
 * Adds `timer`, due `duration` ms after `now`. Returns true when it is due before every timer
 * already pending (the wake-up must move earlier).
 */
export const add = (wheel: TimerWheel, timer: Timer, duration: number, now: number): boolean => {
  const before = wheel.size === 0 ? undefined : nextDeadline(wheel)
  const deadline = now + duration
  timer.deadline = deadline
  timer.sequence = wheel.sequence++
  let list = wheel.lists.get(duration)
  if (list === undefined) {
    list = { duration, head: undefined, tail: undefined }
    wheel.lists.set(duration, list)
  }
  timer.list = list
  // A clock that moved back (a wall clock corrected) can make a later timer due earlier:
  // walk back from the tail to keep the list sorted (one step in the ordinary case).
  let after = list.tail
  while (after !== undefined && after.deadline > deadline) after = after.previous
  timer.previous = after
  timer.next = after === undefined ? list.head : after.next
  if (timer.next === undefined) list.tail = timer
  else timer.next.previous = timer
  if (after === undefined) list.head = timer
  else after.next = timer
  wheel.size++
  return before === undefined || deadline < before
}

/** Removes `timer` if it is pending; a removed or expired timer is left alone. */
export const remove = (wheel: TimerWheel, timer: Timer): void => {
  const list = timer.list
  if (list === undefined) return
  unlink(wheel, list, timer)
}

const unlink = (wheel: TimerWheel, list: TimerList, timer: Timer): void => {
  if (timer.previous === undefined) list.head = timer.next
  else timer.previous.next = timer.next
  if (timer.next === undefined) list.tail = timer.previous
  else timer.next.previous = timer.previous
  timer.previous = undefined
  timer.next = undefined
  timer.list = undefined
  wheel.size--
  // An emptied list stays for the next timer of its duration (one caller's calls would
  // otherwise create and delete it on every call), unless there are many: then the empty
  // ones go.
  if (list.head === undefined && wheel.lists.size > MAX_IDLE_LISTS) {
    for (const [duration, other] of wheel.lists) if (other.head === undefined) wheel.lists.delete(duration)
  }
}

/** how many lists the wheel keeps before it drops the empty ones */
const MAX_IDLE_LISTS = 16

/** the list whose head is due first (earliest deadline, then earliest added) */
const earliest = (wheel: TimerWheel): TimerList | undefined => {
  let best: TimerList | undefined
  if (wheel.size === 0) return undefined
  for (const list of wheel.lists.values()) {
    const head = list.head
    if (head === undefined) continue
    if (best === undefined) best = list
    else {
      const current = best.head!
      if (head.deadline < current.deadline || (head.deadline === current.deadline && head.sequence < current.sequence)) best = list
    }
  }
  return best
}

/** The earliest deadline pending, or undefined when none is. */
export const nextDeadline = (wheel: TimerWheel): number | undefined => earliest(wheel)?.head?.deadline

/**
 * Removes every timer due at `now` or before, and calls `visit` with each, earliest first
 * (ties in insertion order). A timer `visit` adds is not visited in this pass.
 */
export const expire = <T extends Timer>(wheel: TimerWheel, now: number, visit: (timer: T) => void): void => {
  const limit = wheel.sequence
  for (;;) {
    const list = earliest(wheel)
    const head = list?.head
    if (head === undefined || head.deadline > now || head.sequence >= limit) return
    unlink(wheel, list!, head)
    visit(head as T)
  }
}
