/**
 * Model-based test of the pool's state machine (`src/internal/pool/core.ts`): random command
 * sequences (checkout, return, destroy, acquisitions that succeed, fail, time out, arrive
 * late or are interrupted at shutdown, waiters that time out or leave, housekeeping, clock
 * advances, shutdown) run through the core, driven the way the shell drives it, and through
 * a small reference model written from the documented rules. After every step the two must
 * agree, and the core's state must satisfy the pool's invariants on its own.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as Core from "../../../src/internal/pool/core.js"

// ---- configuration -----------------------------------------------------------------------

interface Config {
  readonly size: number
  readonly maxOverflow: number
  readonly minIdle: number
  readonly lifo: boolean
  readonly checkoutTimeout: number
  readonly idleTimeout: number
  /** Infinity: resources never retire */
  readonly lifetime: number
}

const config: fc.Arbitrary<Config> = fc
  .record({
    size: fc.integer({ min: 1, max: 4 }),
    maxOverflow: fc.integer({ min: 0, max: 3 }),
    minIdle: fc.integer({ min: 0, max: 4 }),
    lifo: fc.boolean(),
    checkoutTimeout: fc.integer({ min: 1, max: 6 }),
    idleTimeout: fc.integer({ min: 1, max: 6 }),
    lifetime: fc.oneof(fc.constant(Infinity), fc.integer({ min: 1, max: 12 }))
  })
  .map((c) => ({ ...c, minIdle: Math.min(c.minIdle, c.size) }))

// ---- the real system: the core, driven as the shell drives it -----------------------------

type Event =
  | { readonly waiter: number; readonly granted: number }
  | { readonly waiter: number; readonly rejected: "timeout" | "failure" }
  | { readonly waiter: number; readonly dropped: true }

