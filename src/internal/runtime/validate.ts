/**
 * What every option check shares beyond the Schemas: how a list of violations becomes one
 * message, and the longest wait a timer can hold.
 */

/** How many violations one `InvalidConfig` message spells out; the rest are counted. */
export const MAX_LISTED_VIOLATIONS = 20

/**
 * Joins violation lines into one message, listing at most `MAX_LISTED_VIOLATIONS` and saying
 * how many more there are: 10,000 bad entries must not make a 780 KB log line.
 */
export const joinViolations = (lines: ReadonlyArray<string>): string => {
  if (lines.length <= MAX_LISTED_VIOLATIONS) return lines.join("; ")
  const more = lines.length - MAX_LISTED_VIOLATIONS
  return `${lines.slice(0, MAX_LISTED_VIOLATIONS).join("; ")}; ... and ${more} more violation${more === 1 ? "" : "s"}`
}

/**
 * The longest wait a Node timer can hold: 2^31 - 1 ms (about 24.8 days). Node fires a timer
 * armed with more after 1 ms, so a `timeout: "30 days"` would time out every call at once.
 * Options that arm a timer are rejected above it rather than clamped: a wait that long is a
 * mistake in a resilience policy, and a clamp would silently change what was asked for.
 */
export const MAX_TIMER_MILLIS = 2_147_483_647

/** Why `millis` cannot arm a timer, or undefined when it can. */
export const timerLimitProblem = (millis: number): string | undefined =>
  millis > MAX_TIMER_MILLIS
    ? `must be at most ${MAX_TIMER_MILLIS} milliseconds (about 24.8 days, the longest a timer can wait), got ${millis}ms`
    : undefined
