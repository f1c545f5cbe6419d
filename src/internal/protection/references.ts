/**
 * A profile's references (its breaker, rule, bulkhead, pool, memory guard) checked against what is
 * configured. One function for both entry points, the configuration file (`Config.decode`,
 * against its sections) and `Protection.configure` (against the services present), so a
 * dangling name reads the same in both: same path, same message, the nearest name suggested.
 */
import { describeCandidates } from "../runtime/options.js"

/** The fields of a profile that name something configured elsewhere. */
export interface References {
  readonly circuitBreaker?: string | undefined
  readonly rateLimit?: { readonly rule: string } | undefined
  readonly bulkhead?: string | undefined
  readonly pool?: string | undefined
  readonly memory?: boolean | undefined
}

/** What a profile may name. `undefined` for a kind: not checked here (the caller reports it). */
export interface Configured {
  readonly breakers: ReadonlyArray<string> | undefined
  readonly rules: ReadonlyArray<string> | undefined
  readonly pools: ReadonlyArray<string> | undefined
  readonly bulkheads: ReadonlyArray<string> | undefined
  /** whether a memory manager is configured; `undefined`: not checked here */
  readonly memory: boolean | undefined
}

/** One dangling reference: the path under the profile (`["rateLimit", "rule"]`) and why. */
export interface Dangling {
  readonly path: ReadonlyArray<string>
  readonly issue: string
}

const notConfigured = (kind: string, name: string, known: ReadonlyArray<string>) =>
  `names ${kind} "${name}", which is not configured; ${describeCandidates(name, known)}`

/** Every reference of `profile` that `configured` does not have, in field order. */
export const dangling = (profile: References, configured: Configured): Array<Dangling> => {
  const issues: Array<Dangling> = []
  // `includes`, not `in` on a record: "toString" and other inherited names are not configured
  const { breakers, bulkheads, pools, rules } = configured
  if (profile.rateLimit !== undefined && rules !== undefined && !rules.includes(profile.rateLimit.rule)) {
    issues.push({ path: ["rateLimit", "rule"], issue: notConfigured("rule", profile.rateLimit.rule, rules) })
  }
  if (profile.memory === true && configured.memory === false) {
    issues.push({ path: ["memory"], issue: "turns on the memory guard, but no memory manager is configured" })
  }
  if (profile.circuitBreaker !== undefined && breakers !== undefined && !breakers.includes(profile.circuitBreaker)) {
    issues.push({ path: ["circuitBreaker"], issue: notConfigured("breaker", profile.circuitBreaker, breakers) })
  }
  if (profile.bulkhead !== undefined && bulkheads !== undefined && !bulkheads.includes(profile.bulkhead)) {
    issues.push({ path: ["bulkhead"], issue: notConfigured("bulkhead", profile.bulkhead, bulkheads) })
  }
  if (profile.pool !== undefined && pools !== undefined && !pools.includes(profile.pool)) {
    issues.push({ path: ["pool"], issue: notConfigured("pool", profile.pool, pools) })
  }
  return issues
}
