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

export const compileTimeout = (input: Duration.Input, operation: string): CompiledTimeout => {
  const duration = Duration.fromInputUnsafe(input)
  const error = makeOperationTimeout({ operation, timeout: duration })
  // an Exit is an effect: failing with it costs nothing per call
  return { duration, millis: Duration.toMillis(duration), timedOut: Exit.fail(error) }
}

/** `self`, failing `OperationTimeout` after the compiled duration. */
export const runTimeout = <A, E, R>(self: Effect.Effect<A, E, R>, compiled: CompiledTimeout): Effect.Effect<A, E | OperationTimeout, R> =>
  timeoutOrElse(self, compiled.millis, compiled.timedOut)

/** `Protection.timeout`: the stage compiled once, applied to each effect it is given. */
export const timeoutStage = (input: Duration.Input, operation: string) => {
  const compiled = compileTimeout(input, operation)
  return <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | OperationTimeout, R> => runTimeout(self, compiled)
}
