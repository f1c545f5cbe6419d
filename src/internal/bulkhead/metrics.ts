/**
 * A bulkhead's metric series, read from its core's plain numbers at export time: the call
 * path pays an increment, not a registry lookup (as the pool's and the breakers' series).
 */
import type { Context } from "effect"
import { metrics } from "../../Telemetry.js"
import { registerCounter, registerGauge } from "../runtime/observableMetric.js"
import type { State } from "./core.js"

/** The series' names, as `Telemetry.metrics` publishes them. */
export const names = {
  running: metrics.bulkheadRunning,
  waiting: metrics.bulkheadWaiting,
  calls: metrics.bulkheadCalls
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
