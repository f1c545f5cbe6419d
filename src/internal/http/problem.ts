/**
 * From a protection error to an HTTP answer: status, headers and an RFC 9457 problem body.
 * Pure, so `describe` serves any framework and `toResponse` is one line on top of it.
 *
 * The body is safe by default: the standard members, the error's `code` and a generic
 * `detail`. The names an operator gave (breaker, rule, pool, key, store) appear only with
 * `details: true`, because a public client must not learn the topology behind the service.
 */
import { Duration } from "effect"
import type { InvalidConfig, ProtectionError, ProtectionNotFound } from "../../Errors.js"

/** What the mapping accepts (documented on `ProtectionHttp.Describable`). */
export type Describable = ProtectionError | InvalidConfig | ProtectionNotFound

/** The tags a client can act on by retrying later; the others are the server's own faults. */
export const rejectionTags = [
  "RateLimited",
  "CircuitBreakerOpen",
  "MemoryPressure",
  "PoolCheckoutTimeout",
  "PoolExhausted",
  "BulkheadFull",
  "StoreUnavailable",
  "OperationTimeout"
] as const

const rejectionTagSet: ReadonlySet<string> = new Set(rejectionTags)

export const isRejection = (u: unknown): boolean =>
  typeof u === "object" &&
  u !== null &&
  rejectionTagSet.has((u as { readonly _tag?: unknown })._tag as string) &&
  typeof (u as { readonly code?: unknown }).code === "string"

export interface Problem {
  readonly type: string
  readonly title: string
  readonly status: number
  readonly code: string
  readonly detail: string
  readonly [extension: string]: unknown
}

export interface Description {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: Problem
}

export interface DescribeOptions {
  readonly details?: boolean | undefined
  readonly problemType?: ((code: string) => string) | undefined
  readonly defaultRetryAfter?: Duration.Input | undefined
}

export const problemContentType = "application/problem+json"

const titles: Record<number, string> = {
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
  504: "Gateway Timeout"
}

/**
 * `Retry-After` delta-seconds: whole seconds rounded up (RFC 9110 allows no fraction), so a
 * client that honours it never comes back early. Undefined when there is no finite hint.
 */
export const retryAfterSeconds = (duration: Duration.Duration | undefined): number | undefined => {
  if (duration === undefined || !Duration.isFinite(duration)) return undefined
  return Math.max(0, Math.ceil(Duration.toMillis(duration) / 1000))
}

interface Mapping {
  readonly status: number
  readonly retryAfter: Duration.Duration | undefined
  readonly detail: string
  readonly fields: Record<string, unknown>
}

const later = (seconds: number | undefined): string =>
  seconds === undefined ? "retry later" : `retry after ${seconds} second${seconds === 1 ? "" : "s"}`

const mappingOf = (error: Describable, fallback: Duration.Duration | undefined): Mapping => {
  switch (error._tag) {
    case "RateLimited": {
      const retryAfter = error.retryAfter
      return {
        status: 429,
        retryAfter,
        detail: Duration.isFinite(retryAfter)
          ? `Too many requests; ${later(retryAfterSeconds(retryAfter))}.`
          : "This request exceeds the rate limit's capacity and can never be admitted.",
        fields: { rule: error.rule, key: error.key, limit: error.limit, remaining: error.remaining }
      }
    }
    case "CircuitBreakerOpen":
      return {
        status: 503,
        retryAfter: error.retryAfter,
        detail: `A dependency is temporarily unavailable; ${later(retryAfterSeconds(error.retryAfter))}.`,
        fields: { breaker: error.breaker, state: error.state }
      }
    case "MemoryPressure": {
      // the manager's own hint (its next reading) wins over the caller's default
      const retryAfter = error.retryAfter ?? fallback
      return {
        status: 503,
        retryAfter,
        detail: `The service is shedding load; ${later(retryAfterSeconds(retryAfter))}.`,
        fields: {
          trigger: error.trigger ?? "memory",
          level: error.level,
          heapUsedRatio: error.heapUsedRatio,
          ...(error.eventLoopDelay === undefined ? {} : { eventLoopDelayMillis: Duration.toMillis(error.eventLoopDelay) }),
          ...(error.reason === undefined ? {} : { reason: error.reason })
        }
      }
    }
    case "PoolCheckoutTimeout":
      return {
        status: 503,
        retryAfter: fallback,
        detail: `The service is at capacity; ${later(retryAfterSeconds(fallback))}.`,
        fields: { pool: error.pool, waiting: error.waiting, timeoutMillis: Duration.toMillis(error.timeout) }
      }
    case "PoolExhausted":
      return {
        status: 503,
        retryAfter: fallback,
        detail: `The service is at capacity; ${later(retryAfterSeconds(fallback))}.`,
        fields: { pool: error.pool, maxWaiting: error.maxWaiting }
      }
    case "BulkheadFull":
      return {
        status: 503,
        retryAfter: fallback,
        detail: `The service is at capacity; ${later(retryAfterSeconds(fallback))}.`,
        fields: {
          bulkhead: error.bulkhead,
          maxConcurrent: error.maxConcurrent,
          ...(error.waited === undefined ? {} : { waitedMillis: Duration.toMillis(error.waited) })
        }
      }
    case "StoreUnavailable":
      return {
        status: 503,
        retryAfter: fallback,
        detail: `The service cannot check this request right now; ${later(retryAfterSeconds(fallback))}.`,
        fields: { store: error.store, protection: error.protection, reason: error.reason }
      }
    case "OperationTimeout":
      return {
        status: 504,
        retryAfter: undefined,
        detail: "The request did not complete in time.",
        fields: { operation: error.operation, timeoutMillis: Duration.toMillis(error.timeout) }
      }
    case "InvalidConfig":
      return { status: 500, retryAfter: undefined, detail: "An internal error occurred.", fields: { path: error.path } }
    case "ProtectionNotFound":
      return {
        status: 500,
        retryAfter: undefined,
        detail: "An internal error occurred.",
        fields: { kind: error.kind, protection: error.protection }
      }
  }
}

export const describe = (error: Describable, options?: DescribeOptions): Description => {
  const fallback = options?.defaultRetryAfter === undefined ? undefined : Duration.fromInputUnsafe(options.defaultRetryAfter)
  const mapping = mappingOf(error, fallback)
  const seconds = retryAfterSeconds(mapping.retryAfter)
  const details = options?.details === true
  const body: Problem = {
    type: options?.problemType === undefined ? "about:blank" : options.problemType(error.code),
    title: titles[mapping.status]!,
    status: mapping.status,
    code: error.code,
    detail: details ? error.message : mapping.detail,
    ...(details ? mapping.fields : {})
  }
  const headers: Record<string, string> = { "content-type": problemContentType }
  if (seconds !== undefined) headers["retry-after"] = String(seconds)
  return { status: mapping.status, headers, body }
}
