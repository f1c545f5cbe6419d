/**
 * Rate limiting per rule and key, in memory: token bucket, fixed window, exact sliding window
 * and GCRA.
 *
 * A rule (`api`, `login`, ...) says how many calls a key (an IP, an API key, a user) may make
 * per window. Exceeding it fails with `RateLimited` carrying an exact `retryAfter`, or, with
 * `onExceeded: "delay"`, waits (on effect's `Clock`, so `TestClock` drives it) first in first
 * out, up to `maxDelay`.
 *
 * **Details**
 *
 * - Each decision is synchronous over state owned by the service, so it is atomic: any number
 *   of fibers racing on one key never get more than the limit between them.
 * - Memory is bounded: a key whose state is back to "as if never seen" is dropped lazily (no
 *   timer per key), and `maxKeys` (default 100,000) caps each rule's table, evicting the least
 *   recently used key. An evicted key is forgotten: its next call starts from a fresh state.
 * - Metric `foundation.rate_limiter.requests` {rule, decision: allowed | denied}.
 * - The same service with its state in Redis, shared by every process, is
 *   `RateLimiterRedis.layer`: its own module, so that loading this one never needs `redis`.
 *
 * **Example** (Limiting calls per client)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { RateLimiter } from "effect-foundation"
 *
 * const Limits = RateLimiter.layer({
 *   rules: { api: { algorithm: "token-bucket", limit: 100, window: "1 minute", burst: 20 } }
 * })
 * const handle = (ip: string) => Effect.succeed("ok").pipe(RateLimiter.limit("api", ip))
 * Effect.runPromise(handle("10.0.0.1").pipe(Effect.provide(Limits))) // => "ok"
 * ```
 *
 * @since 0.1.0
 */
import type { Duration } from "effect"
import { Context, Effect, Layer } from "effect"
import type { InvalidConfig, ProtectionNotFound, RateLimited, StoreUnavailable } from "./Errors.js"
import type { Allowance, CallOptions, LimitRequest, RateStatus } from "./internal/rateLimiter/models.js"
import { OptionsSchema as OptionsSchemaInternal, RuleSchema as RuleSchemaInternal } from "./internal/rateLimiter/config.js"
import type { MemoryRule } from "./internal/rateLimiter/memory.js"
import { makeMemoryStore, memoryRule } from "./internal/rateLimiter/memory.js"
import { limitEffect, limitMany, serviceTag } from "./internal/rateLimiter/combinators.js"
import { build } from "./internal/rateLimiter/service.js"
import { decode } from "./internal/runtime/options.js"

/**
 * A rule's Schema: every field with its constraint and default, and the cross-field rules.
 *
 * - `algorithm`: see docs/rate-limiter.md, "choosing an algorithm".
 * - `limit` calls (of cost 1) per `window` (at least 1 ms, whole milliseconds). `limit: 0`
 *   denies every call (a kill switch): each fails `RateLimited` with an infinite `retryAfter`
 *   for as long as the rule stays at 0 (`burst` does not apply to it).
 * - `burst` (token-bucket and gcra only; default `limit`): how many may arrive at once; the
 *   rate stays `limit` per `window`.
 * - `onExceeded`: `"fail"` (default) fails `RateLimited`; `"delay"` waits until the call fits,
 *   unless that is longer than `maxDelay` (with `"delay"` only; default: `window`), then fails
 *   at once.
 * - `maxKeys` (default 100,000; `Infinity` for no cap): keys tracked at most; the least
 *   recently used is forgotten first. Blocked keys are held at most `maxKeys` too.
 * - `blockDuration` (optional, whole milliseconds): a key refused once is blocked for that
 *   long: every call of it is refused at once, with `retryAfter` the time left.
 *
 * **Example** (Decoding a rule)
 *
 * ```ts
 * import { Schema } from "effect"
 * import { RateLimiter } from "effect-foundation"
 *
 * const rule = Schema.decodeUnknownSync(RateLimiter.RuleSchema)({ algorithm: "gcra", limit: 5, window: 1000 })
 * // rule.onExceeded => "fail", rule.maxKeys => 100000
 * ```
 *
 * @since 0.2.0
 * @category schemas
 */
export const RuleSchema = RuleSchemaInternal

/**
 * A rate-limit rule as written in code or in the configuration file (`RuleSchema`'s encoded
 * form; see `RuleSchema` for each field).
 *
 * @since 0.1.0
 * @category models
 */
export type RateRule = typeof RuleSchema.Encoded

