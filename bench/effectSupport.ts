/**
 * What the Effect suites share: building a layer for the whole run (closed in the suite's
 * teardown), a loop that runs an effect `n` times in one fiber, summing its results (so
 * the work cannot be optimised away), and one that runs `call()` `n` times, success or not.
 */
import type { Context } from "effect"
import { Effect, Exit, Layer, Scope } from "effect"

export const buildLayer = async <S>(layer: Layer.Layer<S, unknown>) => {
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  return { context, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

export const repeatSum =
  <E, R>(effect: Effect.Effect<number, E, R>) =>
  (n: number) =>
    Effect.gen(function* () {
      let total = 0
      for (let i = 0; i < n; i++) total += yield* effect
      return total
    })

/** Runs `call()` `n` times in one fiber with `context`, keeping going past failures. */
export const loopExits =
  <R>(context: Context.Context<R>, call: () => Effect.Effect<unknown, unknown, R>) =>
  (n: number): Promise<void> =>
    Effect.runPromise(
      Effect.gen(function* () {
        for (let i = 0; i < n; i++) yield* Effect.exit(call())
      }).pipe(Effect.provideContext(context))
    )
