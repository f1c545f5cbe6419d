/**
 * Validation of rate-limit rules: user input in, integer-only `Rule`s out, or the first
 * problem as an `InvalidConfig` naming `rules.<rule>.<field>` and why.
 */
import { Duration, Option } from "effect"
import { InvalidConfig } from "../../Errors.js"
import type { AlgorithmName, Rule } from "./algorithms.js"
import { algorithmNames } from "./algorithms.js"

/** What a user writes (RateLimiter.RateRule, kept structural here to avoid a cycle). */
export interface RuleInput {
  readonly algorithm: AlgorithmName
  readonly limit: number
  readonly window: Duration.Input
  readonly burst?: number | undefined
  readonly onExceeded?: "fail" | "delay" | undefined
  readonly maxDelay?: Duration.Input | undefined
  readonly maxKeys?: number | undefined
}

export interface RuleConfig {
  readonly rule: Rule
  readonly delay: boolean
  /** the longest a `"delay"` caller waits, in ms (may be Infinity) */
  readonly maxDelayMillis: number
  readonly maxKeys: number
}

export const DEFAULT_MAX_KEYS = 100_000

const describe = (value: unknown): string =>
  typeof value === "string" ? JSON.stringify(value) : typeof value === "number" ? String(value) : typeof value

/** milliseconds of a Duration.Input, or undefined when it is not one */
const toMillis = (input: unknown): number | undefined => {
  if (input === undefined || input === null) return undefined
  const duration = Duration.fromInput(input as Duration.Input)
  return Option.isSome(duration) ? Duration.toMillis(duration.value) : undefined
}

const isPositiveInteger = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 1

export const validateRule = (name: string, input: RuleInput): RuleConfig | InvalidConfig => {
  const path = (field: string) => `rules.${name}.${field}`
  const invalid = (field: string, message: string) => new InvalidConfig({ path: path(field), message })
  if (typeof input !== "object" || input === null) return invalid("algorithm", "a rule must be an object")
  if (!algorithmNames.includes(input.algorithm)) {
    return invalid("algorithm", `must be one of ${algorithmNames.join(", ")}, got ${describe(input.algorithm)}`)
  }
  if (!isPositiveInteger(input.limit)) {
    return invalid("limit", `must be a positive integer (calls per window), got ${describe(input.limit)}`)
  }
  const windowMillis = toMillis(input.window)
  if (windowMillis === undefined || !Number.isFinite(windowMillis) || !(windowMillis >= 1)) {
    return invalid("window", `must be a finite duration of at least 1 millisecond, got ${describe(input.window)}`)
  }
  if (!Number.isInteger(windowMillis)) {
    return invalid("window", `must be a whole number of milliseconds, got ${windowMillis}ms`)
  }
  if (input.burst !== undefined && !isPositiveInteger(input.burst)) {
    return invalid("burst", `must be an integer >= 1, got ${describe(input.burst)}`)
  }
  const burst = input.burst ?? input.limit
  // token amounts are counted in units of 1/windowMillis token: they must stay exact integers
  if (Math.max(burst, input.limit) * windowMillis > Number.MAX_SAFE_INTEGER) {
    return invalid("window", `window x ${input.burst !== undefined ? "burst" : "limit"} is too large for exact arithmetic`)
  }
  if (input.onExceeded !== undefined && input.onExceeded !== "fail" && input.onExceeded !== "delay") {
    return invalid("onExceeded", `must be "fail" or "delay", got ${describe(input.onExceeded)}`)
  }
  let maxDelayMillis = windowMillis
  if (input.maxDelay !== undefined) {
    const millis = toMillis(input.maxDelay)
    if (millis === undefined || !(millis >= 0)) {
      return invalid("maxDelay", `must be a duration >= 0, got ${describe(input.maxDelay)}`)
    }
    maxDelayMillis = millis
  }
  if (input.maxKeys !== undefined && !(isPositiveInteger(input.maxKeys) || input.maxKeys === Infinity)) {
    return invalid("maxKeys", `must be an integer >= 1 (or Infinity), got ${describe(input.maxKeys)}`)
  }
  return {
    rule: { algorithm: input.algorithm, limit: input.limit, windowMillis, burst },
    delay: input.onExceeded === "delay",
    maxDelayMillis,
    maxKeys: input.maxKeys ?? DEFAULT_MAX_KEYS
  }
}
