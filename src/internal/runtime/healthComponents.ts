import type { Effect, Scope } from "effect"
import { Context } from "effect"

/**
 * The meeting point between the protections and the HealthAggregator.
 *
 * `HealthAggregator.layer` provides this service. Every protection layer built on top of it
 * (circuit breakers, pools, the memory manager) looks it up with `Effect.serviceOption` and,
 * when present, registers a component for the lifetime of its own scope. So the components
 * "appear automatically" when the aggregator is provided beneath the protections, and the
 * protections do not depend on the aggregator when it is absent.
 */
export type ComponentStatus = "healthy" | "degraded" | "unhealthy"

export interface ComponentReport {
  readonly status: ComponentStatus
  readonly details?: Record<string, unknown>
}

/**
 * A component's report from its details and the reasons it may be degraded: `healthy` when no
 * reason holds, else `degraded` with `details.reason` naming each that does ("saturated,
 * rejecting"). For components whose trouble is our own capacity, never the dependency's.
 */
export const degradedWhen = (
  details: Record<string, unknown>,
  reasons: ReadonlyArray<readonly [holds: boolean, reason: string]>
): ComponentReport => {
  const holding = reasons.filter(([holds]) => holds).map(([, reason]) => reason)
  return holding.length === 0 ? { status: "healthy", details } : { status: "degraded", details: { ...details, reason: holding.join(", ") } }
}

export interface HealthComponent {
  /** unique name, e.g. `circuit_breaker:payments`, `pool:db`, `memory` */
  readonly name: string
  readonly kind: "circuit_breaker" | "pool" | "memory" | "bulkhead"
  /** whether an unhealthy report makes the whole system unhealthy */
  readonly critical: boolean
  /** a cheap, synchronous-in-spirit read of the component's state; must not fail */
  readonly report: Effect.Effect<ComponentReport>
}

export class HealthComponents extends Context.Service<
  HealthComponents,
  {
    /** adds (or replaces) a component until the caller's scope closes */
    readonly register: (component: HealthComponent) => Effect.Effect<void, never, Scope.Scope>
  }
>()("effect-foundation/HealthComponents") {}
