/**
 * Pool: cost of a checkout + return cycle, against generic-pool, tarn and effect's own `Pool`
 * (`Pool.use`, and `Pool.get` inside `Effect.scoped`).
 *
 * - cycle: one caller, acquire + release on an idle pool of 10. Styles: promise (`await
 *   acquire(); release()` in a loop; baseline `await` of the work alone) and effect-gen
 *   (`yield*` of the checkout in an `Effect.gen` loop; baseline the work alone).
 * - contention: 100 concurrent callers on a pool of 10, each cycle yielding once while it holds
 *   the resource (`Effect.yieldNow` / `await null`), so callers really queue. The figure is
 *   time per cycle (the inverse of cycles per second); baselines run the same 100 callers
 *   with the same yield and no pool.
 * - contention p99 wait: the 99th percentile of the time a caller waited for its resource in
 *   the contention workload, in microseconds (custom measurement, lower is better).
 */
import { Effect, Pool as EffectPool, Scope } from "effect"
import * as GenericPool from "generic-pool"
import { Pool as TarnPool } from "tarn"
import { Pool } from "../../src/index.js"
import type { Case, Suite } from "../harness.js"

const SIZE = 10
/** each case warms up in its setup (outside the timing), so the order of cases does not
 *  decide which one runs with a cold JIT: measured, the first case after a baseline lost ~2x */
const WARM_UP = 50_000
const CALLERS = 100
interface Resource {
  readonly id: number
}
let nextId = 0
const makeResource = (): Resource => ({ id: nextId++ })

const buildScoped = async <A>(effect: Effect.Effect<A, unknown, Scope.Scope>): Promise<A> => {
  const scope = Effect.runSync(Scope.make())
  return Effect.runPromise(Scope.provide(effect, scope))
}

// ---- the libraries, each behind the same three operations -----------------------------------

interface EffectPoolLike {
  readonly cycle: (work: Effect.Effect<void>) => Effect.Effect<void, unknown>
}
interface PromisePoolLike {
  readonly acquire: () => Promise<Resource>
  readonly release: (resource: Resource) => unknown
}

const ours = async (): Promise<EffectPoolLike> => {
  const pool = await buildScoped(Pool.make({ acquire: Effect.sync(makeResource), size: SIZE, minIdle: SIZE, checkoutTimeout: "1 minute" }))
  await Effect.runPromise(Effect.sleep(5))
  return { cycle: (work) => pool.use(() => work) }
}
/** The floors' shared part: SIZE free tokens, and a FIFO of parked callers a returned token goes to first. */
const handOffQueue = () => {
  const tokens: Array<Resource> = Array.from({ length: SIZE }, makeResource)
  const parked: Array<((effect: Effect.Effect<Resource>) => void) | undefined> = []
  let head = 0
  const give = (token: Resource) => {
    if (head < parked.length) {
      const resume = parked[head]!
      parked[head++] = undefined
      if (head > 1024 && head * 2 > parked.length) {
        parked.splice(0, head)
        head = 0
      }
      resume(Effect.succeed(token))
    } else tokens.push(token)
  }
  return { tokens, parked, give }
}

/**
 * The floor of a waiting checkout: SIZE tokens in an array and a FIFO of parked callbacks,
 * nothing else (no timeout, no metrics, no interruption safety). A cycle takes a token or
 * parks on `Effect.callback`; the return hands the token straight to the first parked caller.
 * What a pool built on fiber suspension cannot beat; the gap to it is the pool's bookkeeping.
 */
const handOffFloor = async (): Promise<EffectPoolLike> => {
  const { tokens, parked, give } = handOffQueue()
  const take = Effect.callback<Resource>((resume) => {
    const token = tokens.pop()
    if (token !== undefined) resume(Effect.succeed(token))
    else parked.push(resume)
  })
  return {
    cycle: (work) =>
      Effect.flatMap(take, (token) =>
        Effect.ensuring(
          work,
          Effect.sync(() => give(token))
        )
      )
  }
}
/**
 * The cheapest hand-off found on effect's public API, for the gap that is really ours: a free
 * token is taken without suspending; a caller that finds none parks on one shared
 * `Effect.callback` (no callback or closure per wait), and its continuation is a plain
 * `flatMap`; the return is an `onExitPrimitive` frame that resumes the first parked caller
 * inside the returning fiber's step. Like the floor above: no timeout, no metrics, no
 * interruption safety (an interrupted parked caller would lose the token handed to it).
 */
