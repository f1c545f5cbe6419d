/**
 * The guard's rejection: built once per change of state (not per call), without a stack
 * trace, since an overloaded service sheds many calls.
 */
import { fastConstructor, MemoryPressure } from "../../Errors.js"
import type * as Manager from "./manager.js"

const makePressure = fastConstructor(MemoryPressure, "MemoryPressure", "memory_pressure")

/** The guard's rejection for a state, or `undefined` while it admits. */
export const rejectionOf = (state: Manager.State, maxEventLoopDelay: number | undefined): MemoryPressure | undefined => {
  const { level, ratios: { heapUsedRatio } } = state
  return state.shedding === undefined
    ? undefined
    : state.shedding === "memory"
    ? makePressure({ level, heapUsedRatio })
    : makePressure({
      level,
      heapUsedRatio,
      reason: `event-loop delay p99 ${state.reading!.eventLoop!.delayP99.toFixed(1)} ms (limit ${maxEventLoopDelay} ms)`
    })
}
