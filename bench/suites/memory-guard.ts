/**
 * MemoryManager.guard: the cost of the check on a call that is admitted, over the same effect
 * unguarded. The level is read from a field the sampling fiber writes, so a guarded call costs
 * a context lookup and a comparison. Target: <= 50 ns.
 */
import { Effect } from "effect"
import type { Case, Suite } from "../harness.js"
import * as MemoryManager from "../../src/MemoryManager.js"
import { buildLayer, repeatSum } from "../effectSupport.js"

let closeLayer: (() => Promise<void>) | undefined

const withManager =
  (make: (manager: MemoryManager.MemoryManager["Service"]) => Effect.Effect<number, unknown, MemoryManager.MemoryManager>) =>
  async (): Promise<(n: number) => Promise<void>> => {
    // a long interval: the bench measures the guard, not the sampling
    const { context, close } = await buildLayer(MemoryManager.layer({ checkInterval: "1 hour" }))
    closeLayer = close
    const manager = Effect.runSync(Effect.provideContext(MemoryManager.MemoryManager, context))
    const run = repeatSum(make(manager))
    return async (n) => {
      await Effect.runPromise(Effect.provideContext(run(n), context))
    }
  }

let counter = 0
const work = Effect.sync(() => ++counter)

const cases: ReadonlyArray<Case> = [
  {
    library: "unguarded",
    style: "effect-gen",
    baseline: true,
    setup: withManager(() => work),
    teardown: () => closeLayer!()
  },
  {
    // any check made when the effect runs (not when it is built) costs at least this step
    library: "Effect.suspend (floor of a run-time check)",
    style: "effect-gen",
    setup: withManager(() => Effect.suspend(() => work)),
    teardown: () => closeLayer!()
  },
  {
    library: "effect-foundation (MemoryManager.guard)",
    style: "effect-gen",
    setup: withManager(() => work.pipe(MemoryManager.guard)),
    teardown: () => closeLayer!()
  },
  {
    library: "effect-foundation (service.guard)",
    style: "effect-gen",
    setup: withManager((manager) => manager.guard(work)),
    teardown: () => closeLayer!()
  },
  {
    library: "effect-foundation (service.check + andThen)",
    style: "effect-gen",
    setup: withManager((manager) => Effect.andThen(manager.check, work)),
    teardown: () => closeLayer!()
  }
]

const suite: Suite = {
  name: "memory-guard",
  scenarios: [{ name: "guard, admitted call", operations: { quick: 200_000, full: 2_000_000 }, cases }],
  targets: [
    {
      scenario: "guard, admitted call",
      description: "MemoryManager.guard overhead",
      ours: "effect-foundation (MemoryManager.guard)",
      absoluteMax: 50
    },
    // no ratio against the Effect.suspend floor: its overhead is near zero, so a ratio is noise
    { scenario: "guard, admitted call", description: "service.guard overhead", ours: "effect-foundation (service.guard)", absoluteMax: 50 }
  ]
}
export default suite
