/**
 * The breaker's admission in the caller's run-loop step (see `runtime/inStep.ts`), which
 * `Protection` uses to fuse the breaker with the stages around it. Only what a Closed breaker
 * admits is answered here: its permit holds no slot, so nothing is lost if an interruption
 * lands before the caller's frame exists. A probe is left to the staged call.
 */
import type { Exit, Fiber } from "effect"
import { Effect } from "effect"
import { InvalidConfig } from "../../Errors.js"
import type { AdmitInStep, AdmittedCall } from "../runtime/inStep.js"
import type { Permit } from "./guard.js"
import { BreakerGuard } from "./guard.js"
import { ignoreOf } from "./ignore.js"
import type { Registry } from "./registry.js"

/** One admitted call: its guard, and the permit it reports with. */
class InStepCall extends BreakerGuard implements AdmittedCall {
  permit: Permit = 0

  get timeout(): AdmittedCall["timeout"] {
    return this.current!.timeout
  }

  record(exit: Exit.Exit<unknown, unknown>, fiber: Fiber.Fiber<unknown, unknown>): void {
    if (exit._tag === "Success") this.onSuccess(this.permit, fiber)
    else this.onFailure(this.permit, exit.cause, fiber)
  }
}

/** The `admitInStep` hook of the service over `registry`. */
export const admitterOf =
  (registry: Registry): AdmitInStep =>
  (fiber, name, options) => {
    const ignore = ignoreOf(options)
    // invalid options are a defect of the call, as with `protect`
    if (ignore instanceof InvalidConfig) return Effect.die(ignore)
    const call = new InStepCall(registry, name)
    if (ignore !== undefined) call.ignore = ignore
    const early = call.admitEarly(fiber)
    if (early === undefined || Effect.isEffect(early)) return early
    call.permit = early
    return call
  }
