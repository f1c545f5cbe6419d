/**
 * The breaker service's construction (what `CircuitBreaker.make` does) and the context
 * lookup of `CircuitBreaker.protect`. The public module passes its tag in: internal code never
 * imports it at run time.
 */
import type { Context, Fiber } from "effect"
import { Clock, Effect, PubSub, Stream } from "effect"
import type * as Public from "../../CircuitBreaker.js"
import { InvalidConfig } from "../../Errors.js"
import type { ClockSource, Permit } from "./guard.js"
import { BreakerGuard, serviceFrom } from "./guard.js"
import { registerHealth } from "./health.js"
import { admitterOf } from "./inStep.js"
import { makeOperations } from "./operations.js"
import { resolve } from "./options.js"
import type { Transition } from "./registry.js"
import { Registry } from "./registry.js"
import { guarded } from "../runtime/guardedCall.js"
import { admitInStep } from "../runtime/inStep.js"

type Service = Public.CircuitBreaker["Service"]

// The service value carries its registry under a private symbol, so `protect` can reach the
// breakers without a lookup per call and tell our service from a test double.
const registryKey = Symbol.for("effect-foundation/CircuitBreaker/registry")
// It also carries its in-step admission, which `Protection` fuses with the other stages.
const withRegistry = <S extends object>(registry: Registry, service: S): S =>
  Object.defineProperties(service, {
    [registryKey]: { value: registry, enumerable: false },
    [admitInStep]: { value: admitterOf(registry), enumerable: false }
  })

/** the registry behind a service built by `make` (undefined for other implementations) */
export const registryOf = (service: Service): Registry | undefined =>
  (service as unknown as Record<symbol, Registry | undefined>)[registryKey]

// The last context a protected call ran in, and its service: a fiber's context changes rarely,
// so most calls skip the lookup.
let lastContext: unknown
let lastService: Service | undefined
// and its clock: a rejection and a timed call read the time, and a context has one clock
let lastClock: Clock.Clock | undefined

/** The breaker service in the running fiber's context, through the one-context cache. */
export const serviceIn = (fiber: Fiber.Fiber<unknown, unknown>, tag: Context.Key<any, Service>): Service => {
  let service = lastService
  if (fiber.context !== lastContext || service === undefined) {
    service = serviceFrom(fiber, tag)
    lastContext = fiber.context
    lastService = service
    lastClock = fiber.getRef(Clock.Clock)
  }
  return service
}

/** The running fiber's clock, cached with the last context's service (see `serviceIn`). */
export const contextClocks: ClockSource = {
  clockOf: (fiber) => (fiber.context === lastContext && lastClock !== undefined ? lastClock : fiber.getRef(Clock.Clock))
}

/** The service `make` builds, without the tag's `of` (the identity). */
export const makeService = Effect.fnUntraced(function* (options: Public.Options) {
  const resolved = resolve(options)
  if (resolved instanceof InvalidConfig) return yield* resolved
  const { defaults, maxBreakers, policies } = resolved

  const context = yield* Effect.context<never>()
  const pubsub = yield* PubSub.unbounded<Transition>()
  const registry = new Registry(defaults, policies, maxBreakers, context, pubsub)
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      registry.close()
      // do not keep a closed service's context alive through the protect cache
      if (lastService !== undefined && registryOf(lastService) === registry) {
        lastService = undefined
        lastContext = undefined
        lastClock = undefined
      }
    }).pipe(Effect.andThen(PubSub.shutdown(pubsub)))
  )

  yield* Stream.fromPubSub(pubsub).pipe(
    Stream.runForEach((t) =>
      Effect.logInfo(`circuit breaker "${t.breaker}": ${t.from} -> ${t.to}`).pipe(
        Effect.annotateLogs({ breaker: t.breaker, from: t.from, to: t.to })
      )
    ),
    Effect.forkScoped({ startImmediately: true })
  )
  const registerConfigured = yield* registerHealth(registry)

  const operations = makeOperations(registry, registerConfigured)
  const service: Service = withRegistry(registry, {
    execute:
      (breaker: string) =>
      <A, E, R>(self: Effect.Effect<A, E, R>) =>
        guarded(self, guardFor(registry, breaker, self)) as Effect.Effect<A, E | Public.BreakerError, R>,
    ...operations,
    names: Effect.sync(() => registry.all().map((b) => b.name)),
    transitions: Stream.fromPubSub(pubsub)
  })
  return service
})

const guardFor = (registry: Registry, name: string, self: Effect.Effect<any, any, any>): BreakerGuard => {
  const guard = new BreakerGuard(registry, name)
  guard.self = self
  return guard
}

/**
 * A guard that finds the service in the running fiber's context. With our own service it
 * works as that service's `BreakerGuard`; with any other implementation (a test double
 * provided with `Layer.succeed`) the call is handed to that implementation's `execute`.
 * The guard binds to the first service's breakers it runs under; a run under another service
 * (the same effect value run by two runtimes) gets a guard of its own, so no run ever records
 * its outcome on another service's breaker.
 */
export class ContextGuard extends BreakerGuard {
  constructor(
    private readonly tag: Context.Key<any, Service>,
    name: string,
    self: Effect.Effect<any, any, any>
  ) {
    super(undefined as unknown as Registry, name)
    this.self = self
  }
  override admitEarly(fiber: Fiber.Fiber<unknown, unknown>): Permit | Effect.Effect<never, any> | undefined {
    const foreign = this.bind(fiber)
    return foreign === undefined ? super.admitEarly(fiber) : foreign
  }
  override admit(fiber: Fiber.Fiber<unknown, unknown>): Permit | Effect.Effect<never, any> {
    const foreign = this.bind(fiber)
    return foreign === undefined ? super.admit(fiber) : foreign
  }
  override clockOf(fiber: Fiber.Fiber<unknown, unknown>): Clock.Clock {
    return contextClocks.clockOf(fiber)
  }
  /** our service's registry for this run, or the call handed to another implementation */
  private bind(fiber: Fiber.Fiber<unknown, unknown>): Effect.Effect<never, any> | undefined {
    const service = serviceIn(fiber, this.tag)
    const registry = registryOf(service)
    if (registry === undefined) return service.execute(this.name)(this.self!) as Effect.Effect<never, any>
    const bound = this.registry
    if (bound === registry) return undefined
    if (bound === undefined) {
      ;(this as { registry: Registry }).registry = registry
      return undefined
    }
    // this effect value already runs under another service's breakers (and may still be in flight there)
    return runOwnGuard(this, registry)
  }
}

/**
 * A run under a second service: a guard of its own, so neither run records on the other's
 * breaker. Apart from `bind`, which stays small enough to inline: this is the rare case.
 */
const runOwnGuard = (guard: ContextGuard, registry: Registry): Effect.Effect<never, any> => {
  const own = guardFor(registry, guard.name, guard.self!)
  own.ignore = guard.ignore
  return guarded(guard.self!, own) as Effect.Effect<never, any>
}
