/**
 * Rate limiter on Redis: our `RateLimiterRedis.layer` against rate-limiter-flexible's `RateLimiterRedis`
 * (node-redis client, `useRedisPackage: true`) on the same local redis-server, which the suite
 * starts itself on a free loopback port (persistence off) and stops by its pid.
 *
 * - Throughput: 50 concurrent callers deciding as fast as they can for a fixed time, on 1,000
 *   keys round-robin, every decision allowed (limits far above what the run can use).
 * - Commands per decision: client commands counted with `INFO commandstats` before and after
 *   a run of decisions. `commandstats` also counts what a Lua script calls inside Redis, so
 *   each library's script-internal commands are subtracted (ours: TIME, GET, SET...; theirs:
 *   SET, INCRBY, PTTL, EXPIRE): what is left is what the client sent, i.e. round trips.
 * - Redis time per decision: `usec_per_call` of each library's script command in `INFO
 *   commandstats` (ours `EVALSHA`, theirs `EVAL`), over a run of decisions with 50 callers.
 *   Redis runs scripts one at a time, so this bounds the decisions one Redis can take; and
 *   it is measured inside Redis, so it moves far less with the machine's load than the
 *   throughput does (it still counts time the server was descheduled mid-script).
 */
import * as NodeRedis from "@effect/platform-node/NodeRedis"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { createClient } from "redis"
import { RateLimiterRedis } from "rate-limiter-flexible"
import * as RateLimiter from "../../src/RateLimiter.js"
import * as RateLimiterRedisStore from "../../src/RateLimiterRedis.js"
import { type RedisServer, redisServerPath, startRedisServer } from "../../test/support/redisServer.js"
import type { Suite } from "../harness.js"

const CALLERS = 50
const KEYS = 1_000
const keyNames = Array.from({ length: KEYS }, (_, i) => `client-${i}`)
const HUGE = 1_000_000_000

let server: Promise<RedisServer> | undefined
/** One server per worker process, started on first use; the helper kills it when the process exits. */
const redis = () => (server ??= startRedisServer())

let runs = 0
const freshPrefix = () => `bench${runs++}:`

