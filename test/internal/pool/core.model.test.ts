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
import type { Model, Real } from "./coreModel.js"
import {
  arrive,
  config,
  destroyed,
  expireModel,
  makeEntry,
  max,
  modelTotal,
  setup,
  step,
  TestWaiter,
  topUp,
  waitersOf
} from "./coreModel.js"

// ---- commands ----------------------------------------------------------------------------

type Command = fc.Command<Model, Real>

/** a checkout, with its own priority and (when `timeout` > 0) its own checkout timeout */
class Checkout implements Command {
  constructor(
    readonly priority = 0,
    readonly timeout = 0
  ) {}
  check = () => true
  run(model: Model, real: Real) {
    step(
      model,
      real,
      () => {
        if (model.closed) return // the shell interrupts the caller
        if (model.waiters.length === 0 && model.idle.length > 0) {
          const taken = model.config.lifo ? model.idle.pop()! : model.idle.shift()!
          model.inUse.push({ id: taken.id, retireAt: taken.retireAt })
          return
        }
        // generic-pool's maxWaitingClients rule: refused only at capacity with maxWaiting waiting
        if (model.waiters.length >= model.config.maxWaiting && modelTotal(model) >= model.config.size + model.config.maxOverflow) {
          model.exhausted++
          return
        }
        const deadline = model.now + (this.timeout > 0 ? this.timeout : model.config.checkoutTimeout)
        // by priority (0 first), first come, first served within one
        let at = model.waiters.length
        while (at > 0 && model.waiters[at - 1]!.priority > this.priority) at--
        model.waiters.splice(at, 0, { id: model.nextWaiter++, deadline, priority: this.priority })
        topUp(model, false)
      },
      () => {
        const taken = Core.takeIdle(real.state)
        if (taken !== undefined) {
          real.held.push(taken)
          return
        }
        if (real.state.closed || Core.refuses(real.state)) return
        const deadline = real.now + (this.timeout > 0 ? this.timeout : model.config.checkoutTimeout)
        Core.enqueue(real.state, new TestWaiter(real, real.nextWaiter++, deadline, this.priority))
        Core.creationsToStart(real.state, false)
      }
    )
  }
  toString = () => `checkout(${this.priority}, ${this.timeout})`
}

/** a caller gives its resource back; `doom`: its use died (or it failed validation) */
class Return implements Command {
  constructor(
    readonly index: number,
    readonly doom: boolean
  ) {}
  check = (model: Readonly<Model>) => model.inUse.length > 0
  run(model: Model, real: Real) {
    step(
      model,
      real,
      () => {
        const [resource] = model.inUse.splice(this.index % model.inUse.length, 1)
        // over the maximum after a shrinking resize: destroyed, not pooled (then total <= max again)
        if (this.doom || model.closed || model.now >= resource!.retireAt || modelTotal(model) + 1 > max(model)) {
          model.destroyed++
          topUp(model, true)
          return
        }
        arrive(model, resource!)
      },
      () => {
        const [entry] = real.held.splice(this.index % real.held.length, 1)
        const doomed = Core.checkin(real.state, entry!, real.now, this.doom)
        if (doomed !== undefined) {
          destroyed(real, doomed)
          Core.creationsToStart(real.state, true)
        }
      }
    )
  }
  toString = () => `${this.doom ? "destroy" : "return"}(${this.index})`
}

class CreateSucceeds implements Command {
  check = (model: Readonly<Model>) => model.creating > 0
  run(model: Model, real: Real) {
    step(
      model,
      real,
      () => {
        model.creating--
        model.created++
        model.lastAcquireSuccessAt = model.now
        const id = model.nextId++
        if (model.closed || modelTotal(model) + 1 > max(model)) {
          model.destroyed++
          return
        }
        arrive(model, { id, retireAt: model.now + model.config.lifetime })
      },
      () => {
        destroyed(real, Core.created(real.state, makeEntry(real, model.config.lifetime)))
      }
    )
  }
  toString = () => "create-succeeds"
}

class CreateFails implements Command {
  check = (model: Readonly<Model>) => model.creating > 0
  run(model: Model, real: Real) {
    step(
      model,
      real,
      () => {
        model.creating--
        model.acquireFailures++
        model.lastAcquireFailureAt = model.now
        const waiter = model.waiters.shift()
        if (waiter !== undefined) model.expected.push({ waiter: waiter.id, rejected: "failure" })
        topUp(model, false)
      },
      () => {
        Core.createFailed(real.state, "acquire failed", real.now)
        Core.creationsToStart(real.state, false)
      }
    )
  }
  toString = () => "create-fails"
}

class CreateTimesOut implements Command {
  check = (model: Readonly<Model>) => model.creating > 0
  run(model: Model, real: Real) {
    step(
      model,
      real,
      () => {
        model.creating--
        model.acquireFailures++
        model.acquireTimeouts++
        model.lastAcquireFailureAt = model.now
        model.abandoned++
        topUp(model, false)
      },
      () => {
        Core.createTimedOut(real.state, real.now)
        real.abandoned++
        Core.creationsToStart(real.state, false)
      }
    )
  }
  toString = () => "create-times-out"
}

/** a timed-out acquisition ends after all: a resource it returns is released, never pooled */
class LateArrival implements Command {
  constructor(readonly succeeded: boolean) {}
  check = (model: Readonly<Model>) => model.abandoned > 0
  run(model: Model, real: Real) {
    step(
      model,
      real,
      () => {
        model.abandoned--
        if (!this.succeeded) return
        model.nextId++
        model.created++
        model.destroyed++
      },
      () => {
        real.abandoned--
        if (!this.succeeded) return
        Core.createdTooLate(real.state)
        destroyed(real, makeEntry(real, model.config.lifetime))
      }
    )
  }
  toString = () => `late-arrival(${this.succeeded ? "resource" : "failure"})`
}

