/**
 * What the manager tells the outside about shedding, from its state: the guard's rejection and
 * the health component's report. Both are pure; the shell rebuilds the rejection once per
 * reading (not per call), without a stack trace, since an overloaded service sheds many calls.
 */
import { Duration } from "effect"
import { MemoryPressure } from "../../Errors.js"
import { fastConstructor } from "../runtime/errors.js"
import type { ComponentReport } from "../runtime/healthComponents.js"
import type { MemoryConfig } from "./config.js"
import type * as Manager from "./manager.js"

const makePressure = fastConstructor(MemoryPressure, "MemoryPressure", "memory_pressure")

type Config = Pick<MemoryConfig, "checkIntervalMillis" | "maxEventLoopDelay">

/**
 * The guard's rejection for a state, or `undefined` while it admits. `retryAfter` is the check
 * interval: the next check is at most that far away (a reading a cleanup run takes can come
 * sooner, never later), and it is the earliest either stage can lift.
 */
export const rejectionOf = (state: Manager.State, config: Config): MemoryPressure | undefined => {
  if (state.shedding === undefined) return undefined
  const {
    level,
    ratios: { heapUsedRatio }
  } = state
  const retryAfter = Duration.millis(config.checkIntervalMillis)
  if (state.shedding === "memory") return makePressure({ trigger: "memory", level, heapUsedRatio, retryAfter })
  return makePressure({
    trigger: "event_loop",
    level,
    heapUsedRatio,
    retryAfter,
    // the stage sheds only on a delay it judged, under a configured limit
    eventLoopDelay: Duration.millis(state.loop.delay!),
    maxEventLoopDelay: Duration.millis(config.maxEventLoopDelay!)
  })
}

/**
 * The `memory` health component: `unhealthy` at `critical`; `degraded` at `high` or whenever
 * the guard sheds (for the event loop, or for memory under a `rejectAt` below `critical`).
 *
 * Shedding for the event loop is degraded, not unhealthy: the component is critical, so
 * unhealthy would fail readiness and take the instance out of its load balancer for a stall
 * that is over by the next check, and a fleet-wide overload would take out every instance at
 * once. The guard is already protecting the process; the report tells operators that it is.
 */
export const healthOf = (state: Manager.State, config: Config): ComponentReport => {
  const {
    level,
    ratios: { heapUsedRatio, ratio, rssRatio },
    reading
  } = state
  return {
    status: level === "critical" ? "unhealthy" : level === "high" || state.shedding !== undefined ? "degraded" : "healthy",
    details: {
      level,
      ratio,
      heapUsedRatio,
      rssRatio,
      shedding: state.shedding,
      eventLoopDelayMillis: state.loop.delay,
      eventLoopDelayP99Millis: reading?.eventLoop === undefined ? undefined : Duration.toMillis(reading.eventLoop.delayP99),
      maxEventLoopDelayMillis: config.maxEventLoopDelay,
      ...(state.shedding === undefined ? {} : { retryAfterMillis: config.checkIntervalMillis })
    }
  }
}
