/**
 * A bulkhead's metric series, read from its core's plain numbers at export time: the call
 * path pays an increment, not a registry lookup (as the pool's and the breakers' series).
 *
 * @internal
 */
import type { Context } from "effect"
import { registerCounter, registerGauge } from "../runtime/observableMetric.js"
import type { State } from "./core.js"

/** The series' names (attributes in the comments), in the pool's and breakers' style. */
export const names = {
  /** gauge {bulkhead}: calls holding a slot */
  running: "foundation.bulkhead.running",
  /** gauge {bulkhead}: calls waiting for a slot */
  waiting: "foundation.bulkhead.waiting",
  /** counter {bulkhead, outcome: admitted | queue_full | timeout} */
  calls: "foundation.bulkhead.calls"
} as const

const callsDescription = "calls through the bulkhead: admitted, turned away with a full queue (queue_full) or after waiting (timeout)"

/** Registers one bulkhead's series; returns the function removing them. */
export const register = (context: Context.Context<never>, bulkhead: string, state: State): (() => void) => {
  const attributes = { bulkhead }
  const removers = [
    registerGauge(context, names.running, "calls holding a bulkhead slot", attributes, () => state.running),
    registerGauge(context, names.waiting, "calls waiting for a bulkhead slot", attributes, () => state.waiting),
    registerCounter(context, names.calls, callsDescription, { bulkhead, outcome: "admitted" }, () => state.admitted),
    registerCounter(context, names.calls, callsDescription, { bulkhead, outcome: "queue_full" }, () => state.rejected),
    registerCounter(context, names.calls, callsDescription, { bulkhead, outcome: "timeout" }, () => state.timedOut)
  ]
  return () => {
    for (const remove of removers) remove()
  }
}
