/**
 * The main job, side by side: one successful call through rate limit -> circuit breaker ->
 * pool checkout -> timeout, each stack composed as its users compose it. Parameters (those of
 * issue 17's table): 1,000 rate-limit keys round-robin (limits never reached), a pool of 10,
 * a 2 s timeout, and an inner call that returns at once or yields once (`await null` /
 * `Effect.yieldNow`, the pool suite's convention); one caller, and 100 concurrent callers.
 *
 * - promise: rate-limiter-flexible `consume`, then an opossum breaker (its own timeout) whose
 *   action checks a connection out of generic-pool (`pool.use`);
 * - promise: rate-limiter-flexible, then cockatiel `wrap(breaker, bulkhead(10), timeout)`;
 * - effect-gen: effect's built-ins: `effect/persistence` RateLimiter and CircuitBreaker, core
 *   `Pool.use`, `Effect.timeout`;
 * - effect-gen: `Protection.protectWith` with a policy literal per call (its key changes),
 *   telemetry off and on;
 * - effect-gen: ours by hand: `RateLimiter.limit`, `CircuitBreaker.protect`, `Pool.use`,
 *   `Effect.timeout`.
 * Each style's baseline runs the inner call alone (the 100-caller baselines with 100 callers).
 */
import { ConsecutiveBreaker, bulkhead, circuitBreaker as cockatielBreaker, handleAll, TimeoutStrategy, timeout, wrap } from "cockatiel"
import { Context, Effect, Pool as EffectPool, Fiber, Layer, Scope } from "effect"
import { CircuitBreaker as PersistenceBreaker, RateLimiter as PersistenceLimiter } from "effect/persistence"
import * as GenericPool from "generic-pool"
import Opossum from "opossum"
import { RateLimiterMemory } from "rate-limiter-flexible"
import * as Today from "../../src/index.js"
import { against, againstName, againstTargets, type Case, type Suite, type Target } from "../harness.js"

/** with `--against <revision>`: that revision's library, its protectWith run beside today's */
const previous = await against()?.load<typeof Today>("src/index.js")

const KEYS = Array.from({ length: 1_000 }, (_, i) => `client-${i}`)
const SIZE = 10
const CALLERS = 100
const TIMEOUT = 2_000
const HUGE = 1_000_000_000

type Inner = "returns at once" | "yields once"
type Load = "one caller" | "100 callers"

const promiseInner = (inner: Inner) =>
  inner === "returns at once"
    ? async (connection: number) => connection + 1
    : async (connection: number) => {
        await null
        return connection + 1
      }
const effectInner = (inner: Inner) =>
  inner === "returns at once"
    ? (connection: number) => Effect.sync(() => connection + 1)
    : (connection: number) =>
        Effect.andThen(
          Effect.yieldNow,
          Effect.sync(() => connection + 1)
        )

// ---- running n calls, by one caller or spread over 100 ---------------------------------------

const runPromise = (load: Load, call: (i: number) => Promise<unknown>) => async (n: number) => {
  if (load === "one caller") {
    for (let i = 0; i < n; i++) await call(i)
    return
  }
  const perCaller = Math.ceil(n / CALLERS)
  const caller = async (c: number) => {
    for (let i = 0; i < perCaller; i++) await call(c * perCaller + i)
  }
  await Promise.all(Array.from({ length: CALLERS }, (_, c) => caller(c)))
}

const runEffect =
  <R>(load: Load, context: Context.Context<R>, call: (i: number) => Effect.Effect<unknown, unknown, R>) =>
  (n: number) => {
    const calls = (from: number, count: number) =>
      Effect.gen(function* () {
        for (let i = from; i < from + count; i++) yield* call(i)
      })
    const perCaller = Math.ceil(n / CALLERS)
    const program =
      load === "one caller"
        ? calls(0, n)
        : Effect.forEach(Array.from({ length: CALLERS }), (_, c) => calls(c * perCaller, perCaller), {
            concurrency: "unbounded",
            discard: true
          })
    return Effect.runPromise(program.pipe(Effect.provideContext(context)) as Effect.Effect<void, unknown>)
  }

const buildContext = async <A, E>(layer: Layer.Layer<A, E>): Promise<Context.Context<A>> => {
  const scope = Effect.runSync(Scope.make())
  return Effect.runPromise(Layer.buildWithScope(layer, scope))
}

// ---- the compositions ----------------------------------------------------------------------

const flexiblePossumGenericPool = async (inner: Inner, load: Load) => {
  const work = promiseInner(inner)
  const limiter = new RateLimiterMemory({ points: HUGE, duration: 3600 })
  // generic-pool tells resources apart by identity: one object per connection
  let next = 0
  const pool = GenericPool.createPool({ create: async () => ({ id: next++ }), destroy: async () => {} }, { max: SIZE, min: SIZE })
  await pool.ready()
  const breaker = new Opossum(() => pool.use((connection) => work(connection.id)), {
    timeout: TIMEOUT,
    resetTimeout: 3_600_000,
    errorThresholdPercentage: 50
  })
  return runPromise(load, async (i) => {
    await limiter.consume(KEYS[i % KEYS.length]!)
    return breaker.fire()
  })
}

