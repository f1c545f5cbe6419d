/**
 * The two sides of the pool core's model-based test (`core.model.test.ts`): the core driven
 * as the shell drives it (`Real`), the reference model written from the documented rules
 * (`Model`), and the comparison and invariants checked after every step.
 */
import { expect } from "@effect/vitest"
import * as fc from "fast-check"
import * as Core from "../../../src/internal/pool/core.js"

// ---- configuration -----------------------------------------------------------------------

export interface Config {
  readonly size: number
  readonly maxOverflow: number
  readonly minIdle: number
  /** Infinity: unbounded */
  readonly maxWaiting: number
  /** idleEviction "minIdle": idle resources are evicted down to minIdle, not only overflow */
  readonly evictToMinIdle: boolean
  readonly lifo: boolean
  readonly checkoutTimeout: number
  readonly idleTimeout: number
  /** Infinity: resources never retire */
  readonly lifetime: number
}

export const config: fc.Arbitrary<Config> = fc
  .record({
    size: fc.integer({ min: 1, max: 4 }),
    maxOverflow: fc.integer({ min: 0, max: 3 }),
    minIdle: fc.integer({ min: 0, max: 4 }),
    maxWaiting: fc.oneof(fc.constant(Infinity), fc.integer({ min: 0, max: 3 })),
    evictToMinIdle: fc.boolean(),
    lifo: fc.boolean(),
    checkoutTimeout: fc.integer({ min: 1, max: 6 }),
    idleTimeout: fc.integer({ min: 1, max: 6 }),
    lifetime: fc.oneof(fc.constant(Infinity), fc.integer({ min: 1, max: 12 }))
  })
  .map((c) => ({ ...c, minIdle: Math.min(c.minIdle, c.size) }))

// ---- the real system: the core, driven as the shell drives it -----------------------------

export type Event =
  | { readonly waiter: number; readonly granted: number }
  | { readonly waiter: number; readonly rejected: "timeout" | "failure" }
  | { readonly waiter: number; readonly dropped: true }

export interface Real {
  readonly state: Core.State<number>
  now: number
  /** entries in callers' hands, in the order they got them */
  readonly held: Array<Core.Entry<number>>
  /** acquisitions given up after acquireTimeout that have not returned yet */
  abandoned: number
  /** entries the core gave back for release */
  readonly destroyed: Set<number>
  /** what waiters received during the current step */
  readonly events: Array<Event>
  nextWaiter: number
}

export class TestWaiter implements Core.Waiter<number> {
  prev: Core.Waiter<number> | undefined = undefined
  next: Core.Waiter<number> | undefined = undefined
  queued = false
  constructor(
    readonly real: Real,
    readonly id: number,
    readonly deadline: number,
    readonly priority = 0
  ) {}
  grant(entry: Core.Entry<number>) {
    this.real.events.push({ waiter: this.id, granted: entry.id })
    this.real.held.push(entry)
  }
  reject(reason: unknown) {
    this.real.events.push({ waiter: this.id, rejected: reason === "timeout" ? "timeout" : "failure" })
  }
}

export const makeEntry = (real: Real, lifetime: number): Core.Entry<number> => {
  const id = real.state.nextId++
  return {
    resource: id,
    id,
    createdAt: real.now,
    retireAt: real.now + lifetime,
    idleSince: real.now,
    uses: 0,
    checkedOutAt: 0,
    holder: undefined,
    leakReported: false,
    afterUse: undefined
  }
}

export const destroyed = (real: Real, entry: Core.Entry<number> | undefined) => {
  if (entry === undefined) return
  expect(real.destroyed.has(entry.id), `resource #${entry.id} destroyed twice`).toBe(false)
  real.destroyed.add(entry.id)
}

// ---- the reference model: plain arrays, counts recomputed from them -----------------------

export interface IdleResource {
  readonly id: number
  readonly idleSince: number
  readonly retireAt: number
}

