/**
 * Rate limiting an API per client, in memory.
 *
 * - `api`: a token bucket, 5 requests per second with bursts of 3. A client that exceeds it
 *   gets `RateLimited` with the exact time to wait; other clients are unaffected.
 * - `reports`: expensive calls that wait their turn (`onExceeded: "delay"`) instead of
 *   failing, first in first out, as long as the wait stays under `maxDelay`.
 * - `login` and `login-daily`: checked together (admitted by both or counted by neither); a
 *   failed login is a penalty, and too many block the account for a while (`blockDuration`).
 * - an inline rule per plan (`limitWith`), and `setRule` switching `api` off (limit 0) and on.
 *
 * Run: npx tsx examples/rate-limiter.ts
 */
import { Clock, Duration, Effect } from "effect"
import { RateLimiter } from "effect-foundation"

const Limits = RateLimiter.layer({
  rules: {
    api: { algorithm: "token-bucket", limit: 5, window: "1 second", burst: 3 },
    reports: { algorithm: "gcra", limit: 10, window: "1 second", burst: 1, onExceeded: "delay", maxDelay: "1 second" },
    login: { algorithm: "sliding-window", limit: 3, window: "1 minute", blockDuration: "5 minutes" },
    "login-daily": { algorithm: "fixed-window", limit: 20, window: "1 day" }
  }
})

const handle = (client: string, request: number) =>
  Effect.succeed(`${client} #${request}: 200 OK`).pipe(
    RateLimiter.limit("api", client),
    Effect.catchTag("RateLimited", (error) =>
      // an infinite retryAfter: the rule is switched off (limit 0) or the key is blocked for good
      Effect.succeed(
        `${client} #${request}: 429, ${Duration.isFinite(error.retryAfter) ? `retry after ${Duration.format(error.retryAfter)}` : "not before the rule is switched back on"}`
      )
    )
  )

const program = Effect.gen(function* () {
  console.log("-- a burst of 5 requests from alice, then one from bob")
  for (let request = 1; request <= 5; request++) console.log(yield* handle("alice", request))
  console.log(yield* handle("bob", 1))

  const limiter = yield* RateLimiter.RateLimiter
  const status = yield* limiter.status("api", "alice")
  console.log(`alice has ${status.remaining} left; full again in ${Duration.format(status.resetAfter)}`)

  console.log("-- after waiting as told, alice is admitted again")
  yield* Effect.sleep("200 millis")
  console.log(yield* handle("alice", 6))

  console.log("-- 4 reports queue behind each other, 100 ms apart")
  const started = yield* Clock.currentTimeMillis
  const report = (n: number) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.succeed(`report ${n} ran at +${now - started} ms`)).pipe(
      RateLimiter.limit("reports", "alice")
    )
  const ran = yield* Effect.forEach([1, 2, 3, 4], report, { concurrency: "unbounded" })
  for (const line of ran) console.log(line)

  console.log("-- logins: both limits at once; each failure costs 2 more")
  const login = (password: string) =>
    Effect.gen(function* () {
      if (password !== "secret") {
        yield* limiter.penalty("login", "alice", 2)
        return "wrong password"
      }
      return "welcome"
    }).pipe(
      RateLimiter.limit([
        { rule: "login", key: "alice" },
        { rule: "login-daily", key: "alice" }
      ]),
      Effect.catchTag("RateLimited", (error) => Effect.succeed(`429 (${error.rule}), retry after ${Duration.format(error.retryAfter)}`))
    )
  for (const password of ["guess", "secret", "guess"]) console.log(yield* login(password))
  const blocked = yield* limiter.status("login", "alice")
  console.log(`alice blocked until ${blocked.unblocksAt === undefined ? "-" : "+5 minutes"}`)

  console.log("-- an inline rule per plan, and api switched off and on")
  const quota = (plan: "free" | "pro") => ({ algorithm: "gcra", limit: plan === "pro" ? 100 : 1, window: "1 minute" }) as const
  const search = Effect.succeed("results").pipe(
    RateLimiter.limitWith(quota("free"), "carol"),
    Effect.catchTag("RateLimited", (error) => Effect.succeed(`429 from ${error.rule}`))
  )
  console.log(yield* search, "/", yield* search)
  yield* RateLimiter.setRule("api", { algorithm: "token-bucket", limit: 0, window: "1 second" })
  console.log(yield* handle("bob", 2))
  yield* RateLimiter.setRule("api", { algorithm: "token-bucket", limit: 5, window: "1 second", burst: 3 })
  console.log(yield* handle("bob", 3))
}).pipe(Effect.provide(Limits))

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exit(1)
})
