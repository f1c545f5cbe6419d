/**
 * The busy-pool pass-through's handlers (markIgnored inside the breaker, unwrapIgnored outside)
 * are shared `catchCause` handlers standing for `Effect.catchIf`: for any cause, each gives the
 * exit `catchIf` gives (failures, defects, interruptions, mixed).
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import * as fc from "fast-check"
import { markIgnored, unwrapIgnored } from "../../../src/internal/protection/stages.js"
import { IgnoredOutcome } from "../../../src/internal/runtime/ignoredOutcome.js"

// the handlers tell errors apart by tag, as the stages' errors carry them
const busy = { _tag: "PoolCheckoutTimeout" }
const full = { _tag: "BulkheadFull" }
const errors = [busy, full, "boom", new IgnoredOutcome(busy), new IgnoredOutcome("other")]
const reason = fc.oneof(
  fc.constantFrom(...errors).map((e) => Cause.makeFailReason(e)),
  fc.constant(Cause.makeDieReason("defect")),
  fc.constant(Cause.makeInterruptReason(1))
)
const cause = fc.array(reason, { minLength: 1, maxLength: 4 }).map((reasons) => Cause.fromReasons(reasons))

const isPoolBusy = (e: unknown) => {
  const tag = (e as { readonly _tag?: unknown } | null)?._tag
  return tag === "PoolCheckoutTimeout" || tag === "PoolExhausted" || tag === "BulkheadFull"
}
const reference = {
  mark: (c: Cause.Cause<unknown>) => Effect.catchIf(Exit.failCause(c), isPoolBusy, (e) => Exit.fail(new IgnoredOutcome(e))),
  unwrap: (c: Cause.Cause<unknown>) =>
    Effect.catchIf(
      Exit.failCause(c),
      (e): e is IgnoredOutcome => e instanceof IgnoredOutcome,
      (e) => Exit.fail(e.error)
    )
}
const shape = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isSuccess(exit)
    ? "success"
    : exit.cause.reasons.map((r) =>
        r._tag === "Fail"
          ? ["Fail", r.error instanceof IgnoredOutcome ? ["Ignored", r.error.error] : r.error]
          : r._tag === "Die"
            ? ["Die", r.defect instanceof IgnoredOutcome ? ["Ignored", r.defect.error] : r.defect]
            : ["Interrupt"]
      )

describe("pool pass-through handlers", () => {
  it("give the exit Effect.catchIf gives, for any cause", () =>
    fc.assert(
      fc.property(cause, (c) => {
        const run = (e: Effect.Effect<unknown, unknown>) => shape(Effect.runSyncExit(e))
        expect(run(Effect.catchCause(Exit.failCause(c), markIgnored))).toEqual(run(reference.mark(c)))
        expect(run(Effect.catchCause(Exit.failCause(c), unwrapIgnored))).toEqual(run(reference.unwrap(c)))
      }),
      { numRuns: 300 }
    ))
})
