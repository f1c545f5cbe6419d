/**
 * The facade's full stack (rate limit + circuit breaker + pool checkout + timeout) around a
 * successful call, with telemetry on (one span and one histogram observation per call, effect's
 * default tracer, no exporter) and off (`telemetry: false`). Calling style: `yield*` in an
 * `Effect.gen` loop; the baseline runs the same operation unprotected. A named profile with the
 * same stages (`Protection` service `executeWith`, telemetry on as profiles have it) runs beside
 * them.
 */
import { Context, Effect, Layer, Scope } from "effect"
import { CircuitBreaker, Protection, Pool, RateLimiter } from "../../src/index.js"
import type { Suite } from "../harness.js"

class Conn extends Context.Service<Conn, Pool.Pool<number>>()("bench/Conn") {}

const op = (connection: number) => Effect.sync(() => connection + 1)
const bare = Effect.sync(() => 1)

const Live = Layer.mergeAll(
  CircuitBreaker.layer({ breakers: { db: { failureThreshold: 5 } } }),
  RateLimiter.layer({ rules: { api: { algorithm: "token-bucket", limit: 1_000_000_000, window: "1 second" } } }),
  Pool.layer(Conn, { acquire: Effect.succeed(1), size: 4 })
)

/** the same protections with a profile of the same stages over them */
const WithProfile = Protection.layer({
  pools: { db: Conn },
  profiles: { bench: { rateLimit: { rule: "api" }, circuitBreaker: "db", timeout: 5000, pool: "db" } }
}).pipe(Layer.provideMerge(Live))

const loop = (call: () => Effect.Effect<unknown, unknown, any>) => loopIn(Live, () => call)

/** `call` made from the built context (a service taken from it once, as a program would) */
const loopIn = async <S>(
  layer: Layer.Layer<S, unknown>,
  make: (context: Context.Context<S>) => () => Effect.Effect<unknown, unknown, any>
) => {
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  const call = make(context)
  return (n: number) =>
    Effect.runPromise(
      Effect.gen(function* () {
        for (let i = 0; i < n; i++) yield* call()
      }).pipe(Effect.provideContext(context)) as Effect.Effect<void, unknown>
    )
}

const policyOn = { rateLimit: { rule: "api", key: "client" }, circuitBreaker: "db", timeout: "5 seconds", profile: "bench" } as const
const policyOff = { ...policyOn, telemetry: false } as const

const suite: Suite = {
  name: "protection",
  scenarios: [
    {
      name: "full stack: successful call",
      operations: { quick: 10_000, full: 100_000 },
      cases: [
        { library: "baseline", style: "effect-gen", baseline: true, setup: () => loop(() => Effect.flatMap(bare, op)) },
        {
          library: "effect-foundation (telemetry off)",
          style: "effect-gen",
          setup: () => loop(() => Protection.protectWith(Conn, policyOff, op))
        },
        {
          library: "effect-foundation (telemetry on)",
          style: "effect-gen",
          setup: () => loop(() => Protection.protectWith(Conn, policyOn, op))
        },
        {
          library: "effect-foundation profile executeWith",
          style: "effect-gen",
          setup: () =>
            loopIn(WithProfile, (context) => {
              const protection = Context.get(context, Protection.Protection)
              return () => protection.executeWith("bench", Conn, op, { key: "client" })
            })
        }
      ]
    }
  ],
  targets: [
    {
      scenario: "full stack: successful call",
      description: "full stack overhead per call (telemetry on)",
      ours: "effect-foundation (telemetry on)",
      absoluteMax: 1000
    },
    {
      scenario: "full stack: successful call",
      description: "full stack overhead per call (telemetry off)",
      ours: "effect-foundation (telemetry off)",
      absoluteMax: 1000
    },
    {
      scenario: "full stack: successful call",
      description: "telemetry on vs off",
      ours: "effect-foundation (telemetry on)",
      peer: "effect-foundation (telemetry off)",
      max: 2
    },
    {
      scenario: "full stack: successful call",
      description: "a profile's executeWith vs protectWith with the same stages (telemetry on)",
      ours: "effect-foundation profile executeWith",
      peer: "effect-foundation (telemetry on)",
      max: 1.25
    }
  ]
}
export default suite
