/**
 * The MemoryManager's decisions, as pure functions over one immutable `State`:
 * `(state, input, now, config) => [decision, state]`. The shell in `MemoryManager.ts` owns the
 * state, the clock, the fibers and the telemetry; it runs what these functions decide.
 *
 * - `observe` applies a reading a cleanup run took: ratios, the level (with hysteresis) and
 *   whether the guard sheds, and why. Its event-loop figures are kept for the next check.
 * - `check` applies a periodic reading (the layer's first reading is one too): the same, plus
 *   the event-loop stage and the automatic cleanup schedule. Reaching `high` or `critical`
 *   starts a run at once; staying there repeats it at most every cooldown; at most one
 *   automatic run is in flight, and a rise during it makes the next check after it run again
 *   without waiting for the cooldown.
 * - The event-loop stage moves at checks only, on the longest delay since the previous check
 *   (this reading's and those of the runs' readings in between). A stall is in exactly one
 *   reading (the source's contract), so it is judged at exactly one check: the stage starts
 *   shedding at the check whose figures show it and, unless the delay stays within the
 *   hysteresis band, stops at the next check. One stall sheds for exactly one `checkInterval`.
 *   Runs' readings do not move it, or a run right after a stall would cut that short.
 * - `register` / `unregister` keep the strategies in priority order (lowest number first,
 *   then registration order); `continues` says whether a run goes on to the next strategy.
 *
 * Runs, automatic or requested, are serialized by the shell (a one-permit semaphore).
 */
import type { LevelChange } from "../../MemoryManager.js"
import type { CleanupReport, Strategy } from "./cleanup.js"
import type { MemoryConfig } from "./config.js"
import type { Level, MemoryReading, Ratios } from "./pressure.js"
import { levelIndex, longerDelay, longestDelayMillis, nextEventLoopShedding, nextLevel, ratiosOf } from "./pressure.js"

/** The bookkeeping of automatic cleanup runs. */
export interface Schedule {
  /** an automatic run is in flight (running, or waiting for a requested run to finish) */
  readonly running: boolean
  /** the level rose at a check while that run was in flight */
  readonly escalated: boolean
  /** when the last automatic run started; `-Infinity` when none did or an escalation cleared it */
  readonly lastStartedAt: number
}

/** The event-loop stage: moved by checks only. */
export interface LoopStage {
  readonly shedding: boolean
  /** the longest delay the last check judged, ms; `undefined` when it had no figures */
  readonly delay: number | undefined
  /** the longest delay in the runs' readings since that check: part of the next check's interval */
  readonly pending: number | undefined
}

export interface State {
  readonly level: Level
  readonly ratios: Ratios
  /** the last reading; `undefined` only before the first one */
  readonly reading: MemoryReading | undefined
  readonly checkedAt: number
  /** the event-loop stage (its own hysteresis) */
  readonly loop: LoopStage
  /** whether the guard sheds, and why: memory (level at or above `rejectAt`) wins */
  readonly shedding: "memory" | "event_loop" | undefined
  /** in run order */
  readonly strategies: ReadonlyArray<Strategy>
  /** the next registration's `order` */
  readonly nextOrder: number
  readonly schedule: Schedule
  readonly lastCleanup: CleanupReport | undefined
}

export const initial: State = {
  level: "low",
  ratios: { heapUsedRatio: 0, rssRatio: undefined, ratio: 0 },
  reading: undefined,
  checkedAt: 0,
  loop: { shedding: false, delay: undefined, pending: undefined },
  shedding: undefined,
  strategies: [],
  nextOrder: 0,
  schedule: { running: false, escalated: false, lastStartedAt: -Infinity },
  lastCleanup: undefined
}

type Config = Pick<
  MemoryConfig,
  "thresholds" | "hysteresis" | "rejectAtIndex" | "maxEventLoopDelay" | "eventLoopHysteresis" | "cleanupCooldownMillis"
>

const apply = (
  state: State,
  reading: MemoryReading,
  now: number,
  config: Config,
  loop: LoopStage
): readonly [LevelChange | undefined, State] => {
  const ratios = ratiosOf(reading)
  const level = nextLevel(state.level, ratios.ratio, config.thresholds, config.hysteresis)
  const shedding = levelIndex(level) >= config.rejectAtIndex ? "memory" : loop.shedding ? "event_loop" : undefined
  const next: State = { ...state, level, ratios, reading, checkedAt: now, loop, shedding }
  return [level === state.level ? undefined : { from: state.level, to: level, ratio: ratios.ratio, changedAt: now }, next]
}

