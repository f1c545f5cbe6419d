import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Exit, Layer, Schema } from "effect"
import { MAX_TIMER_MILLIS, timerLimitProblem } from "../src/internal/runtime/validate.js"
import type * as Errors from "../src/Errors.js"
import * as Config from "../src/Config.js"
import * as Pool from "../src/Pool.js"

/** Options as a caller without type checking (plain JS, a config file) might pass them. */
const make = (options: unknown) => Pool.make(options as Pool.Options<number, never, never>)

describe("Pool options", () => {
  describe("the code part fails InvalidConfig, never throws", () => {
    const invalid: Array<[string, unknown, string]> = [
      ["a missing acquire", { size: 1 }, "acquire"],
      ["an acquire that is a function, not an Effect", { size: 1, acquire: () => Effect.succeed(1) }, "acquire"],
      ["an acquire that is a promise", { size: 1, acquire: Promise.resolve(1) }, "acquire"],
      ["a release that is not a function", { size: 1, acquire: Effect.succeed(1), release: Effect.void }, "release"],
      ["a validate that is not a function", { size: 1, acquire: Effect.succeed(1), validate: true }, "validate"],
      ["no options at all", undefined, "options"],
      ["null options", null, "options"]
    ]
    it.effect.each(invalid)("rejects %s with InvalidConfig naming the path", ([, options, path]) =>
      Effect.gen(function* () {
        const exit = yield* Effect.exit(make(options))
        // a failure, not a defect
        expect(Exit.isFailure(exit) && exit.cause.reasons[0]?._tag).toBe("Fail")
        const error = yield* Effect.flip(make(options))
        expect(error._tag).toBe("InvalidConfig")
        expect((error as Errors.InvalidConfig).path).toBe(path)
        expect(error.message).toContain(path)
      })
    )

    it.effect("a layer without acquire fails to build with InvalidConfig", () =>
      Effect.gen(function* () {
        class Bad extends Context.Service<Bad, Pool.Pool<number>>()("test/BadAcquire") {}
        const layer = Pool.layer(Bad, { size: 1 } as unknown as Pool.Options<number, never, never>)
        const error = yield* Effect.flip(Effect.provide(Pool.status(Bad), layer))
        expect(error).toMatchObject({ _tag: "InvalidConfig", path: "acquire" })
        expect(error.message).toContain("test/BadAcquire")
      })
    )
  })

  describe("durations that arm a timer or bound a wait stay within 2^31 - 1 ms", () => {
    const bounded = ["checkoutTimeout", "acquireTimeout", "shutdownTimeout", "leakWarning"] as const
    it.effect.each(bounded)("rejects %s past the timer limit with the limit's message", (option) =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(make({ acquire: Effect.succeed(1), size: 1, [option]: MAX_TIMER_MILLIS + 1 }))
        expect(error).toMatchObject({ _tag: "InvalidConfig", path: option })
        expect(error.message).toContain(`${option}: ${timerLimitProblem(MAX_TIMER_MILLIS + 1)}`)
        const days = yield* Effect.flip(make({ acquire: Effect.succeed(1), size: 1, [option]: "30 days" }))
        expect((days as Errors.InvalidConfig).path).toBe(option)
        // no timeout at all is not a bound either
        const infinite = yield* Effect.flip(make({ acquire: Effect.succeed(1), size: 1, [option]: "Infinity" }))
        expect((infinite as Errors.InvalidConfig).path).toBe(option)
      })
    )

    it.effect.each(bounded)("accepts %s at exactly the timer limit", (option) =>
      Effect.gen(function* () {
        const pool = yield* make({ acquire: Effect.succeed(1), size: 1, [option]: MAX_TIMER_MILLIS })
        expect(yield* pool.use(Effect.succeed)).toBe(1)
      })
    )

    it.effect("idleTimeout and maxLifetime arm no timer of their own, so longer values are accepted", () =>
      Effect.gen(function* () {
        const pool = yield* make({ acquire: Effect.succeed(1), size: 1, idleTimeout: "30 days", maxLifetime: "100 days" })
        expect(yield* pool.use(Effect.succeed)).toBe(1)
      })
    )

    it.effect("acquireTimeout must be positive", () =>
      Effect.gen(function* () {
        for (const value of [0, -1, Number.NaN, "soon"]) {
          const error = yield* Effect.flip(make({ acquire: Effect.succeed(1), size: 1, acquireTimeout: value }))
          expect((error as Errors.InvalidConfig).path).toBe("acquireTimeout")
        }
      })
    )

    it.effect("every problem is listed at once, the code part included", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(make({ size: 0, acquireTimeout: "30 days", name: "db" }))
        expect((error as Errors.InvalidConfig).path).toBe("acquire")
        for (const part of ["acquire", "size", "acquireTimeout", '"db"']) expect(error.message).toContain(part)
      })
    )
  })
})

