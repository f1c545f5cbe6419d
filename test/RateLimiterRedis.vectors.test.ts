/**
 * The shared test vectors: the same sequences of calls run through the pure algorithms, the
 * memory store and the Redis store (Lua script on a real redis-server), which must agree on
 * every decision, `retryAfter` and `remaining`. Redis decides on the caller's `TestClock` time
 * here (the script's test-only time argument), so the three see the same instants.
 */
import { NodeRedis } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import { Redis } from "effect/persistence"
import { TestClock } from "effect/testing"
import { RateLimited } from "../src/Errors.js"
import type { AlgorithmName, Pair, Rule } from "../src/internal/rateLimiter/algorithms.js"
import { pairAlgorithms } from "../src/internal/rateLimiter/algorithms.js"
import * as SlidingLog from "../src/internal/rateLimiter/slidingLog.js"
import { algorithmCode, script } from "../src/internal/rateLimiter/redis/script.js"
import * as RateLimiter from "../src/RateLimiter.js"
import * as RateLimiterRedis from "../src/RateLimiterRedis.js"
import { type RedisServer, startRedisServer } from "./support/redisServer.js"

let server: RedisServer
beforeAll(async () => {
  server = await startRedisServer()
})
afterAll(async () => {
  await server?.stop()
})

const redisLayer = Layer.suspend(() => NodeRedis.layer({ url: server.url }))

/** A decision as all three implementations report it. */
interface Outcome {
  readonly admitted: boolean
  /** wait until the call fits: 0 when admitted now; -1 = never */
  readonly wait: number
  readonly remaining: number
}

interface Step {
  readonly advance: number
  readonly cost: number
}

interface Vector {
  readonly name: string
  readonly rule: Rule
  readonly start: number
  readonly steps: ReadonlyArray<Step>
}

// ---------------------------------------------------------------------------------------------
// The pure reference: the algorithms of src/internal driven directly.

