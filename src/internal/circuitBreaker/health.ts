/**
 * The health components of a breaker registry, registered by `CircuitBreaker.make` when a
 * `HealthAggregator` is present: one per configured breaker, and one for all the breakers
 * created on first use. A breaker configured later (`CircuitBreaker.configure`) registers then,
 * in the service's scope.
 */
import { Effect, Scope } from "effect"
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

/** the component of one configured breaker */
export const configuredComponent = (breaker: Breaker): BreakerHealthComponent => ({
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

export const healthComponents = (registry: Registry): Array<BreakerHealthComponent> => [
  ...[...registry.configured.values()].map(configuredComponent),
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

/** Registers (or re-registers) a configured breaker's component; `registerHealth` makes it. */
export type RegisterConfigured = (breaker: Breaker) => Effect.Effect<void>

const registerNothing: RegisterConfigured = () => Effect.void

/**
 * Registers the registry's components with the `HealthComponents` in context, if any, for the
 * lifetime of the current scope. Returns how to register a breaker configured later, in that
 * same scope (replacing its component when it had one: `critical` may have changed).
 */
export const registerHealth = Effect.fnUntraced(function* (registry: Registry) {
  const components = yield* Effect.serviceOption(HealthComponents)
  if (components._tag === "None") return registerNothing
  const scope = yield* Effect.scope
  const { register } = components.value
  for (const component of healthComponents(registry)) yield* register(component)
  const registerConfigured: RegisterConfigured = (breaker) =>
    Effect.provideService(register(configuredComponent(breaker)), Scope.Scope, scope)
  return registerConfigured
})
