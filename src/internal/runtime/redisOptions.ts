/**
 * The options both Redis stores share, named and checked the same way:
 *
 * - `prefix`: starts every key (and channel), joined by `:`, so `"shop"` gives
 *   `shop:<rule>:<key>` and `shop:state:<breaker>`. One trailing `:` is ignored, so a prefix
 *   written the former way (`"shop:"`) keeps naming the same keys.
 * - `commandTimeout`: the bound on every command (the defaults differ per store: see each).
 */
import { Schema } from "effect"
import { InvalidConfig } from "../../Errors.js"

/** The prefix keys start with, without its trailing `:`. */
export const stripPrefix = (prefix: string): string => (prefix.endsWith(":") ? prefix.slice(0, -1) : prefix)

/** One trailing `:` is ignored (`"shop:"` names the same keys as `"shop"`), so what is left must not be empty. */
export const Prefix = Schema.String.pipe(
  Schema.check(
    Schema.makeFilter<string>((prefix) =>
      stripPrefix(prefix).length > 0 ? undefined : `must be a non-empty string, got ${JSON.stringify(prefix)}`
    )
  )
)

/** An option renamed since 0.1.0: a clear error rather than an option silently ignored. */
export const renamedOption = (options: object, from: string, to: string): InvalidConfig | undefined =>
  from in options && (options as Record<string, unknown>)[from] !== undefined
    ? new InvalidConfig({ path: from, message: `was renamed to ${to}` })
    : undefined
