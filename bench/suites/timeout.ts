/**
 * Timeout: the cost of a 2 s timeout around a call that completes well before it, by one
 * caller and by 100 concurrent callers, the inner call returning at once or yielding once
 * (`await null` / `Effect.yieldNow`). Ours (`Protection.timeout`: one fiber per call and one
 * shared wake-up) against `Effect.timeoutOrElse` (two fibers and a timer per call), opossum's
 * timeout (a breaker with `timeout`, its only way to time a call out: a `setTimeout` per call)
 * and cockatiel's `timeout` policy (a `setTimeout` and an `AbortController` per call).
 */
import { TimeoutStrategy, timeout as cockatielTimeout } from "cockatiel"
import { Effect, Exit } from "effect"
import Opossum from "opossum"
import { Protection } from "../../src/index.js"
import type { Case, Suite, Target } from "../harness.js"

const CALLERS = 100
const TIMEOUT = 2_000

type Inner = "returns at once" | "yields once"
type Load = "one caller" | "100 callers"

const promiseInner = (inner: Inner) =>
  inner === "returns at once"
    ? async () => 1
    : async () => {
        await null
        return 1
      }
const effectInner = (inner: Inner) =>
  inner === "returns at once"
    ? Effect.sync(() => 1)
    : Effect.andThen(
        Effect.yieldNow,
        Effect.sync(() => 1)
      )

const runPromise = (load: Load, call: () => Promise<unknown>) => async (n: number) => {
  if (load === "one caller") {
    for (let i = 0; i < n; i++) await call()
    return
  }
  const perCaller = Math.ceil(n / CALLERS)
  const caller = async () => {
    for (let i = 0; i < perCaller; i++) await call()
  }
  await Promise.all(Array.from({ length: CALLERS }, caller))
}

const runEffect = (load: Load, call: () => Effect.Effect<unknown, unknown>) => (n: number) => {
  const calls = (count: number) =>
    Effect.gen(function* () {
      for (let i = 0; i < count; i++) yield* call()
    })
  const program =
    load === "one caller"
      ? calls(n)
      : Effect.forEach(Array.from({ length: CALLERS }), () => calls(Math.ceil(n / CALLERS)), { concurrency: "unbounded", discard: true })
  return Effect.runPromise(program)
}

export const names = {
  ours: "effect-foundation Protection.timeout",
  effect: "Effect.timeoutOrElse",
  opossum: "opossum (timeout)",
  cockatiel: "cockatiel timeout"
} as const

const scenarioName = (load: Load, inner: Inner) => `${load}, inner call ${inner}`

const scenario = (load: Load, inner: Inner) => {
  const work = promiseInner(inner)
  const effect = effectInner(inner)
  const timedOut = Exit.fail("timed out")
  const cases: Array<Case> = [
    { library: "baseline", style: "promise", baseline: true, setup: async () => runPromise(load, work) },
    {
      library: names.opossum,
      style: "promise",
      setup: async () => {
        const breaker = new Opossum(work, { timeout: TIMEOUT, resetTimeout: 3_600_000, errorThresholdPercentage: 50 })
        return runPromise(load, () => breaker.fire())
      }
    },
    {
      library: names.cockatiel,
      style: "promise",
      setup: async () => {
        const policy = cockatielTimeout(TIMEOUT, TimeoutStrategy.Aggressive)
        return runPromise(load, () => policy.execute(work))
      }
    },
    { library: "baseline", style: "effect-gen", baseline: true, setup: async () => runEffect(load, () => effect) },
    {
      library: names.effect,
      style: "effect-gen",
      setup: async () => runEffect(load, () => Effect.timeoutOrElse(effect, { duration: TIMEOUT, orElse: () => timedOut }))
    },
    {
      library: names.ours,
      style: "effect-gen",
      setup: async () => runEffect(load, () => effect.pipe(Protection.timeout(TIMEOUT)))
    },
    {
      library: `${names.ours} (compiled once)`,
      style: "effect-gen",
      setup: async () => {
        const stage = Protection.timeout(TIMEOUT)
        return runEffect(load, () => stage(effect))
      }
    }
  ]
  return { name: scenarioName(load, inner), operations: { quick: 20_000, full: 100_000 }, cases }
}

const loads: ReadonlyArray<Load> = ["one caller", "100 callers"]
const inners: ReadonlyArray<Inner> = ["returns at once", "yields once"]

const targets: Array<Target> = inners.flatMap(
  (inner): Array<Target> => [
    {
      scenario: scenarioName("100 callers", inner),
      description: `100 callers (${inner}): ours vs Effect.timeoutOrElse`,
      ours: names.ours,
      peer: names.effect,
      max: 0.4
    },
    {
      scenario: scenarioName("one caller", inner),
      description: `one caller (${inner}): ours vs Effect.timeoutOrElse`,
      ours: names.ours,
      peer: names.effect,
      max: 0.4
    },
    {
      scenario: scenarioName("100 callers", inner),
      description: `100 callers (${inner}): ours vs cockatiel`,
      ours: names.ours,
      peer: names.cockatiel,
      max: 1
    }
  ]
)

const suite: Suite = {
  name: "timeout",
  scenarios: loads.flatMap((load) => inners.map((inner) => scenario(load, inner))),
  targets
}
export default suite