/**
 * Applies a reading a cleanup run took at `now`; the change, if the level moved. The
 * event-loop stage stays as it is: the reading's longest delay waits for the next check.
 */
export const observe = (state: State, reading: MemoryReading, now: number, config: Config): readonly [LevelChange | undefined, State] =>
  apply(state, reading, now, config, {
    ...state.loop,
    pending: longerDelay(state.loop.pending, longestDelayMillis(reading))
  })

/** The stage after a check whose reading is `reading`. */
const judgeLoop = (loop: LoopStage, reading: MemoryReading, config: Config): LoopStage => {
  const delay = longerDelay(loop.pending, longestDelayMillis(reading))
  return {
    shedding: nextEventLoopShedding(loop.shedding, delay, config.maxEventLoopDelay, config.eventLoopHysteresis),
    delay,
    pending: undefined
  }
}

export interface CheckDecision {
  readonly change: LevelChange | undefined
  /** start an automatic run for this target now */
  readonly cleanup: "high" | "critical" | undefined
}

/**
 * A periodic check: applies the reading, moves the event-loop stage, then decides whether an
 * automatic run starts.
 */
export const check = (state: State, reading: MemoryReading, now: number, config: Config): readonly [CheckDecision, State] => {
  const [change, observed] = apply(state, reading, now, config, judgeLoop(state.loop, reading, config))
  const [cleanup, next] = schedule(observed, levelIndex(observed.level) > levelIndex(state.level), now, config)
  return [{ change, cleanup }, next]
}

const schedule = (state: State, rose: boolean, now: number, config: Config): readonly [CheckDecision["cleanup"], State] => {
  if (levelIndex(state.level) < 2 || state.strategies.length === 0) return [undefined, state]
  if (state.schedule.running) {
    // a rise while a run is in flight: run again at the first check after it, not a cooldown later
    return [undefined, rose && !state.schedule.escalated ? { ...state, schedule: { ...state.schedule, escalated: true } } : state]
  }
  if (!rose && now - state.schedule.lastStartedAt < config.cleanupCooldownMillis) return [undefined, state]
  return [state.level === "critical" ? "critical" : "high", { ...state, schedule: { running: true, escalated: false, lastStartedAt: now } }]
}

/** The automatic run `check` started has ended (finished, or interrupted). */
export const automaticEnded = (state: State): State =>
  state.schedule.escalated
    ? { ...state, schedule: { running: false, escalated: false, lastStartedAt: -Infinity } }
    : { ...state, schedule: { ...state.schedule, running: false } }

/** A run, automatic or requested, finished with this report. */
export const reported = (state: State, report: CleanupReport): State => ({ ...state, lastCleanup: report })

/** Whether a run for `target` goes on to its next strategy at `level`. */
export const continues = (target: Level, level: Level): boolean =>
  target === "critical" || target === "low" || levelIndex(level) >= levelIndex(target)

export type Registration =
  | { readonly _tag: "Registered"; readonly order: number }
  | { readonly _tag: "Rejected"; readonly path: string; readonly message: string }

/** Adds a strategy in its run place, or says why not. */
export const register = (state: State, name: string, priority: number, run: Strategy["run"]): readonly [Registration, State] => {
  const path = `memory.cleanup.${name}`
  if (name.length === 0) {
    return [{ _tag: "Rejected", path: "memory.cleanup", message: "a strategy needs a non-empty name" }, state]
  }
  if (!Number.isFinite(priority)) {
    return [{ _tag: "Rejected", path: `${path}.priority`, message: `must be a finite number, got ${priority}` }, state]
  }
  if (state.strategies.some((existing) => existing.name === name)) {
    return [{ _tag: "Rejected", path, message: `a strategy named "${name}" is already registered` }, state]
  }
  const order = state.nextOrder
  // `order` is the largest yet: the new strategy goes after every one of its priority or lower
  const at = state.strategies.findIndex((existing) => existing.priority > priority)
  const strategies =
    at === -1
      ? [...state.strategies, { name, priority, order, run }]
      : [...state.strategies.slice(0, at), { name, priority, order, run }, ...state.strategies.slice(at)]
  return [
    { _tag: "Registered", order },
    { ...state, strategies, nextOrder: order + 1 }
  ]
}

/** Removes the strategy registered as `order` (nothing if it is gone already). */
export const unregister = (state: State, order: number): State => ({
  ...state,
  strategies: state.strategies.filter((strategy) => strategy.order !== order)
})
