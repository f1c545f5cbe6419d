/**
 * Where the MemoryManager's readings come from. The Node source reads `process.memoryUsage()`,
 * `v8.getHeapStatistics()` (for `heap_size_limit`), the cgroup memory limit (once, at build
 * time: it does not change under a running process), the event loop's delay (`DelayMeter`)
 * and its utilization. Tests provide scripted readings instead.
 */
import { readFileSync } from "node:fs"
import { createHistogram, performance } from "node:perf_hooks"
import type { EventLoopUtilization } from "node:perf_hooks"
import { getHeapStatistics } from "node:v8"
import { Context, Duration, Effect, Layer } from "effect"
import type { EventLoopReading, MemoryReading } from "./pressure.js"

/**
 * The source of memory readings.
 *
 * @since 0.1.0
 * @category services
 */
export class MemorySource extends Context.Service<
  MemorySource,
  {
    /**
     * one reading; event-loop figures cover the interval since the previous reading, and each
     * delay is in exactly one reading (the event-loop stage relies on it: a stall is judged once)
     */
    readonly read: Effect.Effect<MemoryReading>
  }
>()("effect-foundation/MemorySource") {}

/** cgroup v2 writes "max" for no limit; v1 writes a number near 2^63 */
export const parseCgroupLimit = (text: string): number | undefined => {
  const trimmed = text.trim()
  if (trimmed === "" || trimmed === "max") return undefined
  const value = Number(trimmed)
  return Number.isFinite(value) && value > 0 && value < 2 ** 60 ? value : undefined
}

const cgroupFiles = [
  "/sys/fs/cgroup/memory.max", // v2, the container's own cgroup as its root
  "/sys/fs/cgroup/memory/memory.limit_in_bytes" // v1
]

/** The cgroup memory limit, or undefined when there is none (or no cgroup filesystem). */
export const readCgroupLimit = (files: ReadonlyArray<string> = cgroupFiles): number | undefined => {
  for (const file of files) {
    try {
      return parseCgroupLimit(readFileSync(file, "utf8"))
    } catch {
      // not this cgroup version, or no cgroup filesystem (macOS, Windows)
    }
  }
  return undefined
}

/**
 * The event loop's delay: how late a timer that should fire every `resolutionMillis` fires.
 * Times are `performance.now()` milliseconds, passed in so tests script them.
 *
 * **Details**
 *
 * Each delay lands in exactly one reading. Node's `monitorEventLoopDelay` cannot promise that
 * across readings: its `reset()` also forgets when its timer last fired, so the first delay
 * after each reading is never measured. A stall that began within one resolution of a reading,
 * or that ended in the same timers phase as the check's own timer when the check ran first (it
 * reset the histogram before the late sample was recorded), vanished: one run shed for a
 * whole interval, another not at all. Here the meter remembers the last firing across
 * readings, and a reading that finds the timer late (a stall just ended, the timer not yet
 * run) counts that lateness itself and restarts the count from now, so the timer's next
 * firing does not count it again.
 */
export interface DelayMeter {
  /** the sampling timer fired at `now` */
  readonly tick: (now: number) => void
  /** the figures since the previous read, at `now`; `undefined` when nothing was measured */
  readonly read: (now: number, utilization: number) => EventLoopReading | undefined
}

export const makeDelayMeter = (resolutionMillis: number, start: number): DelayMeter => {
  // nanoseconds (the histogram takes integers >= 1); the longest delay is kept exactly
  const histogram = createHistogram()
  let last = start
  let longest = 0
  const record = (delay: number) => {
    histogram.record(Math.max(1, Math.round(delay * 1e6)))
    if (delay > longest) longest = delay
  }
  return {
    tick: (now) => {
      record(Math.max(0, now - last - resolutionMillis))
      last = now
    },
    read: (now, utilization) => {
      const late = now - last - resolutionMillis
      if (late > 0) {
        record(late)
        last = now
      }
      if (histogram.count === 0) return undefined
      const reading: EventLoopReading = {
        delayP99: Duration.millis(histogram.percentile(99) / 1e6),
        delayMean: Duration.millis(histogram.mean / 1e6),
        delayMax: Duration.millis(longest),
        utilization
      }
      histogram.reset()
      longest = 0
      return reading
    }
  }
}

/** the sampling timer's period: the finest delay the meter sees */
const resolutionMillis = 10

/**
 * The Node source. Its event-loop timer runs for the lifetime of the layer's scope, unref'd
 * (it never keeps the process alive).
 */
export const layerNode: Layer.Layer<MemorySource> = Layer.effect(
  MemorySource,
  Effect.gen(function* () {
    const cgroupLimit = readCgroupLimit()
    const meter = makeDelayMeter(resolutionMillis, performance.now())
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        const timer = setInterval(() => meter.tick(performance.now()), resolutionMillis)
        timer.unref()
        return timer
      }),
      (timer) => Effect.sync(() => clearInterval(timer))
    )
    let utilization: EventLoopUtilization = performance.eventLoopUtilization()
    const eventLoop = (): EventLoopReading | undefined => {
      const now = performance.eventLoopUtilization()
      const interval = performance.eventLoopUtilization(now, utilization)
      utilization = now
      return meter.read(performance.now(), interval.utilization)
    }
    return MemorySource.of({
      read: Effect.sync(() => {
        const usage = process.memoryUsage()
        return {
          heapUsed: usage.heapUsed,
          heapTotal: usage.heapTotal,
          heapLimit: getHeapStatistics().heap_size_limit,
          rss: usage.rss,
          external: usage.external,
          cgroupLimit,
          eventLoop: eventLoop()
        }
      })
    })
  })
)
