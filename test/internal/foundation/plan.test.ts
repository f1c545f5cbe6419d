import { describe, expect, it } from "@effect/vitest"
import { Duration, Schema } from "effect"
import * as fc from "fast-check"
import * as Config from "../../../src/Config.js"
import { canonical, plan } from "../../../src/internal/foundation/plan.js"

const decode = Schema.decodeUnknownSync(Config.FoundationConfig)

const base = decode({
  circuitBreaker: { breakers: { payments: { failureThreshold: 5, resetTimeout: "30 seconds" } } },
  rateLimiter: { rules: { api: { algorithm: "gcra", limit: 100, window: "1 minute" } } },
  pools: { db: { size: 4 } },
  memory: { rejectAt: "critical" },
  protections: { checkout: { circuitBreaker: "payments", rateLimit: { rule: "api" }, timeout: 2000 } }
})

describe("reload plan", () => {
  it("a configuration written differently but saying the same changes nothing", () => {
    const same = decode({
      circuitBreaker: { breakers: { payments: { resetTimeout: 30_000, failureThreshold: 5 } } },
      rateLimiter: { rules: { api: { window: "60 seconds", limit: 100, algorithm: "gcra" } } },
      pools: { db: { size: 4, maxOverflow: 0 } },
      memory: { rejectAt: "critical" },
      protections: { checkout: { timeout: "2 seconds", rateLimit: { rule: "api" }, circuitBreaker: "payments" } }
    })
    expect(plan(base, same)).toEqual({ changes: [], refusals: [] })
  })

  it("changed and added entries become changes, profiles last", () => {
    const next = decode({
      circuitBreaker: { breakers: { payments: { failureThreshold: 3, resetTimeout: "30 seconds" }, search: {} } },
      rateLimiter: { rules: { api: { algorithm: "gcra", limit: 50, window: "1 minute" } } },
      pools: { db: { size: 8, minIdle: 2 } },
      memory: { rejectAt: "critical" },
      protections: { checkout: { circuitBreaker: "search", rateLimit: { rule: "api" }, timeout: 2000 } }
    })
    const { changes, refusals } = plan(base, next)
    expect(refusals).toEqual([])
    expect(changes.map((c) => `${c.kind}:${c.name}`)).toEqual([
      "breaker:payments",
      "breaker:search",
      "rule:api",
      "pool:db",
      "profile:checkout"
    ])
    expect(changes.find((c) => c.kind === "pool")).toMatchObject({ sizes: { size: 8, maxOverflow: 0, minIdle: 2 } })
  })

  it("refuses, with paths, what running services cannot change, and removals", () => {
    const next = decode({
      circuitBreaker: { defaults: { failureThreshold: 2 }, breakers: {} },
      rateLimiter: { rules: {} },
      pools: { db: { size: 4, checkoutTimeout: "1 second" }, cache: { size: 2 } },
      memory: { rejectAt: "high" },
      protections: {}
    })
    expect(plan(base, next).refusals.map((r) => r.path)).toEqual([
      "memory",
      "circuitBreaker.defaults",
      "circuitBreaker.breakers.payments",
      "rateLimiter.rules.api",
      "pools.db.checkoutTimeout",
      "pools.cache",
      "protections.checkout"
    ])
  })

  it("canonical text: key order and duration spelling do not matter", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.dictionary(
          fc.string({ minLength: 1 }).map((k) => `k${k}`),
          fc.integer()
        ),
        (millis, extra) => {
          const a = { d: Duration.millis(millis), ...extra }
          const b = { ...Object.fromEntries(Object.entries(extra).reverse()), d: Duration.seconds(millis / 1000) }
          expect(canonical(a)).toBe(canonical(b))
        }
      )
    )
  })

  it("a plan from a configuration to itself is empty, whatever the configuration", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom("a", "b", "c"), fc.record({ failureThreshold: fc.integer({ min: 1, max: 9 }) })),
        fc.dictionary(
          fc.constantFrom("r", "s"),
          fc.record({ algorithm: fc.constant("gcra" as const), limit: fc.integer({ min: 1, max: 9 }), window: fc.constant(1000) })
        ),
        (breakers, rules) => {
          const config = decode({ circuitBreaker: { breakers }, rateLimiter: { rules } })
          expect(plan(config, decode({ circuitBreaker: { breakers }, rateLimiter: { rules } }))).toEqual({ changes: [], refusals: [] })
        }
      )
    )
  })
})
