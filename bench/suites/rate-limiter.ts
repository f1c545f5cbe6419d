/**
 * Rate limiter: cost of an allowed decision on one hot key and on 100,000 keys round-robin,
 * and bytes kept per idle key, against rate-limiter-flexible (`RateLimiterMemory`) and
 * effect's own `effect/persistence` RateLimiter (memory store).
 *
 * Styles and baselines as in the circuit-breaker suite: rate-limiter-flexible is awaited in a
 * promise loop (baseline `await op()`), the Effect libraries run in an `Effect.gen` loop
 * (baseline `yield* op`), each protecting the same `op`. Limits are high enough that every
 * decision is "allowed": the scenarios measure the decision, not the rejection.
 *
 * Bytes per idle key: heap growth (after `gc()`) from touching 1,000,000 distinct keys once,
 * divided by the key count. The key strings are built and kept alive before the first heap
 * reading, so the figure is what the limiter itself keeps per key (its table, state and any
 * timers), not the caller's strings.
 */
import { Clock, Context, Effect, Exit, Layer, Scope } from "effect"
import { RateLimiter as PersistenceLimiter } from "effect/persistence"
import { RateLimiterMemory } from "rate-limiter-flexible"
import * as Today from "../../src/index.js"
import { against, againstName, againstTargets, type Case, type Suite } from "../harness.js"

const { RateLimiter } = Today
/** with `--against <revision>`: that revision's library, run beside today's */
const previous = await against()?.load<typeof Today>("src/index.js")

const HOT_LIMIT = 1_000_000_000
/** the decision scenarios' refill: calls per hour (every limiter of those scenarios uses it) */
const REFILL_PER_HOUR = 1000
const KEYS = 100_000
const IDLE_KEYS = 1_000_000

const op = async () => 1
const effectOp = Effect.sync(() => 1)

const buildContext = async <A, E>(layer: Layer.Layer<A, E>): Promise<Context.Context<A>> => {
  const scope = Effect.runSync(Scope.make())
  return Effect.runPromise(Layer.buildWithScope(layer, scope))
}

const loopPromise = (call: (i: number) => Promise<unknown>) => async (n: number) => {
  for (let i = 0; i < n; i++) await call(i)
}
const loopGen =
  <R>(context: Context.Context<R>, call: (i: number) => Effect.Effect<unknown, unknown, R>) =>
  (n: number) =>
    Effect.runPromise(
      Effect.gen(function* () {
        for (let i = 0; i < n; i++) yield* call(i)
      }).pipe(Effect.provideContext(context))
    )

const keys = (count: number): Array<string> => Array.from({ length: count }, (_, i) => `client-${i}`)

/**
 * Decisions: a burst so large every call is allowed, refilling slowly (1,000 per hour) so a
 * key is never back to "as if never seen" during the run: like the peers' keys, which live
 * for their whole window, ours stay in the table (no drop-and-reinsert churn is measured).
 * Idle keys: 100 per hour, so one call leaves a key that stays tracked.
 */
const ours = (algorithm: Today.RateLimiter.RateRule["algorithm"], maxKeys: number, { RateLimiter } = Today) =>
  buildContext(
    RateLimiter.layer({
      rules: { bench: { algorithm, limit: REFILL_PER_HOUR, burst: HOT_LIMIT, window: "1 hour", maxKeys } }
    })
  )
const idleLayer = (algorithm: Today.RateLimiter.RateRule["algorithm"]) =>
  RateLimiter.layer({ rules: { bench: { algorithm, limit: 100, window: "1 hour", maxKeys: Infinity } } })

const persistence = async (limit = HOT_LIMIT) => {
  const context = await buildContext(PersistenceLimiter.layer.pipe(Layer.provide(PersistenceLimiter.layerStoreMemory)))
  const withLimiter = await Effect.runPromise(PersistenceLimiter.makeWithRateLimiter.pipe(Effect.provideContext(context)))
  return (key: string) => withLimiter({ key, limit, window: "1 hour", algorithm: "token-bucket", onExceeded: "fail" })
}

const flexible = (points = HOT_LIMIT) => new RateLimiterMemory({ points, duration: 3600 })

/**
 * A token bucket with nothing else: rules by name, keys in a `Map` to slots of two arrays
 * (tokens, last refill), the clock read once per decision. Never evicts; bench only.
 */