const flexibleCockatiel = async (inner: Inner, load: Load) => {
  const work = promiseInner(inner)
  const limiter = new RateLimiterMemory({ points: HUGE, duration: 3600 })
  const policy = wrap(
    cockatielBreaker(handleAll, { halfOpenAfter: 3_600_000, breaker: new ConsecutiveBreaker(5) }),
    bulkhead(SIZE, HUGE),
    timeout(TIMEOUT, TimeoutStrategy.Aggressive)
  )
  return runPromise(load, async (i) => {
    await limiter.consume(KEYS[i % KEYS.length]!)
    return policy.execute(() => work(1))
  })
}

const effectBuiltIns = async (inner: Inner, load: Load) => {
  const work = effectInner(inner)
  const context = await buildContext(
    Layer.mergeAll(
      PersistenceLimiter.layer.pipe(Layer.provide(PersistenceLimiter.layerStoreMemory)),
      Layer.effect(
        PersistenceBreaker.CircuitBreaker,
        PersistenceBreaker.make({ tripPolicy: PersistenceBreaker.consecutive(5), openDuration: "1 hour" })
      ).pipe(Layer.provide(PersistenceBreaker.layerStoreMemory()))
    )
  )
  const withLimiter = await Effect.runPromise(PersistenceLimiter.makeWithRateLimiter.pipe(Effect.provideContext(context)))
  const breaker = Context.get(context, PersistenceBreaker.CircuitBreaker)
  const scope = Effect.runSync(Scope.make())
  const pool = await Effect.runPromise(Scope.provide(EffectPool.make({ acquire: Effect.succeed(1), size: SIZE }), scope))
  const protectedCall = breaker.execute({ key: "db" })
  return runEffect(load, Context.empty(), (i) =>
    EffectPool.use(pool, (connection) => Effect.timeout(work(connection), TIMEOUT)).pipe(
      protectedCall,
      withLimiter({ key: KEYS[i % KEYS.length]!, limit: HUGE, window: "1 hour", algorithm: "token-bucket", onExceeded: "fail" })
    )
  )
}

class Conn extends Context.Service<Conn, Today.Pool.Pool<number>>()("bench/pipeline/Conn") {}

const layerOf = ({ CircuitBreaker, Pool, RateLimiter }: typeof Today) =>
  Layer.mergeAll(
    CircuitBreaker.layer({ breakers: { db: { failureThreshold: 5 } } }),
    RateLimiter.layer({ rules: { api: { algorithm: "token-bucket", limit: HUGE, window: "1 second" } } }),
    Pool.layer(Conn, { acquire: Effect.succeed(1), size: SIZE, minIdle: SIZE, checkoutTimeout: "1 minute" })
  )
const oursLayer = layerOf(Today)

const oursProtectWith =
  (telemetry: boolean, library: typeof Today = Today) =>
  async (inner: Inner, load: Load) => {
    const work = effectInner(inner)
    const context = await buildContext(library === Today ? oursLayer : layerOf(library))
    return runEffect(load, context, (i) =>
      library.Protection.protectWith(
        Conn,
        {
          rateLimit: { rule: "api", key: KEYS[i % KEYS.length]! },
          circuitBreaker: "db",
          timeout: "2 seconds",
          profile: "bench",
          telemetry
        },
        work
      )
    )
  }

const oursByHand =
  (library: typeof Today = Today) =>
  async (inner: Inner, load: Load) => {
    const { CircuitBreaker, Pool, RateLimiter } = library
    const work = effectInner(inner)
    const context = await buildContext(library === Today ? oursLayer : layerOf(library))
    return runEffect(load, context, (i) =>
      Pool.use(Conn, (connection) => Effect.timeout(work(connection), TIMEOUT)).pipe(
        CircuitBreaker.protect("db"),
        RateLimiter.limit("api", KEYS[i % KEYS.length]!)
      )
    )
  }

// ---- scenarios -----------------------------------------------------------------------------

export const names = {
  flexibleOpossum: "rate-limiter-flexible + opossum + generic-pool",
  flexibleCockatiel: "rate-limiter-flexible + cockatiel wrap(breaker, bulkhead, timeout)",
  builtIns: "effect built-ins (persistence RateLimiter + CircuitBreaker, Pool.use, Effect.timeout)",
  off: "effect-foundation protectWith (telemetry off)",
  on: "effect-foundation protectWith (telemetry on)",
  byHand: "effect-foundation by hand (limit, protect, Pool.use, Effect.timeout)",
  forkFloor: "floor: the inner call in a child fiber, joined"
} as const