const pureRun = (vector: Vector, maxWait: number): Array<Outcome> => {
  const { rule } = vector
  const out: Array<Outcome> = []
  let now = vector.start
  if (rule.algorithm === "sliding-window") {
    let log: SlidingLog.Log | undefined
    for (const step of vector.steps) {
      now += step.advance
      const wait = SlidingLog.delay(log, now, step.cost, rule)
      if (wait === Infinity || wait > maxWait) {
        out.push({ admitted: false, wait: wait === Infinity ? -1 : wait, remaining: SlidingLog.remaining(log, now, rule) })
        continue
      }
      log ??= SlidingLog.emptyLog()
      SlidingLog.admit(log, now + wait, step.cost, rule)
      out.push({ admitted: true, wait, remaining: SlidingLog.remaining(log, now + wait, rule) })
    }
    return out
  }
  const algorithm = pairAlgorithms[rule.algorithm]
  let state: Pair | undefined
  for (const step of vector.steps) {
    now += step.advance
    const current: Pair = state ?? { a: 0, b: 0 }
    if (state === undefined) algorithm.initial(now, rule, current)
    const wait = algorithm.delay(current.a, current.b, now, step.cost, rule)
    if (wait === Infinity || wait > maxWait) {
      const remaining = Math.max(0, algorithm.remaining(current.a, current.b, now, rule))
      out.push({ admitted: false, wait: wait === Infinity ? -1 : wait, remaining })
      continue
    }
    const next: Pair = { a: 0, b: 0 }
    algorithm.admit(current.a, current.b, now + wait, step.cost, rule, next)
    state = next
    out.push({ admitted: true, wait, remaining: Math.max(0, algorithm.remaining(next.a, next.b, now + wait, rule)) })
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// The two stores through the RateLimiter service, under TestClock.

const toRateRule = (rule: Rule): RateLimiter.RateRule => ({
  algorithm: rule.algorithm,
  limit: rule.limit,
  window: Duration.millis(rule.windowMillis),
  // burst is the capacity of the rate algorithms only (the windows ignore it, and the
  // options reject it there)
  ...(rule.algorithm === "token-bucket" || rule.algorithm === "gcra" ? { burst: rule.burst } : {})
})

const serviceRun = (vector: Vector) =>
  Effect.gen(function* () {
    const limiter = yield* RateLimiter.RateLimiter
    yield* TestClock.setTime(vector.start)
    const out: Array<Outcome> = []
    for (const step of vector.steps) {
      yield* TestClock.adjust(Duration.millis(step.advance))
      const result = yield* Effect.result(limiter.check("v", "key", { cost: step.cost }))
      if (result._tag === "Success") {
        out.push({ admitted: true, wait: 0, remaining: result.success.remaining })
      } else {
        const error = result.failure
        if (!(error instanceof RateLimited)) throw new Error(`unexpected ${error._tag}`)
        const retry = Duration.toMillis(error.retryAfter)
        out.push({ admitted: false, wait: retry === Infinity ? -1 : retry, remaining: error.remaining })
      }
    }
    return out
  })

let vectorCount = 0
const memoryRun = (vector: Vector) => serviceRun(vector).pipe(Effect.provide(RateLimiter.layer({ rules: { v: toRateRule(vector.rule) } })))

const redisRun = (vector: Vector) =>
  serviceRun(vector).pipe(
    Effect.provide(
      Layer.effect(
        RateLimiter.RateLimiter,
        RateLimiterRedis.make({ rules: { v: toRateRule(vector.rule) }, prefix: `vec${vectorCount++}:` }, "caller")
      ).pipe(Layer.provide(redisLayer))
    )
  )

/** The script alone, with an unbounded wait: the `"delay"` decisions (wait > 0 admitted). */
const scriptRun = (vector: Vector) =>
  Effect.gen(function* () {
    const redis = yield* Redis.Redis
    const evaluate = redis.eval(script)
    const key = `delayvec${vectorCount++}`
    const { rule } = vector
    const out: Array<Outcome> = []
    let now = vector.start
    for (const step of vector.steps) {
      now += step.advance
      const [admitted, wait, remaining] = yield* evaluate(
        key,
        algorithmCode[rule.algorithm],
        rule.limit,
        rule.windowMillis,
        rule.burst,
        step.cost,
        -1,
        String(now),
        "take"
      )
      out.push({ admitted: admitted === 1, wait, remaining })
    }
    return out
  }).pipe(Effect.provide(redisLayer))

// ---------------------------------------------------------------------------------------------
// The vectors: hand-picked boundaries plus seeded random sequences.

const seeded = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed / 0x7fffffff
}

const rules: ReadonlyArray<Rule> = (["token-bucket", "gcra", "fixed-window", "sliding-window"] as Array<AlgorithmName>).flatMap(
  (algorithm) => [
    { algorithm, limit: 3, windowMillis: 1_000, burst: 3 },
    { algorithm, limit: 7, windowMillis: 13, burst: 2 },
    { algorithm, limit: 1, windowMillis: 1, burst: 1 },
    { algorithm, limit: 5, windowMillis: 60_000, burst: 9 },
    // near the exact-arithmetic bound (burst x window close to 2^53): no precision lost in Lua
    // (pair algorithms: the memory sliding log is sized by its limit)
    ...(algorithm === "sliding-window"
      ? [{ algorithm, limit: 1_000, windowMillis: 3_600_001, burst: 1_000 }]
      : [{ algorithm, limit: 1_000_000_007, windowMillis: 3_600_001, burst: 2_000_000_011 }])
  ]
)

const randomVector = (rule: Rule, seed: number): Vector => {
  const random = seeded(seed)
  const pick = <A>(items: ReadonlyArray<A>): A => items[Math.floor(random() * items.length)]!
  const w = rule.windowMillis
  const advances = [0, 0, 1, 2, Math.floor(w / 3), w - 1, w, w + 1, 2 * w, 7]
  const costs = [1, 1, 1, 1, 2, rule.limit, rule.burst, rule.burst + 1, rule.limit + 1]
  return {
    name: `${rule.algorithm} limit ${rule.limit}/${w}ms burst ${rule.burst} seed ${seed}`,
    rule,
    // a real-looking epoch time whose window alignment varies with the seed
    start: 1_763_900_000_000 + Math.floor(random() * 100_000),
    steps: Array.from({ length: 30 }, () => ({ advance: pick(advances), cost: Math.max(1, pick(costs)) }))
  }
}

const vectors: ReadonlyArray<Vector> = rules.flatMap((rule) => [
  {
    name: `${rule.algorithm} ${rule.limit}/${rule.windowMillis}ms: a burst, then one per step across the window edge`,
    rule,
    start: 1_763_900_000_000 - 1,
    steps: [
      ...Array.from({ length: Math.min(rule.burst, 20) + 2 }, () => ({ advance: 0, cost: 1 })),
      { advance: 1, cost: 1 },
      { advance: rule.windowMillis - 1, cost: 1 },
      { advance: rule.windowMillis, cost: 1 },
      { advance: 0, cost: Math.max(rule.limit, rule.burst) + 1 }
    ]
  },
  randomVector(rule, 1),
  randomVector(rule, 2),
  randomVector(rule, 3)
])

describe("RateLimiter test vectors: pure algorithm = memory store = Redis store", () => {
  it.effect(
    'all vectors, with onExceeded "fail"',
    () =>
      Effect.gen(function* () {
        for (const vector of vectors) {
          const pure = pureRun(vector, 0)
          const memory = yield* memoryRun(vector)
          const redis = yield* redisRun(vector)
          expect({ vector: vector.name, decisions: memory }).toEqual({ vector: vector.name, decisions: pure })
          expect({ vector: vector.name, decisions: redis }).toEqual({ vector: vector.name, decisions: pure })
        }
        // the vectors exercise both outcomes of every algorithm
        const all = vectors.flatMap((vector) => pureRun(vector, 0))
        expect(all.some((o) => o.admitted)).toBe(true)
        expect(all.some((o) => !o.admitted && o.wait > 0)).toBe(true)
        expect(all.some((o) => o.wait === -1)).toBe(true)
      }),
    30_000
  )

  it.effect(
    'all vectors, with unbounded waits (the "delay" slots)',
    () =>
      Effect.gen(function* () {
        for (const vector of vectors) {
          const pure = pureRun(vector, Infinity)
          const redis = yield* scriptRun(vector)
          expect({ vector: vector.name, decisions: redis }).toEqual({ vector: vector.name, decisions: pure })
        }
        expect(vectors.flatMap((vector) => pureRun(vector, Infinity)).some((o) => o.admitted && o.wait > 0)).toBe(true)
      }),
    30_000
  )
})
