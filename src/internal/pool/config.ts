/**
 * A pool's options, stated once as a Schema (`Pool.OptionsSchema`, also the configuration
 * file's `pools.<name>` section as `Config.PoolSizing`): constraints and defaults next to each
 * field, the rule between fields as a check. The code part (`acquire`, `release`, `validate`)
 * is not data, so it is taken out before decoding and checked here, its violations listed with
 * the Schema's. Decoded once when the pool is built; the checkout path reads only `Resolved`.
 */
import type { Effect as EffectType } from "effect"
import { Effect, Result, Schedule, Schema } from "effect"
import { InvalidConfig } from "../../Errors.js"
import type { Violation } from "../runtime/options.js"
import { invalidConfig, isRecord, parseOptions, violationsOf } from "../runtime/options.js"
import { DurationInput, millis, NonNegativeInt, PositiveInt, TimerDuration, withDefault } from "../runtime/schemas.js"

/** The longest pause between two housekeeping passes. */
const HOUSEKEEPING_MILLIS = 30_000

/** A fraction in [0, 1). */
const Jitter = Schema.Finite.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(0), Schema.isLessThan(1)))

const Fields = Schema.Struct({
  /** the pool's name in errors, metrics and health; absent: the tag's key, or "pool" */
  name: Schema.optional(Schema.NonEmptyString),
  /** base number of resources */
  size: PositiveInt,
  /** extra resources allowed under load, destroyed again once idle for `idleTimeout` */
  maxOverflow: withDefault(NonNegativeInt, 0),
  /** idle resources kept ready, created eagerly (at most `size`; 0: lazy) */
  minIdle: withDefault(NonNegativeInt, 0),
  /** which idle resource a checkout takes: "lifo" keeps a warm one, "fifo" spreads use */
  strategy: withDefault(Schema.Literals(["fifo", "lifo"]), "lifo"),
  /**
   * callers allowed to wait once the pool is at capacity (generic-pool's `maxWaitingClients`);
   * one more fails `PoolExhausted` at once. Absent: unbounded (each wait is still bounded by
   * `checkoutTimeout`)
   */
  maxWaiting: Schema.optional(NonNegativeInt),
  /** longest wait for a resource (bounds a wait: at most 2^31 - 1 ms) */
  checkoutTimeout: withDefault(TimerDuration, "5 seconds"),
  /**
   * the longest one `acquire` may run (arms a timer). tarn's `createTimeoutMillis` default:
   * far above a healthy connect, well below the minutes an unanswered TCP connect can take
   */
  acquireTimeout: withDefault(TimerDuration, "30 seconds"),
  /**
   * how long an overflow resource may sit idle before it is destroyed. Arms no timer of its
   * own (housekeeping runs at most every 30 seconds and compares ages), so no timer bound
   */
  idleTimeout: withDefault(DurationInput, "30 seconds"),
  /**
   * which idle resources `idleTimeout` destroys: "overflow" (those above `size`) or "minIdle"
   * (any, down to `minIdle` idle; tarn's and HikariCP's rule, for servers that drop idle
   * connections)
   */
  idleEviction: withDefault(Schema.Literals(["overflow", "minIdle"]), "overflow"),
  /**
   * check idle resources with `validate` this often (HikariCP's keepaliveTime): one at a time,
   * each bounded by acquireTimeout; a failing one is destroyed and replaced up to minIdle.
   * Absent: only on checkout. Needs `validate` (arms a timer)
   */
  validateInterval: Schema.optional(TimerDuration),
  /**
   * retry a failed `acquire` (not one past acquireTimeout, which is given up) up to `times`
   * more, after `delay`, doubling with "exponential"; each attempt bounded by acquireTimeout.
   * Absent: the caller it was started for gets the first failure
   */
  acquireRetry: Schema.optional(
    Schema.Struct({
      times: PositiveInt,
      delay: withDefault(TimerDuration, "100 millis"),
      backoff: withDefault(Schema.Literals(["fixed", "exponential"]), "exponential")
    })
  ),
  /** retire a resource after this long; absent: never (compared with ages: no timer bound) */
  maxLifetime: Schema.optional(DurationInput),
  /** fraction of `maxLifetime` subtracted at random per resource, so they do not all retire at once */
  lifetimeJitter: withDefault(Jitter, 0.1),
  /** how long closing waits for resources in use and acquisitions running (bounds a wait) */
  shutdownTimeout: withDefault(TimerDuration, "30 seconds"),
  /** the longest `ready` waits for `minIdle` resources to exist (bounds a wait) */
  readyTimeout: withDefault(TimerDuration, "30 seconds"),
  /** building the pool waits for `ready` (within readyTimeout, else it fails OperationTimeout) */
  awaitReady: withDefault(Schema.Boolean, false),
  /** log (once) a resource held longer than this; absent: off (bounds a wait) */
  leakWarning: Schema.optional(TimerDuration)
})