const leanHandOffFloor = async (): Promise<EffectPoolLike> => {
  const { tokens, parked, give } = handOffQueue()
  const park = Effect.callback<Resource>((resume) => {
    parked.push(resume)
  })
  return {
    cycle: (work) => {
      let token: Resource | undefined
      return Effect.onExitPrimitive(
        Effect.suspend(() => {
          token = tokens.pop()
          if (token !== undefined) return work
          return Effect.flatMap(park, (handed) => {
            token = handed
            return work
          })
        }),
        () => {
          if (token !== undefined) give(token)
          return undefined
        }
      )
    }
  }
}
const effectUse = async (): Promise<EffectPoolLike> => {
  const pool = await buildScoped(EffectPool.make({ acquire: Effect.sync(makeResource), size: SIZE }))
  return { cycle: (work) => EffectPool.use(pool, () => work) }
}
const effectGet = async (): Promise<EffectPoolLike> => {
  const pool = await buildScoped(EffectPool.make({ acquire: Effect.sync(makeResource), size: SIZE }))
  return { cycle: (work) => Effect.scoped(Effect.flatMap(EffectPool.get(pool), () => work)) }
}
const genericPool = async (): Promise<PromisePoolLike> => {
  const pool = GenericPool.createPool({ create: async () => makeResource(), destroy: async () => {} }, { max: SIZE, min: SIZE })
  await pool.ready()
  return { acquire: () => pool.acquire(), release: (r) => pool.release(r) }
}
const tarn = async (): Promise<PromisePoolLike> => {
  const pool = new TarnPool<Resource>({ create: async () => makeResource(), destroy: () => {}, min: SIZE, max: SIZE })
  // warm it up to SIZE resources
  const held = await Promise.all(Array.from({ length: SIZE }, () => pool.acquire().promise))
  for (const r of held) pool.release(r)
  return { acquire: () => pool.acquire().promise, release: (r) => pool.release(r) }
}

// ---- scenario 1: one caller on an idle pool -------------------------------------------------

const noWork = Effect.void
const effectCycleCase = (library: string, make?: () => Promise<EffectPoolLike>): Case => ({
  library,
  style: "effect-gen",
  ...(make === undefined ? { baseline: true } : {}),
  setup: async () => {
    const pool = make === undefined ? undefined : await make()
    const call = pool === undefined ? () => noWork : () => pool.cycle(noWork)
    const run = (n: number) =>
      Effect.runPromise(
        Effect.gen(function* () {
          for (let i = 0; i < n; i++) yield* Effect.exit(call())
        })
      )
    await run(WARM_UP)
    return run
  }
})
const promiseCycleCase = (library: string, make?: () => Promise<PromisePoolLike>): Case => ({
  library,
  style: "promise",
  ...(make === undefined ? { baseline: true } : {}),
  setup: async () => {
    if (make === undefined) {
      const resource = makeResource()
      return async (n) => {
        for (let i = 0; i < n; i++) await Promise.resolve(resource)
      }
    }
    const pool = await make()
    const run = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const resource = await pool.acquire()
        pool.release(resource)
      }
    }
    await run(WARM_UP)
    return run
  }
})

// ---- scenario 2: 100 callers on a pool of 10 ------------------------------------------------

/** runs `n` cycles spread over CALLERS concurrent callers; `onWait` gets each wait in ms */
const effectContention = (pool: EffectPoolLike | undefined, n: number, onWait?: (ms: number) => void) => {
  const perCaller = Math.ceil(n / CALLERS)
  const caller = Effect.gen(function* () {
    for (let i = 0; i < perCaller; i++) {
      if (pool === undefined) {
        yield* Effect.yieldNow
      } else if (onWait === undefined) {
        yield* pool.cycle(Effect.yieldNow)
      } else {
        const t0 = performance.now()
        yield* pool.cycle(
          Effect.suspend(() => {
            onWait(performance.now() - t0)
            return Effect.yieldNow
          })
        )
      }
    }
  })
  return Effect.runPromise(Effect.forEach(Array.from({ length: CALLERS }), () => caller, { concurrency: "unbounded", discard: true }))
}
const promiseContention = async (pool: PromisePoolLike | undefined, n: number, onWait?: (ms: number) => void) => {
  const perCaller = Math.ceil(n / CALLERS)
  const caller = async () => {
    for (let i = 0; i < perCaller; i++) {
      if (pool === undefined) {
        await null
        continue
      }
      const t0 = onWait === undefined ? 0 : performance.now()
      const resource = await pool.acquire()
      onWait?.(performance.now() - t0)
      await null
      pool.release(resource)
    }
  }
  await Promise.all(Array.from({ length: CALLERS }, caller))
}

