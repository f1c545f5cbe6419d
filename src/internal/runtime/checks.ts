/**
 * Option checks that fall back to a default (used by the PerformanceMonitor and the
 * MemoryManager). Every violation is collected so one failed build reports all of them; the
 * first one's path becomes the `InvalidConfig` path.
 */
import { Duration, Option } from "effect"
import { InvalidConfig } from "../../Errors.js"
import { joinViolations, timerLimitProblem } from "./validate.js"

export class Checks {
  readonly violations: Array<{ readonly path: string; readonly message: string }> = []

  add(path: string, message: string): void {
    this.violations.push({ path, message })
  }

  /** a positive, finite duration in milliseconds, or the default when absent */
  duration(path: string, value: Duration.Input | undefined, fallback: number): number {
    if (value === undefined) return fallback
    const decoded = typeof value === "number" && Number.isNaN(value) ? Option.none() : safeDecode(value)
    const millis = Option.isSome(decoded) ? Duration.toMillis(decoded.value) : Number.NaN
    if (!(millis > 0) || !Number.isFinite(millis)) {
      this.add(path, `must be a positive, finite duration, got ${String(value)}`)
      return fallback
    }
    return millis
  }

  /** like `duration`, for a wait that arms a timer: at most 2^31 - 1 ms */
  timerDuration(path: string, value: Duration.Input | undefined, fallback: number): number {
    const millis = this.duration(path, value, fallback)
    const problem = timerLimitProblem(millis)
    if (problem === undefined) return millis
    this.add(path, problem)
    return fallback
  }

  /** a finite number in [min, max] (or (min, max] when `exclusiveMin`), or the default */
  number(path: string, value: number | undefined, fallback: number, min: number, max: number, exclusiveMin = false): number {
    if (value === undefined) return fallback
    if (typeof value !== "number" || !Number.isFinite(value) || value > max || (exclusiveMin ? value <= min : value < min)) {
      this.add(path, `must be a number in ${exclusiveMin ? "(" : "["}${min}, ${max}], got ${String(value)}`)
      return fallback
    }
    return value
  }

  /** an integer >= min, or the default */
  integer(path: string, value: number | undefined, fallback: number, min: number): number {
    if (value === undefined) return fallback
    if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
      this.add(path, `must be an integer >= ${min}, got ${String(value)}`)
      return fallback
    }
    return value
  }

  error(): InvalidConfig | undefined {
    if (this.violations.length === 0) return undefined
    return new InvalidConfig({
      path: this.violations[0]!.path,
      message: joinViolations(this.violations.map((v) => `${v.path} ${v.message}`))
    })
  }
}

const safeDecode = (value: Duration.Input): Option.Option<Duration.Duration> => {
  try {
    return Duration.fromInput(value)
  } catch {
    return Option.none()
  }
}
