/**
 * The facade's types, checked by the compiler: `npm run typecheck` (tsc over test/) fails when an
 * `expectTypeOf` does not hold or an `@ts-expect-error` line compiles. At run time these tests
 * only check that the runtime agrees (which stages a widened policy really runs).
 */
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer } from "effect"
import type {
  BulkheadFull,
  CircuitBreakerOpen,
  InvalidConfig,
  MemoryPressure,
  OperationTimeout,
  PoolCheckoutTimeout,
  PoolExhausted,
  ProtectionError,
  ProtectionNotFound,
  RateLimited,
  StoreUnavailable
} from "../src/Errors.js"
import { Bulkhead, CircuitBreaker, Protection, MemoryManager, PerformanceMonitor, Pool, RateLimiter } from "../src/index.js"

type Everything =
  | RateLimited
  | StoreUnavailable
  | MemoryPressure
  | CircuitBreakerOpen
  | OperationTimeout
  | BulkheadFull
  | ProtectionNotFound
  | InvalidConfig
type EveryService =
  | Bulkhead.Bulkhead
  | RateLimiter.RateLimiter
  | MemoryManager.MemoryManager
  | CircuitBreaker.CircuitBreaker
  | PerformanceMonitor.PerformanceMonitor

class Db extends Context.Service<Db, Pool.Pool<{ readonly query: (sql: string) => string }, "refused">>()("test/types/Db") {}
class Cache extends Context.Service<Cache, Pool.Pool<number>>()("test/types/Cache") {}

// a policy built by a helper: its type is `Policy`, whatever the value holds
const policyFor = (breaker: string): Protection.Policy => ({
  rateLimit: { rule: "api", key: "k" },
  circuitBreaker: breaker,
  timeout: "1 second"
})

describe("Protection types: a literal policy narrows", () => {
  it("names exactly the stages written", () => {
    const call = Effect.succeed(1).pipe(Protection.protect({ circuitBreaker: "db", timeout: "1 second" }))
    expectTypeOf<Effect.Error<typeof call>>().toEqualTypeOf<CircuitBreakerOpen | OperationTimeout>()
    expectTypeOf<Effect.Services<typeof call>>().toEqualTypeOf<CircuitBreaker.CircuitBreaker>()

    const limited = Protection.protect(Effect.succeed(1), { rateLimit: { rule: "api", key: "k" } })
    expectTypeOf<Effect.Error<typeof limited>>().toEqualTypeOf<RateLimited | StoreUnavailable>()
    expectTypeOf<Effect.Services<typeof limited>>().toEqualTypeOf<RateLimiter.RateLimiter>()

    const timed = Effect.succeed(1).pipe(Protection.protect({ timeout: 100 }))
    expectTypeOf<Effect.Error<typeof timed>>().toEqualTypeOf<OperationTimeout>()
    expectTypeOf<Effect.Services<typeof timed>>().toEqualTypeOf<never>()
  })

  it("`memory: false` is not run, and not typed", () => {
    const call = Effect.succeed(1).pipe(Protection.protect({ memory: false, timeout: 100 }))
    expectTypeOf<Effect.Error<typeof call>>().toEqualTypeOf<OperationTimeout>()
    expectTypeOf<Effect.Services<typeof call>>().toEqualTypeOf<never>()
  })

  it("an `as const` or `satisfies` variable keeps its literal type", () => {
    const policy = { circuitBreaker: "db" } as const satisfies Protection.Policy
    const call = Effect.succeed(1).pipe(Protection.protect(policy))
    expectTypeOf<Effect.Error<typeof call>>().toEqualTypeOf<CircuitBreakerOpen | OperationTimeout>()
    // @ts-expect-error a policy without a rate limit cannot fail RateLimited
    call.pipe(Effect.catchTag("RateLimited", () => Effect.succeed(0)))
  })

  it("a union of literals is taken member by member", () => {
    const policy = Math.random() > 0.5 ? ({ circuitBreaker: "db" } as const) : ({ rateLimit: { rule: "api", key: "k" } } as const)
    const call = Effect.succeed(1).pipe(Protection.protect(policy))
    expectTypeOf<Effect.Error<typeof call>>().toEqualTypeOf<CircuitBreakerOpen | OperationTimeout | RateLimited | StoreUnavailable>()
    expectTypeOf<Effect.Services<typeof call>>().toEqualTypeOf<CircuitBreaker.CircuitBreaker | RateLimiter.RateLimiter>()
  })
})

