/** Memory readings for the manager's tests: a heap `ratio` full of a 1000-byte limit, no rss, no cgroup. */
import type { MemoryReading } from "../../src/internal/memory/pressure.js"

export const reading = (ratio: number, extra: Partial<MemoryReading> = {}): MemoryReading => ({
  heapUsed: ratio * 1000,
  heapTotal: 1000,
  heapLimit: 1000,
  rss: 0,
  external: 0,
  cgroupLimit: undefined,
  eventLoop: undefined,
  ...extra
})
