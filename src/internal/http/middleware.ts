/**
 * The request-level rate limit: key the request, check it against the rule, answer 429 or
 * run the app, and put the `RateLimit-Policy` / `RateLimit` fields on whatever goes back.
 *
 * Responses the middleware sees (the app's, a rejection mapped by `toResponse`) get the fields
 * directly. A failure it does not map travels on to the server, which turns it into a 500 (or
 * a 404 for an unknown route); a pre-response handler registered on that path adds the fields
 * there too, so every response of a limited route carries them.
 */
import type { Duration } from "effect"
import { Effect } from "effect"
import { HttpEffect, HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import type { RateLimited } from "../../Errors.js"
import { InvalidConfig, ProtectionNotFound } from "../../Errors.js"
import type { Allowance } from "../../RateLimiter.js"
import { RateLimiter } from "../../RateLimiter.js"
import { clientAddress, noTrust } from "./clientAddress.js"
import type { Compiled, RateLimitOptions } from "./options.js"
import { compile } from "./options.js"
import { limitField, policyField, seconds } from "./fields.js"
import type { Describable, DescribeOptions } from "./problem.js"
import { describe, isRejection } from "./problem.js"

export const toResponse = (error: Describable, options?: DescribeOptions): HttpServerResponse.HttpServerResponse => {
  const description = describe(error, options)
  const { "content-type": contentType, ...headers } = description.headers
  return HttpServerResponse.jsonUnsafe(description.body, { status: description.status, headers, contentType })
}

export const catchRejections = <E, R>(
  self: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>,
  options?: DescribeOptions
): Effect.Effect<HttpServerResponse.HttpServerResponse, any, R> =>
  Effect.catchIf(
    self,
    (error: E): error is E & Describable => isRejection(error),
    (error) => Effect.succeed(toResponse(error, options))
  )

/** `catchRejections` data-first or piped (dispatch on whether the first argument is an Effect). */
export const catchRejectionsDual = function (first?: unknown, second?: unknown) {
  return Effect.isEffect(first)
    ? catchRejections(first as Effect.Effect<HttpServerResponse.HttpServerResponse>, second as DescribeOptions)
    : (self: Effect.Effect<HttpServerResponse.HttpServerResponse>) => catchRejections(self, first as DescribeOptions | undefined)
}

type Limiter = RateLimiter["Service"]

/** The fields of one response: both, or none when the quota is unknown (a store outage). */
type Fields = Readonly<Record<"ratelimit-policy" | "ratelimit", string>>

/** The socket's peer, never a header: what a client cannot choose. */
const defaultKey = (request: HttpServerRequest.HttpServerRequest): string => clientAddress(request.peerAddress, undefined, noTrust)

/**
 * The middleware over a way to get the limiter: the `RateLimiter` of the request's context
 * (`rateLimit`), or the one a layer resolved once (`layer`).
 */
export const make = (
  compiled: Compiled,
  limiterOf: Effect.Effect<Limiter, never, any>,
  keyOf: (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<string, any, any>
) => {
  // The quota (`q`) is the rule's limit. The service tells it through `status`; ask once per
  // limiter (a test or a process may hold several), not once per request.
  const quotas = new WeakMap<Limiter, number>()
  const quotaOf = (limiter: Limiter, key: string): Effect.Effect<number | undefined> => {
    if (compiled.limit !== undefined) return Effect.succeed(compiled.limit)
    const known = quotas.get(limiter)
    if (known !== undefined) return Effect.succeed(known)
    return limiter.status(compiled.rule, key).pipe(
      Effect.map((status) => {
        quotas.set(limiter, status.limit)
        return status.limit as number | undefined
      }),
      // a store outage must not fail the request: it only costs the fields of this response
      Effect.orElseSucceed(() => undefined)
    )
  }
  const fields = (quota: number, remaining: number, reset: Duration.Duration): Fields => ({
    "ratelimit-policy": policyField(compiled.policy, quota, compiled.windowSeconds),
    ratelimit: limitField(compiled.policy, remaining, seconds(reset))
  })
  const costOf =
    typeof compiled.cost === "number" ? ((() => compiled.cost) as (request: HttpServerRequest.HttpServerRequest) => number) : compiled.cost

  // a denial carries the rule's limit: no lookup needed, and it primes the cache
  const denied = (limiter: Limiter, error: RateLimited) => {
    const quota = compiled.limit ?? error.limit
    if (compiled.limit === undefined) quotas.set(limiter, quota)
    return HttpServerResponse.setHeaders(toResponse(error, compiled.describe), fields(quota, error.remaining, error.retryAfter))
  }

  const admitted = <E, R>(
    app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>,
    limiter: Limiter,
    key: string,
    allowance: Allowance
  ) =>
    Effect.flatMap(quotaOf(limiter, key), (quota) => {
      const handled = catchRejections(app, compiled.describe)
      if (quota === undefined) return handled
      const headers = fields(quota, allowance.remaining, allowance.resetAfter)
      return handled.pipe(
        Effect.map(HttpServerResponse.setHeaders(headers)),
        Effect.tapCause(() =>
          HttpEffect.appendPreResponseHandler((_, response) => Effect.succeed(HttpServerResponse.setHeaders(response, headers)))
        )
      )
    })

  return <E, R>(app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
      Effect.flatMap(limiterOf, (limiter) =>
        Effect.flatMap(keyOf(request), (key) =>
          limiter.check(compiled.rule, key, { cost: costOf(request) }).pipe(
            Effect.matchEffect({
              onSuccess: (allowance) => admitted(app, limiter, key, allowance),
              onFailure: (error) => {
                switch (error._tag) {
                  case "RateLimited":
                    return Effect.succeed(denied(limiter, error))
                  case "StoreUnavailable":
                    return Effect.succeed(toResponse(error, compiled.describe))
                  // an unknown rule is a programming error, as in `RateLimiter.limit`
                  case "ProtectionNotFound":
                    return Effect.die(error)
                }
              }
            })
          )
        )
      )
    )
}

/** A key strategy's result, an Effect or a plain string, as an Effect. */
export const keyStrategy = (key: ((request: any) => unknown) | undefined) =>
  key === undefined
    ? (request: HttpServerRequest.HttpServerRequest) => Effect.succeed(defaultKey(request))
    : (request: HttpServerRequest.HttpServerRequest): Effect.Effect<string, any, any> => {
        const result = key(request)
        return Effect.isEffect(result) ? (result as Effect.Effect<string, any, any>) : Effect.succeed(String(result))
      }

/** `RateLimitHttp.rateLimit`: the limiter comes from each request's context. */
export const rateLimit = (options: RateLimitOptions<any, any>) => {
  const compiled = compile(options)
  if (compiled instanceof InvalidConfig) throw compiled
  return make(compiled, RateLimiter as unknown as Effect.Effect<Limiter>, keyStrategy(compiled.key))
}

/**
 * The middleware over the limiter of a layer's build, the rule checked at start: router
 * middleware cannot ask the request's context for services (`HttpRouter.middleware` types
 * such a need as unmet), so the limiter is resolved once, when the layer is built.
 */
const resolved = (options: RateLimitOptions<any, any>) =>
  Effect.gen(function* () {
    const compiled = compile(options)
    if (compiled instanceof InvalidConfig) return yield* compiled
    const limiter = yield* RateLimiter
    if (!limiter.names.includes(compiled.rule)) {
      return yield* new ProtectionNotFound({ kind: "rate_limit_rule", protection: compiled.rule })
    }
    return make(compiled, Effect.succeed(limiter), keyStrategy(compiled.key)) as any
  })

/** `RateLimitHttp.middleware`: for the routes it is provided to. */
export const middleware = (options: RateLimitOptions<any, any>) => HttpRouter.middleware(resolved(options))

/** `RateLimitHttp.layer`: on every route of the router. */
export const layer = (options: RateLimitOptions<any, any>) => HttpRouter.middleware(resolved(options), { global: true })
