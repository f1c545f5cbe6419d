/**
 * The health options, stated once as Schemas (constraints and defaults next to each field):
 * the aggregator's (`HealthAggregator.OptionsSchema`), one check's (`register`), the routes'
 * (`HealthHttp.RoutesOptionsSchema`) and the HTTP endpoint's (`HealthHttp.OptionsSchema`). The
 * layers, `register` and the configuration file's `health` section all decode through them, so
 * a mistake reads the same everywhere.
 */
import { Duration, Effect, Schema, SchemaTransformation } from "effect"
import type { InvalidConfig } from "../../Errors.js"
import { decode } from "../runtime/options.js"
import { millis, TimerDuration, withDefault } from "../runtime/schemas.js"
import { timerLimitProblem } from "../runtime/validate.js"

const nonNegativeFinite = Schema.makeFilter<Duration.Duration>((duration) =>
  Duration.isFinite(duration) && Duration.toMillis(duration) >= 0 ? undefined : "must be a finite duration >= 0 (0: no cache)"
)

const fitsATimer = Schema.makeFilter<Duration.Duration>((duration) => timerLimitProblem(Duration.toMillis(duration)))

// milliseconds, NaN rejected (Duration.millis would turn it into a zero duration)
const FiniteMillis = Schema.Finite.pipe(Schema.decodeTo(Schema.Duration, SchemaTransformation.durationFromMillis))

/** A cache lifetime: like `TimerDuration`, and 0 too (no cache: a check runs on every read). */
const CacheTtl = Schema.Union([Schema.Duration, Schema.DurationFromString, FiniteMillis]).pipe(
  Schema.check(nonNegativeFinite),
  Schema.check(fitsATimer)
)

/** The aggregator's options (`HealthAggregator.OptionsSchema`). */
export const AggregatorOptions = Schema.Struct({
  /** the timeout of checks registered without one, and of built-in components */
  defaultTimeout: withDefault(TimerDuration, "1 second"),
  /** how long an on-demand check's result answers reads before the check runs again */
  cacheTtl: withDefault(CacheTtl, "1 second")
})

/** The options as a user writes them. */
export type AggregatorOptions = typeof AggregatorOptions.Encoded

/** One check's options (`HealthAggregator.CheckOptionsSchema`). */
export const CheckOptions = Schema.Struct({
  /** run in the background every interval (readers take the last result); absent: on demand */
  interval: Schema.optional(TimerDuration),
  /** past it the check is interrupted and unhealthy; absent: the layer's `defaultTimeout` */
  timeout: Schema.optional(TimerDuration),
  /** whether its being unhealthy makes the system unhealthy */
  critical: withDefault(Schema.Boolean, false)
})

/** The options as a user writes them. */
export type CheckOptions = typeof CheckOptions.Encoded

const CheckName = Schema.String.pipe(
  Schema.check(Schema.makeFilter((name: string) => (name.length > 0 ? undefined : "a check needs a non-empty name")))
)

export interface AggregatorConfig {
  readonly defaultTimeoutMs: number
  readonly cacheTtlMs: number
}

/** The aggregator's options, decoded under `health`, in milliseconds. */
export const parseAggregatorOptions = (options: unknown): Effect.Effect<AggregatorConfig, InvalidConfig> =>
  Effect.map(decode(AggregatorOptions, options ?? {}, "health"), (decoded) => ({
    defaultTimeoutMs: millis(decoded.defaultTimeout),
    cacheTtlMs: millis(decoded.cacheTtl)
  }))

export interface CheckConfig {
  readonly timeoutMs: number
  readonly intervalMs: number | undefined
  readonly critical: boolean
}

/** A check's name and options, decoded under `health.checks.<name>`, in milliseconds. */
export const parseCheckOptions = (name: unknown, options: unknown, defaultTimeoutMs: number): Effect.Effect<CheckConfig, InvalidConfig> =>
  Effect.flatMap(decode(CheckName, name, "health.checks"), (checkName) =>
    Effect.map(decode(CheckOptions, options ?? {}, `health.checks.${checkName}`), (decoded) => ({
      timeoutMs: decoded.timeout === undefined ? defaultTimeoutMs : millis(decoded.timeout),
      intervalMs: decoded.interval === undefined ? undefined : millis(decoded.interval),
      critical: decoded.critical
    }))
  )

const pathRule = Schema.makeFilter((path: string) =>
  /^\/[^?#\s]*$/.test(path) && !(path.length > 1 && path.endsWith("/"))
    ? undefined
    : `must start with "/", not end with "/" and hold no query, got ${JSON.stringify(path)}`
)

/** The routes' options (`HealthHttp.RoutesOptionsSchema`): what the endpoint serves. */
export const RoutesOptions = Schema.Struct({
  /** where the full report is served; `/live` and `/ready` go under it */
  path: withDefault(Schema.String.pipe(Schema.check(pathRule)), "/health"),
  /** whether component names, error messages, check details, score and timings are shown */
  details: withDefault(Schema.Boolean, false)
})

/** The options as a user writes them. */
export type RoutesOptions = typeof RoutesOptions.Encoded

/** The HTTP endpoint's options (`HealthHttp.OptionsSchema`): the routes', and where to listen. */
export const HttpOptions = Schema.Struct({
  /** the port to listen on; 0 picks a free one */
  port: Schema.Int.pipe(Schema.check(Schema.isBetween({ minimum: 0, maximum: 65535 }))),
  /** the interface to listen on; absent: every interface (`::`, or `0.0.0.0` without IPv6) */
  host: Schema.optional(Schema.String),
  ...RoutesOptions.fields,
  /** how long a client may take to send its request */
  requestTimeout: withDefault(TimerDuration, "5 seconds")
})

/** The options as a user writes them. */
export type HttpOptions = typeof HttpOptions.Encoded

export interface RoutesConfig {
  /** the path, "" for "/" (so the probes are "/live", not "//live") */
  readonly basePath: string
  readonly details: boolean
}

export interface HttpConfig extends RoutesConfig {
  readonly port: number
  readonly host: string | undefined
  readonly requestTimeoutMillis: number
}

/** The routes' options, decoded under `health.http` (the same fields as the endpoint's). */
export const parseRoutesOptions = (options: unknown): Effect.Effect<RoutesConfig, InvalidConfig> =>
  Effect.map(decode(RoutesOptions, options ?? {}, "health.http"), (decoded) => ({
    basePath: decoded.path === "/" ? "" : decoded.path,
    details: decoded.details
  }))

/** The endpoint's options, decoded under `health.http`. */
export const parseHttpOptions = (options: unknown): Effect.Effect<HttpConfig, InvalidConfig> =>
  Effect.map(decode(HttpOptions, options, "health.http"), (decoded) => ({
    port: decoded.port,
    host: decoded.host,
    basePath: decoded.path === "/" ? "" : decoded.path,
    details: decoded.details,
    requestTimeoutMillis: millis(decoded.requestTimeout)
  }))