const bareTokenBucket = (burst: number, perMillis: number) => {
  const clock = Context.get(Context.empty(), Clock.Clock)
  const refused = Effect.fail("limited" as const)
  const rules = new Map([["bench", { index: new Map<string, number>(), tokens: [] as Array<number>, at: [] as Array<number> }]])
  return (name: string, key: string) =>
    <A, E, R>(self: Effect.Effect<A, E, R>) =>
      Effect.withFiber((): Effect.Effect<A, E | "limited", R> => {
        const rule = rules.get(name)!
        const now = clock.currentTimeMillisUnsafe()
        let slot = rule.index.get(key)
        if (slot === undefined) {
          slot = rule.tokens.length
          rule.index.set(key, slot)
          rule.tokens.push(burst)
          rule.at.push(now)
        }
        const tokens = Math.min(burst, rule.tokens[slot]! + (now - rule.at[slot]!) * perMillis)
        if (tokens < 1) return refused
        rule.tokens[slot] = tokens - 1
        rule.at[slot] = now
        return self
      })
}

const decisionCases = (keyAt: (i: number) => string): Array<Case> => [
  { library: "baseline", style: "promise", baseline: true, setup: async () => loopPromise(op) },
  {
    library: "rate-limiter-flexible",
    style: "promise",
    setup: async () => {
      const limiter = flexible()
      return loopPromise((i) => limiter.consume(keyAt(i)).then(op))
    }
  },
  { library: "baseline", style: "effect-gen", baseline: true, setup: async () => loopGen(Context.empty(), () => effectOp) },
  {
    library: "effect-foundation",
    style: "effect-gen",
    setup: async () => loopGen(await ours("token-bucket", 1_000_000), (i) => effectOp.pipe(RateLimiter.limit("bench", keyAt(i))))
  },
  {
    // what any limiter on effect's public API pays at least: one step that finds its state in
    // the fiber (withFiber) and reads the clock, then the call itself
    library: "floor: withFiber + clock read",
    style: "effect-gen",
    setup: async () => {
      const clock = Context.get(Context.empty(), Clock.Clock)
      const broken = Effect.die("the clock went back before 1970")
      return loopGen(Context.empty(), () => Effect.withFiber(() => (clock.currentTimeMillisUnsafe() < 0 ? broken : effectOp)))
    }
  },
  {
    // the least a token bucket on effect's public API costs: the floor above plus one rule
    // lookup by name, one key lookup and the refill arithmetic, through `pipe` as users call
    // it (no blocks, no costs, no metrics, no eviction): how close a real limiter can get to
    // the hot-key bound
    library: "floor: a bare token bucket",
    style: "effect-gen",
    setup: async () => {
      const limit = bareTokenBucket(HOT_LIMIT, REFILL_PER_HOUR / 3_600_000)
      return loopGen(Context.empty(), (i) => effectOp.pipe(limit("bench", keyAt(i))))
    }
  },
  ...(previous === undefined
    ? []
    : [
        {
          library: againstName("effect-foundation"),
          style: "effect-gen" as const,
          setup: async () =>
            loopGen(await ours("token-bucket", 1_000_000, previous), (i) => effectOp.pipe(previous.RateLimiter.limit("bench", keyAt(i))))
        },
        {
          // the same workload as today's: its gcra case too, so both revisions' call sites see
          // both algorithms (a revision running one algorithm alone would be measured faster)
          library: againstName("effect-foundation (gcra)"),
          style: "effect-gen" as const,
          setup: async () =>
            loopGen(await ours("gcra", 1_000_000, previous), (i) => effectOp.pipe(previous.RateLimiter.limit("bench", keyAt(i))))
        }
      ]),
  {
    library: "effect-foundation (gcra)",
    style: "effect-gen",
    setup: async () => loopGen(await ours("gcra", 1_000_000), (i) => effectOp.pipe(RateLimiter.limit("bench", keyAt(i))))
  },
  {
    library: "effect/persistence",
    style: "effect-gen",
    setup: async () => {
      const limit = await persistence()
      return loopGen(Context.empty(), (i) => effectOp.pipe(limit(keyAt(i))))
    }
  }
]

const gc = (): void => (globalThis as { gc?: () => void }).gc?.()
const heapAfterGc = (): number => {
  // the runtime may keep a reference to the last fiber it ran (and through it the previous
  // case's limiter) until it runs another one: run one so earlier cases are really garbage
  Effect.runSync(Effect.void)
  gc()
  gc()
  const usage = process.memoryUsage()
  return usage.heapUsed + usage.arrayBuffers
}

