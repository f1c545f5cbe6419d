import type { Context } from "effect"
import { Metric } from "effect"
import * as Telemetry from "../../Telemetry.js"
import { registerCounter, registerGauge } from "../runtime/observableMetric.js"
import type { State } from "./core.js"

/** Checkout-wait boundaries in milliseconds. */
const boundaries = [0, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, Infinity]

/**
 * The checkout-duration histogram, kept as plain numbers and read at export time. A checkout
 * served at once (the common case) costs one increment (`immediate++`); only checkouts that
 * waited pay for the bucket search.
 */
export class CheckoutHistogram {
  immediate = 0
  readonly values = new Float64Array(boundaries.length)
  count = 0
  sum = 0
  min = Number.MAX_VALUE
  max = -Number.MAX_VALUE

  record(millis: number): void {
    let i = 0
    while (millis > boundaries[i]!) i++
    this.values[i]!++
    this.count++
    this.sum += millis
    if (millis < this.min) this.min = millis
    if (millis > this.max) this.max = millis
  }

  state(): Metric.HistogramState {
    const buckets: Array<[number, number]> = []
    let cumulated = this.immediate
    for (let i = 0; i < boundaries.length; i++) {
      cumulated += this.values[i]!
      buckets.push([boundaries[i]!, cumulated])
    }
    const count = this.count + this.immediate
    return {
      buckets,
      count,
      min: this.immediate > 0 ? 0 : count === 0 ? 0 : this.min,
      max: count === 0 ? 0 : Math.max(this.max, 0),
      sum: this.sum
    }
  }
}

const noop = (): void => {}

/**
 * Counter {pool, reason: failure | timeout}: acquisitions that failed (or died), and those
 * given up after acquireTimeout.
 */
export const acquireFailures = Telemetry.metrics.poolAcquireFailures

/** Counter {pool}: checkouts refused at once because `maxWaiting` callers were waiting. */
export const exhausted = "foundation.pool.exhausted"

/** Registers the pool's series; returns the function removing them. */
export const register = (
  context: Context.Context<never>,
  pool: string,
  state: State<unknown>,
  histogram: CheckoutHistogram
): (() => void) => {
  const attributes = { pool }
  const removeHistogram = Metric.registerUnsafe(
    Metric.histogram(Telemetry.metrics.poolCheckoutDuration, {
      description: "time a checkout waited for a resource, in milliseconds",
      attributes,
      boundaries
    }),
    context,
    { get: () => histogram.state(), update: noop, modify: noop }
  ).remove
  const removers = [
    removeHistogram,
    registerGauge(context, Telemetry.metrics.poolInUse, "resources checked out", attributes, () => state.inUse),
    registerGauge(context, Telemetry.metrics.poolWaiting, "callers waiting for a resource", attributes, () => state.waiting),
    registerCounter(context, Telemetry.metrics.poolTimeouts, "checkouts that timed out", attributes, () => state.timeouts),
    registerCounter(
      context,
      exhausted,
      "checkouts refused at once because maxWaiting callers were waiting at capacity",
      attributes,
      () => state.exhausted
    ),
    registerCounter(
      context,
      acquireFailures,
      "acquisitions that failed, died (reason failure) or exceeded acquireTimeout (reason timeout)",
      { pool, reason: "failure" },
      () => state.acquireFailures - state.acquireTimeouts
    ),
    registerCounter(
      context,
      acquireFailures,
      "acquisitions that failed, died (reason failure) or exceeded acquireTimeout (reason timeout)",
      { pool, reason: "timeout" },
      () => state.acquireTimeouts
    )
  ]
  return () => {
    for (const remove of removers) remove()
  }
}
