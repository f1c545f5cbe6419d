/**
 * What a configuration reload changes, decided from the configuration in force and the new
 * one, both decoded: pure, so every rule of `Foundation.reload` is tested without services.
 *
 * A reload applies the sections the services can change while they run (breaker policies,
 * rate limit rules, pool sizes, bulkhead limits, protection profiles) and refuses, with the
 * path, a change the running services cannot honour (a new Redis URL, a health port, a pool
 * that was never built). One refusal refuses the whole reload: nothing is applied.
 */
import { Duration } from "effect"

/** A decoded configuration, as far as the plan reads it. */
export interface Snapshot {
  readonly circuitBreaker?: {
    readonly defaults?: unknown
    readonly breakers?: Readonly<Record<string, unknown>> | undefined
    readonly maxBreakers?: number | undefined
  }
  readonly rateLimiter?: { readonly rules: Readonly<Record<string, unknown>> }
  readonly pools?: Readonly<Record<string, Readonly<Record<string, unknown>>>>
  readonly bulkhead?: { readonly limits?: Readonly<Record<string, unknown>> | undefined }
  readonly memory?: unknown
  readonly performance?: unknown
  readonly health?: unknown
  readonly redis?: unknown
  readonly protections?: Readonly<Record<string, unknown>>
}

/** One change the reload makes, in the order it is applied. */
export type Change =
  | { readonly kind: "breaker"; readonly name: string; readonly policy: unknown }
  | { readonly kind: "rule"; readonly name: string; readonly rule: unknown }
  | { readonly kind: "pool"; readonly name: string; readonly sizes: PoolSizes }
  | { readonly kind: "bulkhead"; readonly name: string; readonly limits: unknown }
  | { readonly kind: "profile"; readonly name: string; readonly profile: unknown }

/** The part of a pool's options a running pool can change. */
export interface PoolSizes {
  readonly size: number
  readonly maxOverflow: number
  readonly minIdle: number
  /** `null`: no bound */
  readonly maxWaiting: number | null
}

/** A change the running services cannot make: `path` names it, `issue` says why. */
export interface Refusal {
  readonly path: string
  readonly issue: string
}

export interface Plan {
  readonly changes: ReadonlyArray<Change>
  readonly refusals: ReadonlyArray<Refusal>
}

/** The pool options a resize covers; every other pool option is fixed when the pool is built. */
export const resizable: ReadonlyArray<keyof PoolSizes> = ["size", "maxOverflow", "minIdle", "maxWaiting"]

/** A pool section's sizes, as `Pool.resize` takes them (`maxWaiting` absent: no bound). */
export const sizesOf = (options: Readonly<Record<string, unknown>>): PoolSizes => ({
  size: options.size as number,
  maxOverflow: options.maxOverflow as number,
  minIdle: options.minIdle as number,
  maxWaiting: (options.maxWaiting as number | undefined) ?? null
})

const restart = "cannot change while the services run; restart with the new configuration"

/**
 * A canonical text of a decoded value: keys sorted, durations as milliseconds, so two
 * configurations that say the same thing compare equal however they were written.
 */
export const canonical = (value: unknown): string =>
  JSON.stringify(value, function (this: unknown, key: string) {
    const raw = (this as Record<string, unknown>)[key]
    if (Duration.isDuration(raw)) return Duration.isFinite(raw) ? Duration.toMillis(raw) : "infinity"
    if (typeof raw === "object" && raw !== null && !Array.isArray(raw)) {
      const sorted: Record<string, unknown> = {}
      for (const name of Object.keys(raw).sort()) sorted[name] = (raw as Record<string, unknown>)[name]
      return sorted
    }
    return raw
  }) ?? "undefined"

const same = (a: unknown, b: unknown): boolean => canonical(a) === canonical(b)

/** Entries of `next` that are new or differ from `current`; names of `current` missing in `next`. */
const diff = (
  current: Readonly<Record<string, unknown>> | undefined,
  next: Readonly<Record<string, unknown>> | undefined
): { readonly changed: ReadonlyArray<readonly [string, unknown]>; readonly removed: ReadonlyArray<string> } => ({
  changed: Object.entries(next ?? {}).filter(([name, value]) => current?.[name] === undefined || !same(current[name], value)),
  removed: Object.keys(current ?? {}).filter((name) => next?.[name] === undefined)
})

