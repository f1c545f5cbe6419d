import { describe, expect, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Fiber, Layer, Metric } from "effect"
import { TestClock } from "effect/testing"
import type { InvalidConfig, ProtectionNotFound, StoreUnavailable } from "../src/Errors.js"
import { RateLimited } from "../src/Errors.js"
import * as RateLimiter from "../src/RateLimiter.js"

const withRules = (rules: Record<string, RateLimiter.RateRule>) => Effect.provide(RateLimiter.layer({ rules }))

const service = RateLimiter.RateLimiter

const check = (rule: string, key: string, cost?: number) =>
  Effect.flatMap(service, (limiter) => limiter.check(rule, key, cost === undefined ? undefined : { cost }))

const denial = <A, R>(effect: Effect.Effect<A, RateLimited | ProtectionNotFound | StoreUnavailable, R>) =>
  Effect.map(Effect.flip(effect), (error) => {
    if (!(error instanceof RateLimited)) throw new Error(`expected RateLimited, got ${error._tag}`)
    return { limit: error.limit, remaining: error.remaining, retryAfter: Duration.toMillis(error.retryAfter) }
  })

const layerError = (rules: Record<string, unknown>) =>
  Effect.flip(Layer.build(RateLimiter.layer({ rules: rules as Record<string, RateLimiter.RateRule> }))) as Effect.Effect<InvalidConfig>

