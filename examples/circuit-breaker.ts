/**
 * A payment API that goes down for a while. The breaker opens after 3 failures in a row,
 * rejects calls at once while the API recovers, probes after the reset timeout, and closes
 * when the probe succeeds. Then an operator isolates it for maintenance and tightens its policy
 * at run time. Runs in about a second of real time.
 *
 *   npx tsx examples/circuit-breaker.ts
 */
import { Effect, Stream } from "effect"
import { CircuitBreaker } from "effect-foundation"

let apiDown = false
const chargeCard = (amount: number) =>
  Effect.suspend(() => (apiDown ? Effect.fail(new Error("503 from payments")) : Effect.succeed(`charged ${amount}`)))

const charge = (amount: number) =>
  chargeCard(amount).pipe(
    CircuitBreaker.protect("payments"),
    Effect.map((receipt) => `ok: ${receipt}`),
    Effect.catchTag("CircuitBreakerOpen", (error) => Effect.succeed(`rejected fast: ${error.message}`)),
    Effect.catch((error) => Effect.succeed(`failed: ${error.message}`))
  )

const program = Effect.gen(function* () {
  const breakers = yield* CircuitBreaker.CircuitBreaker
  // the breaker logs each transition itself; here we also collect them from the stream
  const seen: Array<string> = []
  yield* breakers.transitions.pipe(
    Stream.runForEach((t) => Effect.sync(() => seen.push(`${t.from} -> ${t.to}`))),
    Effect.forkScoped({ startImmediately: true })
  )
  console.log(yield* charge(10))
  apiDown = true
  for (let i = 0; i < 5; i++) console.log(yield* charge(20 + i))
  apiDown = false
  yield* Effect.sleep("300 millis")
  console.log(yield* charge(30)) // the probe: succeeds, closes the circuit
  console.log(yield* charge(40))
  const status = yield* breakers.status("payments")
  console.log(`payments: ${status.state}, ${status.successes} ok, ${status.failures} failed, ${status.rejected} rejected`)
  // maintenance: forced open until released, whatever the reset timeout
  const isolation = yield* breakers.isolate("payments")
  console.log(yield* charge(50))
  yield* isolation.release
  // a new policy at run time: a failure rate over the last 10 seconds, at least 5 calls in it
  yield* CircuitBreaker.configure("payments", { failureRateThreshold: 0.5, minimumCalls: 5, slidingWindowDuration: "10 seconds" })
  console.log(yield* charge(60))
  const after = yield* breakers.status("payments")
  console.log(`payments: ${after.state}, mode ${after.mode}, window ${JSON.stringify(after.window)}, ${after.transitions} transitions`)
  console.log(`transitions: ${seen.join(", ")}`)
}).pipe(
  Effect.scoped,
  Effect.provide(
    CircuitBreaker.layer({
      breakers: { payments: { failureThreshold: 3, resetTimeout: "250 millis" } }
    })
  )
)

Effect.runPromise(program)