/** shutdown interrupted an acquisition in flight */
class CreateInterrupted implements Command {
  check = (model: Readonly<Model>) => model.closed && model.creating > 0
  run(model: Model, real: Real) {
    step(
      model,
      real,
      () => {
        model.creating--
      },
      () => Core.createAborted(real.state)
    )
  }
  toString = () => "create-interrupted"
}

/** the clock reaches the first waiter's deadline and the timer fires */
class WaiterTimesOut implements Command {
  check = (model: Readonly<Model>) => model.waiters.length > 0
  run(model: Model, real: Real) {
    step(
      model,
      real,
      () => {
        // the earliest deadline, which is not the head's once priorities and own timeouts mix
        model.now = Math.max(model.now, Math.min(...model.waiters.map((waiter) => waiter.deadline)))
        expireModel(model)
      },
      () => {
        real.now = Math.max(real.now, Math.min(...waitersOf(real.state).map((waiter) => waiter.deadline)))
        const next = Core.expireWaiters(real.state, real.now)
        expect(next, "the timer's next wake is the earliest deadline left").toBe(
          Math.min(Infinity, ...waitersOf(real.state).map((waiter) => waiter.deadline))
        )
      }
    )
  }
  toString = () => "waiter-times-out"
}

/** a waiting caller is interrupted and leaves the queue */
class WaiterLeaves implements Command {
  constructor(readonly index: number) {}
  check = (model: Readonly<Model>) => model.waiters.length > 0
  run(model: Model, real: Real) {
    step(
      model,
      real,
      () => {
        model.waiters.splice(this.index % model.waiters.length, 1)
      },
      () => {
        const queue = waitersOf(real.state)
        Core.dequeue(real.state, queue[this.index % queue.length]!)
      }
    )
  }
  toString = () => `waiter-leaves(${this.index})`
}

/** time passes; the timer fires (expiring the waiters due) only when `timerRuns` */
class Advance implements Command {
  constructor(
    readonly millis: number,
    readonly timerRuns: boolean
  ) {}
  check = () => true
  run(model: Model, real: Real) {
    step(
      model,
      real,
      () => {
        model.now += this.millis
        if (this.timerRuns) expireModel(model)
      },
      () => {
        real.now += this.millis
        if (this.timerRuns) Core.expireWaiters(real.state, real.now)
      }
    )
  }
  toString = () => `advance(${this.millis}${this.timerRuns ? ", timer" : ""})`
}

class Housekeeping implements Command {
  check = () => true
  run(model: Model, real: Real) {
    step(
      model,
      real,
      () => {
        const before = model.idle.length
        model.idle = model.idle.filter((resource) => model.now < resource.retireAt)
        // the longest idle first, never below size
        while (
          model.idle.length > 0 &&
          (model.config.evictToMinIdle ? model.idle.length > model.config.minIdle : modelTotal(model) > model.config.size) &&
          model.now - model.idle[0]!.idleSince >= model.config.idleTimeout
        )
          model.idle.shift()
        model.destroyed += before - model.idle.length
        topUp(model, true)
      },
      () => {
        for (const entry of Core.evict(real.state, real.now, model.config.idleTimeout)) destroyed(real, entry)
        Core.creationsToStart(real.state, true)
      }
    )
  }
  toString = () => "housekeeping"
}

class Close implements Command {
  check = (model: Readonly<Model>) => !model.closed
  run(model: Model, real: Real) {
    step(
      model,
      real,
      () => {
        model.closed = true
        model.destroyed += model.idle.length
        model.idle = []
        for (const waiter of model.waiters) model.expected.push({ waiter: waiter.id, dropped: true })
        model.waiters = []
      },
      () => {
        const { idle, waiters } = Core.close(real.state)
        for (const entry of idle) destroyed(real, entry)
        for (const waiter of waiters) real.events.push({ waiter: (waiter as TestWaiter).id, dropped: true })
      }
    )
  }
  toString = () => "close"
}

/**
 * a runtime resize: idle resources over the new maximum go at once, longest idle first;
 * those in use stay (and are destroyed when returned while over it); waiters stay queued
 */
class Resize implements Command {
  constructor(
    readonly size: number,
    readonly maxOverflow: number,
    readonly minIdle: number
  ) {}
  check = (model: Readonly<Model>) => !model.closed
  run(model: Model, real: Real) {
    const minIdle = Math.min(this.minIdle, this.size)
    step(
      model,
      real,
      () => {
        ;(model as { config: Model["config"] }).config = { ...model.config, size: this.size, maxOverflow: this.maxOverflow, minIdle }
        while (model.idle.length > 0 && modelTotal(model) > max(model)) {
          model.idle.shift()
          model.destroyed++
        }
        topUp(model, true)
      },
      () => {
        const current = real.state.config
        const removed = Core.resize(real.state, { ...current, size: this.size, max: this.size + this.maxOverflow, minIdle })
        for (const entry of removed) destroyed(real, entry)
        Core.creationsToStart(real.state, true)
      }
    )
  }
  toString = () => `resize(${this.size}, ${this.maxOverflow}, ${this.minIdle})`
}

// weighted so that runs fill the pool, overflow it and queue waiters often; the rare
// commands (shutdown above all) still show up in most runs
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 8, arbitrary: fc.constant(new Checkout()) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 8 }))
      .map(([priority, timeout]) => new Checkout(priority, timeout))
  },
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
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 4 }))
      .map(([size, maxOverflow, minIdle]) => new Resize(size, maxOverflow, minIdle))
  },
  { weight: 1, arbitrary: fc.constant(new Close()) }
)
const commands = fc.commands([command], { maxCommands: 100, size: "max" })

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
