/**
 * Circuit breaker: cost of a successful call through a Closed breaker, and of a rejection by
 * an Open one, against cockatiel, opossum and effect's own `effect/persistence`
 * CircuitBreaker. Each library is called in its natural style; each style has its baseline:
 * - promise: `await op()` in a loop (op = `async () => 1`)
 * - effect-gen: `yield* op` in an `Effect.gen` loop (op = `Effect.sync(() => 1)`), the
 *   protected effect built per call with `pipe`, as users write it
 * - run-promise: `await Effect.runPromise(op)` per call
 * For the Open scenario the baselines are a plain failure of the same style (a rejected
 * promise caught, an `Effect.fail` caught), so the overhead is what a rejection costs beyond
 * an ordinary error: cockatiel and opossum build an `Error` with a stack trace; we do not.
 *
 * Our calls run through the guarded call that `EFFECT_FOUNDATION_GUARDED_CALL` selects
 * (`portable`, the default, or `fast`), read once per process: compare the two with
 * `EFFECT_FOUNDATION_GUARDED_CALL=fast npm run bench -- circuit-breaker` against a plain run.
 */
import { ConsecutiveBreaker, circuitBreaker as cockatielBreaker, handleAll } from "cockatiel"
import { Context, Effect, Layer, Scope } from "effect"
import { CircuitBreaker as PersistenceBreaker } from "effect/persistence"
import Opossum from "opossum"
import * as Today from "../../src/index.js"
import { loopExits } from "../effectSupport.js"
import { against, againstName, againstTargets, type Case, type Suite } from "../harness.js"

const { CircuitBreaker } = Today
/** with `--against <revision>`: that revision's library, run beside today's */
const previous = await against()?.load<typeof Today>("src/index.js")

const op = async () => 1
const effectOp = Effect.sync(() => 1)
const failure = new Error("dependency failed")

const loopPromise = (call: () => Promise<unknown>) => async (n: number) => {
  for (let i = 0; i < n; i++) await call()
}
const loopPromiseCatching = (call: () => Promise<unknown>) => async (n: number) => {
  for (let i = 0; i < n; i++) {
    try {
      await call()
    } catch {
      // rejected: what the scenario measures
    }
  }
}
const loopRunPromise = <R>(context: Context.Context<R>, call: () => Effect.Effect<unknown, unknown, R>) => {
  const run = Effect.runPromiseExitWith(context)
  return async (n: number) => {
    for (let i = 0; i < n; i++) await run(call())
  }
}

const buildContext = async <A, E>(layer: Layer.Layer<A, E>): Promise<Context.Context<A>> => {
  const scope = Effect.runSync(Scope.make())
  return Effect.runPromise(Layer.buildWithScope(layer, scope))
}

const ours = (open: boolean, library: typeof Today = Today) => {
  const { CircuitBreaker } = library
  const layer = CircuitBreaker.layer({ breakers: { bench: { failureThreshold: 5, resetTimeout: "1 hour" } } })
  return async () => {
    const context = await buildContext(layer)
    if (open) await Effect.runPromise(CircuitBreaker.CircuitBreaker.use((s) => s.trip("bench")).pipe(Effect.provideContext(context)))
    return context
  }
}

const persistence = async (open: boolean) => {
  const context = await buildContext(
    Layer.effect(
      PersistenceBreaker.CircuitBreaker,
      PersistenceBreaker.make({ tripPolicy: PersistenceBreaker.consecutive(5), openDuration: "1 hour" })
    ).pipe(Layer.provide(PersistenceBreaker.layerStoreMemory()))
  )
  const breaker = Context.get(context, PersistenceBreaker.CircuitBreaker)
  if (open) {
    for (let i = 0; i < 5; i++) await Effect.runPromiseExit(Effect.fail(failure).pipe(breaker.execute({ key: "bench" })))
  }
  return breaker
}

const cockatiel = async (open: boolean) => {
  const breaker = cockatielBreaker(handleAll, { halfOpenAfter: 3_600_000, breaker: new ConsecutiveBreaker(5) })
  if (open) for (let i = 0; i < 5; i++) await breaker.execute(() => Promise.reject(failure)).catch(() => {})
  return breaker
}

const opossum = async (open: boolean) => {
  const breaker = new Opossum(op, { timeout: false, resetTimeout: 3_600_000, errorThresholdPercentage: 50 })
  if (open) breaker.open()
  return breaker
}

/** A consecutive-failures breaker with nothing else; bench only. */
const bareBreaker = (open: boolean) => {
  const breakers = new Map([["bench", { open, failures: 0 }]])
  const rejected = Effect.fail("open" as const)
  return (name: string) =>
    <A, E, R>(self: Effect.Effect<A, E, R>) =>
      Effect.withFiber((): Effect.Effect<A, E | "open", R> => {
        const breaker = breakers.get(name)!
        if (breaker.open) return rejected
        return Effect.onExitPrimitive(self, (exit) => {
          if (exit._tag === "Success") breaker.failures = 0
          else if (++breaker.failures >= 5) breaker.open = true
          return undefined
        })
      })
}

