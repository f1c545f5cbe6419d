/**
 * `CircuitBreaker.protect`'s `ignore` option: its check, and what it means for a cause (an
 * outcome that is neither a success nor a failure of the breaker).
 */
import type { Cause } from "effect"
import { InvalidConfig } from "../../Errors.js"
import { unknownKeyMessage } from "../runtime/options.js"

/** An error predicate: which failures are neither a success nor a failure of the breaker */
export type Ignore = (error: unknown) => boolean

const knownOptions = ["ignore"]

/**
 * The `ignore` of per-call options, or the `InvalidConfig` saying why they are not valid (an
 * unknown key, with the nearest option's name; an `ignore` that is not a function).
 */
// the options last found valid, and their `ignore`: call sites pass one constant object
// (`protectWith` passes the same one on every call), so most calls skip the key check
let lastOptions: object | undefined
let lastIgnore: Ignore | undefined

export const ignoreOf = (options: unknown): Ignore | undefined | InvalidConfig => {
  if (options === undefined) return undefined
  if (options === lastOptions && lastOptions !== undefined) return lastIgnore
  if (typeof options !== "object" || options === null) {
    return new InvalidConfig({ path: "", message: "protect's options must be an object such as { ignore }" })
  }
  for (const key of Object.keys(options)) {
    if (!knownOptions.includes(key)) return new InvalidConfig({ path: key, message: `${key}: ${unknownKeyMessage(key, knownOptions)}` })
  }
  const ignore = (options as { readonly ignore?: unknown }).ignore
  if (ignore === undefined || typeof ignore === "function") {
    // a frozen object cannot change after this check; any other is checked again next time
    if (Object.isFrozen(options)) {
      lastOptions = options
      lastIgnore = ignore as Ignore | undefined
    }
    return ignore as Ignore | undefined
  }
  return new InvalidConfig({ path: "ignore", message: "ignore: must be a function (error) => boolean" })
}

/**
 * Whether `ignore` accepts every typed failure of `cause` (at least one), with nothing but
 * interruptions besides: a defect is never ignored, nor is a failure when `ignore` throws
 * (it cannot tell us the error says nothing about the dependency).
 */
export const isIgnoredBy = (ignore: Ignore, cause: Cause.Cause<unknown>): boolean => {
  let ignored = false
  for (const reason of cause.reasons) {
    if (reason._tag === "Interrupt") continue
    if (reason._tag !== "Fail") return false
    try {
      if (ignore(reason.error) !== true) return false
    } catch {
      return false
    }
    ignored = true
  }
  return ignored
}
