/**
 * The MemoryManager's pure core: levels, the event-loop stage, the automatic cleanup schedule
 * and the strategy registry, driven directly and by random sequences of checks, fresh readings
 * (taken by runs), run ends, registrations and removals.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Schema } from "effect"
import type { MemoryConfig } from "../../../src/internal/memory/config.js"
import { parseMemoryOptions } from "../../../src/internal/memory/config.js"
import type { State } from "../../../src/internal/memory/manager.js"
import * as Manager from "../../../src/internal/memory/manager.js"
import type { EventLoopReading, Level, MemoryReading } from "../../../src/internal/memory/pressure.js"
import { levelIndex, levels } from "../../../src/internal/memory/pressure.js"
import { reading as heapReading } from "../../support/memoryReading.js"

const configOf = (options: Parameters<typeof parseMemoryOptions>[0] = {}): MemoryConfig => {
  const config = parseMemoryOptions(options)
  if (!("checkIntervalMillis" in config)) throw new Error(config.message)
  return config
}

/**
 * A reading; `delayMax` is the interval's longest event-loop delay. Its p99 is kept small, as
 * it is for one stall among many samples: the stage must not need it.
 */
/** Event-loop figures, in milliseconds. */
const loop = (delayMax: number, delayP99: number, delayMean: number): EventLoopReading => ({
  delayP99: Duration.millis(delayP99),
  delayMean: Duration.millis(delayMean),
  delayMax: Duration.millis(delayMax),
  utilization: 0.5
})

const reading = (ratio: number, delayMax?: number): MemoryReading =>
  heapReading(ratio, delayMax === undefined ? {} : { eventLoop: loop(delayMax, Math.min(delayMax, 5), Math.min(delayMax, 1)) })

const withStrategies = (state: State, ...names: ReadonlyArray<string>): State =>
  names.reduce((s, name, i) => Manager.register(s, name, i, Effect.void)[1], state)

/** Runs `check` and returns the decision's cleanup target, updating `cell.state`. */
const checkAt = (cell: { state: State }, ratio: number, now: number, config: MemoryConfig) => {
  const [decision, next] = Manager.check(cell.state, reading(ratio), now, config)
  cell.state = next
  return decision.cleanup
}

