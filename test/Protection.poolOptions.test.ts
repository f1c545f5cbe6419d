/** `Foundation.poolOptions`, the facade's way to size a pool from the configuration. */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { InvalidConfig } from "../src/Errors.js"
import { Foundation, Pool } from "../src/index.js"

class Db extends Context.Service<Db, Pool.Pool<string>>()("test/poolOptions/Db") {}

describe("Foundation.poolOptions", () => {
  const config = { pools: { upstream: { size: 3, checkoutTimeout: 500 }, db: { size: 1 } } }

  it("returns the pool's sizing, named", () => {
    expect(Foundation.poolOptions(config, "upstream")).toEqual({ size: 3, checkoutTimeout: 500, name: "upstream" })
  })

  it("an unknown pool throws InvalidConfig suggesting the nearest, or listing the configured ones", () => {
    const thrown = (name: string, input: unknown = config) => {
      try {
        Foundation.poolOptions(input, name)
      } catch (error) {
        return error
      }
      throw new Error("did not throw")
    }
    expect(thrown("upstreem")).toBeInstanceOf(InvalidConfig)
    expect(thrown("upstreem")).toMatchObject({
      path: "pools.upstreem",
      message: `pools.upstreem: no pool "upstreem" is configured; did you mean "upstream"?`
    })
    expect((thrown("cache") as InvalidConfig).message).toBe(`pools.cache: no pool "cache" is configured; configured: "upstream", "db"`)
    expect((thrown("toString") as InvalidConfig).path).toBe("pools.toString")
    expect((thrown("db", {}) as InvalidConfig).message).toBe(`pools.db: no pool "db" is configured; none is configured`)
  })

  it.effect("inside Layer.unwrap + Effect.try the unknown pool is the layer's typed failure", () =>
    Effect.gen(function* () {
      const DbFrom = (input: unknown) =>
        Layer.unwrap(
          Effect.try({
            try: () => Pool.layer(Db, { ...Foundation.poolOptions(input, "db"), acquire: Effect.succeed("c") }),
            catch: (error) => error as InvalidConfig
          })
        )
      const error = yield* Effect.flip(Layer.build(DbFrom({ pools: { dbb: { size: 2 } } })))
      expect(error).toMatchObject({ _tag: "InvalidConfig", path: "pools.db" })
      const pool = yield* Effect.map(Layer.build(DbFrom({ pools: { db: { size: 2 } } })), (context) => Context.get(context, Db))
      expect((yield* pool.status).size).toBe(2)
    })
  )
})