/**
 * Heap bytes per key kept by a limiter after `touch` ran once for each of `count` keys.
 * `touch` returns how to release the limiter, called after the reading: a layer stays alive
 * (its metrics are registered) until its scope closes.
 */
const bytesPerKey = async (count: number, touch: (keys: Array<string>) => Promise<() => Promise<void>>): Promise<number> => {
  const names = keys(count)
  const before = heapAfterGc()
  const release = await touch(names)
  const after = heapAfterGc()
  await release()
  return (after - before) / count
}

const idleCase = (library: string, touch: (keys: Array<string>) => Promise<() => Promise<void>>): Case => ({
  library,
  style: "custom",
  measure: (quick) => bytesPerKey(quick ? IDLE_KEYS / 4 : IDLE_KEYS, touch)
})

const oursTouch = (algorithm: Today.RateLimiter.RateRule["algorithm"]) => async (names: Array<string>) => {
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(idleLayer(algorithm), scope))
  await Effect.runPromise(
    Effect.gen(function* () {
      for (const key of names) yield* RateLimiter.limit(effectOp, "bench", key)
    }).pipe(Effect.provideContext(context))
  )
  return () => Effect.runPromise(Scope.close(scope, Exit.void))
}

/** the two decision scenarios, each with the same targets */
const decisionScenarios = ["hot key: allowed decision", "100,000 keys round-robin: allowed decision"] as const

const suite: Suite = {
  name: "rate-limiter",
  nodeFlags: ["--expose-gc"],
  scenarios: [
    { name: "hot key: allowed decision", cases: decisionCases(() => "hot"), operations: { quick: 20_000, full: 200_000 } },
    {
      name: "100,000 keys round-robin: allowed decision",
      cases: decisionCases(
        (
          (names) => (i: number) =>
            names[i % KEYS]!
        )(keys(KEYS))
      ),
      operations: { quick: 100_000, full: 400_000 }
    },
    {
      name: "bytes per idle key (1,000,000 keys)",
      unit: "B/key",
      cases: [
        idleCase("effect-foundation (token-bucket)", oursTouch("token-bucket")),
        idleCase("effect-foundation (fixed-window)", oursTouch("fixed-window")),
        idleCase("effect-foundation (gcra)", oursTouch("gcra")),
        idleCase("effect-foundation (sliding-window)", oursTouch("sliding-window")),
        idleCase("rate-limiter-flexible", async (names) => {
          let limiter: RateLimiterMemory | undefined = flexible(100)
          for (const key of names) await limiter.consume(key)
          // its timers (one per key) hold the limiter until they fire; nothing to release
          return async () => {
            limiter = undefined
          }
        }),
        idleCase("effect/persistence", async (names) => {
          const limit = await persistence(100)
          await Effect.runPromise(
            Effect.gen(function* () {
              for (const key of names) yield* effectOp.pipe(limit(key))
            })
          )
          return async () => {
            void limit
          }
        })
      ]
    }
  ],
  targets: [
    ...againstTargets(decisionScenarios),
    ...againstTargets(decisionScenarios, "effect-foundation (gcra)"),
    ...decisionScenarios.flatMap((scenario) => [
      {
        scenario,
        description: `${scenario.split(":")[0]} vs rate-limiter-flexible`,
        ours: "effect-foundation",
        peer: "rate-limiter-flexible",
        // the hot key's decision is the one to beat clearly; round-robin keys stay under 1x
        max: scenario.startsWith("hot") ? 0.5 : 1.0
      },
      {
        scenario,
        description: `${scenario.split(":")[0]}: reference: a bare token bucket vs rate-limiter-flexible`,
        ours: "floor: a bare token bucket",
        peer: "rate-limiter-flexible"
      },
      {
        scenario,
        description: `${scenario.split(":")[0]} vs effect/persistence`,
        ours: "effect-foundation",
        peer: "effect/persistence",
        max: 0.3
      }
    ]),
    ...(["token-bucket", "fixed-window", "gcra"] as const).map((algorithm) => ({
      scenario: "bytes per idle key (1,000,000 keys)",
      description: `bytes per idle key, ${algorithm}`,
      ours: `effect-foundation (${algorithm})`,
      absoluteMax: 100
    }))
  ]
}
export default suite
