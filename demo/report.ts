/** Formatting of the demo's per-second lines and summary: color and a table on a terminal, plain lines when piped. */
export const tty = process.stdout.isTTY === true && process.env.NO_COLOR === undefined

const paint = (code: number) => (text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text)
export const color = {
  green: paint(32),
  red: paint(31),
  yellow: paint(33),
  cyan: paint(36),
  dim: paint(2),
  bold: paint(1)
}

export interface Second {
  readonly t: number
  readonly requests: number
  readonly admitted: number
  readonly succeeded: number
  readonly failed: number
  readonly rateLimited: number
  readonly breakerRejected: number
  readonly breakerState: string
  readonly poolInUse: number
  readonly poolWaiting: number
  readonly poolTimeouts: number
  readonly timeouts: number
  readonly shed: number
  readonly p50: number
  readonly p99: number
  readonly memory: string
  readonly eventLoopMs: number
  readonly health: string
}

const stateColor = (state: string) => (state === "Closed" ? color.green(state) : state === "Open" ? color.red(state) : color.yellow(state))
const healthColor = (status: string) =>
  status === "healthy" ? color.green(status) : status === "unhealthy" ? color.red(status) : color.yellow(status)

const pad = (value: string | number, width: number) => String(value).padStart(width)

export const header = (): string =>
  tty
    ? color.bold(
        "   t  reqs admit   ok  fail  limited  breaker(state)   pool use/wait/tmo  timeout  shed   p50ms   p99ms  memory  loop  health"
      )
    : "per-second lines: t, requests, admitted (past the limiter and guard), ok, failed, rate-limited, breaker rejected (state), pool in use/waiting/timeouts, timeouts, shed, p50/p99 ms, memory, event-loop delay, health"

export const line = (s: Second): string => {
  if (!tty) {
    return (
      `t=${s.t}s requests=${s.requests} admitted=${s.admitted} ok=${s.succeeded} failed=${s.failed} rate_limited=${s.rateLimited} ` +
      `breaker_rejected=${s.breakerRejected} breaker=${s.breakerState} pool_in_use=${s.poolInUse} ` +
      `pool_waiting=${s.poolWaiting} pool_timeouts=${s.poolTimeouts} timeouts=${s.timeouts} shed=${s.shed} ` +
      `p50=${s.p50.toFixed(1)}ms p99=${s.p99.toFixed(1)}ms memory=${s.memory} event_loop=${s.eventLoopMs.toFixed(1)}ms health=${s.health}`
    )
  }
  return [
    pad(s.t, 4),
    pad(s.requests, 5),
    pad(s.admitted, 5),
    color.green(pad(s.succeeded, 4)),
    (s.failed > 0 ? color.red : color.dim)(pad(s.failed, 5)),
    (s.rateLimited > 0 ? color.yellow : color.dim)(pad(s.rateLimited, 8)),
    (s.breakerRejected > 0 ? color.red : color.dim)(pad(s.breakerRejected, 6)),
    " " + stateColor(s.breakerState.padEnd(8)),
    pad(`${s.poolInUse}/${s.poolWaiting}/${s.poolTimeouts}`, 11),
    pad(s.timeouts, 10),
    pad(s.shed, 5),
    pad(s.p50.toFixed(1), 7),
    pad(s.p99.toFixed(1), 7),
    pad(s.memory, 7),
    pad(s.eventLoopMs.toFixed(0), 5),
    "  " + healthColor(s.health)
  ].join(" ")
}
