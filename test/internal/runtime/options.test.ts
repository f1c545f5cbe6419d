import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import type { InvalidConfig } from "../../../src/Errors.js"
import { decode, decodeSync, describeCandidates, suggest } from "../../../src/internal/runtime/options.js"

const Policy = Schema.Struct({
  failureThreshold: Schema.optionalKey(Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(1)))),
  resetTimeout: Schema.optionalKey(Schema.String),
  backoff: Schema.optionalKey(Schema.Struct({ factor: Schema.Number }))
})
const Options = Schema.Struct({ breakers: Schema.optionalKey(Schema.Record(Schema.String, Policy)) })

describe("options", () => {
  it.effect("an unknown key is a violation at its path, with the nearest known key", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(decode(Options, { breakers: { db: { failureTreshold: 0 } } }, "circuitBreaker"))
      expect(error.path).toBe("circuitBreaker.breakers.db.failureTreshold")
      expect(error.message).toContain('unknown option "failureTreshold"; did you mean "failureThreshold"?')
    })
  )

  it.effect("unknown keys at every depth are reported together with other violations", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        decode(Options, { breakerz: {}, breakers: { db: { failureThreshold: 0, backoff: { factr: 2, factor: 2 } } } })
      )
      expect(error.message).toContain('breakerz: unknown option "breakerz"; did you mean "breakers"?')
      expect(error.message).toContain("breakers.db.failureThreshold:")
      expect(error.message).toContain('breakers.db.backoff.factr: unknown option "factr"; did you mean "factor"?')
    })
  )

  it("a name a record's key Schema refuses is a bad name, not an unknown option", () => {
    const Named = Schema.Struct({
      breakers: Schema.Record(Schema.String.pipe(Schema.check(Schema.isMinLength(1))), Policy)
    })
    const error = decodeSync(Named, { breakers: { "": {}, db: {} } }, "circuitBreaker")
    expect((error as InvalidConfig).message).toBe('circuitBreaker.breakers: "" is not a valid name here')
  })

  it("an unknown key with nothing close lists the options", () => {
    const error = decodeSync(Policy, { zzzzzzzz: 1 }, "p")
    expect(error).toMatchObject({
      _tag: "InvalidConfig",
      path: "p.zzzzzzzz",
      message: 'p.zzzzzzzz: unknown option "zzzzzzzz"; the options here are "failureThreshold", "resetTimeout", "backoff"'
    })
  })

  it("decodes valid input to the Schema's type", () => {
    expect(decodeSync(Options, { breakers: { db: { failureThreshold: 3 } } })).toEqual({
      breakers: { db: { failureThreshold: 3 } }
    })
  })

  it("suggests a name within a third of its length in edits, or one differing only in case", () => {
    expect(suggest("upstrem", ["upstream", "db"])).toBe("upstream")
    expect(suggest("per-clinet", ["per-client", "per-ip"])).toBe("per-client")
    expect(suggest("DB", ["db"])).toBe("db")
    expect(suggest("cache", ["postgres", "redis"])).toBeUndefined()
    expect(describeCandidates("ghost", [])).toBe("none is configured")
    expect(describeCandidates("ghost", ["db", "cache"])).toBe('configured: "db", "cache"')
    expect(describeCandidates("cach", ["db", "cache"])).toBe('did you mean "cache"?')
  })
})
