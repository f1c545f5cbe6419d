/**
 * Bulkhead: cost of a call through a concurrency limit, against cockatiel's `bulkhead` and
 * effect's own `Semaphore` (`withPermits(1)`, which has no queue bound and no wait timeout).
 *
 * - uncontended: one caller, a bulkhead of 10 slots, so every call finds a free slot. Styles:
 *   promise (`await bulkhead.execute(op)`; baseline `await op()`) and effect-gen (`yield*` of
 *   the limited effect in an `Effect.gen` loop; baseline the effect alone).
 * - contention: 100 concurrent callers on 10 slots (queue of 100), each call yielding once
 *   while it holds its slot (`Effect.yieldNow` / `await null`), so callers really queue. The
 *   figure is time per call; baselines run the same 100 callers with the same yield and no
 *   bulkhead.
 */
import { bulkhead as cockatielBulkhead } from "cockatiel"
import { Context, Effect, Layer, Scope, Semaphore } from "effect"
import { Bulkhead } from "../../src/index.js"
import type { Case, Suite } from "../harness.js"

const SLOTS = 10
const CALLERS = 100
const WARM_UP = 50_000

const op = async () => 1
const effectOp = Effect.sync(() => 1)

const buildContext = async <A, E>(layer: Layer.Layer<A, E>): Promise<Context.Context<A>> => {
  const scope = Effect.runSync(Scope.make())
  return Effect.runPromise(Layer.buildWithScope(layer, scope))
}

/** each library behind one operation: run `work` in a slot */
type EffectLimit = <A, E>(work: Effect.Effect<A, E>) => Effect.Effect<A, unknown>
type PromiseLimit = <A>(work: () => Promise<A>) => Promise<A>

const ours = async (): Promise<{ readonly limit: EffectLimit; readonly context: Context.Context<Bulkhead.Bulkhead> }> => {
  const context = await buildContext(
    Bulkhead.layer({ limits: { bench: { maxConcurrent: SLOTS, maxWaiting: CALLERS, waitTimeout: "1 minute" } } })
  )
  return { limit: (work) => work.pipe(Bulkhead.limit("bench")) as Effect.Effect<any, unknown>, context }
}
const semaphore = async (): Promise<EffectLimit> => {
  const permits = Effect.runSync(Semaphore.make(SLOTS))
  return (work) => permits.withPermits(1)(work)
}
const cockatiel = (): PromiseLimit => {
  const policy = cockatielBulkhead(SLOTS, CALLERS)
  return (work) => policy.execute(work)
}

// ---- scenario 1: one caller ----------------------------------------------------------------

const effectCase = (
  library: string,
  make?: () => Promise<{ readonly limit: EffectLimit; readonly context?: Context.Context<any> }>
): Case => ({
  library,
  style: "effect-gen",
  ...(make === undefined ? { baseline: true } : {}),
  setup: async () => {
    const made = make === undefined ? undefined : await make()
    // built once and run many times, as an application does
    const call = made === undefined ? effectOp : made.limit(effectOp)
    const loop = (n: number) =>
      Effect.gen(function* () {
        for (let i = 0; i < n; i++) yield* Effect.exit(call)
      })
    // every case runs the same shape (a context provided), the baseline an empty one
    const context: Context.Context<any> = made?.context ?? (Context.empty() as Context.Context<any>)
    const run = (n: number) => Effect.runPromise(Effect.provideContext(loop(n), context))
    await run(WARM_UP)
    return run
  }
})
const promiseCase = (library: string, make?: () => PromiseLimit): Case => ({
  library,
  style: "promise",
  ...(make === undefined ? { baseline: true } : {}),
  setup: async () => {
    const limit = make?.()
    const run = async (n: number) => {
      if (limit === undefined) for (let i = 0; i < n; i++) await op()
      else for (let i = 0; i < n; i++) await limit(op)
    }
    await run(WARM_UP)
    return run
  }
})

// ---- scenario 2: 100 callers on 10 slots ---------------------------------------------------

const effectContention = (made: { readonly limit: EffectLimit; readonly context?: Context.Context<any> } | undefined, n: number) => {
  const perCaller = Math.ceil(n / CALLERS)
  const call = made === undefined ? Effect.yieldNow : made.limit(Effect.yieldNow)
  const caller = Effect.gen(function* () {
    for (let i = 0; i < perCaller; i++) yield* call
  })
  const all = Effect.forEach(Array.from({ length: CALLERS }), () => caller, { concurrency: "unbounded", discard: true })
  const context = made?.context
  return Effect.runPromise(context === undefined ? all : Effect.provideContext(all, context))
}
const promiseContention = async (limit: PromiseLimit | undefined, n: number) => {
  const perCaller = Math.ceil(n / CALLERS)
  const work = async () => {
    await null
  }
  const caller = async () => {
    for (let i = 0; i < perCaller; i++) {
      if (limit === undefined) await work()
      else await limit(work)
    }
  }
  await Promise.all(Array.from({ length: CALLERS }, caller))
}

const effectContentionCase = (
  library: string,
  make?: () => Promise<{ readonly limit: EffectLimit; readonly context?: Context.Context<any> }>
): Case => ({
  library,
  style: "effect-gen",
  ...(make === undefined ? { baseline: true } : {}),
  setup: async () => {
    const made = make === undefined ? undefined : await make()
    await effectContention(made, WARM_UP)
    return (n) => effectContention(made, n)
  }
})
const promiseContentionCase = (library: string, make?: () => PromiseLimit): Case => ({
  library,
  style: "promise",
  ...(make === undefined ? { baseline: true } : {}),
  setup: async () => {
    const limit = make?.()
    await promiseContention(limit, WARM_UP)
    return (n) => promiseContention(limit, n)
  }
})

const semaphoreCase = async () => ({ limit: await semaphore() })

const suite: Suite = {
  name: "bulkhead",
  scenarios: [
    {
      name: "uncontended: one caller, 10 slots",
      operations: { quick: 20_000, full: 200_000 },
      cases: [
        effectCase("baseline"),
        effectCase("effect-foundation Bulkhead.limit", ours),
        effectCase("effect Semaphore.withPermits", semaphoreCase),
        promiseCase("baseline"),
        promiseCase("cockatiel bulkhead", cockatiel)
      ]
    },
    {
      name: "contention: 100 callers, 10 slots",
      operations: { quick: 20_000, full: 100_000 },
      cases: [
        effectContentionCase("baseline"),
        effectContentionCase("effect-foundation Bulkhead.limit", ours),
        effectContentionCase("effect Semaphore.withPermits", semaphoreCase),
        promiseContentionCase("baseline"),
        promiseContentionCase("cockatiel bulkhead", cockatiel)
      ]
    }
  ],
  targets: [
    {
      scenario: "uncontended: one caller, 10 slots",
      description: "uncontended overhead <= 1.0x cockatiel bulkhead",
      ours: "effect-foundation Bulkhead.limit",
      peer: "cockatiel bulkhead",
      max: 1.0
    },
    {
      scenario: "contention: 100 callers, 10 slots",
      description: "contention overhead <= 1.0x cockatiel bulkhead",
      ours: "effect-foundation Bulkhead.limit",
      peer: "cockatiel bulkhead",
      max: 1.0
    }
  ]
}

export default suite