const scenario = (open: boolean): Array<Case> => {
  const rejectedPromise = () => Promise.reject(failure)
  const failedEffect = Effect.fail(failure)
  return [
    {
      library: "baseline",
      style: "promise",
      baseline: true,
      setup: async () => (open ? loopPromiseCatching(rejectedPromise) : loopPromise(op))
    },
    {
      library: "cockatiel",
      style: "promise",
      setup: async () => {
        const breaker = await cockatiel(open)
        return open ? loopPromiseCatching(() => breaker.execute(op)) : loopPromise(() => breaker.execute(op))
      }
    },
    {
      library: "opossum",
      style: "promise",
      setup: async () => {
        const breaker = await opossum(open)
        return open ? loopPromiseCatching(() => breaker.fire()) : loopPromise(() => breaker.fire())
      }
    },
    {
      library: "baseline",
      style: "effect-gen",
      baseline: true,
      setup: async () => loopExits(Context.empty(), () => (open ? failedEffect : effectOp))
    },
    {
      library: "effect-foundation",
      style: "effect-gen",
      setup: async () => loopExits(await ours(open)(), () => effectOp.pipe(CircuitBreaker.protect("bench")))
    },
    {
      // what a breaker on effect's public API pays at least: one step that finds its state in
      // the fiber (withFiber), then an exit callback around the call (onExitPrimitive); a
      // rejection: that step and the failure
      library: open ? "floor: withFiber + fail" : "floor: withFiber + onExitPrimitive",
      style: "effect-gen",
      setup: async () => {
        const onExit = () => undefined
        return loopExits(Context.empty(), () => Effect.withFiber(() => (open ? failedEffect : Effect.onExitPrimitive(effectOp, onExit))))
      }
    },
    {
      // the least a breaker on effect's public API costs: the floor above plus one lookup by
      // name, the state check and a consecutive-failure count in the exit callback, through
      // `pipe` as users call it (no windows, no probes, no metrics)
      library: "floor: a bare breaker",
      style: "effect-gen",
      setup: async () => {
        const protect = bareBreaker(open)
        return loopExits(Context.empty(), () => effectOp.pipe(protect("bench")))
      }
    },
    ...(previous === undefined
      ? []
      : [
          {
            library: againstName("effect-foundation"),
            style: "effect-gen" as const,
            setup: async () => loopExits(await ours(open, previous)(), () => effectOp.pipe(previous.CircuitBreaker.protect("bench")))
          }
        ]),
    {
      library: "effect/persistence",
      style: "effect-gen",
      setup: async () => {
        const breaker = await persistence(open)
        return loopExits(Context.empty(), () => effectOp.pipe(breaker.execute({ key: "bench" })))
      }
    },
    {
      library: "baseline",
      style: "run-promise",
      baseline: true,
      setup: async () => loopRunPromise(Context.empty(), () => (open ? failedEffect : effectOp))
    },
    {
      library: "effect-foundation (runPromise)",
      style: "run-promise",
      setup: async () => loopRunPromise(await ours(open)(), () => effectOp.pipe(CircuitBreaker.protect("bench")))
    },
    // the same workload as today's, so both revisions' call sites see both calling styles
    ...(previous === undefined
      ? []
      : [
          {
            library: againstName("effect-foundation (runPromise)"),
            style: "run-promise" as const,
            setup: async () => loopRunPromise(await ours(open, previous)(), () => effectOp.pipe(previous.CircuitBreaker.protect("bench")))
          }
        ])
  ]
}

const suite: Suite = {
  name: "circuit-breaker",
  scenarios: [
    { name: "closed: successful call", cases: scenario(false), operations: { quick: 20_000, full: 200_000 } },
    { name: "open: rejected call", cases: scenario(true), operations: { quick: 20_000, full: 200_000 } }
  ],
  targets: [
    {
      scenario: "closed: successful call",
      description: "closed: reference: a bare breaker vs cockatiel",
      ours: "floor: a bare breaker",
      peer: "cockatiel"
    },
    {
      scenario: "closed: successful call",
      description: "closed overhead vs cockatiel",
      ours: "effect-foundation",
      peer: "cockatiel",
      max: 0.7
    },
    {
      scenario: "closed: successful call",
      description: "closed overhead vs effect/persistence",
      ours: "effect-foundation",
      peer: "effect/persistence",
      max: 0.05
    },
    { scenario: "open: rejected call", description: "open rejection vs cockatiel", ours: "effect-foundation", peer: "cockatiel", max: 0.1 },
    ...againstTargets(["closed: successful call", "open: rejected call"])
  ]
}
export default suite
