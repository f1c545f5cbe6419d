/**
 * A `CircuitBreaker` test double, as a user would provide one with `Layer.succeed`: its
 * `execute` records the breaker named and runs the call; nothing else is used.
 */
import { Effect, Layer, Stream } from "effect"
import { CircuitBreaker } from "../../src/index.js"

export const breakerDouble = (seen: Array<string>) =>
  Layer.succeed(CircuitBreaker.CircuitBreaker, {
    execute: (breaker) => (self) =>
      Effect.andThen(
        Effect.sync(() => seen.push(breaker)),
        self
      ),
    status: () => Effect.die("unused"),
    reset: () => Effect.void,
    trip: () => Effect.void,
    isolate: () => Effect.succeed({ release: Effect.void }),
    setMode: () => Effect.void,
    configure: () => Effect.void,
    names: Effect.succeed([]),
    transitions: Stream.empty
  } as CircuitBreaker.CircuitBreaker["Service"])
