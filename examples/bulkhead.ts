/**
 * Two bulkheads in front of a slow search backend and a report exporter: a burst of 30
 * searches against 5 slots and 10 queue places, so some wait, some time out, and some are
 * turned away at once; then the search bulkhead is widened at run time and the waiting
 * callers get in. Runs in well under a second.
 *
 *   npx tsx examples/bulkhead.ts
 */
import { Duration, Effect, Fiber } from "effect"
import { Bulkhead, type Errors } from "effect-foundation"

const searchBackend = (query: number) => Effect.as(Effect.sleep("40 millis"), `results for ${query}`)

const search = (query: number) =>
  searchBackend(query).pipe(
    Bulkhead.limit("search"),
    Effect.catchTag("BulkheadFull", (error: Errors.BulkheadFull) =>
      Effect.succeed(error.waited === undefined ? "rejected: queue full" : "rejected: waited too long")
    )
  )

const program = Effect.gen(function* () {
  // 30 at once: 5 run (40 ms each), 10 wait (60 ms at most: 5 get in, 5 time out), 15 are turned away at once
  const outcomes = yield* Effect.forEach(
    Array.from({ length: 30 }, (_, i) => i),
    search,
    { concurrency: "unbounded" }
  )
  const tally = new Map<string, number>()
  for (const outcome of outcomes) {
    const kind = outcome.startsWith("results") ? "served" : outcome
    tally.set(kind, (tally.get(kind) ?? 0) + 1)
  }
  console.log("burst of 30:", Object.fromEntries(tally))
  const status = yield* Bulkhead.status("search")
  console.log(
    `status: admitted ${status.admitted}, rejected ${status.rejected}, timed out ${status.timedOut}, ` +
      `waitTimeout ${Duration.format(status.limits.waitTimeout)}`
  )

  // widen the bulkhead while 10 calls wait: they are admitted at once
  const burst = yield* Effect.forkChild(
    Effect.forEach(
      Array.from({ length: 15 }, (_, i) => i),
      search,
      { concurrency: "unbounded" }
    )
  )
  yield* Effect.sleep("10 millis")
  console.log("before configure:", yield* Effect.map(Bulkhead.status("search"), (s) => ({ running: s.running, waiting: s.waiting })))
  yield* Bulkhead.configure("search", { maxConcurrent: 15, maxWaiting: 10, waitTimeout: "100 millis" })
  console.log("after configure:", yield* Effect.map(Bulkhead.status("search"), (s) => ({ running: s.running, waiting: s.waiting })))
  const served = (yield* Fiber.join(burst)).filter((r) => r.startsWith("results")).length
  console.log(`second burst: ${served} of 15 served`)

  // a typo in a name is an error naming the nearest bulkhead
  const typo = yield* Effect.flip(Effect.void.pipe(Bulkhead.limit("serch")))
  console.log("typo:", typo.message)
})

Effect.runPromise(
  program.pipe(
    Effect.provide(
      Bulkhead.layer({
        limits: {
          search: { maxConcurrent: 5, maxWaiting: 10, waitTimeout: "60 millis" },
          exports: { maxConcurrent: 1 }
        }
      })
    )
  )
).catch((error) => {
  console.error(error)
  process.exit(1)
})
