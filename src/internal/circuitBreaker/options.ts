/**
 * The breakers' options (`CircuitBreaker.OptionsSchema`: `{ defaults, breakers, maxBreakers }`),
 * the one decoding `CircuitBreaker.make` does, and the not-found error that names what is
 * configured. The code part of each policy (`isFailure`) is taken out before decoding and
 * checked here, so data reads the same whether it comes from code or from the file.
 */
import { Result, Schema } from "effect"
import type { InvalidConfig } from "../../Errors.js"
import { ProtectionNotFound } from "../../Errors.js"
import type { Violation } from "../runtime/options.js"
import { describeCandidates, invalidConfig, isRecord, parseOptions, violationsOf } from "../runtime/options.js"
import { NonNegativeInt, withDefault } from "../runtime/schemas.js"
import type { NormalizedPolicy, PolicyCode, PolicyInput } from "./policy.js"
import { normalize, PolicySchema } from "./policy.js"

const BreakerName = Schema.String.pipe(
  Schema.check(Schema.makeFilter((name: string) => (name.length > 0 ? undefined : "a breaker needs a non-empty name")))
)

/** The default of `maxBreakers`. */
export const DEFAULT_MAX_BREAKERS = 1000

// `defaults` and `breakers` are optional rather than `withDefault(…, {})`: under a decoding
// default, a struct whose plain field (an integer) fails stops before its transformed fields
// (durations) are checked, so a message would list some violations, not all. Absent, they
// mean `{}`: every field's own default, no configured breaker.

/** The breakers' options, data only (`CircuitBreaker.OptionsSchema`). */
export const OptionsSchema = Schema.Struct({
  /** the policy of breakers created on first use of a name not in `breakers`; absent: `{}` */
  defaults: Schema.optional(PolicySchema),
  /** breakers by name, each with its own policy; absent: none */
  breakers: Schema.optional(Schema.Record(BreakerName, PolicySchema)),
  /** how many breakers may be created from `defaults` (LRU-evicted); 0: none, unknown names fail */
  maxBreakers: withDefault(NonNegativeInt, DEFAULT_MAX_BREAKERS)
})

/** A policy as written in code: data and code part. */
export type PolicyWithCode = PolicyInput & PolicyCode

/** The options as written in code. */
export interface OptionsInput {
  readonly defaults?: PolicyWithCode | undefined
  readonly breakers?: Readonly<Record<string, PolicyWithCode>> | undefined
  readonly maxBreakers?: number | undefined
}

/** What the registry is built from. */
export interface Resolved {
  readonly defaults: NormalizedPolicy
  readonly policies: ReadonlyMap<string, NormalizedPolicy>
  readonly maxBreakers: number
}

/** Takes the code part out of one policy, reporting a code field that is not a function. */
const splitCode = (policy: unknown, path: string, violations: Array<Violation>): readonly [data: unknown, code: PolicyCode | undefined] => {
  if (!isRecord(policy) || !Object.hasOwn(policy, "isFailure")) return [policy, undefined]
  const { isFailure, ...data } = policy
  if (isFailure === undefined) return [data, undefined]
  if (typeof isFailure !== "function") {
    violations.push({ path: `${path}.isFailure`, message: "must be a function (cause) => boolean" })
    return [data, undefined]
  }
  return [data, { isFailure: isFailure as NonNullable<PolicyCode["isFailure"]> }]
}

/**
 * Decodes the options through `OptionsSchema`, strictly, with the code part checked beside
 * it: every violation is listed, each as `path: message`.
 */
export const resolve = (options: unknown): Resolved | InvalidConfig => {
  const codeViolations: Array<Violation> = []
  let data = options
  let defaultsCode: PolicyCode | undefined
  const codes = new Map<string, PolicyCode>()
  if (isRecord(options)) {
    const copy: Record<string, unknown> = { ...options }
    if (Object.hasOwn(options, "defaults")) {
      const [policy, code] = splitCode(options.defaults, "defaults", codeViolations)
      copy.defaults = policy
      defaultsCode = code
    }
    if (isRecord(options.breakers)) {
      const breakers: Record<string, unknown> = {}
      for (const [name, value] of Object.entries(options.breakers)) {
        const [policy, code] = splitCode(value, `breakers.${name}`, codeViolations)
        breakers[name] = policy
        if (code !== undefined) codes.set(name, code)
      }
      copy.breakers = breakers
    }
    data = copy
  }
  const result = Schema.decodeUnknownResult(OptionsSchema)(data, parseOptions)
  const violations = Result.isFailure(result) ? violationsOf(result.failure.issue) : []
  const invalid = invalidConfig([...violations, ...codeViolations])
  if (invalid !== undefined || Result.isFailure(result)) return invalid!
  const decoded = result.success
  const policies = new Map<string, NormalizedPolicy>()
  for (const [name, policy] of Object.entries(decoded.breakers ?? {})) {
    policies.set(name, normalize(policy, codes.get(name)))
  }
  const defaults = decoded.defaults ?? Schema.decodeSync(PolicySchema)({})
  return { defaults: normalize(defaults, defaultsCode), policies, maxBreakers: decoded.maxBreakers }
}

/**
 * Decodes one policy (runtime `configure`) as `resolve` decodes each of `breakers`: through
 * `PolicySchema`, strictly, the code part checked beside it, paths under `base`.
 */
export const resolvePolicy = (policy: unknown, base: string): NormalizedPolicy | InvalidConfig => {
  const codeViolations: Array<Violation> = []
  const [data, code] = splitCode(policy, base, codeViolations)
  const result = Schema.decodeUnknownResult(PolicySchema)(data, parseOptions)
  const violations = Result.isFailure(result) ? violationsOf(result.failure.issue, base) : []
  const invalid = invalidConfig([...violations, ...codeViolations])
  if (invalid !== undefined || Result.isFailure(result)) return invalid!
  return normalize(result.success, code)
}

/** The not-found error for breaker `name`, suggesting among the configured ones. */
export const notFound = (name: string, known: ReadonlyArray<string>): ProtectionNotFound =>
  new ProtectionNotFound({ kind: "circuit_breaker", protection: name, hint: describeCandidates(name, known) })
