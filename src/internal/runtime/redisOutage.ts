/**
 * What both Redis stores (rate limiter, circuit breaker) know about their Redis: whether it
 * answers, since when it does not, and how many of their commands are still unanswered.
 *
 * - **One log per outage.** The first failure logs a warning (with why), the first answer
 *   after it logs that Redis is back; the failures in between log nothing.
 * - **The skip window.** After a failure nothing is sent for `recheckMillis`, counted from the
 *   moment the failure is known (the error or the timeout; counted from the call, a hung
 *   Redis would eat the window with the timeout). Then one command rechecks: it is pending
 *   while it runs, so the others keep skipping (see `blocked`). A window of 0 never skips.
 * - **Pending commands.** `count` is every command sent and not settled yet, timed-out ones
 *   included while the client still waits for their reply: the stores bound it
 *   (`maxPending`), and while Redis is known down and any is unanswered, nothing new is
 *   written. Redis answers a connection in order, so a newer command would only wait behind
 *   the old one, and the socket must go silent for the client's `socketTimeout` to notice a
 *   dead connection.
 *
 * Plain mutable fields, no `Ref`: every method is synchronous and the decision paths read
 * them on every call.
 */
import { Effect } from "effect"

export interface OutageMessages {
  /** the warning logged when an outage starts */
  readonly down: (reason: string) => string
  /** the line logged when Redis answers again */
  readonly up: string
}

export class RedisOutage {
  /** commands sent and not settled yet (the scripts' runners count here) */
  count = 0
  /** why the last command failed; `undefined` while Redis answers */
  reason: string | undefined = undefined
  /** skip Redis until then (ms, Clock time of the failure + recheckMillis) */
  downUntil = 0
  private readonly recovered: Effect.Effect<void>
  private readonly overloaded: string

  constructor(
    readonly recheckMillis: number,
    readonly maxPending: number,
    private readonly messages: OutageMessages
  ) {
    this.recovered = Effect.logInfo(messages.up)
    this.overloaded = `${maxPending} commands already wait for Redis (maxPending)`
  }

  /** `maxPending` commands are unanswered: a new one must not be sent. */
  get saturated(): string | undefined {
    return this.count >= this.maxPending ? this.overloaded : undefined
  }

  /**
   * Why nothing may be sent now, or `undefined` when a command may go: within the skip
   * window, while Redis is down and a command is still unanswered, or at `maxPending`.
   */
  blocked(now: number): string | undefined {
    if (this.reason !== undefined) return now < this.downUntil || this.count > 0 ? this.reason : undefined
    return this.count >= this.maxPending ? this.overloaded : undefined
  }

  /** Redis answered. The log line when that ends an outage, `undefined` otherwise. */
  up(): Effect.Effect<void> | undefined {
    if (this.reason === undefined) return undefined
    this.reason = undefined
    this.downUntil = 0
    return this.recovered
  }

  /**
   * Redis failed at `now`: skip it for the window. The warning when that starts an outage,
   * `undefined` otherwise.
   */
  down(error: unknown, now: number): Effect.Effect<void> | undefined {
    const reason = describeCause(error)
    const first = this.reason === undefined
    this.reason = reason
    this.downUntil = now + this.recheckMillis
    return first ? Effect.logWarning(this.messages.down(reason)) : undefined
  }
}

/** The message of a `RedisError`'s cause (node-redis's error), or of anything else. */
export const describeCause = (error: unknown): string => {
  const cause = (error as { cause?: unknown })?.cause ?? error
  return cause instanceof Error ? cause.message : String(cause)
}