describe("memory manager core", () => {
  it("a reading sets the level, the ratios and the change; the same level again is no change", () => {
    const config = configOf()
    const [change, state] = Manager.observe(Manager.initial, reading(0.9), 1_000, config)
    expect(change).toEqual({ from: "low", to: "high", ratio: 0.9, changedAt: 1_000 })
    expect(state).toMatchObject({ level: "high", ratios: { ratio: 0.9, heapUsedRatio: 0.9 }, checkedAt: 1_000, shedding: undefined })
    expect(Manager.observe(state, reading(0.88), 2_000, config)[0]).toBeUndefined()
  })

  it("sheds for memory at rejectAt, else for the event loop above maxDelay; memory wins", () => {
    const config = configOf({ rejectAt: "high", eventLoop: { maxDelay: 100 } })
    const shedding = (ratio: number, delay?: number) => Manager.check(Manager.initial, reading(ratio, delay), 0, config)[1].shedding
    expect(shedding(0.5)).toBeUndefined()
    expect(shedding(0.5, 150)).toBe("event_loop")
    expect(shedding(0.9)).toBe("memory")
    expect(shedding(0.9, 150)).toBe("memory")
    expect(shedding(0.5, 100)).toBeUndefined()
  })

  it("one stall sheds from the check whose reading shows it to the next check, whatever its p99", () => {
    const config = configOf({ eventLoop: { maxDelay: 200 } })
    const cell = { state: Manager.initial }
    const at = (delay: number, p99: number, now: number) => {
      const [, next] = Manager.check(cell.state, { ...reading(0.3), eventLoop: loop(delay, p99, 1) }, now, config)
      cell.state = next
      return next
    }
    expect(at(0.2, 0.1, 0).shedding).toBeUndefined()
    // a 600 ms stall among ~90 samples: its p99 is an ordinary sample's
    expect(at(590, 0.1, 1_000)).toMatchObject({ shedding: "event_loop", loop: { shedding: true, delay: 590 } })
    expect(at(0.3, 0.1, 2_000)).toMatchObject({ shedding: undefined, loop: { shedding: false, delay: 0.3 } })
    // no figures at all (a source without an event loop) is no delay: it stops as well
    expect(at(590, 590, 3_000).shedding).toBe("event_loop")
    cell.state = Manager.check(cell.state, reading(0.3), 4_000, config)[1]
    expect(cell.state.shedding).toBeUndefined()
  })

  it("runs' readings between checks never move the stage: their delays are judged at the next check", () => {
    const config = configOf({ eventLoop: { maxDelay: 200 } })
    const check = (state: State, delay: number, now: number) => Manager.check(state, reading(0.3, delay), now, config)[1]
    const refresh = (state: State, delay: number, now: number) => Manager.observe(state, reading(0.3, delay), now, config)[1]
    // a stall seen by a run's reading: not shedding yet, then for exactly the next interval
    let state = refresh(check(Manager.initial, 1, 0), 600, 300)
    expect([state.shedding, state.loop.pending]).toEqual([undefined, 600])
    state = check(state, 1, 1_000)
    expect([state.shedding, state.loop.delay, state.loop.pending]).toEqual(["event_loop", 600, undefined])
    // a run's calm reading right after the stall does not cut the interval short
    state = refresh(state, 1, 1_200)
    expect(state.shedding).toBe("event_loop")
    state = check(state, 1, 2_000)
    expect(state.shedding).toBeUndefined()
  })

  it("a lasting overload sheds while the delay stays within the hysteresis band", () => {
    const config = configOf({ eventLoop: { maxDelay: 200, hysteresis: 0.2 } })
    let state = Manager.initial
    const seen: Array<boolean> = []
    for (const [i, delay] of [250, 190, 160, 201, 159, 199, 201].entries()) {
      state = Manager.check(state, reading(0.3, delay), i * 1_000, config)[1]
      seen.push(state.loop.shedding)
    }
    expect(seen).toEqual([true, true, true, true, false, false, true])
  })

  it("reaching high starts a run for high, critical one for critical; none without strategies", () => {
    const config = configOf()
    expect(checkAt({ state: Manager.initial }, 0.9, 0, config)).toBeUndefined()
    const cell = { state: withStrategies(Manager.initial, "a") }
    expect(checkAt(cell, 0.8, 0, config)).toBeUndefined()
    expect(checkAt(cell, 0.9, 1_000, config)).toBe("high")
    expect(cell.state.schedule).toEqual({ running: true, escalated: false, lastStartedAt: 1_000 })
    expect(checkAt({ state: withStrategies(Manager.initial, "a") }, 0.97, 0, config)).toBe("critical")
  })

  it("staying at high repeats the run once the cooldown has passed, not before", () => {
    const config = configOf({ cleanupCooldown: 5_000 })
    const cell = { state: withStrategies(Manager.initial, "a") }
    expect(checkAt(cell, 0.9, 1_000, config)).toBe("high")
    cell.state = Manager.automaticEnded(cell.state)
    expect(checkAt(cell, 0.9, 5_999, config)).toBeUndefined()
    expect(checkAt(cell, 0.9, 6_000, config)).toBe("high")
  })

  it("a rise starts a run at once, even within the cooldown", () => {
    const config = configOf({ cleanupCooldown: 60_000 })
    const cell = { state: withStrategies(Manager.initial, "a") }
    expect(checkAt(cell, 0.9, 1_000, config)).toBe("high")
    cell.state = Manager.automaticEnded(cell.state)
    expect(checkAt(cell, 0.97, 2_000, config)).toBe("critical")
  })

  it("at most one automatic run in flight; a rise during it runs again at the first check after it", () => {
    const config = configOf({ cleanupCooldown: 60_000 })
    const cell = { state: withStrategies(Manager.initial, "a") }
    expect(checkAt(cell, 0.9, 1_000, config)).toBe("high")
    expect(checkAt(cell, 0.97, 2_000, config)).toBeUndefined() // in flight: remembered
    expect(cell.state.schedule.escalated).toBe(true)
    expect(checkAt(cell, 0.97, 3_000, config)).toBeUndefined()
    cell.state = Manager.automaticEnded(cell.state)
    expect(cell.state.schedule).toEqual({ running: false, escalated: false, lastStartedAt: -Infinity })
    expect(checkAt(cell, 0.97, 4_000, config)).toBe("critical")
    // without a rise during the run, the cooldown holds after it
    cell.state = Manager.automaticEnded(cell.state)
    expect(checkAt(cell, 0.97, 5_000, config)).toBeUndefined()
  })

  it("registers in priority order, ties in registration order, and rejects bad names and priorities", () => {
    let state = Manager.initial
    for (const [name, priority] of [
      ["third", 3],
      ["first", 1],
      ["second", 2],
      ["also-second", 2]
    ] as const) {
      const [registration, next] = Manager.register(state, name, priority, Effect.void)
      expect(registration._tag).toBe("Registered")
      state = next
    }
    expect(state.strategies.map((s) => s.name)).toEqual(["first", "second", "also-second", "third"])
    const rejected = (name: string, priority: number) => {
      const [registration, next] = Manager.register(state, name, priority, Effect.void)
      expect(next).toBe(state)
      return registration._tag === "Rejected" ? registration.path : undefined
    }
    expect(rejected("first", 0)).toBe("memory.cleanup.first")
    expect(rejected("", 0)).toBe("memory.cleanup")
    expect(rejected("x", Number.POSITIVE_INFINITY)).toBe("memory.cleanup.x.priority")
    const order = state.strategies.find((s) => s.name === "first")!.order
    state = Manager.unregister(state, order)
    expect(state.strategies.map((s) => s.name)).toEqual(["second", "also-second", "third"])
    expect(Manager.register(state, "first", 0, Effect.void)[0]._tag).toBe("Registered")
  })

  it("a run goes on while the level is at its target; critical and low run everything", () => {
    expect(Manager.continues("high", "high")).toBe(true)
    expect(Manager.continues("high", "critical")).toBe(true)
    expect(Manager.continues("high", "medium")).toBe(false)
    expect(Manager.continues("medium", "low")).toBe(false)
    expect(Manager.continues("critical", "low")).toBe(true)
    expect(Manager.continues("low", "low")).toBe(true)
  })
})

