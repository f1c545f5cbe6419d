/**
 * The breaker service's operator calls (`status`, `reset`, `trip`) over a registry: each reads
 * the clock once and moves the breaker through the registry, which publishes the transition.
 */
import { Clock, Effect } from "effect"
import * as Circuit from "./circuit.js"
import type { Registry } from "./registry.js"
import { statusOf } from "./status.js"

export const makeOperations = (registry: Registry) => {
  const find = (name: string) =>
    Effect.suspend(() => Effect.fromNullishOr(registry.find(name)).pipe(Effect.mapError(() => registry.notFound(name))))
  return {
    status: (name: string) =>
      Effect.flatMap(find(name), (breaker) => Effect.map(Clock.currentTimeMillis, (now) => statusOf(registry, breaker, now))),
    reset: (name: string) =>
      Effect.flatMap(find(name), (breaker) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.sync(() => {
            const from = breaker.circuit.state
            Circuit.reset(breaker.circuit)
            registry.transition(breaker, from, Circuit.CLOSED, now)
          })
        )
      ),
    trip: (name: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.suspend(() => {
          const breaker = registry.resolve(name)
          if (breaker === undefined) return Effect.fail(registry.notFound(name))
          const from = breaker.circuit.state
          Circuit.trip(breaker.circuit, now, breaker.policy.core)
          registry.transition(breaker, from, Circuit.OPEN, now)
          return Effect.void
        })
      )
  }
}
