/**
 * What `MemoryManager.status` reports: the manager's state as its readers see it.
 */
import { Duration } from "effect"
import type { Stats } from "../../MemoryManager.js"
import type * as Manager from "./manager.js"

export const statusOf = (state: Manager.State): Stats => ({
  level: state.level,
  ratio: state.ratios.ratio,
  heapUsedRatio: state.ratios.heapUsedRatio,
  rssRatio: state.ratios.rssRatio,
  reading: state.reading!,
  eventLoop: state.reading?.eventLoop,
  eventLoopDelay: state.loop.delay === undefined ? undefined : Duration.millis(state.loop.delay),
  shedding: state.shedding !== undefined,
  sheddingReason: state.shedding,
  checkedAt: state.checkedAt,
  strategies: state.strategies.map(({ name, priority }) => ({ name, priority })),
  lastCleanup: state.lastCleanup
})
