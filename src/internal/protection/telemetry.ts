/**
 * The facade's telemetry: one span per protected call (not per stage) and the duration
 * histogram by outcome, recorded around the staged call (`instrument`) or from the fused
 * call's own frame (`Measure`, see `inStep.ts`).
 */
import type { Cause, Context, Exit, Fiber } from "effect"
import { Clock, Effect, Metric, References, Tracer } from "effect"
import * as Names from "../../Telemetry.js"

/** Span options and histogram series of one (profile, stages) pair, shared by every call. */
export interface Telemetry {
  readonly spanOptions: { readonly attributes: Record<string, string>; readonly captureStackTrace: false }
  readonly durations: Record<"success" | "failure" | "rejected", Metric.Metric<number, unknown>>
}

const boundaries = Metric.exponentialBoundaries({ start: 0.05, factor: 2, count: 20 })
// One histogram per series, its attributes given at construction: the same series as
// `Metric.withAttributes(histogram, attributes)`, whose update copies the fiber's context
// (to add the attributes to it) on every observation.
export const series = (profile: string, outcome: string) =>
  Metric.histogram(Names.metrics.protectionDuration, {
    description: "duration of protected calls in milliseconds, by profile and outcome",
    boundaries,
    attributes: { profile, outcome }
  })

const protectionCodes = new Set([
  "circuit_breaker_open",
  "rate_limited",
  "pool_checkout_timeout",
  "memory_pressure",
  "operation_timeout",
  "store_unavailable"
])

/** the `code` of the protection error in a cause, if the call was rejected by a stage */
export const rejectionCode = (cause: Cause.Cause<unknown>): string | undefined => {
  for (const reason of cause.reasons) {
    if (reason._tag !== "Fail") continue
    const error = reason.error as { readonly code?: unknown }
    if (typeof error === "object" && error !== null && typeof error.code === "string" && protectionCodes.has(error.code)) {
      return error.code
    }
  }
  return undefined
}

/**
 * One span per protected call (not per stage) and the duration histogram.
 *
 * The span is made with `Effect.makeSpan` and ended here, rather than with `Effect.withSpan`:
 * `withSpan` also makes the span the parent of everything the effect does, which copies the
 * fiber's context on every call and measured several times the cost of all the stages
 * together. So `foundation.protect` is a sibling of the spans the protected effect creates
 * (both children of the caller's span), covering the same interval.
 *
 * With no tracing backend installed (the fiber's tracer is effect's `nativeTracer`, which
 * exports nothing) or tracing disabled, no span is made: nobody could ever see it, and making
 * one is most of the cost of telemetry. The histogram is recorded either way. Its duration is
 * read from the Clock's monotonic nanoseconds (one read at each end); a span's end is the
 * Clock's wall time, as effect's own spans.
 */
export const instrument = <A>(effect: Effect.Effect<A, any, any>, c: Telemetry): Effect.Effect<A, any, any> =>
  Effect.withFiber((fiber) => {
    const seen = seenBy(fiber)
    const clock = seen.clock
    if (!seen.traced) {
      const started = clock.monotonicTimeNanosUnsafe()
      return Effect.onExitPrimitive(effect, (exit) => {
        const millis = Number(clock.monotonicTimeNanosUnsafe() - started) / 1e6
        record(c, exit, millis, fiber.context as Context.Context<never>)
        return undefined
      })
    }
    return Effect.flatMap(Effect.makeSpan(Names.spans.protect, c.spanOptions), (span) => {
      const started = clock.monotonicTimeNanosUnsafe()
      return Effect.onExitPrimitive(effect, (exit) => {
        const millis = Number(clock.monotonicTimeNanosUnsafe() - started) / 1e6
        const code = record(c, exit, millis, fiber.context as Context.Context<never>)
        if (code !== undefined) {
          span.attribute("error.type", code)
          span.attribute("foundation.outcome", "rejected")
        }
        span.end(clock.currentTimeNanosUnsafe(), exit)
        return undefined
      })
    })
  })

// What `instrument` reads from a context (a fiber keeps its context across calls, and a
// context's references do not change): whether spans are made, and the clock. Weakly keyed, so
// a context is never kept alive by having run a protected call.
export interface Seen {
  readonly traced: boolean
  readonly clock: Clock.Clock
}
const seenByContext = new WeakMap<Context.Context<never>, Seen>()
export const seenBy = (fiber: Fiber.Fiber<unknown, unknown>): Seen => {
  const context = fiber.context as Context.Context<never>
  let seen = seenByContext.get(context)
  if (seen === undefined) {
    seen = {
      traced: fiber.getRef(Tracer.Tracer) !== Tracer.nativeTracer && fiber.getRef(References.TracerEnabled),
      clock: fiber.getRef(Clock.Clock)
    }
    seenByContext.set(context, seen)
  }
  return seen
}

/** records the call's duration under its outcome; returns the rejection code, if rejected */
export const record = (c: Telemetry, exit: Exit.Exit<unknown, unknown>, millis: number, context: Context.Context<never>) => {
  if (exit._tag === "Success") {
    c.durations.success.updateUnsafe(millis, context)
    return undefined
  }
  const code = rejectionCode(exit.cause)
  ;(code === undefined ? c.durations.failure : c.durations.rejected).updateUnsafe(millis, context)
  return code
}

/**
 * The histogram's measurement of one untraced call, started when the call starts and
 * recorded once from whichever frame ends it: the fused call's own frame when it has one
 * (`owned`), else a frame of its own around the call (`around`).
 */
export class Measure {
  readonly started: bigint
  /** set by the fused call when its own frame will record the outcome */
  owned = false
  constructor(
    readonly telemetry: Telemetry,
    readonly clock: Clock.Clock,
    readonly fiber: Fiber.Fiber<unknown, unknown>
  ) {
    this.started = clock.monotonicTimeNanosUnsafe()
  }
  record(exit: Exit.Exit<unknown, unknown>): void {
    const millis = Number(this.clock.monotonicTimeNanosUnsafe() - this.started) / 1e6
    record(this.telemetry, exit, millis, this.fiber.context as Context.Context<never>)
  }
  /** `call`, recorded by a frame of its own unless the fused call's frame records it */
  around(call: Effect.Effect<any, any, any>): Effect.Effect<any, any, any> {
    if (this.owned) return call
    return Effect.onExitPrimitive(call, (exit) => {
      this.record(exit)
      return undefined
    })
  }
}
