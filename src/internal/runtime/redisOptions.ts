/**
 * The options both Redis stores share, named and checked the same way:
 *
 * - `prefix`: starts every key (and channel), joined by `:`, so `"shop"` gives
 *   `shop:<rule>:<key>` and `shop:state:<breaker>`. One trailing `:` is ignored, so a prefix
 *   written the former way (`"shop:"`) keeps naming the same keys.
 * - `commandTimeout`: the bound on every command (the defaults differ per store: see each).
 */
import { InvalidConfig } from "../../Errors.js"

/** The prefix, without its trailing `:`, or an `InvalidConfig` naming `prefix`. */
export const prefixOption = (input: unknown, fallback: string): string | InvalidConfig => {
  if (input === undefined) return fallback
  const prefix = typeof input === "string" && input.endsWith(":") ? input.slice(0, -1) : input
  if (typeof prefix !== "string" || prefix.length === 0) {
    return new InvalidConfig({ path: "prefix", message: `must be a non-empty string, got ${JSON.stringify(input)}` })
  }
  return prefix
}

/** An option renamed since 0.1.0: a clear error rather than an option silently ignored. */
export const renamedOption = (options: object, from: string, to: string): InvalidConfig | undefined =>
  from in options && (options as Record<string, unknown>)[from] !== undefined
    ? new InvalidConfig({ path: from, message: `was renamed to ${to}` })
    : undefined
