/**
 * What every rate limiter store (memory, Redis) checks about a call before deciding, in one
 * place so the stores cannot drift apart.
 */
import { InvalidConfig, ProtectionNotFound } from "../../Errors.js"
import { describeCandidates } from "../runtime/options.js"

/** The not-found error for `rule`, suggesting among the configured `rules`. */
export const notFound = (rule: string, rules: ReadonlyArray<string>): ProtectionNotFound =>
  new ProtectionNotFound({ kind: "rate_limit_rule", protection: rule, hint: describeCandidates(rule, rules) })

export const invalidCost = (cost: unknown, path = "cost"): InvalidConfig =>
  new InvalidConfig({ path, message: `must be a positive integer, got ${String(cost)}` })

export const invalidBlock = (duration: unknown): InvalidConfig =>
  new InvalidConfig({ path: "duration", message: `must be a duration of at least 1 millisecond (or infinite), got ${String(duration)}` })

/** costs are whole units, so every algorithm's arithmetic stays exact */
export const isCost = (cost: number): boolean => Number.isSafeInteger(cost) && cost >= 1