/**
 * What a timeout on effect's public API pays at least for a call that does not return at once:
 * the call runs in a child fiber that the caller waits for (an interruption cannot be caught
 * on the fiber that receives it, so the call cannot run on the caller's own fiber). No other
 * stage: the floor of the timeout stage alone.
 */
const forkJoinFloor = async (inner: Inner, load: Load) => {
  const work = effectInner(inner)
  return runEffect(load, Context.empty(), () => Effect.flatMap(Effect.forkChild(work(1)), Fiber.join))
}

const scenarioName = (load: Load, inner: Inner) => `${load}, inner call ${inner}`

const scenario = (load: Load, inner: Inner) => {
  const promiseBaseline = promiseInner(inner)
  const effectBaseline = effectInner(inner)
  const cases: Array<Case> = [
    { library: "baseline", style: "promise", baseline: true, setup: async () => runPromise(load, () => promiseBaseline(1)) },
    { library: names.flexibleOpossum, style: "promise", setup: () => flexiblePossumGenericPool(inner, load) },
    { library: names.flexibleCockatiel, style: "promise", setup: () => flexibleCockatiel(inner, load) },
    {
      library: "baseline",
      style: "effect-gen",
      baseline: true,
      setup: async () => runEffect(load, Context.empty(), () => effectBaseline(1))
    },
    { library: names.builtIns, style: "effect-gen", setup: () => effectBuiltIns(inner, load) },
    { library: names.off, style: "effect-gen", setup: () => oursProtectWith(false)(inner, load) },
    { library: names.on, style: "effect-gen", setup: () => oursProtectWith(true)(inner, load) },
    { library: names.byHand, style: "effect-gen", setup: () => oursByHand()(inner, load) },
    ...(inner === "yields once"
      ? [{ library: names.forkFloor, style: "effect-gen" as const, setup: () => forkJoinFloor(inner, load) }]
      : []),
    // the previous revision runs the same three of our cases as today's, so its code sees the
    // same workload: with protectWith alone, its call sites stayed monomorphic while today's
    // served three cases, and the comparison measured that, not the change (one caller, returns
    // at once: 1.00x with today's three against its one, 0.82x with both on protectWith alone)
    ...(previous === undefined
      ? []
      : [
          { library: againstName(names.off), style: "effect-gen" as const, setup: () => oursProtectWith(false, previous)(inner, load) },
          { library: againstName(names.on), style: "effect-gen" as const, setup: () => oursProtectWith(true, previous)(inner, load) },
          { library: againstName(names.byHand), style: "effect-gen" as const, setup: () => oursByHand(previous)(inner, load) }
        ])
  ]
  return { name: scenarioName(load, inner), operations: { quick: 10_000, full: 50_000 }, cases }
}

const loads: ReadonlyArray<Load> = ["one caller", "100 callers"]
const inners: ReadonlyArray<Inner> = ["returns at once", "yields once"]

const targets: Array<Target> = []
for (const inner of inners) {
  targets.push(
    {
      scenario: scenarioName("100 callers", inner),
      description: `100 callers (${inner}): protectWith vs rate-limiter-flexible + opossum + generic-pool`,
      ours: names.off,
      peer: names.flexibleOpossum,
      max: 1
    },
    {
      scenario: scenarioName("one caller", inner),
      description: `one caller (${inner}): protectWith vs rate-limiter-flexible + opossum + generic-pool`,
      ours: names.off,
      peer: names.flexibleOpossum,
      max: 0.5
    }
  )
  for (const load of loads) {
    targets.push({
      scenario: scenarioName(load, inner),
      description: `${load} (${inner}): telemetry on vs off`,
      ours: names.on,
      peer: names.off,
      max: 1.5
    })
  }
  if (inner === "yields once") {
    // no bound: how far below the Promise composition the timeout stage alone can go
    for (const load of loads) {
      targets.push({
        scenario: scenarioName(load, inner),
        description: `${load} (${inner}): reference: the timeout stage's floor vs rate-limiter-flexible + opossum + generic-pool`,
        ours: names.forkFloor,
        peer: names.flexibleOpossum
      })
    }
  }
  targets.push({
    scenario: scenarioName("100 callers", inner),
    description: `100 callers (${inner}): protectWith vs effect built-ins`,
    ours: names.off,
    peer: names.builtIns,
    max: 0.2
  })
}

targets.push(
  ...againstTargets(
    loads.flatMap((load) => inners.map((inner) => scenarioName(load, inner))),
    names.off
  )
)

const suite: Suite = {
  name: "pipeline",
  scenarios: loads.flatMap((load) => inners.map((inner) => scenario(load, inner))),
  targets
}
export default suite
