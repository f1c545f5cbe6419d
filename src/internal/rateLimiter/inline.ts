/**
 * Inline rules (`RateLimiter.limitWith({ algorithm, limit, window }, key)`): a rule given with
 * the call instead of in the layer's options. Each is decoded once through the rule Schema
 * and normalised (`"1 second"` and `1000` are one rule); its state lives in a bounded table of
 * rules, least recently used first out.
 */
import { InvalidConfig } from "../../Errors.js"
import { decodeSync } from "../runtime/options.js"
import type { DecodedRule } from "./config.js"
import { DEFAULT_MAX_KEYS, resolveRule, RuleSchema } from "./config.js"
import type { StoreRule } from "./store.js"

/** Inline rules kept at most (each with its own key table, bounded by its `maxKeys`). */
export const MAX_INLINE_RULES = 1_000

/** The name an inline rule goes by (errors, status, Redis keys): its normalised form. */
export const inlineName = (rule: DecodedRule): string => {
  const config = resolveRule(rule)
  const { algorithm, limit, windowMillis, burst } = config.rule
  let name = `inline:${algorithm}:${limit}/${windowMillis}ms`
  if (burst !== limit) name += `:burst=${burst}`
  if (config.delay) name += `:delay=${config.maxDelayMillis}ms`
  if (config.blockMillis > 0) name += `:block=${config.blockMillis}ms`
  if (config.maxKeys !== DEFAULT_MAX_KEYS) name += `:maxKeys=${config.maxKeys}`
  return name
}

export class InlineRules<S extends StoreRule> {
  /** by the input as written (JSON): what most calls hit, without decoding */
  private readonly written = new Map<string, S>()
  /** by normalised rule: the states */
  private readonly rules = new Map<string, S>()

  /** what `observe` returned for each rule kept: how to stop observing it */
  private readonly unobserve = new Map<string, () => void>()

  /**
   * `observe` is told of each rule as it is first kept (the service registers its metric
   * series) and returns how to undo that, called when the rule is dropped or on `close`.
   */
  constructor(
    private readonly make: (name: string, rule: DecodedRule) => S,
    private readonly capacity = MAX_INLINE_RULES,
    private readonly observe?: (rule: S) => () => void
  ) {}

  /** Stops observing every rule kept (the service is closing). */
  close(): void {
    for (const undo of this.unobserve.values()) undo()
    this.unobserve.clear()
  }

  /** The rule `input` is (validated the first time it is seen), or why it is not one. */
  resolve(input: unknown): S | InvalidConfig {
    let written: string
    try {
      written = JSON.stringify(input)
    } catch {
      written = ""
    }
    const known = this.written.get(written)
    if (known !== undefined && this.rules.get(known.name) === known) {
      // most recently used last: the first entry is the next to go
      this.written.delete(written)
      this.written.set(written, known)
      this.rules.delete(known.name)
      this.rules.set(known.name, known)
      return known
    }
    const decoded = decodeSync(RuleSchema, input, "rule")
    if (decoded instanceof InvalidConfig) return decoded
    const name = inlineName(decoded)
    let rule = this.rules.get(name)
    if (rule === undefined) {
      rule = this.make(name, decoded)
      if (this.rules.size >= this.capacity) {
        for (const oldest of this.rules.keys()) {
          this.rules.delete(oldest)
          this.unobserve.get(oldest)?.()
          this.unobserve.delete(oldest)
          break
        }
      }
      if (this.observe !== undefined) this.unobserve.set(name, this.observe(rule))
    } else {
      this.rules.delete(name)
    }
    this.rules.set(name, rule)
    if (written !== "") {
      if (this.written.size >= this.capacity * 4) {
        for (const oldest of this.written.keys()) {
          this.written.delete(oldest)
          break
        }
      }
      this.written.set(written, rule)
    }
    return rule
  }

  get size(): number {
    return this.rules.size
  }
}
