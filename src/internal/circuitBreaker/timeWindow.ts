/**
 * The time-based sliding window of the rate rules (resilience4j TIME_BASED, cockatiel's
 * `SamplingBreaker`, opossum's rolling window): the window's duration split into `buckets`
 * equal buckets, each counting the calls, failures and slow calls that ended in it. Time is an
 * argument (milliseconds), never read here. Functions update the window in place; nothing
 * allocates after `make`.
 *
 * At `now` the window holds the bucket `now` falls in and the `buckets - 1` before it, so it
 * looks back between `duration - duration / buckets` and `duration`: a quiet service forgets
 * old failures as their buckets fall out, which a count-based window never does.
 */

export interface TimeWindow {
  readonly bucketMs: number
  readonly calls: Uint32Array
  readonly failures: Uint32Array
  readonly slow: Uint32Array
  /** the absolute index (floor(time / bucketMs)) of the newest bucket; -Infinity: none yet */
  newest: number
  totalCalls: number
  totalFailures: number
  totalSlow: number
}

export const make = (durationMs: number, buckets: number): TimeWindow => ({
  bucketMs: durationMs / buckets,
  calls: new Uint32Array(buckets),
  failures: new Uint32Array(buckets),
  slow: new Uint32Array(buckets),
  newest: Number.NEGATIVE_INFINITY,
  totalCalls: 0,
  totalFailures: 0,
  totalSlow: 0
})

/** Moves the window to `now`: the buckets that fell out of it are emptied. */
export const advance = (window: TimeWindow, now: number): void => {
  const index = Math.floor(now / window.bucketMs)
  if (index <= window.newest) return
  const size = window.calls.length
  if (index - window.newest >= size) {
    clear(window)
  } else {
    for (let i = window.newest + 1; i <= index; i++) {
      const slot = i % size
      window.totalCalls -= window.calls[slot]!
      window.totalFailures -= window.failures[slot]!
      window.totalSlow -= window.slow[slot]!
      window.calls[slot] = 0
      window.failures[slot] = 0
      window.slow[slot] = 0
    }
  }
  window.newest = index
}

/** Records one call that ended at `now` (a clock that went back records into the newest bucket). */
export const add = (window: TimeWindow, now: number, failed: boolean, slow: boolean): void => {
  advance(window, now)
  const slot = window.newest % window.calls.length
  window.calls[slot]!++
  window.totalCalls++
  if (failed) {
    window.failures[slot]!++
    window.totalFailures++
  }
  if (slow) {
    window.slow[slot]!++
    window.totalSlow++
  }
}

/** Empties the window (a state change starts the rules afresh). */
export const clear = (window: TimeWindow): void => {
  window.calls.fill(0)
  window.failures.fill(0)
  window.slow.fill(0)
  window.totalCalls = 0
  window.totalFailures = 0
  window.totalSlow = 0
}
