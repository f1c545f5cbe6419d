/**
 * The bulkhead's state machine (`src/internal/bulkhead/core.ts`) driven directly, and a
 * model-based property test: random sequences of calls, completions, waiters leaving, clock
 * advances and reconfigurations, after each of which the core must agree with a reference
 * model written from the documented rules, and never be over its limit or lose a slot.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as Core from "../../../src/internal/bulkhead/core.js"
import type { Resolved } from "../../../src/internal/bulkhead/options.js"

class TestWaiter implements Core.Waiter {
  prev: Core.Waiter | undefined = undefined
  next: Core.Waiter | undefined = undefined
  queued = false
  granted = false
  deadline = Infinity
  outcome: "granted" | Core.Rejection | undefined = undefined
  constructor(
    readonly id: number,
    readonly enqueuedAt: number,
    readonly log: Array<string>
  ) {}
  grant() {
    if (this.outcome !== undefined) throw new Error(`waiter ${this.id} settled twice`)
    this.outcome = "granted"
    this.log.push(`grant ${this.id}`)
  }
  reject(reason: Core.Rejection) {
    if (this.outcome !== undefined) throw new Error(`waiter ${this.id} settled twice`)
    this.outcome = reason
    this.log.push(`${reason} ${this.id}`)
  }
}

const limits = (maxConcurrent: number, maxWaiting: number, waitTimeoutMillis: number): Resolved => ({
  maxConcurrent,
  maxWaiting,
  waitTimeoutMillis
})

const queueOf = (state: Core.State): Array<number> => {
  const ids: Array<number> = []
  for (let w = state.head; w !== undefined; w = w.next) ids.push((w as TestWaiter).id)
  return ids
}

describe("Bulkhead core", () => {
  it("admits at once up to maxConcurrent, then queues up to maxWaiting, then rejects", () => {
    const log: Array<string> = []
    const state = Core.make(limits(2, 1, 100))
    expect(Core.tryAcquire(state)).toBe(true)
    expect(Core.tryAcquire(state)).toBe(true)
    expect(Core.tryAcquire(state)).toBe(false)
    const first = new TestWaiter(0, 0, log)
    expect(Core.enqueue(state, first)).toBe(true)
    expect(first.deadline).toBe(100)
    expect(Core.enqueue(state, new TestWaiter(1, 5, log))).toBe(false)
    expect([state.running, state.waiting, state.rejected, state.lastRejectedAt]).toEqual([2, 1, 1, 5])
  })

  it("a release hands the slot to the first waiter; a newcomer never overtakes it", () => {
    const log: Array<string> = []
    const state = Core.make(limits(1, 5, 100))
    Core.tryAcquire(state)
    const waiters = [0, 1].map((id) => new TestWaiter(id, 0, log))
    for (const w of waiters) Core.enqueue(state, w)
    Core.release(state)
    expect(log).toEqual(["grant 0"])
    expect(waiters[0]!.granted).toBe(true)
    expect([state.running, state.waiting]).toEqual([1, 1])
    expect(Core.tryAcquire(state)).toBe(false)
  })

  it("a waiter that leaves holds nothing and keeps the queue linked", () => {
    const log: Array<string> = []
    const state = Core.make(limits(1, 5, 100))
    Core.tryAcquire(state)
    const waiters = [0, 1, 2].map((id) => new TestWaiter(id, 0, log))
    for (const w of waiters) Core.enqueue(state, w)
    Core.leave(state, waiters[1]!)
    Core.leave(state, waiters[1]!)
    expect(queueOf(state)).toEqual([0, 2])
    Core.release(state)
    Core.release(state)
    expect(log).toEqual(["grant 0", "grant 2"])
  })

  it("expire turns away the head waiters whose deadline came", () => {
    const log: Array<string> = []
    const state = Core.make(limits(1, 5, 100))
    Core.tryAcquire(state)
    Core.enqueue(state, new TestWaiter(0, 0, log))
    Core.enqueue(state, new TestWaiter(1, 50, log))
    Core.expire(state, 99)
    expect(log).toEqual([])
    Core.expire(state, 120)
    expect(log).toEqual(["timeout 0"])
    expect([state.waiting, state.timedOut, state.lastRejectedAt]).toEqual([1, 1, 120])
  })

  it("configure: a lowered limit lets running calls finish and admits only below it", () => {
    const log: Array<string> = []
    const state = Core.make(limits(3, 5, 100))
    for (let i = 0; i < 3; i++) Core.tryAcquire(state)
    Core.enqueue(state, new TestWaiter(0, 0, log))
    Core.configure(state, limits(1, 5, 100), 0)
    expect(state.running).toBe(3)
    Core.release(state)
    Core.release(state)
    expect(log).toEqual([])
    Core.release(state)
    expect(log).toEqual(["grant 0"])
    expect(state.running).toBe(1)
  })

  it("configure: a lowered maxWaiting rejects the latest waiters; a raised limit admits at once", () => {
    const log: Array<string> = []
    const state = Core.make(limits(1, 5, 100))
    Core.tryAcquire(state)
    for (let id = 0; id < 4; id++) Core.enqueue(state, new TestWaiter(id, 0, log))
    Core.configure(state, limits(1, 2, 100), 10)
    expect(log).toEqual(["queue_full 3", "queue_full 2"])
    Core.configure(state, limits(2, 2, 100), 10)
    expect(log).toEqual(["queue_full 3", "queue_full 2", "grant 0"])
    expect(queueOf(state)).toEqual([1])
  })

  it("configure: a new waitTimeout moves every waiter's deadline, from when it started", () => {
    const log: Array<string> = []
    const state = Core.make(limits(1, 5, 1000))
    Core.tryAcquire(state)
    Core.enqueue(state, new TestWaiter(0, 0, log))
    Core.enqueue(state, new TestWaiter(1, 300, log))
    Core.configure(state, limits(1, 5, 200), 400)
    expect(log).toEqual(["timeout 0"])
    expect(state.head!.deadline).toBe(500)
  })

  it("drain takes every waiter out", () => {
    const log: Array<string> = []
    const state = Core.make(limits(1, 5, 100))
    Core.tryAcquire(state)
    for (let id = 0; id < 3; id++) Core.enqueue(state, new TestWaiter(id, 0, log))
    expect(Core.drain(state).map((w) => (w as TestWaiter).id)).toEqual([0, 1, 2])
    expect([state.waiting, state.head, state.tail]).toEqual([0, undefined, undefined])
  })
})

// ---- the model -----------------------------------------------------------------------------

type Command =
  | { readonly _tag: "call" }
  | { readonly _tag: "finish"; readonly pick: number }
  | { readonly _tag: "leave"; readonly pick: number }
  | { readonly _tag: "advance"; readonly millis: number }
  | { readonly _tag: "configure"; readonly maxConcurrent: number; readonly maxWaiting: number; readonly waitTimeout: number }

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ _tag: "call" as const }) },
  { weight: 3, arbitrary: fc.nat(50).map((pick) => ({ _tag: "finish" as const, pick })) },
  { weight: 1, arbitrary: fc.nat(50).map((pick) => ({ _tag: "leave" as const, pick })) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 60 }).map((millis) => ({ _tag: "advance" as const, millis })) },
  {
    weight: 1,
    arbitrary: fc.record({
      _tag: fc.constant("configure" as const),
      maxConcurrent: fc.integer({ min: 1, max: 5 }),
      maxWaiting: fc.integer({ min: 0, max: 5 }),
      waitTimeout: fc.integer({ min: 1, max: 100 })
    })
  }
)

interface ModelWaiter {
  readonly id: number
  readonly enqueuedAt: number
}

describe("Bulkhead core properties", () => {
  it("agrees with the model, is never over its limit to a newcomer and never loses a slot", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 1, max: 100 }),
        fc.array(command, { maxLength: 120 }),
        (maxConcurrent, maxWaiting, waitTimeout, commands) => {
          const log: Array<string> = []
          const state = Core.make(limits(maxConcurrent, maxWaiting, waitTimeout))
          // the model: holders, the FIFO queue, the limits
          let model = { maxConcurrent, maxWaiting, waitTimeout }
          let holders = 0
          const queue: Array<ModelWaiter> = []
          let now = 0
          let nextId = 0
          const real = new Map<number, TestWaiter>()
          const modelLog: Array<string> = []
          const admit = () => {
            while (holders < model.maxConcurrent && queue.length > 0) {
              const w = queue.shift()!
              holders++
              modelLog.push(`grant ${w.id}`)
            }
          }
          const expire = () => {
            while (queue.length > 0 && queue[0]!.enqueuedAt + model.waitTimeout <= now) modelLog.push(`timeout ${queue.shift()!.id}`)
          }
          for (const c of commands) {
            const runningBefore = state.running
            switch (c._tag) {
              case "call": {
                const id = nextId++
                if (holders < model.maxConcurrent && queue.length === 0) holders++
                else if (queue.length < model.maxWaiting) queue.push({ id, enqueuedAt: now })
                if (Core.tryAcquire(state)) break
                const w = new TestWaiter(id, now, log)
                if (Core.enqueue(state, w)) real.set(id, w)
                // an admission never takes the bulkhead over its limit
                expect(state.running).toBeLessThanOrEqual(Math.max(runningBefore, state.maxConcurrent))
                break
              }
              case "finish": {
                if (holders === 0) break
                holders--
                admit()
                Core.release(state)
                break
              }
              case "leave": {
                if (queue.length === 0) break
                const [w] = queue.splice(c.pick % queue.length, 1)
                Core.leave(state, real.get(w!.id)!)
                break
              }
              case "advance": {
                now += c.millis
                expire()
                Core.expire(state, now)
                break
              }
              case "configure": {
                model = { maxConcurrent: c.maxConcurrent, maxWaiting: c.maxWaiting, waitTimeout: c.waitTimeout }
                while (queue.length > model.maxWaiting) modelLog.push(`queue_full ${queue.pop()!.id}`)
                admit()
                expire()
                Core.configure(state, limits(c.maxConcurrent, c.maxWaiting, c.waitTimeout), now)
                break
              }
            }
            // the model and the core agree, and no slot is lost or made up
            expect(log).toEqual(modelLog)
            expect(state.running).toBe(holders)
            expect(queueOf(state)).toEqual(queue.map((w) => w.id))
            expect(state.waiting).toBe(queue.length)
            expect(state.waiting).toBeLessThanOrEqual(state.maxWaiting)
            // nobody waits while a slot under the limit is free
            if (state.waiting > 0) expect(state.running).toBeGreaterThanOrEqual(state.maxConcurrent)
          }
          // everyone gives their slot back: the bulkhead is empty again
          while (holders > 0) {
            holders--
            admit()
            Core.release(state)
          }
          expect(state.running).toBe(0)
          expect(state.waiting).toBe(0)
        }
      ),
      { numRuns: 500 }
    )
  })
})
