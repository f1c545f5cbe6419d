/**
 * A bulkhead's health verdict, a pure function of its state and the time (tested alone, read
 * by `HealthAggregator` without effects), and its registration as a component.
 */
import { Effect } from "effect"
import type { ComponentReport } from "../runtime/healthComponents.js"
import { degradedWhen, HealthComponents } from "../runtime/healthComponents.js"
import type { Compartment } from "./compartment.js"
import type { State } from "./core.js"

/** How long a turned-away call keeps the bulkhead degraded. */
export const RECENT_REJECTION_MILLIS = 60_000

/**
 * `degraded` while every slot is taken and callers wait, or while calls are being turned
 * away (one was within `RECENT_REJECTION_MILLIS`). Never `unhealthy`: a full bulkhead is
 * doing its job, protecting the rest of the process.
 */
export const report = (state: State, now: number): ComponentReport => {
  const saturated = state.running >= state.maxConcurrent && state.waiting > 0
  const rejecting = now - state.lastRejectedAt < RECENT_REJECTION_MILLIS
  const details = {
    running: state.running,
    waiting: state.waiting,
    maxConcurrent: state.maxConcurrent,
    maxWaiting: state.maxWaiting,
    rejected: state.rejected,
    timedOut: state.timedOut
  }
  return degradedWhen(details, [
    [saturated, "saturated"],
    [rejecting, "rejecting"]
  ])
}

/** Registers one component per bulkhead (`bulkhead:<name>`) with the `HealthComponents` in context, if any. */
export const registerHealth = Effect.fnUntraced(function* (compartments: Iterable<Compartment>) {
  const components = yield* Effect.serviceOption(HealthComponents)
  if (components._tag === "None") return
  for (const compartment of compartments) {
    yield* components.value.register({
      name: `bulkhead:${compartment.name}`,
      kind: "bulkhead",
      critical: false,
      report: Effect.sync(() => report(compartment.state, compartment.now()))
    })
  }
})
