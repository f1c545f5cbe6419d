/**
 * MemoryManager, three small scenes (about 2 seconds):
 *
 * 1. This process, read by the Node source: pressure level, heap, event-loop delay.
 * 2. A leaking cache, simulated by a scripted MemorySource: pressure rises, the cleanup
 *    strategies run in priority order, and at critical the guard sheds requests.
 * 3. The event-loop stage: a 300 ms synchronous stall makes the guard shed load for exactly
 *    one check interval, from the check after it; the error says it is the event loop.
 *
 * Run: npx tsx examples/memory-manager.ts
 */
import { Duration, Effect, Fiber, Layer, Stream } from "effect"
import { MemoryManager } from "effect-foundation"

const percent = (ratio: number) => `${(ratio * 100).toFixed(1)}%`
const megabytes = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`

// 1. The real process
const realProcess = Effect.gen(function* () {
  const memory = yield* MemoryManager.MemoryManager
  yield* Effect.sleep("150 millis") // let a few checks measure the event loop
  const stats = yield* memory.status
  console.log(
    `this process: level ${stats.level}, heap ${megabytes(stats.reading.heapUsed)} of ${megabytes(stats.reading.heapLimit)} ` +
      `(${percent(stats.heapUsedRatio)}), cgroup limit ${stats.reading.cgroupLimit === undefined ? "none" : megabytes(stats.reading.cgroupLimit)}, ` +
      `event-loop p99 ${stats.eventLoop === undefined ? "-" : Duration.toMillis(stats.eventLoop.delayP99).toFixed(1)} ms, utilization ${percent(stats.eventLoop?.utilization ?? 0)}`
  )
}).pipe(Effect.provide(MemoryManager.layer({ checkInterval: "50 millis" })))

// 2. A leaking cache: the scripted source says the heap is what the cache holds, 1 MB an entry
const cache = new Map<number, string>()
const heapLimit = 100 * 2 ** 20
const LeakySource = Layer.succeed(
  MemoryManager.MemorySource,
  MemoryManager.MemorySource.of({
    read: Effect.sync(() => ({
      heapUsed: cache.size * 2 ** 20,
      heapTotal: heapLimit,
      heapLimit,
      rss: cache.size * 2 ** 20,
      external: 0,
      cgroupLimit: undefined,
      eventLoop: undefined
    }))
  })
)

const leakyCache = Effect.gen(function* () {
  const memory = yield* MemoryManager.MemoryManager
  const changes = yield* memory.changes.pipe(
    Stream.runForEach((change) => Effect.sync(() => console.log(`  pressure ${change.from} -> ${change.to} at ${percent(change.ratio)}`))),
    Effect.forkChild({ startImmediately: true })
  )
  const evict = (name: string, count: (size: number) => number) =>
    Effect.sync(() => {
      const drop = count(cache.size)
      for (const key of [...cache.keys()].slice(0, drop)) cache.delete(key)
      console.log(`  cleanup "${name}" dropped ${drop} entries, ${cache.size} left`)
    })
  // cheapest first: expired entries; then a flush that fails (reported, skipped); then half the cache
  yield* memory.registerCleanup(
    "expired-entries",
    evict("expired-entries", () => 4),
    1
  )
  yield* memory.registerCleanup("flush-to-disk", Effect.fail("disk full"), 2)
  // a slow one (a compaction, say): while it runs at critical, the guard sheds new requests
  yield* memory.registerCleanup(
    "half-the-cache",
    Effect.andThen(
      Effect.sleep("40 millis"),
      evict("half-the-cache", (size) => Math.ceil(size / 2))
    ),
    3
  )

  let served = 0
  let shed = 0
  let key = 0
  const handle = (entries: number) =>
    Effect.sync(() => {
      for (let i = 0; i < entries; i++) cache.set(key++, "x")
      served++
    }).pipe(
      MemoryManager.guard,
      Effect.catchTag("MemoryPressure", () => Effect.sync(() => shed++))
    )
  for (let request = 0; request < 40; request++) {
    // request 30 is a bulk import: 60 entries at once push the pressure to critical
    yield* handle(request === 30 ? 60 : 3)
    yield* Effect.sleep("10 millis")
  }
  const stats = yield* memory.status
  console.log(
    `  served ${served} requests, shed ${shed}; now ${stats.level} at ${percent(stats.ratio)}; last cleanup: ${
      stats.lastCleanup?.ran.map((r) => `${r.name} ${r.outcome}`).join(", ") ?? "none"
    }`
  )
  yield* Fiber.interrupt(changes)
}).pipe(Effect.scoped, Effect.provide(MemoryManager.layerWithSource({ checkInterval: "20 millis" }).pipe(Layer.provide(LeakySource))))

// 3. The event-loop stage
const stall = Effect.gen(function* () {
  const memory = yield* MemoryManager.MemoryManager
  yield* Effect.sleep("120 millis")
  const started = Date.now()
  while (Date.now() - started < 300) {
    // a synchronous stall: a JSON.parse of a huge body, a regex gone wrong, a sync crypto call
  }
  // calls arriving in the next 150 ms: the check right after the stall sees it, and the guard
  // sheds until the next check (50 ms later), which sees a responsive loop
  let shed = 0
  let message: string | undefined
  for (let i = 0; i < 15; i++) {
    const result = yield* Effect.result(memory.guard(Effect.void))
    if (result._tag === "Failure") {
      shed++
      message = result.failure.message // trigger "event_loop", retryAfter = checkInterval
    }
    yield* Effect.sleep("10 millis")
  }
  console.log(`  after the stall: ${shed} of 15 calls shed${message === undefined ? "" : ` (${message})`}`)
  const after = yield* Effect.result(memory.guard(Effect.succeed("served")))
  console.log(`  once the loop is responsive: ${after._tag === "Success" ? after.success : `shed (${after.failure.message})`}`)
}).pipe(Effect.provide(MemoryManager.layer({ checkInterval: "50 millis", eventLoop: { maxDelay: "100 millis" } })))

const program = Effect.gen(function* () {
  console.log("1. this process")
  yield* realProcess
  console.log("2. a leaking cache (scripted readings)")
  yield* leakyCache
  console.log("3. an event-loop stall, with eventLoop.maxDelay = 100 ms")
  yield* stall
})

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exit(1)
})