// ---------------------------------------------------------------------------------------------
// Properties

const int = (minimum: number, maximum: number) => Schema.Int.pipe(Schema.check(Schema.isBetween({ minimum, maximum })))

// Ratios in hundredths and times in steps of 500 ms, so that readings land exactly on the
// thresholds, the hysteresis bands and the cooldown boundary often.
const STEP = 500

const ConfigInput = Schema.Struct({
  hysteresis: Schema.Literals([0, 0.05, 0.1]),
  cooldownSteps: int(1, 8),
  rejectAt: Schema.Literals(["medium", "high", "critical"]),
  maxDelay: int(0, 4)
})

const Op = Schema.Union([
  /** a periodic check, `gap` steps after the previous event */
  Schema.Struct({ kind: Schema.Literal("check"), ratio: int(0, 110), delay: int(0, 6), gap: int(0, 4) }),
  /** a fresh reading taken by a run, between checks */
  Schema.Struct({ kind: Schema.Literal("refresh"), ratio: int(0, 110), delay: int(0, 6) }),
  /** the automatic run in flight (if any) ends */
  Schema.Struct({ kind: Schema.Literal("end") }),
  Schema.Struct({ kind: Schema.Literal("register"), name: int(0, 3), priority: int(-1, 2) }),
  Schema.Struct({ kind: Schema.Literal("unregister"), index: int(0, 4) })
])
type Op = typeof Op.Type

const Ops = Schema.Array(Op).pipe(Schema.check(Schema.isMinLength(20), Schema.isMaxLength(80)))

const configFrom = (input: typeof ConfigInput.Type): MemoryConfig =>
  configOf({
    hysteresis: input.hysteresis,
    cleanupCooldown: input.cooldownSteps * STEP,
    rejectAt: input.rejectAt,
    eventLoop: input.maxDelay === 0 ? undefined : { maxDelay: input.maxDelay * 50 }
  })

const thresholdOf = (config: MemoryConfig, level: Level): number =>
  level === "medium"
    ? config.thresholds.medium
    : level === "high"
      ? config.thresholds.high
      : level === "critical"
        ? config.thresholds.critical
        : -Infinity

/** The same expression of the threshold the core uses, so the comparison is exact. */
const rawLevelOf = (config: MemoryConfig, ratio: number): Level =>
  ratio >= config.thresholds.critical
    ? "critical"
    : ratio >= config.thresholds.high
      ? "high"
      : ratio >= config.thresholds.medium
        ? "medium"
        : "low"

/**
 * What the level may do on a reading: never below the reading's own level; above it only as
 * far as the hysteresis holds it (never above where it was); down only past every band it
 * leaves.
 */
const levelMoveIsAllowed = (config: MemoryConfig, from: Level, to: Level, ratio: number): boolean => {
  const raw = rawLevelOf(config, ratio)
  if (levelIndex(to) < levelIndex(raw)) return false
  if (levelIndex(to) > levelIndex(raw) && (levelIndex(to) > levelIndex(from) || ratio < thresholdOf(config, to) - config.hysteresis)) {
    return false
  }
  for (let k = levelIndex(to) + 1; k <= levelIndex(from); k++) {
    if (!(ratio < thresholdOf(config, levels[k]!) - config.hysteresis)) return false
  }
  return true
}