type Decoded = typeof Fields.Type

// Runs once every field decoded, so it names a field that is valid on its own.
const minIdleWithinSize = Schema.makeFilter<Decoded>((options) =>
  options.minIdle <= options.size ? undefined : { path: ["minIdle"], issue: `must be <= size (${options.size}), got ${options.minIdle}` }
)

/** A pool's options, data only (`Pool.OptionsSchema`, `Config.PoolSizing`). */
export const OptionsSchema = Fields.pipe(Schema.check(minIdleWithinSize))

/**
 * One checkout's own options (`Pool.CheckoutOptionsSchema`): a checkout timeout replacing the
 * pool's, and a priority among waiters (generic-pool's `acquire(priority)`: 0, the default, is
 * served first; within a priority, first come first served).
 */
export const CheckoutOptionsSchema = Schema.Struct({
  checkoutTimeout: Schema.optional(TimerDuration),
  priority: Schema.optional(NonNegativeInt)
})

/** A checkout's options, resolved to plain numbers. */
export interface CheckoutResolved {
  readonly checkoutTimeoutMillis: number
  readonly priority: number
}

/**
 * One pool's resolver of checkout options, through `CheckoutOptionsSchema` (strict: an unknown
 * key is an `InvalidConfig` with a suggestion); absent fields take the pool's. Decoded once per
 * options object: a call site passing the same object (a constant, or the facade's compiled
 * policy) pays one WeakMap lookup per call after the first.
 */
export const checkoutResolver = (pool: string, defaultTimeoutMillis: number) => {
  const cache = new WeakMap<object, CheckoutResolved | InvalidConfig>()
  return (options: object): CheckoutResolved | InvalidConfig => {
    const cached = cache.get(options)
    if (cached !== undefined) return cached
    const result = Schema.decodeUnknownResult(CheckoutOptionsSchema)(options, parseOptions)
    let resolved: CheckoutResolved | InvalidConfig
    if (Result.isFailure(result)) {
      const invalid = invalidConfig(violationsOf(result.failure.issue))!
      resolved = new InvalidConfig({ path: invalid.path, message: `pool "${pool}" checkout: ${invalid.message}` })
    } else {
      const timeout = result.success.checkoutTimeout
      resolved = {
        checkoutTimeoutMillis: timeout === undefined ? defaultTimeoutMillis : millis(timeout),
        priority: result.success.priority ?? 0
      }
    }
    cache.set(options, resolved)
    return resolved
  }
}

/** The data part as a user writes it. */
export type OptionsInput = typeof OptionsSchema.Encoded

/** The options the shell needs, in plain numbers (milliseconds; Infinity = never). */
export interface Resolved {
  readonly name: string
  readonly size: number
  readonly maxOverflow: number
  readonly minIdle: number
  /** Infinity: unbounded */
  readonly maxWaiting: number
  readonly lifo: boolean
  readonly checkoutTimeoutMillis: number
  readonly acquireTimeoutMillis: number
  readonly idleTimeoutMillis: number
  readonly maxLifetimeMillis: number
  readonly lifetimeJitter: number
  readonly shutdownTimeoutMillis: number
  readonly leakWarningMillis: number
  readonly readyTimeoutMillis: number
  readonly evictToMinIdle: boolean
  /** Infinity: no background validation */
  readonly validateIntervalMillis: number
  /** absent: a failed acquire is not retried */
  readonly acquireRetry: Schedule.Schedule<unknown, unknown> | undefined
  readonly awaitReady: boolean
  readonly housekeepingMillis: number
}

