/**
 * `Pool.use`'s overloads, checked by the type checker (`npm run typecheck`): every form gives the
 * resource its type. At run time each form checks a resource out.
 */
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Context, Effect } from "effect"
import { Pool } from "../src/index.js"

class Db extends Context.Service<Db, Pool.Pool<number>>()("test/types/Db") {}
const DbLive = Pool.layer(Db, { acquire: Effect.succeed(41), size: 1 })

describe("Pool.use types", () => {
  it.effect("data-first and data-last, with and without options, type the resource", () =>
    Effect.gen(function* () {
      const results = yield* Effect.all([
        Pool.use(Db, (connection) => {
          expectTypeOf(connection).toEqualTypeOf<number>()
          return Effect.succeed(connection + 1)
        }),
        Pool.use(
          Db,
          (connection) => {
            expectTypeOf(connection).toEqualTypeOf<number>()
            return Effect.succeed(connection + 1)
          },
          { checkoutTimeout: "1 second" }
        ),
        Db.pipe(Pool.use((connection: number) => Effect.succeed(connection + 1))),
        Db.pipe(Pool.use((connection: number) => Effect.succeed(connection + 1), { priority: 1 }))
      ])
      expect(results).toEqual([42, 42, 42, 42])
    }).pipe(Effect.provide(DbLive))
  )
})
