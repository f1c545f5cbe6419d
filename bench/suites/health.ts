/**
 * GET /health through real HTTP: p99 latency in milliseconds with 20 registered checks, half
 * background (interval 1s), half on demand (an asynchronous dependency call each, cached
 * 100ms, so on-demand checks re-run many times during the measurement). Requests go one after
 * another from `fetch` (keep-alive), in a worker thread, to a server on a free loopback port,
 * like a probe would.
 *
 * The reference is a bare `node:http` server answering a constant health+json body: the floor
 * of an HTTP round trip on this machine, not a peer health library.
 */
import { Effect, Layer } from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { Worker } from "node:worker_threads"
import * as HealthAggregator from "../../src/HealthAggregator.js"
import * as HealthHttp from "../../src/HealthHttp.js"
import type { Suite } from "../harness.js"

const requests = (quick: boolean) => (quick ? 1_000 : 5_000)

/**
 * The probe client, in a worker thread: like the kubelet, it does not share the server's event
 * loop, so the figure is the server's latency plus the loopback round trip, not the client's
 * own JavaScript queued behind the server's (in one thread, `fetch` costs more than the server).
 */
const clientSource = `
const { parentPort, workerData } = require("node:worker_threads")
const { url, count } = workerData
;(async () => {
  for (let i = 0; i < 300; i++) await (await fetch(url)).arrayBuffer()
  const latencies = new Float64Array(count)
  for (let i = 0; i < count; i++) {
    const started = performance.now()
    const response = await fetch(url)
    await response.arrayBuffer()
    latencies[i] = performance.now() - started
    if (response.status !== 200) throw new Error("unexpected status " + response.status)
  }
  parentPort.postMessage(latencies)
})().catch((error) => parentPort.postMessage(String(error)))
`

/** Sequential GETs after a warm-up, from a worker thread; the 99th percentile in milliseconds. */
const p99Of = (url: string, count: number): Promise<number> =>
  new Promise((resolve, reject) => {
    const worker = new Worker(clientSource, { eval: true, workerData: { url, count } })
    worker.once("error", reject)
    worker.once("message", (message: Float64Array | string) => {
      void worker.terminate()
      if (typeof message === "string") return reject(new Error(message))
      message.sort()
      resolve(message[Math.min(count - 1, Math.ceil(count * 0.99) - 1)]!)
    })
  })

/** An asynchronous dependency call that takes no fixed time: one turn of the event loop. */
const dependencyCall = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

const ours = (quick: boolean): Promise<number> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const health = yield* HealthAggregator.HealthAggregator
      for (let i = 0; i < 10; i++) {
        yield* health.register(`background-${i}`, Effect.succeed("healthy"), { interval: "1 second", critical: i < 3 })
        yield* health.register(`on-demand-${i}`, Effect.as(dependencyCall, "healthy"), {
          timeout: "500 millis",
          critical: i < 3
        })
      }
      const http = yield* HealthHttp.HealthHttp
      return yield* Effect.promise(() => p99Of(http.url, requests(quick)))
    }).pipe(
      Effect.scoped,
      Effect.provide(
        HealthHttp.layer({ port: 0, host: "127.0.0.1" }).pipe(Layer.provideMerge(HealthAggregator.layer({ cacheTtl: "100 millis" })))
      )
    )
  )

const bareNode = async (quick: boolean): Promise<number> => {
  const body = JSON.stringify({ status: "pass", checks: {} })
  const server = createServer((_, response) => {
    response.writeHead(200, { "content-type": "application/health+json", "cache-control": "no-store" })
    response.end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  try {
    const { port } = server.address() as AddressInfo
    return await p99Of(`http://127.0.0.1:${port}/health`, requests(quick))
  } finally {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

const suite: Suite = {
  name: "health",
  scenarios: [
    {
      name: "GET /health p99, 20 checks",
      unit: "ms",
      higherIsBetter: false,
      cases: [
        { library: "effect-foundation", style: "custom", measure: ours },
        { library: "node:http constant body (floor)", style: "custom", measure: bareNode }
      ]
    }
  ],
  targets: [
    {
      scenario: "GET /health p99, 20 checks",
      description: "GET /health p99 with 20 checks through real HTTP (seeds: < 100 ms)",
      ours: "effect-foundation",
      absoluteMax: 5
    }
  ]
}

export default suite
