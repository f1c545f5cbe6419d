/**
 * The health components of a breaker registry, registered by `CircuitBreaker.make` when a
 * `HealthAggregator` is present: one per configured breaker, and one for all the breakers
 * created on first use.
 */
import { Effect } from "effect"
import { HealthComponents } from "../runtime/healthComponents.js"
import * as Circuit from "./circuit.js"
import type { Breaker, Registry } from "./registry.js"

/** What `HealthComponents.register` takes (structurally), for a breaker registry. */
export interface BreakerHealthComponent {
  readonly name: string
  readonly kind: "circuit_breaker"
  readonly critical: boolean
  readonly report: Effect.Effect<{
    readonly status: "healthy" | "degraded" | "unhealthy"
    readonly details: Record<string, unknown>
  }>
}

const stateDetails = (breaker: Breaker) => ({
  state: Circuit.stateNames[breaker.circuit.state],
  failures: breaker.circuit.failures,
  rejected: breaker.circuit.rejected
})

export const healthComponents = (registry: Registry): Array<BreakerHealthComponent> => [
  ...[...registry.configured.values()].map(
    (breaker): BreakerHealthComponent => ({
      name: `circuit_breaker:${breaker.name}`,
      kind: "circuit_breaker",
      critical: breaker.policy.critical,
      report: Effect.sync(() => ({
        status:
          breaker.circuit.state === Circuit.CLOSED
            ? "healthy"
            : breaker.circuit.state === Circuit.OPEN && breaker.policy.critical
              ? "unhealthy"
              : "degraded",
        details: stateDetails(breaker)
      }))
    })
  ),
  // breakers created on first use (per host, say) report as one component: one open host
  // degrades the system, it does not make it unhealthy
  {
    name: "circuit_breaker:dynamic",
    kind: "circuit_breaker",
    critical: false,
    report: Effect.sync(() => {
      const open = [...registry.dynamic.values()].filter((b) => b.circuit.state !== Circuit.CLOSED)
      return {
        status: open.length === 0 ? "healthy" : "degraded",
        details: { breakers: registry.dynamic.size, notClosed: open.map((b) => b.name) }
      }
    })
  }
]

/** Registers the registry's components with the `HealthComponents` in context, if any. */
export const registerHealth = Effect.fnUntraced(function* (registry: Registry) {
  const components = yield* Effect.serviceOption(HealthComponents)
  if (components._tag === "None") return
  for (const component of healthComponents(registry)) yield* components.value.register(component)
})