export interface Model {
  readonly config: Config
  now: number
  /** in the order they became idle (the longest idle first) */
  idle: Array<IdleResource>
  /** resources in callers' hands, in the order they got them, with when they retire */
  inUse: Array<{ readonly id: number; readonly retireAt: number }>
  creating: number
  /** by priority (0 first), first come, first served within one */
  waiters: Array<{ readonly id: number; readonly deadline: number; readonly priority: number }>
  closed: boolean
  created: number
  destroyed: number
  timeouts: number
  /** checkouts refused over maxWaiting */
  exhausted: number
  acquireFailures: number
  acquireTimeouts: number
  lastAcquireFailureAt: number
  lastAcquireSuccessAt: number
  abandoned: number
  nextId: number
  nextWaiter: number
  /** what waiters must receive during the current step */
  expected: Array<Event>
}

export const max = (m: Model) => m.config.size + m.config.maxOverflow
export const modelTotal = (m: Model) => m.idle.length + m.inUse.length + m.creating

/**
 * The documented rule: one acquisition per waiter not covered by one in flight, within
 * size + maxOverflow; with `forMinIdle`, also enough to bring idle resources up to minIdle,
 * within size. Whichever asks for more wins; nothing starts once closed.
 */
export const topUp = (m: Model, forMinIdle: boolean) => {
  if (m.closed) return
  const total = modelTotal(m)
  const forWaiters = Math.min(m.waiters.length - m.creating, max(m) - total)
  const forIdle = forMinIdle ? Math.min(m.config.minIdle - m.idle.length - m.creating, m.config.size - total) : 0
  m.creating += Math.max(0, forWaiters, forIdle)
}

/** a resource becomes available: the first waiter gets it, or it goes idle */
export const arrive = (m: Model, resource: { readonly id: number; readonly retireAt: number }) => {
  const waiter = m.waiters.shift()
  if (waiter !== undefined) {
    m.inUse.push(resource)
    m.expected.push({ waiter: waiter.id, granted: resource.id })
    return
  }
  m.idle.push({ ...resource, idleSince: m.now })
}

export const expireModel = (model: Model) => {
  for (const waiter of model.waiters) {
    if (waiter.deadline > model.now) continue
    model.timeouts++
    model.expected.push({ waiter: waiter.id, rejected: "timeout" })
  }
  model.waiters = model.waiters.filter((waiter) => waiter.deadline > model.now)
}

// ---- comparison and invariants ------------------------------------------------------------

export const waitersOf = (state: Core.State<number>): Array<TestWaiter> => {
  const queue: Array<TestWaiter> = []
  let previous: Core.Waiter<number> | undefined
  for (let waiter = state.head; waiter !== undefined; waiter = waiter.next) {
    expect(waiter.prev, "the queue's back links").toBe(previous)
    expect(waiter.queued).toBe(true)
    queue.push(waiter as TestWaiter)
    previous = waiter
  }
  expect(state.tail, "the queue's tail").toBe(previous)
  return queue
}

