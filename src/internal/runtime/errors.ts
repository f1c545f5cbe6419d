/**
 * Construction helpers for the library's own errors, shared by every concept.
 */
import { Duration } from "effect"

/** A duration as error messages print it: `Duration.format`, or "never" for an infinite one. */
export const formatDuration = (duration: Duration.Duration): string => (Duration.isFinite(duration) ? Duration.format(duration) : "never")

/**
 * Builds an error without capturing a stack trace and without re-validating fields the
 * library itself produced. Rejections are on the hot path of an overloaded service (an open
 * breaker, an exceeded limit): they must cost a few allocations, not a stack walk (a
 * `new Error()` costs microseconds; this costs tens of nanoseconds). The result is a real
 * instance of the class: `instanceof`, `_tag`, `code`, `message` and Schema encoding all work.
 */
export const fastConstructor =
  <C extends new (fields: any, options?: any) => { readonly _tag: string; readonly code: string }>(
    Class: C,
    tag: InstanceType<C>["_tag"],
    code: InstanceType<C>["code"]
  ) =>
  (fields: Omit<ConstructorParameters<C>[0], "_tag" | "code">): InstanceType<C> => {
    const error = Object.create(Class.prototype)
    error._tag = tag
    error.code = code
    for (const key in fields) error[key] = (fields as Record<string, unknown>)[key]
    return error
  }