interface Real {
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

class TestWaiter implements Core.Waiter<number> {
  prev: Core.Waiter<number> | undefined = undefined
  next: Core.Waiter<number> | undefined = undefined
  queued = false
  constructor(readonly real: Real, readonly id: number, readonly deadline: number) {}
  grant(entry: Core.Entry<number>) {
    this.real.events.push({ waiter: this.id, granted: entry.id })
    this.real.held.push(entry)
  }
  reject(reason: unknown) {
    this.real.events.push({ waiter: this.id, rejected: reason === "timeout" ? "timeout" : "failure" })
  }
}

const makeEntry = (real: Real, lifetime: number): Core.Entry<number> => {
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

const destroyed = (real: Real, entry: Core.Entry<number> | undefined) => {
  if (entry === undefined) return
  expect(real.destroyed.has(entry.id), `resource #${entry.id} destroyed twice`).toBe(false)
  real.destroyed.add(entry.id)
}

// ---- the reference model: plain arrays, counts recomputed from them -----------------------

interface IdleResource {
  readonly id: number
  readonly idleSince: number
  readonly retireAt: number
}

interface Model {
  readonly config: Config
  now: number
  /** in the order they became idle (the longest idle first) */
  idle: Array<IdleResource>
  /** resources in callers' hands, in the order they got them, with when they retire */
  inUse: Array<{ readonly id: number; readonly retireAt: number }>
  creating: number
  /** first come, first served */
  waiters: Array<{ readonly id: number; readonly deadline: number }>
  closed: boolean
  created: number
  destroyed: number
  timeouts: number
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

const max = (m: Model) => m.config.size + m.config.maxOverflow
const modelTotal = (m: Model) => m.idle.length + m.inUse.length + m.creating

/**
 * The documented rule: one acquisition per waiter not covered by one in flight, within
 * size + maxOverflow; with `forMinIdle`, also enough to bring idle resources up to minIdle,
 * within size. Whichever asks for more wins; nothing starts once closed.
 */
const topUp = (m: Model, forMinIdle: boolean) => {
  if (m.closed) return
  const total = modelTotal(m)
  const forWaiters = Math.min(m.waiters.length - m.creating, max(m) - total)
  const forIdle = forMinIdle ? Math.min(m.config.minIdle - m.idle.length - m.creating, m.config.size - total) : 0
  m.creating += Math.max(0, forWaiters, forIdle)
}

/** a resource becomes available: the first waiter gets it, or it goes idle */
const arrive = (m: Model, resource: { readonly id: number; readonly retireAt: number }) => {
  const waiter = m.waiters.shift()
  if (waiter !== undefined) {
    m.inUse.push(resource)
    m.expected.push({ waiter: waiter.id, granted: resource.id })
    return
  }
  m.idle.push({ ...resource, idleSince: m.now })
}

// ---- commands ----------------------------------------------------------------------------

type Command = fc.Command<Model, Real>

/** runs one step on both sides, then compares them and checks the invariants */
const step = (model: Model, real: Real, onModel: () => void, onReal: () => void) => {
  model.expected = []
  real.events.length = 0
  onModel()
  onReal()
  check(model, real)
}

class Checkout implements Command {
  check = () => true
  run(model: Model, real: Real) {
    step(model, real, () => {
      if (model.closed) return // the shell interrupts the caller
      if (model.waiters.length === 0 && model.idle.length > 0) {
        const taken = model.config.lifo ? model.idle.pop()! : model.idle.shift()!
        model.inUse.push({ id: taken.id, retireAt: taken.retireAt })
        return
      }
      model.waiters.push({ id: model.nextWaiter++, deadline: model.now + model.config.checkoutTimeout })
      topUp(model, false)
    }, () => {
      const taken = Core.takeIdle(real.state)
      if (taken !== undefined) {
        real.held.push(taken)
        return
      }
      if (real.state.closed) return
      Core.enqueue(real.state, new TestWaiter(real, real.nextWaiter++, real.now + model.config.checkoutTimeout))
      Core.creationsToStart(real.state, false)
    })
  }
  toString = () => "checkout"
}

/** a caller gives its resource back; `doom`: its use died (or it failed validation) */
class Return implements Command {
  constructor(readonly index: number, readonly doom: boolean) {}
  check = (model: Readonly<Model>) => model.inUse.length > 0
  run(model: Model, real: Real) {
    step(model, real, () => {
      const [resource] = model.inUse.splice(this.index % model.inUse.length, 1)
      if (this.doom || model.closed || model.now >= resource!.retireAt) {
        model.destroyed++
        topUp(model, true)
        return
      }
      arrive(model, resource!)
    }, () => {
      const [entry] = real.held.splice(this.index % real.held.length, 1)
      const doomed = Core.checkin(real.state, entry!, real.now, this.doom)
      if (doomed !== undefined) {
        destroyed(real, doomed)
        Core.creationsToStart(real.state, true)
      }
    })
  }
  toString = () => `${this.doom ? "destroy" : "return"}(${this.index})`
}

class CreateSucceeds implements Command {
  check = (model: Readonly<Model>) => model.creating > 0
  run(model: Model, real: Real) {
    step(model, real, () => {
      model.creating--
      model.created++
      model.lastAcquireSuccessAt = model.now
      const id = model.nextId++
      if (model.closed) {
        model.destroyed++
        return
      }
      arrive(model, { id, retireAt: model.now + model.config.lifetime })
    }, () => {
      destroyed(real, Core.created(real.state, makeEntry(real, model.config.lifetime)))
    })
  }
  toString = () => "create-succeeds"
}

class CreateFails implements Command {
  check = (model: Readonly<Model>) => model.creating > 0
  run(model: Model, real: Real) {
    step(model, real, () => {
      model.creating--
      model.acquireFailures++
      model.lastAcquireFailureAt = model.now
      const waiter = model.waiters.shift()
      if (waiter !== undefined) model.expected.push({ waiter: waiter.id, rejected: "failure" })
      topUp(model, false)
    }, () => {
      Core.createFailed(real.state, "acquire failed", real.now)
      Core.creationsToStart(real.state, false)
    })
  }
  toString = () => "create-fails"
}

class CreateTimesOut implements Command {
  check = (model: Readonly<Model>) => model.creating > 0
  run(model: Model, real: Real) {
    step(model, real, () => {
      model.creating--
      model.acquireFailures++
      model.acquireTimeouts++
      model.lastAcquireFailureAt = model.now
      model.abandoned++
      topUp(model, false)
    }, () => {
      Core.createTimedOut(real.state, real.now)
      real.abandoned++
      Core.creationsToStart(real.state, false)
    })
  }
  toString = () => "create-times-out"
}

/** a timed-out acquisition ends after all: a resource it returns is released, never pooled */
class LateArrival implements Command {
  constructor(readonly succeeded: boolean) {}
  check = (model: Readonly<Model>) => model.abandoned > 0
  run(model: Model, real: Real) {
    step(model, real, () => {
      model.abandoned--
      if (!this.succeeded) return
      model.nextId++
      model.created++
      model.destroyed++
    }, () => {
      real.abandoned--
      if (!this.succeeded) return
      Core.createdTooLate(real.state)
      destroyed(real, makeEntry(real, model.config.lifetime))
    })
  }
  toString = () => `late-arrival(${this.succeeded ? "resource" : "failure"})`
}

/** shutdown interrupted an acquisition in flight */
class CreateInterrupted implements Command {
  check = (model: Readonly<Model>) => model.closed && model.creating > 0
  run(model: Model, real: Real) {
    step(model, real, () => {
      model.creating--
    }, () => Core.createAborted(real.state))
  }
  toString = () => "create-interrupted"
}

/** the clock reaches the first waiter's deadline and the timer fires */
class WaiterTimesOut implements Command {
  check = (model: Readonly<Model>) => model.waiters.length > 0
  run(model: Model, real: Real) {
    step(model, real, () => {
      model.now = Math.max(model.now, model.waiters[0]!.deadline)
      expireModel(model)
    }, () => {
      real.now = Math.max(real.now, real.state.head!.deadline)
      Core.expireWaiters(real.state, real.now)
    })
  }
  toString = () => "waiter-times-out"
}

const expireModel = (model: Model) => {
  for (const waiter of model.waiters) {
    if (waiter.deadline > model.now) continue
    model.timeouts++
    model.expected.push({ waiter: waiter.id, rejected: "timeout" })
  }
  model.waiters = model.waiters.filter((waiter) => waiter.deadline > model.now)
}

/** a waiting caller is interrupted and leaves the queue */
class WaiterLeaves implements Command {
  constructor(readonly index: number) {}
  check = (model: Readonly<Model>) => model.waiters.length > 0
  run(model: Model, real: Real) {
    step(model, real, () => {
      model.waiters.splice(this.index % model.waiters.length, 1)
    }, () => {
      const queue = waitersOf(real.state)
      Core.dequeue(real.state, queue[this.index % queue.length]!)
    })
  }
  toString = () => `waiter-leaves(${this.index})`
}

/** time passes; the timer fires (expiring the waiters due) only when `timerRuns` */
class Advance implements Command {
  constructor(readonly millis: number, readonly timerRuns: boolean) {}
  check = () => true
  run(model: Model, real: Real) {
    step(model, real, () => {
      model.now += this.millis
      if (this.timerRuns) expireModel(model)
    }, () => {
      real.now += this.millis
      if (this.timerRuns) Core.expireWaiters(real.state, real.now)
    })
  }
  toString = () => `advance(${this.millis}${this.timerRuns ? ", timer" : ""})`
}

class Housekeeping implements Command {
  check = () => true
  run(model: Model, real: Real) {
    step(model, real, () => {
      const before = model.idle.length
      model.idle = model.idle.filter((resource) => model.now < resource.retireAt)
      // the longest idle first, never below size
      while (
        model.idle.length > 0 && modelTotal(model) > model.config.size &&
        model.now - model.idle[0]!.idleSince >= model.config.idleTimeout
      ) model.idle.shift()
      model.destroyed += before - model.idle.length
      topUp(model, true)
    }, () => {
      for (const entry of Core.evict(real.state, real.now, model.config.idleTimeout)) destroyed(real, entry)
      Core.creationsToStart(real.state, true)
    })
  }
  toString = () => "housekeeping"
}

class Close implements Command {
  check = (model: Readonly<Model>) => !model.closed
  run(model: Model, real: Real) {
    step(model, real, () => {
      model.closed = true
      model.destroyed += model.idle.length
      model.idle = []
      for (const waiter of model.waiters) model.expected.push({ waiter: waiter.id, dropped: true })
      model.waiters = []
    }, () => {
      const { idle, waiters } = Core.close(real.state)
      for (const entry of idle) destroyed(real, entry)
      for (const waiter of waiters) real.events.push({ waiter: (waiter as TestWaiter).id, dropped: true })
    })
  }
  toString = () => "close"
}

// weighted so that runs fill the pool, overflow it and queue waiters often; the rare
// commands (shutdown above all) still show up in most runs
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 10, arbitrary: fc.constant(new Checkout()) },
  { weight: 6, arbitrary: fc.nat(7).map((index) => new Return(index, false)) },
  { weight: 3, arbitrary: fc.nat(7).map((index) => new Return(index, true)) },
  { weight: 8, arbitrary: fc.constant(new CreateSucceeds()) },
  { weight: 2, arbitrary: fc.constant(new CreateFails()) },
  { weight: 2, arbitrary: fc.constant(new CreateTimesOut()) },
  { weight: 2, arbitrary: fc.boolean().map((succeeded) => new LateArrival(succeeded)) },
  { weight: 1, arbitrary: fc.constant(new CreateInterrupted()) },
  { weight: 2, arbitrary: fc.constant(new WaiterTimesOut()) },
  { weight: 2, arbitrary: fc.nat(7).map((index) => new WaiterLeaves(index)) },
  {
    weight: 3,
    arbitrary: fc.tuple(fc.integer({ min: 0, max: 4 }), fc.boolean()).map(([millis, timer]) => new Advance(millis, timer))
  },
  { weight: 3, arbitrary: fc.constant(new Housekeeping()) },
  { weight: 1, arbitrary: fc.constant(new Close()) }
)
const commands = fc.commands([command], { maxCommands: 100, size: "max" })

// ---- comparison and invariants ------------------------------------------------------------

const waitersOf = (state: Core.State<number>): Array<TestWaiter> => {
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

const check = (model: Model, real: Real) => {
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
  expect(queue.map((waiter) => waiter.id), "the queue").toEqual(model.waiters.map((waiter) => waiter.id))
  expect({
    inUse: state.inUse,
    creating: state.creating,
    waiting: state.waiting,
    closed: state.closed,
    created: state.created,
    destroyed: state.destroyed,
    timeouts: state.timeouts,
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
    acquireFailures: model.acquireFailures,
    acquireTimeouts: model.acquireTimeouts,
    lastAcquireFailureAt: model.lastAcquireFailureAt,
    lastAcquireSuccessAt: model.lastAcquireSuccessAt
  })

  // invariants of the core's state alone
  expect(total, "never more than size + maxOverflow").toBeLessThanOrEqual(state.config.max)
  expect(Core.overflow(state)).toBe(Math.max(0, total - state.config.size))
  expect(new Set([...idleIds, ...heldIds]).size, "no resource both idle and in use (or twice in one)").toBe(
    idleIds.length + heldIds.length
  )
  for (const id of [...idleIds, ...heldIds]) expect(real.destroyed.has(id), `resource #${id} used after release`).toBe(false)
  expect(state.inUse, "inUse counts the resources in callers' hands").toBe(real.held.length)
  expect(state.waiting).toBe(queue.length)
  expect(state.created - state.destroyed, "every created resource is idle, in use or destroyed").toBe(
    state.idle.length + state.inUse
  )
  for (let i = 1; i < queue.length; i++) {
    expect(queue[i]!.deadline, "waiters queue in deadline order").toBeGreaterThanOrEqual(queue[i - 1]!.deadline)
  }
  if (state.waiting > 0) expect(state.idle.length, "nobody waits while a resource is idle").toBe(0)
  if (state.closed) expect([state.waiting, state.idle.length], "a closed pool keeps nothing idle, nobody waiting").toEqual([0, 0])
  else if (state.waiting > state.creating) {
    expect(total, "every waiter has an acquisition in flight, unless the pool is full").toBe(state.config.max)
  }
}

// ---- the property ---------------------------------------------------------------------------

const setup = (c: Config) => () => {
  const state = Core.make<number>({ size: c.size, max: c.size + c.maxOverflow, minIdle: c.minIdle, lifo: c.lifo })
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
  step(model, real, () => topUp(model, true), () => Core.creationsToStart(state, true))
  return { model, real }
}

describe("Pool core (model-based)", () => {
  it("agrees with the reference model on every step; capacity, exclusivity, FIFO service and liveness hold throughout", () => {
    fc.assert(
      fc.property(config, commands, (c, cmds) => {
        fc.modelRun(setup(c), cmds)
      }),
      { numRuns: Number(process.env.POOL_MODEL_RUNS ?? 500) }
    )
  })
})