/** Our limiter: a context built once, and a function running one decision on a key. */
const ours = async () => {
  const { url } = await redis()
  const scope = Effect.runSync(Scope.make())
  const context: Context.Context<RateLimiter.RateLimiter> = await Effect.runPromise(
    Layer.buildWithScope(
      RateLimiterRedisStore.layer({
        prefix: freshPrefix(),
        // failClosed and a generous timeout: a decision Redis did not take must not count
        onRedisError: "failClosed",
        commandTimeout: "5 seconds",
        rules: { bench: { algorithm: "token-bucket", limit: HUGE, window: "1 hour" } }
      }).pipe(Layer.provide(NodeRedis.layer({ url, disableOfflineQueue: true }))),
      scope
    )
  )
  const limiter = Context.get(context, RateLimiter.RateLimiter)
  return {
    decide: (key: string) => limiter.check("bench", key),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

const flexible = async () => {
  const { url } = await redis()
  const client = createClient({ url, disableOfflineQueue: true })
  await client.connect()
  const limiter = new RateLimiterRedis({
    storeClient: client,
    useRedisPackage: true,
    keyPrefix: freshPrefix(),
    points: HUGE,
    duration: 3600
  })
  return { consume: (key: string) => limiter.consume(key), close: () => client.close() }
}

const durationOf = (quick: boolean) => (quick ? 1_000 : 3_000)

const throughputOurs = async (quick: boolean): Promise<number> => {
  const limiter = await ours()
  const run = (millis: number) =>
    Effect.runPromise(
      Effect.gen(function* () {
        const deadline = Date.now() + millis
        let decisions = 0
        yield* Effect.forEach(
          Array.from({ length: CALLERS }, (_, i) => i),
          (caller) =>
            Effect.gen(function* () {
              let i = caller
              while (Date.now() < deadline) {
                yield* limiter.decide(keyNames[i % KEYS]!)
                i += CALLERS
                decisions++
              }
            }),
          { concurrency: CALLERS, discard: true }
        )
        return decisions / (millis / 1000)
      })
    )
  await run(600) // warm-up: script load, JIT
  const perSecond = await run(durationOf(quick))
  await limiter.close()
  return perSecond
}

const throughputFlexible = async (quick: boolean): Promise<number> => {
  const limiter = await flexible()
  const run = async (millis: number) => {
    const deadline = Date.now() + millis
    let decisions = 0
    await Promise.all(
      Array.from({ length: CALLERS }, async (_, caller) => {
        let i = caller
        while (Date.now() < deadline) {
          await limiter.consume(keyNames[i % KEYS]!)
          i += CALLERS
          decisions++
        }
      })
    )
    return decisions / (millis / 1000)
  }
  await run(600)
  const perSecond = await run(durationOf(quick))
  await limiter.close()
  return perSecond
}

const ourScript = new Set(["time", "get", "set", "zrange", "zremrangebyscore", "zrem", "zadd", "pexpire"])
const theirScript = new Set(["set", "incrby", "pttl", "expire"])

const commandStats = async (): Promise<Map<string, number>> => {
  const info = await (await redis()).command("INFO", "commandstats")
  const calls = new Map<string, number>()
  for (const match of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) calls.set(match[1]!, Number(match[2]))
  return calls
}

/** Client commands per decision over `n` decisions (after one warm-up decision). */
const commandsPerDecision = async (
  decide: (key: string) => Promise<unknown>,
  inScript: ReadonlySet<string>,
  n: number
): Promise<number> => {
  await decide("warm-up")
  const before = await commandStats()
  for (let i = 0; i < n; i++) await decide(keyNames[i % KEYS]!)
  const after = await commandStats()
  let client = 0
  for (const [command, calls] of after) {
    if (inScript.has(command)) continue
    client += calls - (before.get(command) ?? 0)
  }
  // the INFO that read `after` is not the limiter's
  return (client - 1) / n
}

/** `usec_per_call` of `command` over 50 callers running `total` decisions (stats reset first). */
const redisMicrosPerDecision = async (decide: (key: string) => Promise<unknown>, command: string, total: number): Promise<number> => {
  const server = await redis()
  const callers = (n: number) =>
    Promise.all(
      Array.from({ length: CALLERS }, async (_, caller) => {
        for (let i = caller; i < n; i += CALLERS) await decide(keyNames[i % KEYS]!)
      })
    )
  await callers(2_000) // warm-up: script load, JIT, keys created
  await server.command("CONFIG", "RESETSTAT")
  await callers(total)
  const info = await server.command("INFO", "commandstats")
  const match = new RegExp(`^cmdstat_${command}:calls=(\\d+),usec=\\d+,usec_per_call=([\\d.]+)`, "m").exec(info)
  if (match === null || Number(match[1]) < total) throw new Error(`no ${command} calls counted: ${info}`)
  return Number(match[2])
}

const suite: Suite = {
  name: "rate-limiter-redis",
  skip: async () => (redisServerPath() === undefined ? "redis-server is not installed (apt-get install -y redis-server)" : undefined),
  scenarios: [
    {
      name: "throughput, 50 concurrent callers",
      unit: "decisions/s",
      higherIsBetter: true,
      cases: [
        // peer first: the first case of a worker pays for starting redis-server and cold code
        { library: "rate-limiter-flexible", style: "custom", measure: throughputFlexible },
        { library: "effect-foundation", style: "custom", measure: throughputOurs }
      ]
    },
    {
      name: "client commands per decision",
      unit: "commands",
      cases: [
        {
          library: "effect-foundation",
          style: "custom",
          measure: async (quick) => {
            const limiter = await ours()
            const figure = await commandsPerDecision((key) => Effect.runPromise(limiter.decide(key)), ourScript, quick ? 200 : 2_000)
            await limiter.close()
            return figure
          }
        },
        {
          library: "rate-limiter-flexible",
          style: "custom",
          measure: async (quick) => {
            const limiter = await flexible()
            const figure = await commandsPerDecision(limiter.consume, theirScript, quick ? 200 : 2_000)
            await limiter.close()
            return figure
          }
        }
      ]
    },
    {
      name: "Redis time per decision (script usec_per_call)",
      unit: "µs",
      cases: [
        {
          library: "rate-limiter-flexible",
          style: "custom",
          measure: async (quick) => {
            const limiter = await flexible()
            const figure = await redisMicrosPerDecision(limiter.consume, "eval", quick ? 20_000 : 60_000)
            await limiter.close()
            return figure
          }
        },
        {
          library: "effect-foundation",
          style: "custom",
          measure: async (quick) => {
            const limiter = await ours()
            const figure = await redisMicrosPerDecision((key) => Effect.runPromise(limiter.decide(key)), "evalsha", quick ? 20_000 : 60_000)
            await limiter.close()
            return figure
          }
        }
      ]
    }
  ],
  targets: [
    {
      scenario: "throughput, 50 concurrent callers",
      description: "Redis decisions/s with 50 callers vs rate-limiter-flexible",
      ours: "effect-foundation",
      peer: "rate-limiter-flexible",
      min: 1.0
    },
    {
      scenario: "client commands per decision",
      description: "one round trip per decision",
      ours: "effect-foundation",
      absoluteMax: 1
    }
  ]
}
export default suite
