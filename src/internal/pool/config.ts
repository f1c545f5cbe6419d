import { Duration, Effect } from "effect"
import { InvalidConfig } from "../../Errors.js"
import { timerLimitProblem } from "../runtime/validate.js"

/** The options the shell needs, in plain numbers (milliseconds; Infinity = never). */
export interface Resolved {
  readonly name: string
  readonly size: number
  readonly maxOverflow: number
  readonly minIdle: number
  readonly lifo: boolean
  readonly checkoutTimeoutMillis: number
  readonly acquireTimeoutMillis: number
  readonly idleTimeoutMillis: number
  readonly maxLifetimeMillis: number
  readonly lifetimeJitter: number
  readonly shutdownTimeoutMillis: number
  readonly leakWarningMillis: number
  readonly housekeepingMillis: number
}

export interface Input {
  /** the code part, checked here too: a missing `acquire` must fail InvalidConfig, not throw */
  readonly acquire?: unknown
  readonly release?: unknown
  readonly validate?: unknown
  readonly name?: string | undefined
  readonly size: number
  readonly maxOverflow?: number | undefined
  readonly minIdle?: number | undefined
  readonly strategy?: "fifo" | "lifo" | undefined
  readonly checkoutTimeout?: Duration.Input | undefined
  readonly acquireTimeout?: Duration.Input | undefined
  readonly idleTimeout?: Duration.Input | undefined
  readonly maxLifetime?: Duration.Input | undefined
  readonly lifetimeJitter?: number | undefined
  readonly shutdownTimeout?: Duration.Input | undefined
  readonly leakWarning?: Duration.Input | undefined
}

export const defaults = {
  checkoutTimeout: "5 seconds",
  /** tarn's `createTimeoutMillis` default: far above a healthy connect, well below "forever" */
  acquireTimeout: "30 seconds",
  idleTimeout: "30 seconds",
  shutdownTimeout: "30 seconds",
  lifetimeJitter: 0.1,
  /** the longest pause between two housekeeping passes */
  housekeeping: 30_000
} as const

const isInteger = (n: unknown): n is number => typeof n === "number" && Number.isInteger(n)

/**
 * Checks every option and reports all violations at once (each with its path), so a bad
 * configuration is fixed in one round.
 */
export const resolve = (input: Input, defaultName: string): Effect.Effect<Resolved, InvalidConfig> =>
  Effect.suspend(() => {
    const problems: Array<[path: string, message: string]> = []
    if (typeof input !== "object" || input === null) {
      problems.push(["options", `must be an object, got ${String(input)}`])
    }
    const options: Input = typeof input === "object" && input !== null ? input : { size: NaN }
    const integer = (path: string, value: unknown, min: number, max = Infinity): number => {
      if (!isInteger(value) || value < min || value > max) {
        problems.push([
          path,
          `must be an integer ${max === Infinity ? `>= ${min}` : `between ${min} and ${max}`}, got ${String(value)}`
        ])
        return min
      }
      return value
    }
    /** `armsTimer`: the duration bounds a wait or paces a timer, so Node's timer limit applies */
    const duration = (
      path: string,
      value: Duration.Input | undefined,
      fallback: Duration.Input | undefined,
      armsTimer: boolean
    ) => {
      if (value === undefined) return fallback === undefined ? Infinity : Duration.toMillis(fallback)
      let millis: number
      try {
        millis = Duration.toMillis(Duration.fromInputUnsafe(value))
      } catch {
        millis = NaN
      }
      if (!(millis > 0)) {
        problems.push([path, `must be a positive duration, got ${JSON.stringify(value) ?? String(value)}`])
        return 1
      }
      const limit = armsTimer ? timerLimitProblem(millis) : undefined
      if (limit !== undefined) {
        problems.push([path, limit])
        return 1
      }
      return millis
    }
    if (!Effect.isEffect(options.acquire)) {
      problems.push([
        "acquire",
        `must be an Effect that creates a resource, got ${options.acquire === undefined ? "nothing" : typeof options.acquire}`
      ])
    }
    for (const key of ["release", "validate"] as const) {
      const value = options[key]
      if (value !== undefined && typeof value !== "function") {
        problems.push([key, `must be a function of the resource returning an Effect, got ${typeof value}`])
      }
    }
    const size = integer("size", options.size, 1)
    const maxOverflow = integer("maxOverflow", options.maxOverflow ?? 0, 0)
    const minIdle = integer("minIdle", options.minIdle ?? 0, 0, size)
    if (options.strategy !== undefined && options.strategy !== "fifo" && options.strategy !== "lifo") {
      problems.push(["strategy", `must be "fifo" or "lifo", got ${String(options.strategy)}`])
    }
    const jitter = options.lifetimeJitter ?? defaults.lifetimeJitter
    if (!(typeof jitter === "number" && jitter >= 0 && jitter < 1)) {
      problems.push(["lifetimeJitter", `must be a number in [0, 1), got ${String(jitter)}`])
    }
    const name = options.name ?? defaultName
    if (typeof name !== "string" || name.length === 0) problems.push(["name", "must be a non-empty string"])
    const resolved: Resolved = {
      name,
      size,
      maxOverflow,
      minIdle,
      lifo: options.strategy !== "fifo",
      checkoutTimeoutMillis: duration("checkoutTimeout", options.checkoutTimeout, defaults.checkoutTimeout, true),
      acquireTimeoutMillis: duration("acquireTimeout", options.acquireTimeout, defaults.acquireTimeout, true),
      // idleTimeout and maxLifetime arm no timer of their own: housekeeping runs at most every
      // 30 seconds and compares ages, so any positive length works
      idleTimeoutMillis: duration("idleTimeout", options.idleTimeout, defaults.idleTimeout, false),
      maxLifetimeMillis: duration("maxLifetime", options.maxLifetime, undefined, false),
      lifetimeJitter: jitter,
      shutdownTimeoutMillis: duration("shutdownTimeout", options.shutdownTimeout, defaults.shutdownTimeout, true),
      leakWarningMillis: duration("leakWarning", options.leakWarning, undefined, true),
      housekeepingMillis: 0
    }
    if (problems.length > 0) {
      // `path` names the first problem; the message lists all of them
      return Effect.fail(
        new InvalidConfig({
          path: problems[0]![0],
          message: `pool "${name}": ${problems.map(([p, m]) => `${p} ${m}`).join("; ")}`
        })
      )
    }
    // half the shortest interval the housekeeper serves, so it acts at most half an interval late
    const housekeepingMillis = Math.max(
      1,
      Math.min(
        defaults.housekeeping,
        resolved.idleTimeoutMillis / 2,
        resolved.maxLifetimeMillis / 2,
        resolved.leakWarningMillis / 2
      )
    )
    return Effect.succeed({ ...resolved, housekeepingMillis })
  })
