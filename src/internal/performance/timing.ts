/**
 * Small timing helpers of the PerformanceMonitor shell: a recorded duration in milliseconds,
 * whether an exit counts (interruptions do not), and the default Clock's monotonic reader.
 */
import type { Exit } from "effect"
import { Clock, Duration, Effect } from "effect"

/** milliseconds of a recorded duration; an unusable one counts as 0 rather than poisoning the window */
export const millisOf = (duration: Duration.Input): number => {
  try {
    const millis = Duration.toMillis(duration)
    return Number.isFinite(millis) ? millis : 0
  } catch {
    return 0
  }
}

export const hasFailureOrDefect = (exit: Exit.Failure<unknown, unknown>): boolean =>
  exit.cause.reasons.some((reason) => reason._tag !== "Interrupt")

let defaultMonotonicFunction: (() => bigint) | undefined
/** the default Clock's monotonic reader (a prototype method: the same function for every instance) */
export const defaultMonotonic = (): (() => bigint) =>
  (defaultMonotonicFunction ??= Effect.runSync(Clock.clockWith((clock) => Effect.succeed(clock.monotonicTimeNanosUnsafe))))
