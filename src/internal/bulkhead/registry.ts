/**
 * The bulkheads of one `Bulkhead` service: built from the decoded options in the layer's
 * scope (metric series, health components, one timer fiber each), looked up by name on every
 * call, reconfigured at run time, closed with the scope.
 */
import type { Scope } from "effect"
import { Clock, Effect, Fiber } from "effect"
import type { ProtectionNotFound } from "../../Errors.js"
import { InvalidConfig } from "../../Errors.js"
import { Compartment } from "./compartment.js"
import * as Core from "./core.js"
import { registerHealth } from "./health.js"
import * as Metrics from "./metrics.js"
import type { Status } from "../../Bulkhead.js"
import { notFound, resolve, resolveLimits, toLimits } from "./options.js"

/** One bulkhead's state and limits (what `Bulkhead.status` returns, defined there). */
export type { Status }

export class Registry {
  readonly compartments = new Map<string, Compartment>()
  private readonly timers = new Map<string, Fiber.Fiber<void>>()

  constructor(private readonly scope: Scope.Scope) {}

  get(name: string): Compartment | undefined {
    return this.compartments.get(name)
  }

  notFound(name: string): ProtectionNotFound {
    return notFound(name, [...this.compartments.keys()])
  }

  /** starts (or restarts) a bulkhead's timer in the layer's scope */
  startTimer(compartment: Compartment): Effect.Effect<void> {
    return Effect.suspend(() => {
      const previous = this.timers.get(compartment.name)
      return Effect.flatMap(Effect.forkIn(compartment.timerLoop, this.scope, { startImmediately: true }), (fiber) => {
        this.timers.set(compartment.name, fiber)
        return previous === undefined ? Effect.void : Fiber.interrupt(previous)
      })
    })
  }

  status(name: string): Effect.Effect<Status, ProtectionNotFound> {
    return Effect.suspend(() => {
      const compartment = this.compartments.get(name)
      if (compartment === undefined) return Effect.fail(this.notFound(name))
      const state = compartment.state
      return Effect.succeed({
        bulkhead: name,
        running: state.running,
        waiting: state.waiting,
        limits: toLimits(state),
        admitted: state.admitted,
        rejected: state.rejected,
        timedOut: state.timedOut
      })
    })
  }

  configure(name: string, limits: unknown): Effect.Effect<void, InvalidConfig | ProtectionNotFound> {
    return Effect.suspend((): Effect.Effect<void, InvalidConfig | ProtectionNotFound> => {
      const compartment = this.compartments.get(name)
      if (compartment === undefined) return Effect.fail(this.notFound(name))
      const resolved = resolveLimits(name, limits)
      if (resolved instanceof InvalidConfig) return Effect.fail(resolved)
      const earlier = resolved.waitTimeoutMillis < compartment.state.waitTimeoutMillis
      Core.configure(compartment.state, resolved, compartment.now())
      // the timer may sleep until a deadline of the old timeout (even one whose waiter left):
      // restart it when deadlines moved earlier, for the waiters queued now and later
      return earlier ? this.startTimer(compartment) : Effect.void
    })
  }
}

/** Builds the bulkheads in the current scope; closing it interrupts waiters and removes the series. */
export const makeRegistry = Effect.fnUntraced(function* (options: unknown) {
  const resolved = resolve(options)
  if (resolved instanceof InvalidConfig) return yield* resolved
  const scope = yield* Effect.scope
  const context = yield* Effect.context<never>()
  const clock = yield* Clock.Clock
  const now = () => clock.currentTimeMillisUnsafe()
  const registry = new Registry(scope)
  const removers: Array<() => void> = []
  for (const [name, limits] of resolved) {
    const compartment = new Compartment(name, limits)
    compartment.now = now
    registry.compartments.set(name, compartment)
    removers.push(Metrics.register(context, name, compartment.state))
  }
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      for (const compartment of registry.compartments.values()) compartment.close()
      for (const remove of removers) remove()
    })
  )
  for (const compartment of registry.compartments.values()) yield* registry.startTimer(compartment)
  yield* registerHealth(registry.compartments.values())
  return registry
})