const effectContentionCase = (library: string, make?: () => Promise<EffectPoolLike>): Case => ({
  library,
  style: "effect-gen",
  ...(make === undefined ? { baseline: true } : {}),
  setup: async () => {
    const pool = make === undefined ? undefined : await make()
    await effectContention(pool, WARM_UP)
    return (n) => effectContention(pool, n)
  }
})
const promiseContentionCase = (library: string, make?: () => Promise<PromisePoolLike>): Case => ({
  library,
  style: "promise",
  ...(make === undefined ? { baseline: true } : {}),
  setup: async () => {
    const pool = make === undefined ? undefined : await make()
    await promiseContention(pool, WARM_UP)
    return (n) => promiseContention(pool, n)
  }
})

const p99 = (waits: Array<number>): number => {
  waits.sort((a, b) => a - b)
  return waits[Math.min(waits.length - 1, Math.floor(waits.length * 0.99))]! * 1000
}
const waitCase = (
  library: string,
  style: "effect-gen" | "promise",
  run: (n: number, onWait: (ms: number) => void) => Promise<void>
): Case => ({
  library,
  style,
  measure: async (quick) => {
    const n = quick ? 20_000 : 100_000
    await run(n / 5, () => {}) // warm-up
    const waits: Array<number> = []
    await run(n, (ms) => waits.push(ms))
    return p99(waits)
  }
})

const suite: Suite = {
  name: "pool",
  scenarios: [
    {
      name: "cycle: one caller, idle pool",
      cases: [
        effectCycleCase("baseline"),
        effectCycleCase("effect-foundation Pool.use", ours),
        effectCycleCase("effect Pool.use", effectUse),
        effectCycleCase("effect Pool.get + scope", effectGet),
        promiseCycleCase("baseline"),
        promiseCycleCase("generic-pool", genericPool),
        promiseCycleCase("tarn", tarn)
      ]
    },
    {
      name: "contention: 100 callers, pool of 10",
      operations: { quick: 20_000, full: 100_000 },
      cases: [
        effectContentionCase("baseline"),
        effectContentionCase("floor: Effect.callback hand-off", handOffFloor),
        effectContentionCase("floor: lean hand-off (shared park)", leanHandOffFloor),
        effectContentionCase("effect-foundation Pool.use", ours),
        effectContentionCase("effect Pool.use", effectUse),
        effectContentionCase("effect Pool.get + scope", effectGet),
        promiseContentionCase("baseline"),
        promiseContentionCase("generic-pool", genericPool),
        promiseContentionCase("tarn", tarn)
      ]
    },
    {
      name: "contention p99 wait",
      unit: "us",
      higherIsBetter: false,
      cases: [
        waitCase("effect-foundation Pool.use", "effect-gen", async (n, onWait) => effectContention(await ours(), n, onWait)),
        waitCase("effect Pool.use", "effect-gen", async (n, onWait) => effectContention(await effectUse(), n, onWait)),
        waitCase("generic-pool", "promise", async (n, onWait) => promiseContention(await genericPool(), n, onWait)),
        waitCase("tarn", "promise", async (n, onWait) => promiseContention(await tarn(), n, onWait))
      ]
    }
  ],
  targets: [
    {
      scenario: "cycle: one caller, idle pool",
      description: "cycle overhead <= 1.0x effect Pool.use",
      ours: "effect-foundation Pool.use",
      peer: "effect Pool.use",
      max: 1.0
    },
    {
      scenario: "contention: 100 callers, pool of 10",
      description: "contention throughput >= 1.0x generic-pool (time per cycle <= 1.0x)",
      ours: "effect-foundation Pool.use",
      peer: "generic-pool",
      max: 1.0
    }
  ]
}

export default suite
