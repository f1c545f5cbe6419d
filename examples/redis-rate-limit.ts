/**
 * One login limit shared by two instances of a service through Redis. Each instance has its
 * own Redis client (as two processes would); together they admit 5 attempts per user per
 * minute, not 5 each. Needs a Redis server:
 *
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/redis-rate-limit.ts
 *
 * Without REDIS_URL it says so and exits 0.
 */
import { Duration, Effect, Layer } from "effect"
import { RateLimiter, RateLimiterRedis } from "effect-foundation"

const url = process.env.REDIS_URL
if (url === undefined || url === "") {
  console.log("redis-rate-limit: skipped, set REDIS_URL (e.g. REDIS_URL=redis://127.0.0.1:6379) to run it")
  process.exit(0)
}

/** One instance of the service: its own client, the shared rules, the shared key prefix. */
const instance = RateLimiterRedis.layer({
  prefix: `example:${process.pid}`, // a real service uses a fixed prefix; this keeps runs apart
  rules: {
    login: { algorithm: "sliding-window", limit: 5, window: "1 minute", onRedisError: "failClosed" },
    search: { algorithm: "gcra", limit: 10, window: "1 second", onRedisError: { policy: "failOpen", insurance: 0.5 } }
  }
}).pipe(Layer.provide(RateLimiterRedis.layerClient({ url })))

const attempt = (user: string) =>
  Effect.succeed("password checked").pipe(
    RateLimiter.limit("login", user),
    Effect.catchTag("RateLimited", (error) => Effect.succeed(`rejected, retry in ${Math.ceil(Duration.toSeconds(error.retryAfter))} s`))
    // while Redis is unreachable, "login" (failClosed) fails with StoreUnavailable instead
  )

const program = Effect.gen(function* () {
  const first = yield* Layer.build(instance)
  const second = yield* Layer.build(instance)
  for (let i = 1; i <= 7; i++) {
    const name = i % 2 === 1 ? "instance A" : "instance B"
    const context = i % 2 === 1 ? first : second
    console.log(`login #${i} for alice via ${name}: ${yield* attempt("alice").pipe(Effect.provide(context))}`)
  }
  const limiter = yield* RateLimiter.RateLimiter.pipe(Effect.provide(first))
  const status = yield* limiter.status("login", "alice")
  console.log(`alice: ${status.remaining} of ${status.limit} left, fresh again in ${Duration.format(status.resetAfter)}`)
  console.log(`bob (never seen): ${(yield* limiter.status("login", "bob")).remaining} of 5 left`)
  yield* limiter.reset("login", "alice")

  // a block written by one instance refuses the key in the other, at once
  yield* limiter.block("search", "mallory", "10 seconds")
  const other = yield* RateLimiter.RateLimiter.pipe(Effect.provide(second))
  const blocked = yield* Effect.flip(other.check("search", "mallory"))
  console.log(`mallory via instance B: ${blocked._tag}`)
  // both rules at once, in one script call: admitted by both or counted by neither
  const both = yield* other.check([
    { rule: "login", key: "bob" },
    { rule: "search", key: "bob" }
  ])
  console.log(`bob, login and search at once: ${both.map((allowance) => allowance.remaining).join(" and ")} left`)
  yield* limiter.reset("search", "mallory")
})

Effect.runPromise(Effect.scoped(program)).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