/**
 * The options' Schema: `{ rules }`, each rule decoded by `RuleSchema`. `layer`, the
 * configuration file's `rateLimiter` section and `Foundation` decode through it; a mistake
 * fails `InvalidConfig` naming every violation as `path: message` (`rules.api.limit: ...`),
 * and an unknown key names the nearest option.
 *
 * **Example** (Decoding options from JSON)
 *
 * ```ts
 * import { Schema } from "effect"
 * import { RateLimiter } from "effect-foundation"
 *
 * const options = Schema.decodeUnknownSync(RateLimiter.OptionsSchema)({
 *   rules: { api: { algorithm: "token-bucket", limit: 100, window: "1 minute", burst: 20 } }
 * })
 * // Object.keys(options.rules) => ["api"]
 * ```
 *
 * @since 0.2.0
 * @category schemas
 */
export const OptionsSchema = OptionsSchemaInternal

/**
 * Layer options, as written in code or in the configuration file's `rateLimiter` section.
 *
 * @since 0.2.0
 * @category models
 */
export type Options = typeof OptionsSchema.Encoded

export type { Allowance, CallOptions, LimitRequest, RateStatus } from "./internal/rateLimiter/models.js"

/**
 * The rate limiter service.
 *
 * - `rules`: the names of the configured rules, in configuration order (no store call).
 * - `check` uses `cost` units of `key`'s allowance (waiting first under `"delay"`).
 * - `status` reads a key's allowance (and its block); `reset` forgets a key and its block.
 * - `penalty(rule, key, points?)` uses `points` (default 1) whether they fit or not, so the
 *   key may go past its limit; `reward(rule, key, points?)` gives `points` back, never past a
 *   fresh key's allowance (rate-limiter-flexible's `penalty` and `reward`).
 * - `block(rule, key, duration)` refuses every call of the key for `duration`
 *   (`Duration.infinity`: until `reset`), each with `retryAfter` the time left; a later
 *   `block` replaces it. A rule's `blockDuration` does the same for a key once it is refused.
 * - `limit(rule, key)(self)` runs `self` only once admitted; `limit([...])` and `check([...])`
 *   decide several rules and keys at once, admitted by all or consumed from none.
 * - `setRule(rule, options)` replaces a configured rule at run time (see `setRule`).
 * - `checkWith(rule, key)` and `limitWith(rule, key)` take the rule itself instead of its name
 *   (see `limitWith`); an invalid one fails `checkWith` with `InvalidConfig`.
 *
 * An unknown rule fails `ProtectionNotFound` from `check`, `status` and `reset`; in `limit` it
 * is a defect (see `limit`). Its message goes on with the nearest configured rule (`no rate
 * limit rule named "per-clinet" is configured; did you mean "per-client"?`), or the configured
 * rules when none is close.
 *
 * **Example** (Checking an allowance)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { RateLimiter } from "effect-foundation"
 *
 * const program = Effect.gen(function*() {
 *   const limiter = yield* RateLimiter.RateLimiter
 *   return [limiter.names, (yield* limiter.check("api", "key-1")).remaining]
 * }).pipe(Effect.provide(RateLimiter.layer({ rules: { api: { algorithm: "gcra", limit: 5, window: "1 second" } } })))
 * // => [["api"], 4]
 * ```
 *
 * @since 0.1.0
 * @category services
 */