export const check = (model: Model, real: Real) => {
  const state = real.state
  const queue = waitersOf(state)
  const total = Core.total(state)
  const idleIds = state.idle.map((entry) => entry.id)
  const heldIds = real.held.map((entry) => entry.id)

  // the core agrees with the model, step by step
  expect(real.events, "who was served, rejected or dropped, in order").toEqual(model.expected)
  expect(idleIds, "idle resources, in order").toEqual(model.idle.map((resource) => resource.id))
  expect(state.idle.map((entry) => entry.idleSince)).toEqual(model.idle.map((resource) => resource.idleSince))
  expect(heldIds, "resources in use").toEqual(model.inUse.map((resource) => resource.id))
  expect(
    queue.map((waiter) => waiter.id),
    "the queue"
  ).toEqual(model.waiters.map((waiter) => waiter.id))
  expect({
    inUse: state.inUse,
    creating: state.creating,
    waiting: state.waiting,
    closed: state.closed,
    created: state.created,
    destroyed: state.destroyed,
    timeouts: state.timeouts,
    exhausted: state.exhausted,
    acquireFailures: state.acquireFailures,
    acquireTimeouts: state.acquireTimeouts,
    lastAcquireFailureAt: state.lastAcquireFailureAt,
    lastAcquireSuccessAt: state.lastAcquireSuccessAt
  }).toEqual({
    inUse: model.inUse.length,
    creating: model.creating,
    waiting: model.waiters.length,
    closed: model.closed,
    created: model.created,
    destroyed: model.destroyed,
    timeouts: model.timeouts,
    exhausted: model.exhausted,
    acquireFailures: model.acquireFailures,
    acquireTimeouts: model.acquireTimeouts,
    lastAcquireFailureAt: model.lastAcquireFailureAt,
    lastAcquireSuccessAt: model.lastAcquireSuccessAt
  })

  // invariants of the core's state alone
  // above it only after a shrinking resize, while resources in use (or in creation) outnumber it
  if (!state.shrinking) expect(total, "never more than size + maxOverflow").toBeLessThanOrEqual(state.config.max)
  else expect(state.idle.length === 0 || total <= state.config.max, "a shrunk pool keeps nothing idle above its maximum").toBe(true)
  expect(Core.overflow(state)).toBe(Math.max(0, total - state.config.size))
  expect(new Set([...idleIds, ...heldIds]).size, "no resource both idle and in use (or twice in one)").toBe(idleIds.length + heldIds.length)
  for (const id of [...idleIds, ...heldIds]) expect(real.destroyed.has(id), `resource #${id} used after release`).toBe(false)
  expect(state.inUse, "inUse counts the resources in callers' hands").toBe(real.held.length)
  expect(state.waiting).toBe(queue.length)
  expect(state.created - state.destroyed, "every created resource is idle, in use or destroyed").toBe(state.idle.length + state.inUse)
  for (let i = 1; i < queue.length; i++) {
    expect(queue[i]!.priority, "waiters queue by priority").toBeGreaterThanOrEqual(queue[i - 1]!.priority)
  }
  if (state.waiting > 0) expect(state.idle.length, "nobody waits while a resource is idle").toBe(0)
  if (state.closed) expect([state.waiting, state.idle.length], "a closed pool keeps nothing idle, nobody waiting").toEqual([0, 0])
  else if (state.waiting > state.creating) {
    expect(total, "every waiter has an acquisition in flight, unless the pool is full").toBeGreaterThanOrEqual(state.config.max)
  }
}

/** runs one step on both sides, then compares them and checks the invariants */
export const step = (model: Model, real: Real, onModel: () => void, onReal: () => void) => {
  model.expected = []
  real.events.length = 0
  onModel()
  onReal()
  check(model, real)
}

// ---- the property ---------------------------------------------------------------------------

export const setup = (c: Config) => () => {
  const state = Core.make<number>({
    size: c.size,
    max: c.size + c.maxOverflow,
    minIdle: c.minIdle,
    maxWaiting: c.maxWaiting,
    lifo: c.lifo,
    evictToMinIdle: c.evictToMinIdle
  })
  const real: Real = { state, now: 0, held: [], abandoned: 0, destroyed: new Set(), events: [], nextWaiter: 0 }
  const model: Model = {
    config: c,
    now: 0,
    idle: [],
    inUse: [],
    creating: 0,
    waiters: [],
    closed: false,
    created: 0,
    destroyed: 0,
    timeouts: 0,
    exhausted: 0,
    acquireFailures: 0,
    acquireTimeouts: 0,
    lastAcquireFailureAt: -Infinity,
    lastAcquireSuccessAt: -Infinity,
    abandoned: 0,
    nextId: 0,
    nextWaiter: 0,
    expected: []
  }
  // the shell starts the minIdle acquisitions when it is built
  step(
    model,
    real,
    () => topUp(model, true),
    () => Core.creationsToStart(state, true)
  )
  return { model, real }
}
