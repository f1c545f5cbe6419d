/**
 * The bulkheads' options, stated once as a Schema (`Bulkhead.OptionsSchema`: `{ limits }`, and
 * `Bulkhead.LimitsSchema` for one bulkhead's limits, which runtime `configure` decodes too),
 * and the not-found error that names what is configured. Decoded once when the service is
 * built; the call path reads only `Resolved` (plain numbers).
 */
import { Duration, Schema } from "effect"
import { InvalidConfig, ProtectionNotFound } from "../../Errors.js"
import { decodeSync, describeCandidates } from "../runtime/options.js"
import { millis, NonNegativeInt, PositiveInt, TimerDuration, withDefault } from "../runtime/schemas.js"

/** The default of `waitTimeout`, as a user would write it. */
export const DEFAULT_WAIT_TIMEOUT = "5 seconds"

const BulkheadName = Schema.String.pipe(
  Schema.check(Schema.makeFilter((name: string) => (name.length > 0 ? undefined : "a bulkhead needs a non-empty name")))
)

/** One bulkhead's limits (`Bulkhead.LimitsSchema`). */
export const LimitsSchema = Schema.Struct({
  /** calls that may run at once (cockatiel's `limit`, resilience4j's `maxConcurrentCalls`, Polly's `PermitLimit`) */
  maxConcurrent: PositiveInt,
  /** calls that may wait for a slot; one more fails at once (cockatiel's `queue`, Polly's `QueueLimit`) */
  maxWaiting: withDefault(NonNegativeInt, 0),
  /** the longest a call waits for a slot (resilience4j's `maxWaitDuration`; arms a timer) */
  waitTimeout: withDefault(TimerDuration, DEFAULT_WAIT_TIMEOUT)
})

// `limits` is optional rather than `withDefault(…, {})`, as in the breakers' Schema: under a
// decoding default a struct stops at its first failing plain field, so not every violation
// would be listed. Absent, it means no bulkhead.

/** The bulkheads' options, data only (`Bulkhead.OptionsSchema`). */
export const OptionsSchema = Schema.Struct({
  /** bulkheads by name, each with its limits; absent: none */
  limits: Schema.optional(Schema.Record(BulkheadName, LimitsSchema))
})

/** One bulkhead's limits as written. */
export type LimitsInput = typeof LimitsSchema.Encoded

/** One bulkhead's limits, decoded. */
export type Limits = typeof LimitsSchema.Type

/** One bulkhead's limits in plain numbers, as the core reads them. */
export interface Resolved {
  readonly maxConcurrent: number
  readonly maxWaiting: number
  readonly waitTimeoutMillis: number
}

export const toResolved = (limits: Limits): Resolved => ({
  maxConcurrent: limits.maxConcurrent,
  maxWaiting: limits.maxWaiting,
  waitTimeoutMillis: millis(limits.waitTimeout)
})

/** The decoded form of resolved limits (what `status` reports). */
export const toLimits = (resolved: Resolved): Limits => ({
  maxConcurrent: resolved.maxConcurrent,
  maxWaiting: resolved.maxWaiting,
  waitTimeout: Duration.millis(resolved.waitTimeoutMillis)
})

/** Decodes the options strictly: every violation listed, each as `path: message`. */
export const resolve = (options: unknown): ReadonlyMap<string, Resolved> | InvalidConfig => {
  const decoded = decodeSync(OptionsSchema, options)
  if (decoded instanceof InvalidConfig) return decoded
  const resolved = new Map<string, Resolved>()
  for (const [name, entry] of Object.entries(decoded.limits ?? {})) resolved.set(name, toResolved(entry))
  return resolved
}

/** Decodes one bulkhead's new limits (runtime `configure`), paths under `limits.<name>`. */
export const resolveLimits = (bulkhead: string, limits: unknown): Resolved | InvalidConfig => {
  const decoded = decodeSync(LimitsSchema, limits, `limits.${bulkhead}`)
  return decoded instanceof InvalidConfig ? decoded : toResolved(decoded)
}

/** The not-found error for bulkhead `name`, suggesting among the configured ones. */
export const notFound = (name: string, known: ReadonlyArray<string>): ProtectionNotFound =>
  new ProtectionNotFound({ kind: "bulkhead", protection: name, hint: describeCandidates(name, known) })
