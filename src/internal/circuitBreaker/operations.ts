/**
 * The breaker service's operator calls (`status`, `reset`, `trip`, `isolate`, `setMode`) over a
 * registry: each reads the clock once and moves the breaker through the registry, which
 * publishes the transition (only a real change of state).
 */
import { Clock, Effect } from "effect"
import type { BreakerPolicy, Isolation, Mode } from "../../CircuitBreaker.js"
import { InvalidConfig } from "../../Errors.js"
import { resolvePolicy } from "./options.js"
import * as Circuit from "./circuit.js"
import * as Operator from "./operator.js"
import type { Breaker, Registry } from "./registry.js"
import type { RegisterConfigured } from "./health.js"
import { statusOf } from "./status.js"

const modeCodes: Record<Mode, Circuit.ModeCode> = { normal: Circuit.NORMAL, disabled: Circuit.DISABLED, metricsOnly: Circuit.METRICS_ONLY }

export const makeOperations = (registry: Registry, registerConfigured: RegisterConfigured) => {
  const find = (name: string) =>
    Effect.suspend(() => Effect.fromNullishOr(registry.find(name)).pipe(Effect.mapError(() => registry.notFound(name))))
  /** the breaker for `name`, created from the defaults if needed (as `protect` would) */
  const resolve = (name: string) =>
    Effect.suspend(() => {
      const breaker = registry.resolve(name)
      return breaker === undefined ? Effect.fail(registry.notFound(name)) : Effect.succeed(breaker)
    })
  /** runs `change` on the breaker at the clock's time and publishes what it did */
  const change = (breaker: Breaker, change: (circuit: Circuit.Circuit, now: number) => void) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.sync(() => {
        const from = breaker.circuit.state
        const generation = breaker.circuit.generation
        change(breaker.circuit, now)
        if (breaker.circuit.generation !== generation) registry.transition(breaker, from, breaker.circuit.state, now)
      })
    )
  return {
    status: (name: string) =>
      Effect.flatMap(find(name), (breaker) => Effect.map(Clock.currentTimeMillis, (now) => statusOf(registry, breaker, now))),
    reset: (name: string) => Effect.flatMap(find(name), (breaker) => change(breaker, (circuit) => Operator.reset(circuit))),
    trip: (name: string) =>
      Effect.flatMap(resolve(name), (breaker) => change(breaker, (circuit, now) => Operator.trip(circuit, now, breaker.policy.core))),
    isolate: (name: string) =>
      Effect.flatMap(resolve(name), (breaker) =>
        Effect.as(
          change(breaker, (circuit, now) => Operator.isolate(circuit, now)),
          isolation(breaker)
        )
      ),
    configure: (name: string, policy: BreakerPolicy) =>
      Effect.suspend(() => {
        const resolved = resolvePolicy(policy, `breakers.${name}`)
        if (resolved instanceof InvalidConfig) return Effect.fail(resolved)
        return Clock.currentTimeMillis.pipe(
          Effect.flatMap((now) => Effect.sync(() => registry.configure(name, resolved, now))),
          // a breaker configured now gets its health component (a changed `critical` replaces it)
          Effect.andThen(Effect.suspend(() => registerConfigured(registry.find(name)!)))
        )
      }),
    setMode: (name: string, mode: Mode) =>
      Effect.flatMap(resolve(name), (breaker) => change(breaker, (circuit) => Operator.setMode(circuit, modeCodes[mode])))
  }

  /** one isolation's handle: its first `release` gives the isolation back, later ones do nothing */
  function isolation(breaker: Breaker): Isolation {
    let released = false
    return {
      release: Effect.suspend(() => {
        if (released) return Effect.void
        released = true
        return change(breaker, (circuit) => Operator.releaseIsolation(circuit))
      })
    }
  }
}