describe("Protection types: a policy whose type leaves stages open widens", () => {
  it("a `Policy` variable may raise every protection error and needs every service", () => {
    const policy: Protection.Policy = { rateLimit: { rule: "api", key: "k" }, circuitBreaker: "db", timeout: "1 second" }
    const call = Effect.succeed(1).pipe(Protection.protect(policy))
    expectTypeOf<Effect.Error<typeof call>>().toEqualTypeOf<Everything>()
    expectTypeOf<Effect.Services<typeof call>>().toEqualTypeOf<EveryService>()
    // the reproduction: without the layers this no longer compiles
    // @ts-expect-error RateLimiter (and the other services) are required
    const run: Effect.Effect<number, unknown, never> = call
    void run
  })

  it("a helper returning `Policy` widens the same way, with and without a pool", () => {
    const call = Protection.protect(Effect.succeed(1), policyFor("db"))
    expectTypeOf<Effect.Error<typeof call>>().toEqualTypeOf<Everything>()
    expectTypeOf<Effect.Services<typeof call>>().toEqualTypeOf<EveryService>()

    const pooled = Protection.protectWith(Db, policyFor("db"), (connection) => Effect.succeed(connection.query("q")))
    expectTypeOf<Effect.Error<typeof pooled>>().toEqualTypeOf<Everything | "refused" | PoolCheckoutTimeout | PoolExhausted>()
    expectTypeOf<Effect.Services<typeof pooled>>().toEqualTypeOf<EveryService | Db>()
  })

  it("a field typed `boolean` counts its stage in; a field typed `never` keeps it out", () => {
    const shedding: { readonly memory: boolean } = { memory: Math.random() > 0.5 }
    const call = Effect.succeed(1).pipe(Protection.protect(shedding))
    expectTypeOf<Effect.Error<typeof call>>().toEqualTypeOf<MemoryPressure>()
    expectTypeOf<Effect.Services<typeof call>>().toEqualTypeOf<MemoryManager.MemoryManager>()

    type BreakerOnly = Protection.Policy & {
      readonly rateLimit?: never
      readonly memory?: false
      readonly monitor?: never
      readonly bulkhead?: never
      readonly checkoutTimeout?: never
    }
    const narrowed: BreakerOnly = { circuitBreaker: "db", timeout: 100 }
    const narrow = Effect.succeed(1).pipe(Protection.protect(narrowed))
    expectTypeOf<Effect.Error<typeof narrow>>().toEqualTypeOf<CircuitBreakerOpen | OperationTimeout>()
    expectTypeOf<Effect.Services<typeof narrow>>().toEqualTypeOf<CircuitBreaker.CircuitBreaker>()
  })

  it.effect("the runtime agrees: a widened policy's rate limit stage does run", () =>
    Effect.gen(function* () {
      const tight = RateLimiter.layer({ rules: { api: { algorithm: "fixed-window", limit: 1, window: "1 minute" } } })
      const policy: Protection.Policy = { rateLimit: { rule: "api", key: "k" } }
      const call = Effect.exit(Effect.succeed(1).pipe(Protection.protect(policy)))
      const exits = yield* Effect.all([call, call]).pipe(
        Effect.provide(Layer.mergeAll(tight, CircuitBreaker.layer(), MemoryManager.layer(), PerformanceMonitor.layer(), Bulkhead.layer()))
      )
      expect(exits.map(Exit.isSuccess)).toEqual([true, false])
    })
  )
})

describe("Protection types: profiles", () => {
  it("ProtectionError includes StoreUnavailable", () => {
    expectTypeOf<StoreUnavailable>().toExtend<ProtectionError>()
    // besides the protection errors, a policy's bulkhead may be missing and its checkout timeout invalid
    expectTypeOf<Exclude<Protection.PolicyError<Protection.Policy>, ProtectionNotFound | InvalidConfig>>().toExtend<ProtectionError>()
  })

  it("executeWith types the resource by the pool's tag", () => {
    const program = Effect.gen(function* () {
      const infrastructure = yield* Protection.Protection
      const rows = infrastructure.executeWith("users", Db, (connection) => Effect.succeed(connection.query("select 1")))
      expectTypeOf<Effect.Success<typeof rows>>().toEqualTypeOf<string>()
      expectTypeOf<Effect.Error<typeof rows>>().toEqualTypeOf<"refused" | ProtectionError | ProtectionNotFound | InvalidConfig>()
      expectTypeOf<Effect.Services<typeof rows>>().toEqualTypeOf<never>()
      // @ts-expect-error a Cache resource is a number: it has no query
      infrastructure.executeWith("users", Cache, (connection) => Effect.succeed(connection.query("select 1")))
      const plain = infrastructure.execute("users", Effect.succeed(1))
      expectTypeOf<Effect.Error<typeof plain>>().toEqualTypeOf<ProtectionError | ProtectionNotFound | InvalidConfig>()
      return rows
    })
    expectTypeOf<Effect.Services<typeof program>>().toEqualTypeOf<Protection.Protection>()
  })
})
