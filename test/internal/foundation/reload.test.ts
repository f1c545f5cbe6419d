import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Config from "../../../src/Config.js"
import { InvalidConfig } from "../../../src/Errors.js"
import type { Change } from "../../../src/internal/foundation/plan.js"
import { makeReloader } from "../../../src/internal/foundation/reload.js"

const initial = {
  circuitBreaker: { breakers: { payments: { failureThreshold: 5 } } },
  rateLimiter: { rules: { api: { algorithm: "gcra", limit: 100, window: "1 minute" } } },
  protections: { checkout: { circuitBreaker: "payments" } }
} as const

/** Appliers that record what they were asked, failing for the names in `failing`. */
const recording = (failing: ReadonlySet<string> = new Set()) => {
  const log: Array<string> = []
  return {
    log,
    apply: (change: Change) =>
      failing.has(change.name)
        ? Effect.fail(new InvalidConfig({ path: change.name, message: "refused by the service" }))
        : Effect.sync(() => {
            log.push(
              `${change.kind}:${change.name}:${JSON.stringify(change.kind === "breaker" ? change.policy : change.kind === "rule" ? (change.rule as { limit: number }).limit : "")}`
            )
          })
  }
}

describe("Foundation reload shell", () => {
  it.effect("applies the plan and makes the new configuration current", () =>
    Effect.gen(function* () {
      const appliers = recording()
      const reloader = yield* makeReloader(yield* Config.decode(initial), Config.decode, appliers)
      const report = yield* reloader.reload({
        ...initial,
        rateLimiter: { rules: { api: { algorithm: "gcra", limit: 10, window: "1 minute" } } }
      })
      expect(report.changes).toEqual([{ kind: "rule", name: "api" }])
      expect(appliers.log).toEqual(["rule:api:10"])
      expect((yield* reloader.current).rateLimiter?.rules.api?.limit).toBe(10)
      // the same again: nothing to do
      expect(
        (yield* reloader.reload({ ...initial, rateLimiter: { rules: { api: { algorithm: "gcra", limit: 10, window: 60_000 } } } })).changes
      ).toEqual([])
    })
  )

  it.effect("an invalid or unappliable configuration is refused whole, every path named, nothing applied", () =>
    Effect.gen(function* () {
      const appliers = recording()
      const reloader = yield* makeReloader(yield* Config.decode(initial), Config.decode, appliers)
      const undecodable = yield* Effect.flip(
        reloader.reload({ ...initial, rateLimiter: { rules: { api: { algorithm: "gcra", limit: -1, window: "1 minute" } } } })
      )
      expect(undecodable.path).toBe("rateLimiter.rules.api.limit")
      const refused = yield* Effect.flip(
        reloader.reload({
          ...initial,
          circuitBreaker: { breakers: { payments: { failureThreshold: 2 } } },
          memory: { rejectAt: "high" },
          protections: {}
        })
      )
      expect(refused.path).toBe("memory")
      expect(refused.message).toContain("protections.checkout")
      expect(appliers.log).toEqual([])
      expect((yield* reloader.current).circuitBreaker?.breakers?.payments?.failureThreshold).toBe(5)
    })
  )

  it.effect("a change a service refuses puts back the changes already made, and the old configuration stays", () =>
    Effect.gen(function* () {
      const appliers = recording(new Set(["api"]))
      const reloader = yield* makeReloader(yield* Config.decode(initial), Config.decode, appliers)
      const error = yield* Effect.flip(
        reloader.reload({
          ...initial,
          circuitBreaker: { breakers: { payments: { failureThreshold: 2 } } },
          rateLimiter: { rules: { api: { algorithm: "gcra", limit: 1, window: "1 minute" } } }
        })
      )
      expect(error.message).toContain("refused by the service")
      expect(appliers.log.map((line) => line.split(":").slice(0, 2).join(":"))).toEqual(["breaker:payments", "breaker:payments"])
      expect(appliers.log[1]).toContain('"failureThreshold":5')
      expect((yield* reloader.current).circuitBreaker?.breakers?.payments?.failureThreshold).toBe(5)
    })
  )
})