describe("Pool options as one Schema", () => {
  const acquire = Effect.succeed(1)

  it("the configuration's pool section is the same Schema, defaults next to each field", () => {
    expect(Config.PoolSizing).toBe(Pool.OptionsSchema)
    const sizing = Schema.decodeUnknownSync(Pool.OptionsSchema)({ size: 2 })
    expect(sizing).toMatchObject({ size: 2, maxOverflow: 0, minIdle: 0, strategy: "lifo", lifetimeJitter: 0.1 })
    expect(Duration.toMillis(sizing.checkoutTimeout)).toBe(5_000)
    expect(Duration.toMillis(sizing.acquireTimeout)).toBe(30_000)
    expect(Duration.toMillis(sizing.idleTimeout)).toBe(30_000)
    expect(Duration.toMillis(sizing.shutdownTimeout)).toBe(30_000)
    expect(sizing.maxLifetime).toBeUndefined()
    expect(sizing.leakWarning).toBeUndefined()
  })

  it.effect("a decoded sizing (what Config.decode returns) is valid input again", () =>
    Effect.gen(function* () {
      const config = yield* Config.decode({ pools: { db: { size: 2, maxOverflow: 1, checkoutTimeout: 500, leakWarning: "1 minute" } } })
      const sizing: Pool.Sizing = config.pools!.db!
      const pool = yield* Pool.make({ ...sizing, acquire })
      expect(yield* pool.status).toMatchObject({ size: 2, maxOverflow: 1 })
      expect(Schema.decodeUnknownSync(Pool.OptionsSchema)(sizing)).toEqual(sizing)
    })
  )

  it.effect("an unknown key fails with its path and the nearest known option", () =>
    Effect.gen(function* () {
      const typo = yield* Effect.flip(make({ acquire, size: 1, checkoutTimout: 500 }))
      expect(typo).toMatchObject({ _tag: "InvalidConfig", path: "checkoutTimout" })
      expect(typo.message).toBe('pool "pool": checkoutTimout: unknown option "checkoutTimout"; did you mean "checkoutTimeout"?')
      // a case slip is a typo too
      const cased = yield* Effect.flip(make({ acquire, size: 1, MaxOverflow: 1 }))
      expect(cased.message).toContain('unknown option "MaxOverflow"; did you mean "maxOverflow"?')
      // nothing close: the options are listed
      const far = yield* Effect.flip(make({ acquire, size: 1, zzz: 1 }))
      expect(far.message).toContain('zzz: unknown option "zzz"; the options here are "name", "size", "maxOverflow"')
    })
  )

  it.effect("the code part is no unknown key, and an unknown key is listed with the code part's violations", () =>
    Effect.gen(function* () {
      const pool = yield* make({ acquire, release: () => Effect.void, validate: () => Effect.succeed(true), size: 1 })
      expect(yield* pool.use(Effect.succeed)).toBe(1)
      const error = yield* Effect.flip(make({ size: 1, lifetimeJiter: 0.2, name: "db" }))
      expect((error as Errors.InvalidConfig).path).toBe("acquire")
      expect(error.message).toBe(
        'pool "db": acquire: must be an Effect that creates a resource, got nothing; ' +
          'lifetimeJiter: unknown option "lifetimeJiter"; did you mean "lifetimeJitter"?'
      )
    })
  )

  it.effect("minIdle <= size is checked once both are valid, every other violation still listed", () =>
    Effect.gen(function* () {
      const crossField = yield* Effect.flip(make({ acquire, size: 2, minIdle: 3 }))
      expect(crossField).toMatchObject({ path: "minIdle", message: 'pool "pool": minIdle: must be <= size (2), got 3' })
      const error = yield* Effect.flip(make({ acquire, size: 0, maxOverflow: -1, strategy: "random", lifetimeJitter: 2 }))
      expect((error as Errors.InvalidConfig).path).toBe("size")
      for (const path of ["size", "maxOverflow", "strategy", "lifetimeJitter"]) expect(error.message).toContain(`${path}: `)
    })
  )

  it.effect("the same mistakes read the same through Pool.layer and the configuration file's pools section", () =>
    Effect.gen(function* () {
      class Db extends Context.Service<Db, Pool.Pool<number>>()("test/SameMessage/Db") {}
      const sizing = {
        size: 0,
        maxOverflow: 1.5,
        strategy: "random",
        checkoutTimeout: "30 days",
        idleTimeout: 0,
        lifetimeJitter: 1,
        name: "db",
        leakWarnin: "1 minute"
      }
      const fromLayer = yield* Effect.flip(Layer.build(Pool.layer(Db, { ...(sizing as unknown as Pool.Sizing), acquire })))
      const fromConfig = yield* Effect.flip(Config.decode({ pools: { db: sizing } }))
      // the file reports each path under its section and the layer names the pool; nothing else differs
      const prefix = 'pool "db": '
      expect(fromLayer.message.startsWith(prefix)).toBe(true)
      const underSection = fromLayer.message.slice(prefix.length).replace(/(^|; )(?=\w+: )/g, "$1pools.db.")
      expect((fromConfig as Errors.InvalidConfig).path).toBe(`pools.db.${(fromLayer as Errors.InvalidConfig).path}`)
      expect(fromConfig.message).toBe(underSection)
      for (const path of ["size", "maxOverflow", "strategy", "checkoutTimeout", "idleTimeout", "lifetimeJitter"]) {
        expect(fromLayer.message).toContain(`; ${path}: `)
      }
      expect(fromLayer.message).toContain('leakWarnin: unknown option "leakWarnin"; did you mean "leakWarning"?')
    })
  )

  it.effect("lifetimeJitter and name are configurable from the file, and reach the pool", () =>
    Effect.gen(function* () {
      class Db extends Context.Service<Db, Pool.Pool<number>>()("test/FromFile/Db") {}
      const config = yield* Config.decode({ pools: { db: { size: 3, lifetimeJitter: 0, maxLifetime: "1 hour", name: "primary" } } })
      expect(config.pools?.db?.lifetimeJitter).toBe(0)
      const input = { pools: { db: { size: 3, lifetimeJitter: 0, maxLifetime: "1 hour", name: "primary" } } }
      const pool = yield* Effect.map(Layer.build(Pool.layer(Db, { ...input.pools.db, acquire })), (context) => Context.get(context, Db))
      expect(pool.name).toBe("primary")
      expect((yield* pool.status).size).toBe(3)
      const jitter = yield* Effect.flip(Config.decode({ pools: { db: { size: 1, lifetimeJitter: -0.1 } } }))
      expect(jitter.path).toBe("pools.db.lifetimeJitter")
    })
  )

  it.effect("a layer's pool is named by its tag unless the options name it; an empty name is refused", () =>
    Effect.gen(function* () {
      class Cache extends Context.Service<Cache, Pool.Pool<number>>()("test/Named/Cache") {}
      const pool = yield* Effect.map(Layer.build(Pool.layer(Cache, { acquire, size: 1 })), (context) => Context.get(context, Cache))
      expect(pool.name).toBe("test/Named/Cache")
      const empty = yield* Effect.flip(Layer.build(Pool.layer(Cache, { acquire, size: 1, name: "" })))
      expect(empty).toMatchObject({ path: "name" })
      expect(empty.message.startsWith('pool "test/Named/Cache": name: ')).toBe(true)
    })
  )
})
