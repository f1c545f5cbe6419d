/**
 * Small validation helpers shared by the services' option checks. They collect every
 * violation (as Polly's ValidationHelper does) so one failed layer build reports all of them;
 * the first violation's path becomes the `InvalidConfig` path.
 */
import { Duration, Option } from "effect"
import { InvalidConfig } from "../../Errors.js"

export interface Violation {
  readonly path: string
  readonly message: string
}

export class Violations {
  readonly list: Array<Violation> = []

  add(path: string, message: string): void {
    this.list.push({ path, message })
  }

  /** a positive integer (>= min), or undefined when absent */
  integer(path: string, value: unknown, min: number): number | undefined {
    if (value === undefined) return undefined
    if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
      this.add(path, `must be an integer >= ${min}, got ${describe(value)}`)
      return undefined
    }
    return value
  }

  /** a finite number in (min, max] (or [min, max] when `inclusiveMin`) */
  ratio(path: string, value: unknown, min: number, max: number, inclusiveMin = false): number | undefined {
    if (value === undefined) return undefined
    if (typeof value !== "number" || !Number.isFinite(value) || value > max || (inclusiveMin ? value < min : value <= min)) {
      this.add(path, `must be a number in ${inclusiveMin ? "[" : "("}${min}, ${max}], got ${describe(value)}`)
      return undefined
    }
    return value
  }

  /** a finite number >= min */
  number(path: string, value: unknown, min: number): number | undefined {
    if (value === undefined) return undefined
    if (typeof value !== "number" || !Number.isFinite(value) || value < min) {
      this.add(path, `must be a finite number >= ${min}, got ${describe(value)}`)
      return undefined
    }
    return value
  }

  /** a positive, finite duration in milliseconds */
  duration(path: string, value: unknown): number | undefined {
    if (value === undefined) return undefined
    const parsed = parseDuration(value)
    if (parsed === undefined || !(parsed > 0) || !Number.isFinite(parsed)) {
      this.add(path, `must be a positive, finite duration, got ${describe(value)}`)
      return undefined
    }
    return parsed
  }

  /**
   * A positive duration that arms a timer (a timeout, an interval, a wait bound): like
   * `duration`, and at most `MAX_TIMER_MILLIS`, since Node fires a longer timer after 1 ms.
   */
  timerDuration(path: string, value: unknown): number | undefined {
    const millis = this.duration(path, value)
    if (millis === undefined) return undefined
    const problem = timerLimitProblem(millis)
    if (problem !== undefined) {
      this.add(path, problem)
      return undefined
    }
    return millis
  }

  toError(): InvalidConfig | undefined {
    if (this.list.length === 0) return undefined
    return new InvalidConfig({
      path: this.list[0]!.path,
      message: joinViolations(this.list.map((v) => `${v.path} ${v.message}`))
    })
  }
}

/** How many violations one `InvalidConfig` message spells out; the rest are counted. */
export const MAX_LISTED_VIOLATIONS = 20

/**
 * Joins violation lines into one message, listing at most `MAX_LISTED_VIOLATIONS` and saying
 * how many more there are: 10,000 bad entries must not make a 780 KB log line.
 */
export const joinViolations = (lines: ReadonlyArray<string>): string => {
  if (lines.length <= MAX_LISTED_VIOLATIONS) return lines.join("; ")
  const more = lines.length - MAX_LISTED_VIOLATIONS
  return `${lines.slice(0, MAX_LISTED_VIOLATIONS).join("; ")}; ... and ${more} more violation${more === 1 ? "" : "s"}`
}

/**
 * The longest wait a Node timer can hold: 2^31 - 1 ms (about 24.8 days). Node fires a timer
 * armed with more after 1 ms, so a `timeout: "30 days"` would time out every call at once.
 * Options that arm a timer are rejected above it rather than clamped: a wait that long is a
 * mistake in a resilience policy, and a clamp would silently change what was asked for.
 */
export const MAX_TIMER_MILLIS = 2_147_483_647

/** Why `millis` cannot arm a timer, or undefined when it can. */
export const timerLimitProblem = (millis: number): string | undefined =>
  millis > MAX_TIMER_MILLIS
    ? `must be at most ${MAX_TIMER_MILLIS} milliseconds (about 24.8 days, the longest a timer can wait), got ${millis}ms`
    : undefined

const parseDuration = (value: unknown): number | undefined => {
  if (typeof value === "number") return Number.isNaN(value) ? undefined : value
  try {
    const duration = Duration.fromInput(value as Duration.Input)
    return Option.isSome(duration) ? Duration.toMillis(duration.value) : undefined
  } catch {
    return undefined
  }
}

const describe = (value: unknown): string => {
  if (typeof value === "number") return String(value)
  if (typeof value === "string") return JSON.stringify(value)
  if (Duration.isDuration(value)) return Duration.format(value)
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
