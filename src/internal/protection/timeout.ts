/**
 * The facade's timeout stage: a duration and an operation name compiled once into what every
 * call needs (the milliseconds and the failure, one shared instance), run on the shared-timer
 * timeout of `../runtime/timeout.ts`.
 */
import type { Effect } from "effect"
import { Duration, Exit } from "effect"
import { OperationTimeout } from "../../Errors.js"
import { fastConstructor } from "../runtime/errors.js"
import { timeoutOrElse } from "../runtime/timeout.js"

// the pipeable form is often applied per call (`effect.pipe(Protection.timeout("2 seconds"))`):
// building the error through its Schema constructor would cost more than the whole timeout
const makeOperationTimeout = fastConstructor(OperationTimeout, "OperationTimeout", "operation_timeout")

export interface CompiledTimeout {
  readonly duration: Duration.Duration
  readonly millis: number
  readonly timedOut: Effect.Effect<never, OperationTimeout>
}

const compile = (input: Duration.Input, operation: string): CompiledTimeout => {
  const duration = Duration.fromInputUnsafe(input)
  const error = makeOperationTimeout({ operation, timeout: duration })
  // an Exit is an effect: failing with it costs nothing per call
  return { duration, millis: Duration.toMillis(duration), timedOut: Exit.fail(error) }
}

// `effect.pipe(Protection.timeout("2 seconds"))` written in a function compiles on every call:
// parsing "2 seconds" and building the error cost more than the timeout itself, so a duration
// written as a string or a number, or a Duration value, is compiled once per operation name.
// Bounded: a program has a few of each; past the bound (durations computed per call, say)
// the cache starts over.
const INPUTS_KEPT = 256
const OPERATIONS_KEPT = 64
const byText = new Map<string | number, Map<string, CompiledTimeout>>()
const byDuration = new WeakMap<Duration.Duration, Map<string, CompiledTimeout>>()

const cacheOf = (input: Duration.Input): Map<string, CompiledTimeout> | undefined => {
  if (typeof input === "string" || typeof input === "number") {
    let cache = byText.get(input)
    if (cache === undefined) {
      if (byText.size >= INPUTS_KEPT) byText.clear()
      cache = new Map()
      byText.set(input, cache)
    }
    return cache
  }
  if (!Duration.isDuration(input)) return undefined
  let cache = byDuration.get(input)
  if (cache === undefined) {
    cache = new Map()
    byDuration.set(input, cache)
  }
  return cache
}

/** The timeout of `input` for `operation`; throws for an invalid duration (as `Duration.fromInputUnsafe`). */
export const compileTimeout = (input: Duration.Input, operation: string): CompiledTimeout => {
  const cache = cacheOf(input)
  if (cache === undefined) return compile(input, operation)
  let compiled = cache.get(operation)
  if (compiled === undefined) {
    compiled = compile(input, operation)
    if (cache.size >= OPERATIONS_KEPT) cache.clear()
    cache.set(operation, compiled)
  }
  return compiled
}

/** For tests: how many durations written as text or numbers are cached. */
export const cachedInputs = (): number => byText.size

/** `self`, failing `OperationTimeout` after the compiled duration. */
export const runTimeout = <A, E, R>(self: Effect.Effect<A, E, R>, compiled: CompiledTimeout): Effect.Effect<A, E | OperationTimeout, R> =>
  timeoutOrElse(self, compiled.millis, compiled.timedOut)

/** `Protection.timeout`: the stage compiled once, applied to each effect it is given. */
export const timeoutStage = (input: Duration.Input, operation: string) => {
  const compiled = compileTimeout(input, operation)
  return <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | OperationTimeout, R> => runTimeout(self, compiled)
}
