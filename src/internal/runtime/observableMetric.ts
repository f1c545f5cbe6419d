import type { Context } from "effect"
import { Metric } from "effect"

/**
 * Registers a series whose value is read from the caller's own state at export time: the hot
 * path updates a plain number; effect's registry and any exporter read it through `get`.
 * Returns the function that removes the series (call it when the owner goes away).
 */
const registerObserved = <In, State>(context: Context.Context<never>, metric: Metric.Metric<In, State>, get: () => State) =>
  Metric.registerUnsafe(metric, context, { get, update: noop, modify: noop }).remove

/** Registers one series named `name`, read through `read`; returns the function removing it. */
type Register = (
  context: Context.Context<never>,
  name: string,
  description: string,
  attributes: Record<string, string>,
  read: () => number
) => () => void

/** A counter series read from the caller's own state (see `registerObserved`). */
export const registerCounter: Register = (context, name, description, attributes, read) =>
  registerObserved(context, Metric.counter(name, { description, attributes, incremental: true }), () => ({
    count: read(),
    incremental: true
  }))

/** A gauge series read from the caller's own state (see `registerObserved`). */
export const registerGauge: Register = (context, name, description, attributes, read) =>
  registerObserved(context, Metric.gauge(name, { description, attributes }), () => ({ value: read() }))

const noop = (): void => {}
