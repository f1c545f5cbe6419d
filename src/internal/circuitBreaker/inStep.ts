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
import { admitWithoutSlot, fiberClocks, recordExit } from "./guard.js"
import type { Ignore } from "./ignore.js"
import { ignoreOf } from "./ignore.js"
import type { Breaker, Registry } from "./registry.js"

/** One admitted call: the breaker it was admitted by, and the permit it reports with. */
class InStepCall implements AdmittedCall {
  constructor(
    readonly registry: Registry,
    readonly breaker: Breaker,
    readonly permit: Permit,
    readonly ignore: Ignore | undefined
  ) {}

  get timeout(): AdmittedCall["timeout"] {
    return this.breaker.timeout
  }

  record(exit: Exit.Exit<unknown, unknown>, fiber: Fiber.Fiber<unknown, unknown>): void {
    recordExit(fiberClocks, this.registry, this.breaker, this.permit, exit, this.ignore, fiber)
  }
}

/** The `admitInStep` hook of the service over `registry`. */
export const admitterOf =
  (registry: Registry): AdmitInStep =>
  (fiber, name, options) => {
    const ignore = ignoreOf(options)
    // invalid options are a defect of the call, as with `protect`
    if (ignore instanceof InvalidConfig) return Effect.die(ignore)
    const breaker = registry.resolve(name)
    if (breaker === undefined) return Effect.fail(registry.notFound(name))
    const permit = admitWithoutSlot(fiberClocks, breaker, fiber)
    if (permit === undefined || Effect.isEffect(permit)) return permit
    return new InStepCall(registry, breaker, permit, ignore)
  }
