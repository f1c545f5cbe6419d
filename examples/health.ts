/**
 * Health checks behind an HTTP endpoint, as a Kubernetes probe would see them.
 *
 * A service with a critical database, a cache checked in the background, a search backend that
 * throws and a partner API that hangs. An operators' endpoint on loopback, with details, answers
 * `/health` (everything), `/health/ready` (critical checks only) and `/health/live` (the process
 * is up), within the hung check's timeout. The application's own port mounts the same routes
 * next to its API, without details: there the body is the status alone.
 *
 * Run: npx tsx examples/health.ts
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Duration, Effect, Layer } from "effect"
import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
import { HealthAggregator, HealthHttp } from "effect-foundation"
import { createServer } from "node:http"

const get = (url: string) =>
  Effect.promise(async () => {
    const started = performance.now()
    const response = await fetch(url)
    const body = (await response.json()) as { status: string; checks?: Record<string, Array<{ status: string; output?: string }>> }
    return { code: response.status, body, ms: Math.round(performance.now() - started) }
  })

const program = Effect.gen(function* () {
  const health = yield* HealthAggregator.HealthAggregator
  const http = yield* HealthHttp.HealthHttp

  yield* health.register("db", Effect.succeed("healthy"), { critical: true, timeout: "300 millis" })
  yield* health.register("cache", Effect.succeed({ status: "degraded", details: { hitRate: 0.41 }, output: "hit rate below 50%" }), {
    interval: "5 seconds"
  })
  yield* health.register(
    "search",
    Effect.sync((): HealthAggregator.CheckOutcome => {
      throw new Error("connect ECONNREFUSED 10.0.4.2:9200")
    })
  )
  yield* health.register("partner-api", Effect.never, { timeout: "200 millis" })

  console.log(`health endpoint: ${http.url}`)
  for (const url of [http.url, http.readyUrl, http.liveUrl]) {
    const { body, code, ms } = yield* get(url)
    console.log(`\nGET ${new URL(url).pathname} -> ${code} ${body.status} in ${ms} ms`)
    for (const [name, [check]] of Object.entries(body.checks ?? {})) {
      console.log(`  ${name.padEnd(12)} ${check!.status}${check!.output ? `  (${check!.output})` : ""}`)
    }
  }

  const app = yield* HttpServer.addressFormattedWith(Effect.succeed)
  for (const path of ["/users", "/health"]) {
    const response = yield* Effect.promise(() => fetch(`${app}${path}`))
    console.log(`\napplication port: GET ${path} -> ${response.status} ${yield* Effect.promise(() => response.text())}`)
  }

  const report = yield* health.systemHealth
  console.log(
    `\nsystem: ${report.status}, score ${report.score.toFixed(2)} (served from cache in ${Duration.toMillis(report.duration).toFixed(2)} ms)`
  )
}).pipe(Effect.scoped)

// details: true shows component names and error messages; keep it off on a port the public can reach
const Operators = HealthHttp.layer({ port: 0, host: "127.0.0.1", details: true })
// the application's port: its API and the health routes on one HttpRouter
const Application = HttpRouter.serve(Layer.mergeAll(HttpRouter.add("GET", "/users", HttpServerResponse.text("[]")), HealthHttp.routes()), {
  disableListenLog: true,
  disableLogger: true
}).pipe(Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })))
// one aggregator beneath both, so both report the same checks
const Health = Layer.merge(Operators, Application).pipe(Layer.provideMerge(HealthAggregator.layer()))

await Effect.runPromise(program.pipe(Effect.provide(Health)))