export class RateLimiter extends Context.Service<
  RateLimiter,
  {
    readonly names: ReadonlyArray<string>
    readonly check: {
      (rule: string, key: string, options?: CallOptions): Effect.Effect<Allowance, RateLimited | ProtectionNotFound | StoreUnavailable>
      (requests: ReadonlyArray<LimitRequest>): Effect.Effect<ReadonlyArray<Allowance>, RateLimited | ProtectionNotFound | StoreUnavailable>
    }
    readonly status: (rule: string, key: string) => Effect.Effect<RateStatus, ProtectionNotFound | StoreUnavailable>
    readonly reset: (rule: string, key: string) => Effect.Effect<void, ProtectionNotFound | StoreUnavailable>
    readonly checkWith: (
      rule: RateRule,
      key: string,
      options?: CallOptions
    ) => Effect.Effect<Allowance, RateLimited | InvalidConfig | StoreUnavailable>
    readonly limitWith: (
      rule: RateRule,
      key: string,
      options?: CallOptions
    ) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | RateLimited | StoreUnavailable, R>
    readonly setRule: (rule: string, options: RateRule) => Effect.Effect<void, InvalidConfig | ProtectionNotFound>
    readonly penalty: (rule: string, key: string, points?: number) => Effect.Effect<void, ProtectionNotFound | StoreUnavailable>
    readonly reward: (rule: string, key: string, points?: number) => Effect.Effect<void, ProtectionNotFound | StoreUnavailable>
    readonly block: (rule: string, key: string, duration: Duration.Input) => Effect.Effect<void, ProtectionNotFound | StoreUnavailable>
    readonly limit: {
      (
        rule: string,
        key: string,
        options?: CallOptions
      ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | RateLimited | StoreUnavailable, R>
      (
        requests: ReadonlyArray<LimitRequest>
      ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | RateLimited | StoreUnavailable, R>
    }
  }
>()("effect-foundation/RateLimiter") {}

// the combinators (internal) find the service by this tag
serviceTag.key = RateLimiter

/**
 * The in-memory rate limiter. The options are decoded by `OptionsSchema` first: an invalid
 * rule (limit or burst not a positive integer, window not whole milliseconds, unknown
 * algorithm or option, `burst` on a window algorithm, `maxDelay` without `"delay"`, ...)
 * fails the layer with `InvalidConfig` listing every violation as `path: message`, its `path`
 * the first one's, e.g. `rules.api.limit`.
 *
 * **Example** (Two rules)
 *
 * ```ts
 * import { RateLimiter } from "effect-foundation"
 *
 * const Limits = RateLimiter.layer({
 *   rules: {
 *     api: { algorithm: "gcra", limit: 100, window: "1 minute", burst: 10 },
 *     login: { algorithm: "sliding-window", limit: 5, window: "15 minutes" }
 *   }
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<RateLimiter, InvalidConfig> =>
  Layer.effect(
    RateLimiter,
    Effect.gen(function* () {
      const decoded = yield* decode(OptionsSchema, options)
      const rules = new Map<string, MemoryRule>()
      for (const [name, rule] of Object.entries(decoded.rules)) rules.set(name, memoryRule(name, rule))
      return yield* build(makeMemoryStore(rules))
    })
  )

/**
 * Runs `self` once `key` is admitted under `rule` (using `cost` units, default 1); fails
 * `RateLimited` otherwise, or waits first when the rule says `"delay"`.
 *
 * **Gotchas**
 *
 * - An unknown rule name is a defect here (it dies with `ProtectionNotFound`, whose message
 *   names the nearest configured rule), not a typed failure: rule names are fixed
 *   configuration, so a wrong one is a programming error. The same goes for a cost that is not
 *   a positive integer. Use the service's `check` to get `ProtectionNotFound` as a failure.
 * - The error channel adds `RateLimited | StoreUnavailable`: the type cannot tell which store
 *   is behind the `RateLimiter` tag. The memory store (`layer`) never fails
 *   `StoreUnavailable`; the Redis store does for a rule whose `onRedisError` is `"failClosed"`
 *   (without insurance) while Redis cannot answer.
 *
 * **Example** (Piping and data-first)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { RateLimiter } from "effect-foundation"
 *
 * const search = Effect.succeed(["result"]).pipe(RateLimiter.limit("api", "user-7"))
 * const upload = RateLimiter.limit(Effect.succeed("stored"), "bytes", "user-7", { cost: 512 })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const limit: Limiting<string> & {
  (
    requests: ReadonlyArray<LimitRequest>
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | RateLimited | StoreUnavailable, R | RateLimiter>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    requests: ReadonlyArray<LimitRequest>
  ): Effect.Effect<A, E | RateLimited | StoreUnavailable, R | RateLimiter>
} = function (first: unknown, second: unknown, third?: unknown, fourth?: unknown) {
  // `dual` with a predicate spreads `arguments` on every call; this is the same dispatch
  // without it (the data-last form runs once per protected call in a pipe). A rule is a name
  // or, for `limitWith`, an inline rule.
  if (Array.isArray(first)) return <A, E, R>(self: Effect.Effect<A, E, R>) => limitMany(self, first)
  if (!Effect.isEffect(first)) {
    return <A, E, R>(self: Effect.Effect<A, E, R>) => limitEffect(self, first as string, second as string, third as CallOptions | undefined)
  }
  return Array.isArray(second)
    ? limitMany(first, second)
    : limitEffect(first, second as string, third as string, fourth as CallOptions | undefined)
} as typeof limit

/**
 * `limit` and `limitWith` by one rule: pipeable, or data-first.
 *
 * @since 0.3.0
 * @category models
 */
export interface Limiting<Rule> {
  (
    rule: Rule,
    key: string,
    options?: CallOptions
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | RateLimited | StoreUnavailable, R | RateLimiter>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    rule: Rule,
    key: string,
    options?: CallOptions
  ): Effect.Effect<A, E | RateLimited | StoreUnavailable, R | RateLimiter>
}

/**
 * Replaces the configured rule `rule` at run time, decoded by the store's rule Schema (an
 * invalid one fails `InvalidConfig` with the same `rules.<rule>.<field>` paths as the layer,
 * and changes nothing; an unknown name fails `ProtectionNotFound`).
 *
 * **Details**
 *
 * Each key's consumption is kept: what it has used stays used under the new rule.
 *
 * - Memory: a sliding window staying one keeps its log (each call leaves at its own time,
 *   under the new window). Any other change, an algorithm change included, carries the calls
 *   each key has in use (rounded up) over to a fresh state of the new rule as used, so no call
 *   is handed out twice; when they come back then follows the new rule. Blocks are kept.
 * - `limit: 0` is a kill switch: while at 0 every call is refused and the states are left as
 *   they are, so a rule switched back finds each key as the time since has left it.
 * - Redis: the state shared by every process stays as stored and is read under the new rule,
 *   so `algorithm` and `window`, which say what the stored numbers mean, cannot change
 *   (`InvalidConfig`: use a new rule name or prefix). A rule without its own `onRedisError`
 *   keeps the one it had. Other processes keep their own configuration.
 *
 * **Example** (Switching a route off and on)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { RateLimiter } from "effect-foundation"
 *
 * const program = Effect.gen(function*() {
 *   yield* RateLimiter.setRule("api", { algorithm: "gcra", limit: 0, window: "1 second" })
 *   const refused = yield* Effect.flip(Effect.succeed("ok").pipe(RateLimiter.limit("api", "k")))
 *   yield* RateLimiter.setRule("api", { algorithm: "gcra", limit: 5, window: "1 second" })
 *   return [refused._tag, yield* Effect.succeed("ok").pipe(RateLimiter.limit("api", "k"))]
 * }).pipe(Effect.provide(RateLimiter.layer({ rules: { api: { algorithm: "gcra", limit: 5, window: "1 second" } } })))
 * // => ["RateLimited", "ok"]
 * ```
 *
 * @since 0.3.0
 * @category runtime control
 */
export const setRule = (rule: string, options: RateRule): Effect.Effect<void, InvalidConfig | ProtectionNotFound, RateLimiter> =>
  RateLimiter.use((limiter) => limiter.setRule(rule, options))

/**
 * Runs `self` once `key` is admitted under `rule`, a rule given here rather than configured by
 * name (the same fields as a configured rule, `RuleSchema`): for limits that come with the
 * call, such as a plan's quota looked up per customer.
 *
 * **Details**
 *
 * - The rule is decoded through `RuleSchema` the first time it is seen (an invalid one is a
 *   defect, as an unknown rule name is in `limit`; the service's `checkWith` fails
 *   `InvalidConfig` instead) and normalised: `{ window: "1 second" }` and `{ window: 1000 }`
 *   are one rule, with one state per key.
 * - States are kept per normalised rule in a bounded table: at most 1,000 inline rules per
 *   limiter, the least recently used forgotten first (its keys start afresh if it comes back);
 *   each rule's keys are bounded by its `maxKeys`, as for a configured rule.
 * - Errors and `RateLimited.rule` name the rule by its normalised form
 *   (`inline:gcra:5/1000ms`); with the Redis store its keys are `<prefix>:<that name>:<key>`
 *   and it follows the store's `onRedisError`. Inline rules are not counted in
 *   `foundation.rate_limiter.requests` (their number is not bounded in advance).
 *
 * **Example** (A quota per plan)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { RateLimiter } from "effect-foundation"
 *
 * const quota = (plan: "free" | "pro") => ({ algorithm: "gcra", limit: plan === "pro" ? 100 : 10, window: "1 minute" }) as const
 * const search = (customer: string, plan: "free" | "pro") =>
 *   Effect.succeed(["result"]).pipe(RateLimiter.limitWith(quota(plan), customer))
 * Effect.runPromise(search("c-1", "free").pipe(Effect.provide(RateLimiter.layer({ rules: {} })))) // => ["result"]
 * ```
 *
 * @since 0.3.0
 * @category combinators
 */
export const limitWith: Limiting<RateRule> = limit as unknown as Limiting<RateRule>
