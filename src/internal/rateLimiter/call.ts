/**
 * What every rate limiter store (memory, Redis) checks about a call before deciding, in one
 * place so the stores cannot drift apart.
 */
import { InvalidConfig, ProtectionNotFound } from "../../Errors.js"
import { describeCandidates } from "../runtime/options.js"

/**
 * `ProtectionNotFound` for a rule, whose message goes on with what is configured: the nearest
 * name, or the names, or that none is. Still a `ProtectionNotFound` (same tag, fields and JSON
 * code); `hint` is the added sentence.
 */
export class RuleNotFound extends ProtectionNotFound {
  constructor(rule: string, readonly hint: string) {
    super({ kind: "rate_limit_rule", protection: rule })
  }
  override get message(): string {
    return `${super.message}; ${this.hint}`
  }
}

/** The not-found error for `rule`, suggesting among the configured `rules`. */
export const notFound = (rule: string, rules: ReadonlyArray<string>): ProtectionNotFound =>
  new RuleNotFound(rule, describeCandidates(rule, rules))

export const invalidCost = (cost: unknown): InvalidConfig =>
  new InvalidConfig({ path: "cost", message: `must be a positive integer, got ${String(cost)}` })

/** costs are whole units, so every algorithm's arithmetic stays exact */
export const isCost = (cost: number): boolean => Number.isSafeInteger(cost) && cost >= 1
