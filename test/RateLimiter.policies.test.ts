/**
 * The memory store's policies beyond one rule and one key: limit 0 (deny all), penalty,
 * reward and block (the shared scenarios), several rules at once, inline rules and rules
 * changed at run time. Each test names the rate-limiter-flexible scenario it translates
 * where there is one.
 */
import { describe } from "@effect/vitest"
import { Effect } from "effect"
import * as RateLimiter from "../src/RateLimiter.js"
import { algorithms, policyScenarios } from "./internal/rateLimiter/policyScenarios.js"

const withRules = (rules: Record<string, RateLimiter.RateRule>) => Effect.provide(RateLimiter.layer({ rules }))

describe("RateLimiter policies", () => {
  describe.each(algorithms)("%s", (algorithm) => {
    policyScenarios(algorithm, withRules)
  })
})