describe("RateLimiter", () => {
  describe("configuration", () => {
    const base = { algorithm: "token-bucket", limit: 10, window: "1 second" }
    it.effect.each([
      [{ ...base, limit: 0, burst: 3 }, "rules.api.burst"],
      [{ ...base, limit: -1 }, "rules.api.limit"],
      [{ ...base, limit: Number.NaN }, "rules.api.limit"],
      [{ ...base, limit: 1.5 }, "rules.api.limit"],
      [{ ...base, window: 0 }, "rules.api.window"],
      [{ ...base, window: -5 }, "rules.api.window"],
      [{ ...base, window: Number.NaN }, "rules.api.window"],
      [{ ...base, window: "soon" }, "rules.api.window"],
      [{ ...base, window: "Infinity" }, "rules.api.window"],
      [{ ...base, burst: 0 }, "rules.api.burst"],
      [{ ...base, burst: Number.NaN }, "rules.api.burst"],
      [{ ...base, algorithm: "leaky-bucket" }, "rules.api.algorithm"],
      [{ ...base, onExceeded: "queue" }, "rules.api.onExceeded"],
      [{ ...base, maxDelay: -1 }, "rules.api.maxDelay"],
      [{ ...base, maxKeys: 0 }, "rules.api.maxKeys"]
    ] as const)("rejects %o at %s", ([rule, path]) =>
      Effect.gen(function* () {
        const error = yield* layerError({ api: rule })
        expect(error._tag).toBe("InvalidConfig")
        expect(error.path).toBe(path)
        expect(error.message.length).toBeGreaterThan(10)
      })
    )

    it.effect("an unknown rule fails check, status and reset with ProtectionNotFound", () =>
      Effect.gen(function* () {
        const limiter = yield* service
        for (const effect of [limiter.check("nope", "k"), limiter.status("nope", "k"), limiter.reset("nope", "k")]) {
          const error = yield* Effect.flip(effect as Effect.Effect<unknown, RateLimited | ProtectionNotFound>)
          expect(error).toMatchObject({ _tag: "ProtectionNotFound", kind: "rate_limit_rule", protection: "nope" })
        }
      }).pipe(withRules({ api: { algorithm: "gcra", limit: 1, window: 1000 } }))
    )

    it.effect("limit with an unknown rule or an invalid cost is a defect, not a typed failure", () =>
      Effect.gen(function* () {
        const unknown = yield* Effect.exit(Effect.succeed(1).pipe(RateLimiter.limit("nope", "k")))
        expect(Exit.isFailure(unknown) && Cause.hasDies(unknown.cause)).toBe(true)
        for (const cost of [0, -1, 1.5, Number.NaN]) {
          const exit = yield* Effect.exit(Effect.succeed(1).pipe(RateLimiter.limit("api", "k", { cost })))
          expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause)).toBe(true)
        }
      }).pipe(withRules({ api: { algorithm: "gcra", limit: 1, window: 1000 } }))
    )
  })

  describe.each(["token-bucket", "gcra", "fixed-window", "sliding-window"] as const)("%s", (algorithm) => {
    const api: RateLimiter.RateRule = { algorithm, limit: 3, window: "1 second" }
    const rules = { api }

    it.effect("admits the limit, then fails RateLimited with an exact retryAfter that is honoured", () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(10_000) // a window boundary
        for (let i = 2; i >= 0; i--) expect((yield* check("api", "k")).remaining).toBe(i)
        const denied = yield* denial(check("api", "k"))
        expect(denied.limit).toBe(3)
        expect(denied.remaining).toBe(0)
        const expected = algorithm === "token-bucket" || algorithm === "gcra" ? 334 : 1000
        expect(denied.retryAfter).toBe(expected)
        yield* TestClock.adjust(denied.retryAfter - 1)
        expect((yield* denial(check("api", "k"))).retryAfter).toBe(1)
        yield* TestClock.adjust(1)
        yield* check("api", "k")
      }).pipe(withRules(rules))
    )

    it.effect("keys are independent; reset forgets one key; status uses nothing", () =>
      Effect.gen(function* () {
        const limiter = yield* service
        yield* check("api", "a", 3)
        yield* check("api", "b")
        expect((yield* limiter.status("api", "a")).remaining).toBe(0)
        expect((yield* limiter.status("api", "a")).remaining).toBe(0)
        expect(yield* limiter.status("api", "b")).toMatchObject({ rule: "api", key: "b", algorithm, limit: 3, remaining: 2 })
        yield* limiter.reset("api", "a")
        expect((yield* limiter.status("api", "a")).remaining).toBe(3)
        expect(Duration.toMillis((yield* limiter.status("api", "a")).resetAfter)).toBe(0)
      }).pipe(withRules(rules))
    )

    it.effect("a cost that can never fit fails at once with an infinite retryAfter, even under delay", () =>
      Effect.gen(function* () {
        const denied = yield* denial(check("api", "k", 4))
        expect(denied.retryAfter).toBe(Infinity)
        expect(denied.remaining).toBe(3)
        const delayed = yield* denial(check("slow", "k", 4))
        expect(delayed.retryAfter).toBe(Infinity)
      }).pipe(withRules({ ...rules, slow: { ...api, onExceeded: "delay", maxDelay: "1 hour" } }))
    )

    it.effect("a clock jump forward restores the whole allowance", () =>
      Effect.gen(function* () {
        yield* check("api", "k", 3)
        yield* TestClock.adjust("3 hours")
        expect((yield* check("api", "k", 3)).remaining).toBe(0)
      }).pipe(withRules(rules))
    )

    it.effect("delay waits retryAfter on the Clock, then goes through", () =>
      Effect.gen(function* () {
        yield* check("api", "k", 3)
        const fiber = yield* Effect.succeed("done").pipe(RateLimiter.limit("api", "k"), Effect.forkChild)
        yield* TestClock.adjust(1)
        expect(fiber.pollUnsafe()).toBeUndefined()
        yield* TestClock.adjust(1000)
        expect(yield* Fiber.join(fiber)).toBe("done")
      }).pipe(withRules({ api: { ...api, onExceeded: "delay" } }))
    )

    it.effect("delay fails at once when the wait would exceed maxDelay", () =>
      Effect.gen(function* () {
        yield* check("api", "k", 3)
        const denied = yield* denial(check("api", "k"))
        expect(denied.retryAfter).toBeGreaterThan(100)
      }).pipe(withRules({ api: { ...api, onExceeded: "delay", maxDelay: 100 } }))
    )

    it.effect("100 fibers racing on one key get exactly the limit between them", () =>
      Effect.gen(function* () {
        const results = yield* Effect.forEach(
          Array.from({ length: 100 }, (_, i) => i),
          () => Effect.result(Effect.succeed(1).pipe(RateLimiter.limit("api", "hot"))),
          { concurrency: "unbounded" }
        )
        expect(results.filter((r) => r._tag === "Success").length).toBe(3)
      }).pipe(withRules(rules))
    )
  })

  describe("delay: fairness and interruption", () => {
    const api: RateLimiter.RateRule = { algorithm: "gcra", limit: 1, window: "1 second", onExceeded: "delay", maxDelay: "1 minute" }
    const rules = { api }
    const stamp = (log: Array<string>, name: string) =>
      Effect.sync(() => log.push(name)).pipe(RateLimiter.limit("api", "k"), Effect.forkChild({ startImmediately: true }))

    it.effect("waiting callers are served first in first out, one slot each", () =>
      Effect.gen(function* () {
        const log: Array<string> = []
        yield* check("api", "k")
        const fibers = [yield* stamp(log, "a"), yield* stamp(log, "b"), yield* stamp(log, "c")]
        // status while they wait: nothing remains
        expect((yield* Effect.flatMap(service, (l) => l.status("api", "k"))).remaining).toBe(0)
        for (const [expected, at] of [
          [["a"], 1000],
          [["a", "b"], 2000],
          [["a", "b", "c"], 3000]
        ] as const) {
          yield* TestClock.setTime(at - 1)
          expect(log.length).toBe(expected.length - 1)
          yield* TestClock.setTime(at)
          expect(log).toEqual(expected)
        }
        for (const fiber of fibers) yield* Fiber.join(fiber)
      }).pipe(withRules(rules))
    )

    it.effect("check under delay returns the allowance once its slot comes", () =>
      Effect.gen(function* () {
        yield* check("api", "k")
        const fiber = yield* check("api", "k").pipe(Effect.forkChild({ startImmediately: true }))
        yield* TestClock.setTime(999)
        expect(fiber.pollUnsafe()).toBeUndefined()
        yield* TestClock.setTime(1000)
        const allowance = yield* Fiber.join(fiber)
        expect(allowance.remaining).toBe(0)
        expect(Duration.toMillis(allowance.resetAfter)).toBe(1000)
      }).pipe(withRules(rules))
    )

    it.effect("an interrupted last waiter gives its slot back", () =>
      Effect.gen(function* () {
        const log: Array<string> = []
        yield* check("api", "k")
        const a = yield* stamp(log, "a")
        yield* Fiber.interrupt(a)
        const b = yield* stamp(log, "b")
        yield* TestClock.setTime(1000)
        expect(log).toEqual(["b"])
        yield* Fiber.join(b)
      }).pipe(withRules(rules))
    )

    it.effect("an interrupted earlier waiter never lets two calls share a slot", () =>
      Effect.gen(function* () {
        const log: Array<[string, number]> = []
        const at = (name: string) =>
          Effect.clockWith((clock) => Effect.sync(() => log.push([name, clock.currentTimeMillisUnsafe()]))).pipe(
            RateLimiter.limit("api", "k"),
            Effect.forkChild({ startImmediately: true })
          )
        yield* check("api", "k")
        const a = yield* at("a")
        const b = yield* at("b")
        yield* Fiber.interrupt(a)
        const c = yield* at("c")
        const d = yield* at("d")
        yield* TestClock.setTime(10_000)
        for (const fiber of [b, c, d]) yield* Fiber.join(fiber)
        const times = log.map(([, t]) => t).sort((x, y) => x - y)
        expect(new Set(times).size).toBe(times.length)
        expect(log.find(([name]) => name === "b")?.[1]).toBe(2000)
      }).pipe(withRules(rules))
    )
  })

  describe("bounded memory", () => {
    it.effect("maxKeys evicts the least recently used key, which starts over", () =>
      Effect.gen(function* () {
        yield* check("api", "first")
        yield* denial(check("api", "first"))
        for (let i = 0; i < 1000; i++) yield* check("api", `other-${i}`)
        // "first" was evicted: it is admitted again (what eviction forgets)
        yield* check("api", "first")
      }).pipe(withRules({ api: { algorithm: "fixed-window", limit: 1, window: "1 hour", maxKeys: 1000 } }))
    )

    it.effect("a recently used key survives eviction", () =>
      Effect.gen(function* () {
        yield* check("api", "vip")
        for (let i = 0; i < 5000; i++) {
          yield* check("api", `other-${i}`)
          if (i % 100 === 0) yield* denial(check("api", "vip"))
        }
        yield* denial(check("api", "vip"))
      }).pipe(withRules({ api: { algorithm: "sliding-window", limit: 1, window: "1 hour", maxKeys: 1000 } }))
    )
  })

  describe("metrics", () => {
    it.effect("counts allowed and denied per rule, and removes its series with the layer", () =>
      Effect.gen(function* () {
        const find = (decision: string) =>
          Effect.map(
            Metric.snapshot,
            (snapshots) =>
              snapshots.find(
                (s) => s.id === "foundation.rate_limiter.requests" && s.attributes?.rule === "api" && s.attributes?.decision === decision
              )?.state
          )
        yield* Effect.gen(function* () {
          yield* check("api", "k", 2)
          yield* Effect.exit(check("api", "k"))
          yield* Effect.exit(check("api", "k", 5))
          expect(yield* find("allowed")).toMatchObject({ count: 1 })
          expect(yield* find("denied")).toMatchObject({ count: 2 })
        }).pipe(withRules({ api: { algorithm: "fixed-window", limit: 2, window: 1000 } }))
        expect(yield* find("allowed")).toBeUndefined()
      }).pipe(Effect.provideService(Metric.MetricRegistry, new Map()))
    )

    it.effect("counts an inline rule (limitWith) under its normalised name while it is kept", () =>
      Effect.gen(function* () {
        const inline = { algorithm: "fixed-window", limit: 1, window: "1 second" } as const
        const find = (decision: string) =>
          Effect.map(
            Metric.snapshot,
            (snapshots) =>
              snapshots.find(
                (s) =>
                  s.id === "foundation.rate_limiter.requests" &&
                  s.attributes?.rule === "inline:fixed-window:1/1000ms" &&
                  s.attributes?.decision === decision
              )?.state
          )
        yield* Effect.gen(function* () {
          const limiter = yield* RateLimiter.RateLimiter
          yield* Effect.succeed(1).pipe(limiter.limitWith(inline, "k"))
          yield* Effect.exit(Effect.succeed(1).pipe(limiter.limitWith({ ...inline, window: 1000 }, "k")))
          expect(yield* find("allowed")).toMatchObject({ count: 1 })
          expect(yield* find("denied")).toMatchObject({ count: 1 })
        }).pipe(withRules({ api: { algorithm: "fixed-window", limit: 2, window: 1000 } }))
        expect(yield* find("allowed")).toBeUndefined()
      }).pipe(Effect.provideService(Metric.MetricRegistry, new Map()))
    )
  })

  it.effect("limit finds the limiter of the context it runs in, whichever ran before", () =>
    Effect.gen(function* () {
      const strict = RateLimiter.layer({ rules: { api: { algorithm: "fixed-window", limit: 1, window: "1 hour" } } })
      const loose = RateLimiter.layer({ rules: { api: { algorithm: "fixed-window", limit: 3, window: "1 hour" } } })
      const call = Effect.exit(Effect.succeed(1).pipe(RateLimiter.limit("api", "k")))
      const outcomes: Array<string> = []
      yield* Effect.gen(function* () {
        const inStrict = yield* Effect.context<RateLimiter.RateLimiter>()
        yield* Effect.gen(function* () {
          for (let i = 0; i < 3; i++) {
            outcomes.push("loose:" + (yield* call)._tag)
            outcomes.push("strict:" + (yield* call.pipe(Effect.provideContext(inStrict)))._tag)
          }
        }).pipe(Effect.provide(loose))
      }).pipe(Effect.provide(strict))
      expect(outcomes).toEqual(["loose:Success", "strict:Success", "loose:Success", "strict:Failure", "loose:Success", "strict:Failure"])
    })
  )

  it.effect("limit is pipeable and data-first", () =>
    Effect.gen(function* () {
      expect(yield* Effect.succeed(1).pipe(RateLimiter.limit("api", "k"))).toBe(1)
      expect(yield* RateLimiter.limit(Effect.succeed(2), "api", "k", { cost: 1 })).toBe(2)
      const error = yield* Effect.flip(RateLimiter.limit(Effect.succeed(3), "api", "k"))
      expect(error).toBeInstanceOf(RateLimited)
      expect(error.message).toContain("api")
    }).pipe(withRules({ api: { algorithm: "token-bucket", limit: 2, window: "1 minute" } }))
  )
})
