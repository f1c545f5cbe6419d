/**
 * The rate-limit middleware's options, stated once: the data part is a Schema (decoded
 * strictly, every violation with its path, as everywhere else in the library); the code part
 * (`key`, a `cost` function, `problemType`) is checked by type.
 */
import { Duration, Schema } from "effect"
import { InvalidConfig } from "../../Errors.js"
import type { HttpServerRequest } from "effect/http"
import type { KeyStrategy } from "../../RateLimitHttp.js"
import type { ClientIpOptions } from "./keys.js"
import type { DescribeOptions } from "./problem.js"
import { decodeSync } from "../runtime/options.js"
import { DurationInput, NonNegativeInt, PositiveInt } from "../runtime/schemas.js"
import { noTrust, parseNetwork } from "./clientAddress.js"
import type { Trust } from "./clientAddress.js"
import { isPolicyName, quoted } from "./fields.js"

/** Documented on `RateLimitHttp.RateLimitOptions`. */
export interface RateLimitOptions<E = never, R = never> extends DescribeOptions {
  readonly rule: string
  readonly key?: KeyStrategy<E, R> | ((request: HttpServerRequest.HttpServerRequest) => string) | undefined
  readonly cost?: number | ((request: HttpServerRequest.HttpServerRequest) => number) | undefined
  readonly policy?: string | undefined
  readonly limit?: number | undefined
  readonly window?: Duration.Input | undefined
}

const PolicyName = Schema.String.pipe(
  Schema.check(
    Schema.makeFilter((name: string) => (isPolicyName(name) ? undefined : "must be a non-empty string of printable ASCII characters"))
  )
)

const Data = Schema.Struct({
  rule: Schema.NonEmptyString,
  cost: Schema.optional(PositiveInt),
  policy: Schema.optional(PolicyName),
  limit: Schema.optional(PositiveInt),
  window: Schema.optional(DurationInput),
  details: Schema.optional(Schema.Boolean),
  defaultRetryAfter: Schema.optional(DurationInput)
})

/** What a request needs, computed once per middleware. */
export interface Compiled {
  readonly rule: string
  /** The policy name as an sf-string, quoted once. */
  readonly policy: string
  readonly limit: number | undefined
  readonly windowSeconds: number | undefined
  readonly key: ((request: any) => unknown) | undefined
  readonly cost: number | ((request: any) => number)
  readonly describe: {
    readonly details: boolean
    readonly problemType: ((code: string) => string) | undefined
    readonly defaultRetryAfter: Duration.Duration | undefined
  }
}

const codeProblem = (path: string, value: unknown, what: string): InvalidConfig | undefined =>
  value === undefined || typeof value === "function"
    ? undefined
    : new InvalidConfig({ path, message: `${path}: must be ${what}, got ${typeof value}` })

export const compile = (options: RateLimitOptions<any, any>): Compiled | InvalidConfig => {
  if (typeof options !== "object" || options === null) {
    return new InvalidConfig({ path: "", message: "(root): the options must be an object with at least a rule" })
  }
  const { key, problemType, cost, ...rest } = options
  const problem =
    codeProblem("key", key, "a function of the request (a key strategy)") ??
    codeProblem("problemType", problemType, "a function of the error code returning a URI")
  if (problem !== undefined) return problem
  const data = decodeSync(Data, typeof cost === "function" ? rest : { ...rest, cost })
  if (data instanceof InvalidConfig) return data
  const window = data.window === undefined ? undefined : Math.ceil(Duration.toMillis(data.window) / 1000)
  return {
    rule: data.rule,
    policy: quoted(data.policy ?? data.rule),
    limit: data.limit,
    windowSeconds: window,
    key,
    cost: typeof cost === "function" ? cost : (data.cost ?? 1),
    describe: {
      details: data.details ?? false,
      problemType,
      defaultRetryAfter: data.defaultRetryAfter
    }
  }
}

const TrustData = Schema.Struct({
  trustProxy: Schema.optional(Schema.Union([NonNegativeInt, Schema.Array(Schema.String)]))
})

/** The trust setting of `clientIp`, or `InvalidConfig` naming the first bad entry. */
export const compileTrust = (options: ClientIpOptions | undefined): Trust | InvalidConfig => {
  const data = decodeSync(TrustData, options ?? {})
  if (data instanceof InvalidConfig) return data
  const trust = data.trustProxy
  if (trust === undefined || trust === 0) return noTrust
  if (typeof trust === "number") return { _tag: "Hops", hops: trust }
  const networks = []
  for (let index = 0; index < trust.length; index++) {
    const network = parseNetwork(trust[index]!)
    if (network === undefined) {
      return new InvalidConfig({
        path: `trustProxy.${index}`,
        message: `trustProxy.${index}: must be an IP address or a CIDR range such as "10.0.0.0/8", got ${JSON.stringify(trust[index])}`
      })
    }
    networks.push(network)
  }
  return networks.length === 0 ? noTrust : { _tag: "Networks", networks }
}