const removal =
  (section: string, what: string) =>
  (name: string): Refusal => ({
    path: `${section}.${name}`,
    issue: `removing ${what} "${name}" while the services run is not supported (callers and profiles may still name it); keep it, or restart`
  })

/**
 * The reload from `current` to `next`. Sections whose services take no change at run time
 * (`redis`, `health`, `memory`, `performance`, the breakers' `defaults` and `maxBreakers`)
 * must be unchanged; named entries may be added or changed, never removed; a pool may change
 * only its sizes, and only one that is configured already (pools are built from code); a
 * rule or a bulkhead may change, not be added.
 */
export const plan = (current: Snapshot, next: Snapshot): Plan => {
  const refusals: Array<Refusal> = []
  for (const section of ["redis", "health", "memory", "performance"] as const) {
    if (!same(current[section], next[section])) refusals.push({ path: section, issue: restart })
  }
  for (const field of ["defaults", "maxBreakers"] as const) {
    if (!same(current.circuitBreaker?.[field], next.circuitBreaker?.[field])) {
      refusals.push({ path: `circuitBreaker.${field}`, issue: restart })
    }
  }
  const changes: Array<Change> = []

  const breakers = diff(current.circuitBreaker?.breakers, next.circuitBreaker?.breakers)
  refusals.push(...breakers.removed.map(removal("circuitBreaker.breakers", "breaker")))
  for (const [name, policy] of breakers.changed) changes.push({ kind: "breaker", name, policy })

  const rules = diff(current.rateLimiter?.rules, next.rateLimiter?.rules)
  refusals.push(...rules.removed.map(removal("rateLimiter.rules", "rule")))
  for (const [name, rule] of rules.changed) {
    if (current.rateLimiter?.rules[name] === undefined) {
      // a rule's state table and store are made when the limiter is built
      refusals.push({ path: `rateLimiter.rules.${name}`, issue: `adding rule "${name}" needs a restart (its store is set up at start)` })
    } else changes.push({ kind: "rule", name, rule })
  }

  const pools = diff(current.pools, next.pools)
  refusals.push(...pools.removed.map(removal("pools", "pool")))
  for (const [name, options] of pools.changed) {
    const before = current.pools?.[name]
    if (before === undefined) {
      refusals.push({ path: `pools.${name}`, issue: `a pool is built from code at start: adding pool "${name}" needs a restart` })
      continue
    }
    const after = options as Readonly<Record<string, unknown>>
    const fixed = Object.keys({ ...before, ...after }).filter(
      (field) => !(resizable as ReadonlyArray<string>).includes(field) && !same(before[field], after[field])
    )
    for (const field of fixed.sort())
      refusals.push({ path: `pools.${name}.${field}`, issue: `${restart} (a running pool changes only ${resizable.join(", ")})` })
    if (fixed.length === 0) {
      changes.push({ kind: "pool", name, sizes: sizesOf(after) })
    }
  }

  const bulkheads = diff(current.bulkhead?.limits, next.bulkhead?.limits)
  refusals.push(...bulkheads.removed.map(removal("bulkhead.limits", "bulkhead")))
  for (const [name, limits] of bulkheads.changed) {
    if (current.bulkhead?.limits?.[name] === undefined) {
      // a bulkhead's metrics and health component are registered when the layer is built
      refusals.push({
        path: `bulkhead.limits.${name}`,
        issue: `adding bulkhead "${name}" needs a restart (its metrics and health register at start)`
      })
    } else changes.push({ kind: "bulkhead", name, limits })
  }

  // profiles last: they may name a breaker, rule or bulkhead this reload adds
  const profiles = diff(current.protections, next.protections)
  refusals.push(...profiles.removed.map(removal("protections", "profile")))
  for (const [name, profile] of profiles.changed) changes.push({ kind: "profile", name, profile })

  return { changes, refusals }
}
