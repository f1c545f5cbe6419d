import type { Context } from "effect"
import { Metric } from "effect"

/**
 * Registers a counter series whose value is read from the caller's own state at export time.
 * The hot path increments a plain number; effect's registry and any exporter read it through
 * `get`. Returns the function that removes the series (call it when the owner goes away).
 */
export const registerCounter = (
  context: Context.Context<never>,
  name: string,
  description: string,
  attributes: Record<string, string>,
  read: () => number
): () => void => {
  const metric = Metric.counter(name, { description, attributes, incremental: true })
  const registration = Metric.registerUnsafe(metric, context, {
    get: () => ({ count: read(), incremental: true }),
    update: noop,
    modify: noop
  })
  return registration.remove
}

/** Registers a gauge series read from the caller's own state at export time. */
export const registerGauge = (
  context: Context.Context<never>,
  name: string,
  description: string,
  attributes: Record<string, string>,
  read: () => number
): () => void => {
  const metric = Metric.gauge(name, { description, attributes })
  const registration = Metric.registerUnsafe(metric, context, {
    get: () => ({ value: read() }),
    update: noop,
    modify: noop
  })
  return registration.remove
}

const noop = (): void => {}
