/**
 * The timer lists behind the shared timeout, directly and against a model (a plain array of
 * pending timers): adds with random durations, removals, a clock that moves forward (and,
 * like a corrected wall clock, sometimes back), and expiry.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as Wheel from "../../../src/internal/runtime/timerWheel.js"

interface Entry extends Wheel.Timer {
  readonly id: number
}

const entry = (id: number): Entry => ({ id, ...Wheel.unscheduled })

describe("timer wheel", () => {
  it("expires due timers earliest first, ties in insertion order", () => {
    const wheel = Wheel.make()
    const [a, b, c, d] = [entry(0), entry(1), entry(2), entry(3)]
    expect(Wheel.add(wheel, a, 20, 0)).toBe(true)
    expect(Wheel.add(wheel, b, 10, 0)).toBe(true)
    expect(Wheel.add(wheel, c, 20, 0)).toBe(false)
    expect(Wheel.add(wheel, d, 5, 5)).toBe(false)
    expect(Wheel.nextDeadline(wheel)).toBe(10)
    const seen: Array<number> = []
    Wheel.expire<Entry>(wheel, 20, (t) => seen.push(t.id))
    expect(seen).toEqual([1, 3, 0, 2])
    expect(wheel.size).toBe(0)
    expect(Wheel.nextDeadline(wheel)).toBeUndefined()
    // emptied lists are kept for the next timers of their durations, a bounded number of them
    expect([...wheel.lists.values()].every((list) => list.head === undefined)).toBe(true)
  })

  it("keeps at most a bounded number of empty lists", () => {
    const wheel = Wheel.make()
    for (let duration = 1; duration <= 100; duration++) {
      const t = entry(duration)
      Wheel.add(wheel, t, duration, 0)
      Wheel.remove(wheel, t)
    }
    expect(wheel.size).toBe(0)
    expect(wheel.lists.size).toBeLessThanOrEqual(17)
    const t = entry(0)
    Wheel.add(wheel, t, 7, 0)
    expect(Wheel.nextDeadline(wheel)).toBe(7)
  })

  it("a removed timer never expires, and removing twice is harmless", () => {
    const wheel = Wheel.make()
    const a = entry(0)
    Wheel.add(wheel, a, 10, 0)
    Wheel.remove(wheel, a)
    Wheel.remove(wheel, a)
    const seen: Array<number> = []
    Wheel.expire<Entry>(wheel, 100, (t) => seen.push(t.id))
    expect(seen).toEqual([])
    expect(Wheel.nextDeadline(wheel)).toBeUndefined()
  })

  type Op =
    | { readonly _tag: "Add"; readonly duration: number }
    | { readonly _tag: "Remove"; readonly index: number }
    | { readonly _tag: "Advance"; readonly by: number }

  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ _tag: fc.constant("Add" as const), duration: fc.constantFrom(1, 5, 10, 10, 10, 30) }),
    fc.record({ _tag: fc.constant("Remove" as const), index: fc.nat(20) }),
    fc.record({ _tag: fc.constant("Advance" as const), by: fc.integer({ min: -5, max: 15 }) })
  )

  it("agrees with a sorted array of pending timers", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const wheel = Wheel.make()
        let model: Array<{ readonly entry: Entry; readonly deadline: number; readonly order: number }> = []
        let now = 0
        let ids = 0
        for (const o of ops) {
          if (o._tag === "Add") {
            const e = entry(ids++)
            Wheel.add(wheel, e, o.duration, now)
            model.push({ entry: e, deadline: now + o.duration, order: e.id })
          } else if (o._tag === "Remove") {
            const victim = model[o.index % Math.max(1, model.length)]
            if (victim !== undefined) {
              Wheel.remove(wheel, victim.entry)
              model = model.filter((m) => m !== victim)
            }
          } else {
            now += o.by
            const seen: Array<number> = []
            Wheel.expire<Entry>(wheel, now, (t) => seen.push(t.id))
            // within one duration the lists keep deadline order; across lists, earliest first
            const due = model.filter((m) => m.deadline <= now)
            expect([...seen].sort((x, y) => x - y)).toEqual(due.map((m) => m.entry.id).sort((x, y) => x - y))
            const deadlines = seen.map((id) => due.find((m) => m.entry.id === id)!.deadline)
            expect(deadlines).toEqual([...deadlines].sort((x, y) => x - y))
            model = model.filter((m) => m.deadline > now)
          }
          expect(wheel.size).toBe(model.length)
          const earliest = model.length === 0 ? undefined : Math.min(...model.map((m) => m.deadline))
          expect(Wheel.nextDeadline(wheel)).toBe(earliest)
        }
      }),
      { numRuns: 500 }
    )
  })
})