interface Run {
  readonly startedAt: number
  /** the level rose to high or above at a check while it was in flight */
  escalated: boolean
}

/** Drives the core through `ops`; calls `onStep` after each one with what it did. */
const simulate = (
  config: MemoryConfig,
  ops: ReadonlyArray<Op>,
  onStep: (step: {
    readonly op: Op
    readonly before: State
    readonly after: State
    readonly cleanup: "high" | "critical" | undefined
    readonly now: number
  }) => void
): State => {
  let state = Manager.initial
  let now = 0
  for (const op of ops) {
    const before = state
    let cleanup: "high" | "critical" | undefined
    switch (op.kind) {
      case "check": {
        now += op.gap * STEP
        const [decision, next] = Manager.check(state, reading(op.ratio / 100, op.delay * 40), now, config)
        expect(decision.change === undefined).toBe(next.level === state.level)
        cleanup = decision.cleanup
        state = next
        break
      }
      case "refresh": {
        const [change, next] = Manager.observe(state, reading(op.ratio / 100, op.delay * 40), now, config)
        expect(change === undefined).toBe(next.level === state.level)
        state = next
        break
      }
      case "end":
        if (state.schedule.running) state = Manager.automaticEnded(state)
        break
      case "register":
        state = Manager.register(state, `s${op.name}`, op.priority, Effect.void)[1]
        break
      case "unregister": {
        const strategy = state.strategies[op.index]
        if (strategy !== undefined) state = Manager.unregister(state, strategy.order)
        break
      }
    }
    onStep({ op, before, after: state, cleanup, now })
  }
  return state
}

