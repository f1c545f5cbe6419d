/**
 * The demo: a service receives a steady stream of requests from four clients (one of them
 * abusive) and calls a flaky, pooled dependency that goes down for a while and comes back.
 * Every call goes through the whole protection stack:
 *
 *   rate limit (per client) -> memory guard -> circuit breaker -> pool checkout -> timeout
 *
 * One line per second shows what each protection did; a summary at the end says what each
 * one saved. In memory, no external service. Environment:
 *   DEMO_SECONDS      run length (default 20)
 *   DEMO_CONFIG       a JSON file with a Foundation configuration to use instead of the default
 *   DEMO_HEALTH_PORT  port of the health endpoint (default: any free port on 127.0.0.1)
 *   REDIS_URL         share the rate limits and breaker state through this Redis
 */
import { Duration, Effect, Fiber, Layer, References, Schedule } from "effect"
import { readFileSync } from "node:fs"
import {
  CircuitBreaker,
  CircuitBreakerRedis,
  Config,
  Foundation,
  HealthAggregator,
  HealthHttp,
  Protection,
  MemoryManager,
  PerformanceMonitor,
  Pool,
  RateLimiter,
  RateLimiterRedis
} from "../src/index.js"
import { color, header, line, type Second } from "./report.js"
import { clients, Dependency, Inventory } from "./simulation.js"

const seconds = Math.max(2, Number(process.env.DEMO_SECONDS ?? 20) || 20)
const runMillis = seconds * 1000

const defaultConfig = {
  circuitBreaker: {
    breakers: { inventory: { failureThreshold: 5, resetTimeout: "1500 millis", backoff: { factor: 2, max: "6 seconds" } } }
  },
  rateLimiter: { rules: { perClient: { algorithm: "token-bucket", limit: 30, window: "1 second", burst: 10 } } },
  pools: { inventory: { size: 6, maxOverflow: 2, checkoutTimeout: "150 millis", idleTimeout: "2 seconds" } },
  memory: { checkInterval: "500 millis", eventLoop: { maxDelay: "200 millis" } },
  health: { cacheTtl: "250 millis" }
}
const config: unknown = process.env.DEMO_CONFIG === undefined ? defaultConfig : JSON.parse(readFileSync(process.env.DEMO_CONFIG, "utf8"))

const policy = (client: string) =>
  ({
    rateLimit: { rule: "perClient", key: client },
    memory: true,
    circuitBreaker: "inventory",
    timeout: "400 millis",
    monitor: { service: "inventory", operation: "lookup" },
    profile: "lookup"
  }) as const

interface Counters {
  requests: number
  succeeded: number
  failed: number
  rateLimited: number
  breakerRejected: number
  poolTimeouts: number
  timeouts: number
  shed: number
}
const zero = (): Counters => ({
  requests: 0,
  succeeded: 0,
  failed: 0,
  rateLimited: 0,
  breakerRejected: 0,
  poolTimeouts: 0,
  timeouts: 0,
  shed: 0
})

