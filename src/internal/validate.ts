/**
 * Small validation helpers shared by the services' option checks. They collect every
 * violation (as Polly's ValidationHelper does) so one failed layer build reports all of them;
 * the first violation's path becomes the `InvalidConfig` path.
 */
import { Duration, Option } from "effect"
import { InvalidConfig } from "../Errors.js"

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
    if (
      typeof value !== "number" || !Number.isFinite(value) || value > max ||
      (inclusiveMin ? value < min : value <= min)
    ) {
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

  toError(): InvalidConfig | undefined {
    if (this.list.length === 0) return undefined
    const [first, ...rest] = this.list
    return new InvalidConfig({
      path: first!.path,
      message: [first!, ...rest].map((v) => `${v.path} ${v.message}`).join("; ")
    })
  }
}

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