/** Takes the code part out of the options, reporting a code field of the wrong kind. */
const splitCode = (options: Record<string, unknown>, violations: Array<Violation>): Record<string, unknown> => {
  const { acquire, release, validate, ...data } = options
  if (data.validateInterval !== undefined && validate === undefined) {
    violations.push({ path: "validateInterval", message: "needs validate, the check it runs on idle resources" })
  }
  if (!Effect.isEffect(acquire)) {
    violations.push({
      path: "acquire",
      message: `must be an Effect that creates a resource, got ${acquire === undefined ? "nothing" : typeof acquire}`
    })
  }
  for (const [key, value] of [
    ["release", release],
    ["validate", validate]
  ] as const) {
    if (value !== undefined && typeof value !== "function") {
      violations.push({ path: key, message: `must be a function of the resource returning an Effect, got ${typeof value}` })
    }
  }
  return data
}

/** The pool's name for the message prefix, valid or not. */
const nameOf = (options: unknown, defaultName: string): string =>
  isRecord(options) && typeof options.name === "string" && options.name.length > 0 ? options.name : defaultName

/**
 * Decodes the options through `OptionsSchema`, strictly (an unknown key is a violation with a
 * suggestion), with the code part checked beside it. Every violation is listed as
 * `path: message`, the code part's first, after the pool's name; `path` is the first one's.
 */
export const resolve = (options: unknown, defaultName: string): EffectType.Effect<Resolved, InvalidConfig> =>
  Effect.suspend(() => {
    const violations: Array<Violation> = []
    let decoded: Decoded | undefined
    if (!isRecord(options)) {
      violations.push({ path: "options", message: `must be an object with acquire and size, got ${String(options)}` })
    } else {
      const result = Schema.decodeUnknownResult(OptionsSchema)(splitCode(options, violations), parseOptions)
      if (Result.isFailure(result)) violations.push(...violationsOf(result.failure.issue))
      else decoded = result.success
    }
    const invalid = invalidConfig(violations)
    if (invalid !== undefined || decoded === undefined) {
      return Effect.fail(new InvalidConfig({ path: invalid!.path, message: `pool "${nameOf(options, defaultName)}": ${invalid!.message}` }))
    }
    return Effect.succeed(toResolved(decoded, defaultName))
  })

const toResolved = (decoded: Decoded, defaultName: string): Resolved => {
  const idleTimeoutMillis = millis(decoded.idleTimeout)
  const maxLifetimeMillis = decoded.maxLifetime === undefined ? Infinity : millis(decoded.maxLifetime)
  const leakWarningMillis = decoded.leakWarning === undefined ? Infinity : millis(decoded.leakWarning)
  return {
    name: decoded.name ?? defaultName,
    size: decoded.size,
    maxOverflow: decoded.maxOverflow,
    minIdle: decoded.minIdle,
    maxWaiting: decoded.maxWaiting ?? Infinity,
    lifo: decoded.strategy === "lifo",
    checkoutTimeoutMillis: millis(decoded.checkoutTimeout),
    acquireTimeoutMillis: millis(decoded.acquireTimeout),
    idleTimeoutMillis,
    maxLifetimeMillis,
    lifetimeJitter: decoded.lifetimeJitter,
    shutdownTimeoutMillis: millis(decoded.shutdownTimeout),
    leakWarningMillis,
    readyTimeoutMillis: millis(decoded.readyTimeout),
    evictToMinIdle: decoded.idleEviction === "minIdle",
    validateIntervalMillis: decoded.validateInterval === undefined ? Infinity : millis(decoded.validateInterval),
    acquireRetry:
      decoded.acquireRetry === undefined
        ? undefined
        : Schedule.max([
            Schedule.recurs(decoded.acquireRetry.times),
            decoded.acquireRetry.backoff === "exponential"
              ? Schedule.exponential(decoded.acquireRetry.delay)
              : Schedule.spaced(decoded.acquireRetry.delay)
          ]),
    awaitReady: decoded.awaitReady,
    // half the shortest interval the housekeeper serves, so it acts at most half an interval late
    housekeepingMillis: Math.max(1, Math.min(HOUSEKEEPING_MILLIS, idleTimeoutMillis / 2, maxLifetimeMillis / 2, leakWarningMillis / 2))
  }
}
