/**
 * Rate limiting an API per client, in memory.
 *
 * - `api`: a token bucket, 5 requests per second with bursts of 3. A client that exceeds it
 *   gets `RateLimited` with the exact time to wait; other clients are unaffected.
 * - `reports`: expensive calls that wait their turn (`onExceeded: "delay"`) instead of
 *   failing, first in first out, as long as the wait stays under `maxDelay`.
 *
 * Run: npx tsx examples/rate-limiter.ts
 */
import { Clock, Duration, Effect } from "effect"
import { RateLimiter } from "effect-foundation"

const Limits = RateLimiter.layer({
  rules: {
    api: { algorithm: "token-bucket", limit: 5, window: "1 second", burst: 3 },
    reports: { algorithm: "gcra", limit: 10, window: "1 second", burst: 1, onExceeded: "delay", maxDelay: "1 second" }
  }
})

const handle = (client: string, request: number) =>
  Effect.succeed(`${client} #${request}: 200 OK`).pipe(
    RateLimiter.limit("api", client),
    Effect.catchTag("RateLimited", (error) =>
      Effect.succeed(`${client} #${request}: 429, retry after ${Duration.format(error.retryAfter)}`)
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
}).pipe(Effect.provide(Limits))

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exit(1)
})
