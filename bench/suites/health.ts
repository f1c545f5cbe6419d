/**
 * GET /health through real HTTP: p99 latency in milliseconds with 20 registered checks, half
 * background (interval 1s), half on demand (an asynchronous dependency call each, cached
 * 100ms, so on-demand checks re-run many times during the measurement). Requests go one after
 * another from `fetch` (keep-alive) to a server on a free loopback port, like a probe would.
 *
 * The reference is a bare `node:http` server answering a constant health+json body: the floor
 * of an HTTP round trip on this machine, not a peer health library.
 */
import { Effect, Layer } from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as HealthAggregator from "../../src/HealthAggregator.js"
import * as HealthHttp from "../../src/HealthHttp.js"
import type { Suite } from "../harness.js"

const requests = (quick: boolean) => (quick ? 1_000 : 5_000)

/** Sequential GETs after a warm-up; returns the 99th percentile in milliseconds. */
const p99Of = async (url: string, count: number): Promise<number> => {
  for (let i = 0; i < 300; i++) await (await fetch(url)).arrayBuffer()
  const latencies = new Float64Array(count)
  for (let i = 0; i < count; i++) {
    const started = performance.now()
    const response = await fetch(url)
    await response.arrayBuffer()
    latencies[i] = performance.now() - started
    if (response.status !== 200) throw new Error(`unexpected status ${response.status}`)
  }
  latencies.sort()
  return latencies[Math.min(count - 1, Math.ceil(count * 0.99) - 1)]!
}

/** An asynchronous dependency call that takes no fixed time: one turn of the event loop. */
const dependencyCall = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

const ours = (quick: boolean): Promise<number> =>
  Effect.runPromise(
    Effect.gen(function*() {
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
        HealthHttp.layer({ port: 0, host: "127.0.0.1" }).pipe(
          Layer.provideMerge(HealthAggregator.layer({ cacheTtl: "100 millis" }))
        )
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