const main = Effect.gen(function* () {
  const perClient = new Map(clients.map((c) => [c.name, zero()]))
  let second = zero()
  const total = zero()

  const count = (client: string, field: keyof Counters) => {
    second[field]++
    total[field]++
    perClient.get(client)![field]++
  }

  const request = (client: string) =>
    Protection.protectWith(Inventory, policy(client), (connection) => connection.lookup("sku-42")).pipe(
      Effect.matchEffect({
        onSuccess: () => Effect.sync(() => count(client, "succeeded")),
        onFailure: (error) =>
          Effect.sync(() => {
            switch (error._tag) {
              case "RateLimited":
                return count(client, "rateLimited")
              case "CircuitBreakerOpen":
                return count(client, "breakerRejected")
              case "PoolCheckoutTimeout":
                return count(client, "poolTimeouts")
              case "OperationTimeout":
                return count(client, "timeouts")
              case "MemoryPressure":
                return count(client, "shed")
              default:
                return count(client, "failed")
            }
          })
      }),
      Effect.ensuring(Effect.sync(() => count(client, "requests")))
    )

  const health = yield* HealthHttp.url
  console.log(color.bold(`effect-foundation demo: ${seconds}s, ${clients.length} clients (one abusive), a flaky pooled dependency`))
  console.log(`health endpoint: ${color.cyan(health)} (also /health/live and /health/ready)`)
  console.log(
    redisUrl === undefined
      ? "state: in memory (REDIS_URL=redis://... npm start shares limits and breakers through Redis)"
      : `state: rate limits and breakers shared through Redis at ${redisUrl}`
  )
  console.log(`the dependency goes down from ${(0.3 * seconds).toFixed(0)}s to ${(0.6 * seconds).toFixed(0)}s\n`)
  console.log(header())

  const load = yield* Effect.forEach(clients, (client) =>
    request(client.name).pipe(Effect.forkChild, Effect.repeat(Schedule.spaced(Duration.millis(1000 / client.rate))), Effect.forkChild)
  )

  const breakers = yield* CircuitBreaker.CircuitBreaker
  const pool = yield* Inventory
  const monitor = yield* PerformanceMonitor.PerformanceMonitor
  const memory = yield* MemoryManager.MemoryManager
  for (let t = 1; t <= seconds; t++) {
    yield* Effect.sleep("1 second")
    const [breaker, latency, stats, system] = yield* Effect.all([
      breakers.status("inventory"),
      monitor.status("inventory", "lookup"),
      memory.status,
      HealthAggregator.systemHealth
    ])
    const poolStatus = pool.statusUnsafe()
    const row: Second = {
      t,
      requests: second.requests,
      admitted: second.requests - second.rateLimited - second.shed,
      succeeded: second.succeeded,
      failed: second.failed,
      rateLimited: second.rateLimited,
      breakerRejected: second.breakerRejected,
      breakerState: breaker.state,
      poolInUse: poolStatus.inUse,
      poolWaiting: poolStatus.waiting,
      poolTimeouts: second.poolTimeouts,
      timeouts: second.timeouts,
      shed: second.shed,
      p50: Duration.toMillis(latency.latency.p50),
      p99: Duration.toMillis(latency.latency.p99),
      memory: stats.level,
      eventLoopMs: stats.eventLoop === undefined ? 0 : Duration.toMillis(stats.eventLoop.delayP99),
      health: system.status
    }
    console.log(line(row))
    second = zero()
  }
  yield* Fiber.interruptAll(load)

  const poolStatus = pool.statusUnsafe()
  const breaker = yield* breakers.status("inventory")
  const scraper = perClient.get("scraper")!
  const others = [...perClient.entries()].filter(([name]) => name !== "scraper").map(([, c]) => c)
  const othersLimited = others.reduce((n, c) => n + c.rateLimited, 0)
  const othersRequests = others.reduce((n, c) => n + c.requests, 0)
  const heldMillis = breaker.rejected * dependency.downLatencyMs
  console.log(`\n${color.bold("summary")}`)
  console.log(`  requests           ${total.requests} (${total.succeeded} served, ${total.failed} failed by the dependency)`)
  console.log(
    `  rate limiter       rejected ${total.rateLimited}: ${scraper.rateLimited} of the scraper's ${scraper.requests} ` +
      `requests (${pct(scraper.rateLimited, scraper.requests)}), ${othersLimited} of the other clients' ${othersRequests}`
  )
  console.log(
    `  circuit breaker    rejected ${total.breakerRejected} calls at once while the dependency was down; ` +
      `each would have held a connection ~${dependency.downLatencyMs}ms (~${(heldMillis / 1000).toFixed(1)}s saved); ` +
      `now ${breaker.state}`
  )
  console.log(
    `  pool               ${poolStatus.checkouts} checkouts, ${pct(poolStatus.reused, poolStatus.checkouts)} served by an ` +
      `existing connection, ${poolStatus.created} created, ${total.poolTimeouts} checkout timeouts`
  )
  console.log(`  timeouts           ${total.timeouts} calls cut at 400ms`)
  console.log(`  memory guard       ${total.shed} requests shed`)
  console.log(`  dependency         ${dependency.calls} calls reached it, ${dependency.failures} failed`)
  console.log(`  health             ${(yield* HealthAggregator.systemHealth).status} at ${health}`)
})

const pct = (part: number, whole: number) => (whole === 0 ? "0%" : `${((part / whole) * 100).toFixed(0)}%`)

// one simulated dependency for the whole run; its outage is timed from now
const dependency = new Dependency(Date.now(), runMillis)
const InventoryPool = Layer.unwrap(
  Effect.sync(() => Pool.layer(Inventory, { ...Foundation.poolOptions(config, "inventory"), acquire: dependency.connect }))
)
// in memory by default; with REDIS_URL the limits and breaker state are shared through Redis
const redisUrl = process.env.REDIS_URL
const Redis = redisUrl === undefined ? undefined : RateLimiterRedis.layerClient({ url: redisUrl }).pipe(Layer.orDie)
// DEMO_CONFIG comes from outside the program: decoded (strictly) before anything is built
const foundation = Layer.unwrap(
  Effect.map(Config.decode(config), (decoded) =>
    Redis === undefined
      ? Foundation.layerDecoded(decoded)
      : Foundation.layerDecoded(decoded, {
          rateLimiter: (rules) => RateLimiterRedis.layer({ rules, prefix: "demo:rl" }).pipe(Layer.provide(Redis)),
          circuitBreaker: (options) => CircuitBreakerRedis.layer({ ...options, prefix: "demo:cb" }).pipe(Layer.provide(Redis))
        })
  )
)
const Live = Layer.mergeAll(InventoryPool, HealthHttp.layer({ port: Number(process.env.DEMO_HEALTH_PORT ?? 0), host: "127.0.0.1" })).pipe(
  Layer.provideMerge(foundation)
)

const program = main.pipe(
  Effect.provide(Live),
  // breaker transitions show in the state column; keep the table free of log lines
  Effect.provideService(References.MinimumLogLevel, "Warn"),
  Effect.catchTag("InvalidConfig", (error) =>
    Effect.sync(() => {
      console.error(`invalid configuration at ${error.path}: ${error.message}`)
      process.exitCode = 1
    })
  )
)

Effect.runPromise(program).then(
  () => process.exit(process.exitCode ?? 0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