describe("memory manager core (properties)", () => {
  it.prop(
    "a level falls only once the reading is below its threshold minus the hysteresis (and then does) and rises only to the reading's level; the event-loop stage has its own hysteresis",
    { configInput: ConfigInput, ops: Ops },
    ({ configInput, ops }) => {
      const config = configFrom(configInput)
      simulate(config, ops, ({ after, before, op }) => {
        if (op.kind !== "check" && op.kind !== "refresh") {
          expect(after.level).toBe(before.level)
          return
        }
        expect(levelMoveIsAllowed(config, before.level, after.level, op.ratio / 100)).toBe(true)
        // the guard sheds for memory exactly at or above rejectAt, else while the event-loop stage sheds
        expect(after.shedding === "memory").toBe(levelIndex(after.level) >= config.rejectAtIndex)
        if (after.shedding !== "memory") expect(after.shedding === "event_loop").toBe(after.loop.shedding)
        const delay = op.delay * 40
        if (op.kind === "refresh") {
          // a run's reading never moves the stage: its delay waits for the next check
          expect(after.loop).toEqual({ ...before.loop, pending: Math.max(before.loop.pending ?? 0, delay) })
          return
        }
        // a check judges the longest delay since the previous one, and starts only above
        // maxDelay, and stops only under maxDelay x (1 - hysteresis)
        const judged = Math.max(before.loop.pending ?? 0, delay)
        expect(after.loop.delay).toBe(judged)
        expect(after.loop.pending).toBeUndefined()
        const maxDelay = config.maxEventLoopDelay
        if (maxDelay === undefined) expect(after.loop.shedding).toBe(false)
        else if (!before.loop.shedding) expect(after.loop.shedding).toBe(judged > maxDelay)
        else expect(after.loop.shedding).toBe(judged >= maxDelay * (1 - config.eventLoopHysteresis))
      })
    }
  )

  it.prop(
    "a stall sheds for exactly the interval of the check that judges it: shedding after a check iff a reading since the previous one showed a stall",
    {
      ops: Schema.Array(
        Schema.Struct({
          kind: Schema.Literals(["check", "refresh"]),
          // under maxDelay x (1 - hysteresis) = 80 (calm), or over maxDelay = 100 (a stall)
          delay: Schema.Union([int(0, 79), int(101, 2_000)])
        })
      ).pipe(Schema.check(Schema.isMinLength(1), Schema.isMaxLength(60)))
    },
    ({ ops }) => {
      const config = configOf({ eventLoop: { maxDelay: 100, hysteresis: 0.2 } })
      let state = Manager.initial
      let stallSinceCheck = false
      let now = 0
      for (const op of ops) {
        const before = state.loop.shedding
        now += 100
        stallSinceCheck ||= op.delay > 100
        if (op.kind === "refresh") {
          state = Manager.observe(state, reading(0.3, op.delay), now, config)[1]
          expect(state.loop.shedding).toBe(before)
          continue
        }
        state = Manager.check(state, reading(0.3, op.delay), now, config)[1]
        expect(state.loop.shedding).toBe(stallSinceCheck)
        expect(state.shedding).toBe(stallSinceCheck ? "event_loop" : undefined)
        stallSinceCheck = false
      }
    }
  )

  it.prop(
    "never two automatic runs at once; none within the cooldown of the last one unless the level rose",
    { configInput: ConfigInput, ops: Ops },
    ({ configInput, ops }) => {
      const config = configFrom(configInput)
      let inFlight: Run | undefined
      let last: Run | undefined
      simulate(config, ops, ({ after, before, cleanup, now, op }) => {
        const rose = levelIndex(after.level) > levelIndex(before.level)
        if (op.kind === "end" && inFlight !== undefined) {
          last = inFlight
          inFlight = undefined
        }
        if (cleanup === undefined) {
          // a rise to high or above, with something to run, is what the core remembers
          if (op.kind === "check" && inFlight !== undefined && rose && levelIndex(after.level) >= 2 && after.strategies.length > 0) {
            inFlight.escalated = true
          }
          return
        }
        expect(op.kind).toBe("check")
        expect(inFlight).toBeUndefined()
        expect(levelIndex(after.level)).toBeGreaterThanOrEqual(2)
        expect(after.strategies.length).toBeGreaterThan(0)
        expect(cleanup).toBe(after.level === "critical" ? "critical" : "high")
        if (last !== undefined && now - last.startedAt < config.cleanupCooldownMillis) {
          // within the cooldown: only a rise now, or one during the last run, starts another
          expect(rose || last.escalated).toBe(true)
        }
        inFlight = { startedAt: now, escalated: false }
      })
    }
  )

  it.prop(
    "a check at high or above with strategies and no run in flight starts one exactly when due",
    { configInput: ConfigInput, ops: Ops },
    ({ configInput, ops }) => {
      const config = configFrom(configInput)
      // the reference: a run is due on a rise, after an escalated run, or once the cooldown passed
      let lastStartedAt = -Infinity
      let cleared = false
      let escalated = false
      simulate(config, ops, ({ after, before, cleanup, now, op }) => {
        if (op.kind === "end" && before.schedule.running) {
          if (escalated) cleared = true
          escalated = false
        }
        if (op.kind !== "check") return
        const rose = levelIndex(after.level) > levelIndex(before.level)
        const eligible = levelIndex(after.level) >= 2 && after.strategies.length > 0
        if (eligible && before.schedule.running) {
          if (rose) escalated = true
          expect(cleanup).toBeUndefined()
          return
        }
        const due = eligible && (rose || cleared || now - lastStartedAt >= config.cleanupCooldownMillis)
        expect(cleanup !== undefined).toBe(due)
        if (due) {
          lastStartedAt = now
          cleared = false
        }
      })
    }
  )

  it.prop(
    "strategies stay in priority order, ties in registration order, names unique; a run takes a prefix of them",
    { ops: Ops, levels: Schema.Array(Schema.Literals(["low", "medium", "high", "critical"])) },
    ({ levels, ops }) => {
      const model: Array<{ name: string; priority: number; order: number }> = []
      let order = 0
      const state = simulate(configOf(), ops, ({ after, op }) => {
        if (op.kind === "register" && !model.some((s) => s.name === `s${op.name}`)) {
          model.push({ name: `s${op.name}`, priority: op.priority, order: order++ })
        }
        if (op.kind === "unregister" && op.index < model.length) {
          const sorted = [...model].sort((a, b) => a.priority - b.priority || a.order - b.order)
          model.splice(model.indexOf(sorted[op.index]!), 1)
        }
        const expected = [...model].sort((a, b) => a.priority - b.priority || a.order - b.order)
        expect(after.strategies.map(({ name, order, priority }) => ({ name, priority, order }))).toEqual(expected)
      })
      // a run over them, the level after each strategy given by `levels`
      for (const target of ["low", "medium", "high", "critical"] as const) {
        const ran: Array<string> = []
        let level: Level = "critical"
        for (const [i, strategy] of state.strategies.entries()) {
          if (!Manager.continues(target, level)) break
          ran.push(strategy.name)
          level = levels[i] ?? "low"
        }
        expect(ran).toEqual(state.strategies.slice(0, ran.length).map((s) => s.name))
        if (target === "critical" || target === "low") expect(ran).toHaveLength(state.strategies.length)
        // it stopped only because a reading was below the target
        if (ran.length < state.strategies.length) expect(levelIndex(levels[ran.length - 1]!)).toBeLessThan(levelIndex(target))
      }
    }
  )
})
