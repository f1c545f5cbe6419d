/**
 * Cleanup strategies of the MemoryManager: what one is, and one run over them.
 *
 * A run takes the strategies in the order given (the registry's: priority, then registration
 * order). Each is bounded by the timeout; one that fails, dies or times out is reported and
 * skipped, never blocking the others. Unless the target is `critical` or `low` (all of them),
 * the run stops as soon as a fresh reading puts the pressure below the target level
 * (`continues` in `manager.ts`).
 */
import { Cause, Clock, Duration, Effect, Exit, Option } from "effect"
import { continues } from "./manager.js"
import type { Level } from "./pressure.js"

export interface Strategy {
  readonly name: string
  readonly priority: number
  /** registration order, to break ties */
  readonly order: number
  readonly run: Effect.Effect<unknown, unknown>
}

export interface StrategyResult {
  readonly name: string
  readonly priority: number
  readonly outcome: "succeeded" | "failed" | "timed_out"
  /** how long it ran */
  readonly duration: Duration.Duration
  /** why it failed, when it did */
  readonly error?: string
}

/**
 * What a cleanup run did. `target`: the level it cleaned for; `levelBefore` / `levelAfter`:
 * the pressure when it started and when it finished.
 */
export interface CleanupReport {
  readonly trigger: "automatic" | "requested"
  readonly target: Level
  readonly levelBefore: Level
  readonly levelAfter: Level
  readonly startedAt: number
  /** how long the run took */
  readonly duration: Duration.Duration
  readonly ran: ReadonlyArray<StrategyResult>
}

export const runCleanup = (options: {
  /** in run order */
  readonly strategies: ReadonlyArray<Strategy>
  readonly target: Level
  readonly trigger: CleanupReport["trigger"]
  readonly timeoutMillis: number
  /** re-reads the pressure (and publishes any change) and returns the level */
  readonly refresh: Effect.Effect<Level>
}): Effect.Effect<CleanupReport> =>
  Effect.gen(function* () {
    const startedAt = yield* Clock.currentTimeMillis
    const levelBefore = yield* options.refresh
    let level = levelBefore
    const ran: Array<StrategyResult> = []
    for (const strategy of options.strategies) {
      if (!continues(options.target, level)) break
      const began = yield* Clock.currentTimeMillis
      const exit = yield* Effect.exit(Effect.timeoutOption(runStrategy(strategy), options.timeoutMillis))
      const duration = Duration.millis((yield* Clock.currentTimeMillis) - began)
      const result: StrategyResult = Exit.isSuccess(exit)
        ? Option.isSome(exit.value)
          ? { name: strategy.name, priority: strategy.priority, outcome: "succeeded", duration }
          : { name: strategy.name, priority: strategy.priority, outcome: "timed_out", duration }
        : { name: strategy.name, priority: strategy.priority, outcome: "failed", duration, error: Cause.pretty(exit.cause) }
      ran.push(result)
      if (result.outcome !== "succeeded") {
        yield* Effect.logWarning(`memory cleanup "${strategy.name}" ${result.outcome === "failed" ? "failed" : "timed out"}; skipped`).pipe(
          Effect.annotateLogs({ strategy: strategy.name, outcome: result.outcome })
        )
      }
      level = yield* options.refresh
    }
    const finishedAt = yield* Clock.currentTimeMillis
    return {
      trigger: options.trigger,
      target: options.target,
      levelBefore,
      levelAfter: level,
      startedAt,
      duration: Duration.millis(finishedAt - startedAt),
      ran
    }
  })

/** a strategy that throws while being built is a defect captured by `Effect.exit`, not a crash */
const runStrategy = (strategy: Strategy): Effect.Effect<unknown, unknown> => Effect.suspend(() => strategy.run)
