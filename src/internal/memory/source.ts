/**
 * Where the MemoryManager's readings come from. The Node source reads `process.memoryUsage()`,
 * `v8.getHeapStatistics()` (for `heap_size_limit`), the cgroup memory limit (once, at build
 * time: it does not change under a running process) and the event loop's delay histogram and
 * utilization. Tests provide scripted readings instead.
 */
import { readFileSync } from "node:fs"
import { monitorEventLoopDelay, performance } from "node:perf_hooks"
import type { EventLoopUtilization } from "node:perf_hooks"
import { getHeapStatistics } from "node:v8"
import { Context, Effect, Layer } from "effect"
import type { EventLoopReading, MemoryReading } from "./pressure.js"

/**
 * The source of memory readings.
 *
 * @since 0.1.0
 * @category services
 */
export class MemorySource extends Context.Service<MemorySource, {
  /** one reading; event-loop figures cover the interval since the previous reading */
  readonly read: Effect.Effect<MemoryReading>
}>()("effect-foundation/MemorySource") {}

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
 * The Node source. Its event-loop delay histogram is enabled for the lifetime of the layer's
 * scope (10 ms resolution: the delay it can see is at least that coarse).
 */
export const layerNode: Layer.Layer<MemorySource> = Layer.effect(
  MemorySource,
  Effect.gen(function*() {
    const cgroupLimit = readCgroupLimit()
    const delay = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const histogram = monitorEventLoopDelay({ resolution: 10 })
        histogram.enable()
        return histogram
      }),
      (histogram) => Effect.sync(() => histogram.disable())
    )
    let utilization: EventLoopUtilization = performance.eventLoopUtilization()
    const eventLoop = (): EventLoopReading | undefined => {
      const now = performance.eventLoopUtilization()
      const interval = performance.eventLoopUtilization(now, utilization)
      utilization = now
      if (delay.count === 0) return undefined
      // the histogram is in nanoseconds; reset so each reading covers one interval
      const reading: EventLoopReading = {
        delayP99: delay.percentile(99) / 1e6,
        delayMean: delay.mean / 1e6,
        delayMax: delay.max / 1e6,
        utilization: interval.utilization
      }
      delay.reset()
      return reading
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
