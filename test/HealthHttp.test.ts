import { describe, expect, it } from "@effect/vitest"
import type { Scope } from "effect"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
import { createServer } from "node:http"
import * as net from "node:net"
import * as Config from "../src/Config.js"
import * as HealthAggregator from "../src/HealthAggregator.js"
import * as HealthHttp from "../src/HealthHttp.js"
import { HealthComponents } from "../src/internal/runtime/healthComponents.js"

type Services = HealthAggregator.HealthAggregator | HealthComponents | HealthHttp.HealthHttp | Scope.Scope

/** A real server on a free loopback port, with its own aggregator, for the body of one test. */
const served = <A, E>(
  body: (health: HealthAggregator.HealthAggregator["Service"], http: HealthHttp.HealthHttp["Service"]) => Effect.Effect<A, E, Services>,
  options: Partial<HealthHttp.Options> = {},
  aggregator: HealthAggregator.Options = {}
) =>
  Effect.gen(function* () {
    return yield* body(yield* HealthAggregator.HealthAggregator, yield* HealthHttp.HealthHttp)
  }).pipe(
    Effect.scoped,
    Effect.provide(
      HealthHttp.layer({ port: 0, host: "127.0.0.1", ...options }).pipe(Layer.provideMerge(HealthAggregator.layer(aggregator)))
    )
  )

interface Answer {
  readonly status: number
  readonly contentType: string | null
  readonly allow: string | null
  readonly cacheControl: string | null
  readonly text: string
  readonly body: any
}

const fetchAnswer = (url: string, init?: RequestInit) =>
  Effect.promise(async (): Promise<Answer> => {
    const response = await fetch(url, init)
    const text = await response.text()
    return {
      status: response.status,
      contentType: response.headers.get("content-type"),
      allow: response.headers.get("allow"),
      cacheControl: response.headers.get("cache-control"),
      text,
      body: text.startsWith("{") ? JSON.parse(text) : undefined
    }
  })

const counted = <A>(effect: Effect.Effect<A>) => {
  const state = { calls: 0 }
  return { state, check: Effect.suspend(() => (state.calls++, effect)) }
}

describe("HealthHttp", () => {
  it.live("GET /health: healthy is pass with 200 as application/health+json", () =>
    served((health, http) =>
      Effect.gen(function* () {
        yield* health.register("db", Effect.succeed("healthy"), { critical: true })
        expect(http.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/health$/)
        const answer = yield* fetchAnswer(http.url)
        expect(answer.status).toBe(200)
        expect(answer.contentType).toBe("application/health+json")
        expect(answer.cacheControl).toBe("no-store")
        expect(answer.body).toEqual({ status: "pass" })
      })
    )
  )

  it.live("the default body says how the system is, not what it is made of: no component names", () =>
    served((health, http) =>
      Effect.gen(function* () {
        yield* health.register("postgres-primary", Effect.succeed("healthy"), { critical: true })
        yield* health.register("cache", Effect.succeed("degraded"))
        for (const url of [http.url, http.readyUrl]) {
          const answer = yield* fetchAnswer(url)
          expect(answer.text).not.toContain("postgres-primary")
          expect(answer.text).not.toContain("cache")
          expect(Object.keys(answer.body)).toEqual(["status"])
        }
        expect((yield* fetchAnswer(http.url)).body).toEqual({ status: "warn" })
      })
    )
  )

  it.live("details: true names every component, with its status and time", () =>
    served(
      (health, http) =>
        Effect.gen(function* () {
          yield* health.register("postgres-primary", Effect.succeed("healthy"), { critical: true })
          yield* health.register("cache", Effect.succeed("degraded"))
          const answer = yield* fetchAnswer(http.url)
          expect(Object.keys(answer.body.checks).sort()).toEqual(["cache", "postgres-primary"])
          expect(answer.body.checks["postgres-primary"][0]).toMatchObject({ componentType: "component", status: "pass" })
          expect(Number.isNaN(Date.parse(answer.body.checks.cache[0].time))).toBe(false)
          expect(Object.keys((yield* fetchAnswer(http.readyUrl)).body.checks)).toEqual(["postgres-primary"])
        }),
      { details: true }
    )
  )

  it.live("GET /health: degraded is warn with 200", () =>
    served(
      (health, http) =>
        Effect.gen(function* () {
          yield* health.register("cache", Effect.succeed("degraded"), { critical: true })
          const answer = yield* fetchAnswer(http.url)
          expect([answer.status, answer.body.status, answer.body.checks.cache[0].status]).toEqual([200, "warn", "warn"])
        }),
      { details: true }
    )
  )

  it.live("GET /health: a non-critical unhealthy check is fail for itself, warn with 200 for the system", () =>
    served(
      (health, http) =>
        Effect.gen(function* () {
          yield* health.register("search", Effect.succeed("unhealthy"))
          const answer = yield* fetchAnswer(http.url)
          expect([answer.status, answer.body.status, answer.body.checks.search[0].status]).toEqual([200, "warn", "fail"])
        }),
      { details: true }
    )
  )

  it.live("GET /health: a critical unhealthy check is fail with 503", () =>
    served((health, http) =>
      Effect.gen(function* () {
        yield* health.register("db", Effect.succeed("unhealthy"), { critical: true })
        yield* health.register("cache", Effect.succeed("healthy"))
        const answer = yield* fetchAnswer(http.url)
        expect([answer.status, answer.body.status]).toEqual([503, "fail"])
        expect(answer.contentType).toBe("application/health+json")
      })
    )
  )

  it.live("GET /health/live is pass while checks fail, and runs no check", () =>
    served((health, http) =>
      Effect.gen(function* () {
        const db = counted(Effect.succeed("unhealthy" as const))
        yield* health.register("db", db.check, { critical: true })
        const answer = yield* fetchAnswer(http.liveUrl)
        expect([answer.status, answer.body]).toEqual([200, { status: "pass" }])
        expect(db.state.calls).toBe(0)
      })
    )
  )

  it.live("GET /health/ready reads critical checks only", () =>
    served(
      (health, http) =>
        Effect.gen(function* () {
          const optional = counted(Effect.succeed("unhealthy" as const))
          yield* health.register("recommendations", optional.check)
          yield* health.register("db", Effect.succeed("healthy"), { critical: true })
          const ready = yield* fetchAnswer(http.readyUrl)
          expect([ready.status, ready.body.status, Object.keys(ready.body.checks)]).toEqual([200, "pass", ["db"]])
          expect(optional.state.calls).toBe(0)
          yield* health.register("queue", Effect.succeed("unhealthy"), { critical: true })
          expect((yield* fetchAnswer(http.readyUrl)).status).toBe(503)
        }),
      { details: true }
    )
  )

  it.live("a hung check is answered as fail within its timeout", () =>
    served((health, http) =>
      Effect.gen(function* () {
        yield* health.register("hung", Effect.never, { timeout: "150 millis", critical: true })
        const started = Date.now()
        const answer = yield* fetchAnswer(http.url)
        const elapsed = Date.now() - started
        expect([answer.status, answer.body.status]).toEqual([503, "fail"])
        expect(elapsed).toBeGreaterThanOrEqual(140)
        expect(elapsed).toBeLessThan(1_000)
      })
    )
  )

  it.live("a throwing check is fail; its message shows only with details", () =>
    Effect.gen(function* () {
      const throwing = Effect.sync((): HealthAggregator.CheckOutcome => {
        throw new Error("connect ECONNREFUSED 10.0.0.5:5432")
      })
      const register = (health: HealthAggregator.HealthAggregator["Service"]) => health.register("db", throwing, { critical: true })
      const hidden = yield* served((health, http) => Effect.andThen(register(health), fetchAnswer(http.url)))
      expect([hidden.status, hidden.body.status]).toEqual([503, "fail"])
      expect(hidden.text).not.toContain("10.0.0.5")
      expect(hidden.body.output).toBeUndefined()
      const shown = yield* served((health, http) => Effect.andThen(register(health), fetchAnswer(http.url)), {
        details: true
      })
      expect(shown.status).toBe(503)
      expect(shown.body.checks.db[0].output).toBe("connect ECONNREFUSED 10.0.0.5:5432")
      expect(shown.body.output).toBe("db unhealthy")
    })
  )

  it.live("the details option adds details, score, timings; off, none of them leave the process", () =>
    Effect.gen(function* () {
      const register = (health: HealthAggregator.HealthAggregator["Service"]) =>
        health.register("db", Effect.succeed({ status: "degraded" as const, details: { host: "db-7.internal" } }), {
          critical: true
        })
      const off = yield* served((health, http) => Effect.andThen(register(health), fetchAnswer(http.url)))
      expect(off.text).not.toContain("db-7.internal")
      expect(off.body).toEqual({ status: "warn" })
      const on = yield* served((health, http) => Effect.andThen(register(health), fetchAnswer(http.url)), {
        details: true
      })
      expect(on.body).toMatchObject({ status: "warn", score: 0.5, output: "db degraded", durationMillis: expect.any(Number) })
      expect(on.body.checks.db[0]).toMatchObject({
        details: { host: "db-7.internal" },
        critical: true,
        observedUnit: "ms",
        observedValue: expect.any(Number),
        ageMillis: expect.any(Number)
      })
    })
  )

  it.live("concurrent probes are served from one run and then the cache", () =>
    served(
      (health, http) =>
        Effect.gen(function* () {
          const db = counted(Effect.as(Effect.sleep("50 millis"), "healthy" as const))
          yield* health.register("db", db.check, { critical: true })
          const answers = yield* Effect.promise(() => Promise.all(Array.from({ length: 40 }, () => fetch(http.url).then((r) => r.status))))
          expect(answers.every((status) => status === 200)).toBe(true)
          expect(db.state.calls).toBe(1)
          const more = yield* Effect.promise(() =>
            Promise.all(Array.from({ length: 20 }, () => fetch(http.readyUrl).then((r) => r.status)))
          )
          expect(more.every((status) => status === 200)).toBe(true)
          expect(db.state.calls).toBe(1)
        }),
      {},
      { cacheTtl: "10 seconds" }
    )
  )

  it.live("HEAD answers with the status and headers of GET and no body", () =>
    served((health, http) =>
      Effect.gen(function* () {
        yield* health.register("db", Effect.succeed("unhealthy"), { critical: true })
        for (const url of [http.url, http.readyUrl]) {
          const head = yield* fetchAnswer(url, { method: "HEAD" })
          expect([head.status, head.contentType, head.cacheControl, head.text]).toEqual([503, "application/health+json", "no-store", ""])
        }
        const live = yield* fetchAnswer(http.liveUrl, { method: "HEAD" })
        expect([live.status, live.text]).toEqual([200, ""])
      })
    )
  )

  it.live("a client that does not finish its request within requestTimeout is disconnected", () =>
    served(
      (_, http) =>
        Effect.gen(function* () {
          const { port } = new URL(http.url)
          const started = Date.now()
          // half a request line, then silence: Node's default would keep this socket for 60 s
          const closedAfter = yield* Effect.promise(
            () =>
              new Promise<number>((resolve, reject) => {
                const socket = net.connect({ host: "127.0.0.1", port: Number(port) }, () =>
                  socket.write("GET /health HTTP/1.1\r\nHost: x\r\n")
                )
                socket.on("error", () => undefined)
                let answer = ""
                socket.on("data", (chunk) => (answer += String(chunk)))
                socket.on("close", () =>
                  answer.startsWith("HTTP/1.1 408")
                    ? resolve(Date.now() - started)
                    : reject(new Error(`closed with ${JSON.stringify(answer)}`))
                )
                setTimeout(() => {
                  socket.destroy()
                  reject(new Error("the server kept a slow client for 5 s"))
                }, 5_000).unref()
              })
          )
          expect(closedAfter).toBeGreaterThanOrEqual(250)
          expect(closedAfter).toBeLessThan(3_000)
        }),
      { requestTimeout: "300 millis" }
    )
  )

  it.effect("rejects a requestTimeout a timer cannot hold", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Layer.build(
          HealthHttp.layer({ port: 0, host: "127.0.0.1", requestTimeout: "30 days" }).pipe(Layer.provideMerge(HealthAggregator.layer()))
        )
      )
      expect(error._tag === "InvalidConfig" ? error.path : error._tag).toBe("health.http.requestTimeout")
      expect(error.message).toContain("2147483647")
    }).pipe(Effect.scoped)
  )

  it.live("other methods get 405 with Allow: GET, HEAD; other paths get 404; a query string is ignored", () =>
    served((health, http) =>
      Effect.gen(function* () {
        yield* health.register("db", Effect.succeed("healthy"))
        for (const url of [http.url, http.liveUrl, http.readyUrl]) {
          const post = yield* fetchAnswer(url, { method: "POST", body: "{}" })
          expect([post.status, post.allow]).toEqual([405, "GET, HEAD"])
          expect((yield* fetchAnswer(url, { method: "DELETE" })).status).toBe(405)
        }
        const base = http.url.replace(/\/health$/, "")
        for (const path of ["/", "/healthz", "/health/", "/health/live/x", "/other"]) {
          expect((yield* fetchAnswer(`${base}${path}`)).status).toBe(404)
        }
        expect((yield* fetchAnswer(`${http.url}?verbose=1`)).body.status).toBe("pass")
      })
    )
  )

  it.live("serves under a custom path", () =>
    served(
      (_, http) =>
        Effect.gen(function* () {
          expect(http.url).toMatch(/\/status$/)
          expect((yield* fetchAnswer(http.liveUrl)).status).toBe(200)
          expect(http.liveUrl).toMatch(/\/status\/live$/)
          expect((yield* fetchAnswer(http.url.replace(/\/status$/, "/health"))).status).toBe(404)
        }),
      { path: "/status" }
    )
  )

  it.live("built-in components appear with their kind as componentType", () =>
    served(
      (_, http) =>
        Effect.gen(function* () {
          const components = yield* HealthComponents
          yield* components.register({
            name: "circuit_breaker:payments",
            kind: "circuit_breaker",
            critical: true,
            report: Effect.succeed({ status: "unhealthy", details: { state: "Open" } })
          })
          const answer = yield* fetchAnswer(http.url)
          expect(answer.status).toBe(503)
          expect(answer.body.checks["circuit_breaker:payments"][0]).toMatchObject({
            componentType: "circuit_breaker",
            status: "fail"
          })
        }),
      { details: true }
    )
  )

  it.live("a probe that gives up mid-check leaves the server and the check's run intact", () =>
    served((health, http) =>
      Effect.gen(function* () {
        const slow = counted(Effect.as(Effect.sleep("150 millis"), "healthy" as const))
        yield* health.register("slow", slow.check, { critical: true, timeout: "1 second" })
        const aborted = yield* Effect.promise(() =>
          fetch(http.url, { signal: AbortSignal.timeout(30) }).then(
            () => "answered",
            () => "aborted"
          )
        )
        expect(aborted).toBe("aborted")
        const answer = yield* fetchAnswer(http.url)
        expect([answer.status, answer.body.status]).toEqual([200, "pass"])
        expect(slow.state.calls).toBe(1) // the second probe joined the first probe's run
      })
    )
  )

  it.live("bound to every interface by default, announced as localhost", () =>
    served(
      (_, http) =>
        Effect.gen(function* () {
          expect(http.url).toMatch(/^http:\/\/localhost:\d+\/health$/)
          const port = new URL(http.url).port
          expect((yield* fetchAnswer(`http://127.0.0.1:${port}/health/live`)).status).toBe(200)
        }),
      { host: undefined }
    )
  )

  it.live("the server stops listening when the layer's scope closes", () =>
    Effect.gen(function* () {
      const url = yield* served((_, http) => Effect.succeed(http.url))
      const after = yield* Effect.promise(() =>
        fetch(url).then(
          () => "answered",
          () => "refused"
        )
      )
      expect(after).toBe("refused")
    })
  )

  it.live("rejects a bad port or path with InvalidConfig", () =>
    Effect.gen(function* () {
      const attempt = (options: HealthHttp.Options) =>
        Effect.flip(Layer.build(HealthHttp.layer(options).pipe(Layer.provide(HealthAggregator.layer()))).pipe(Effect.scoped))
      for (const port of [-1, 65_536, 1.5, Number.NaN]) {
        expect(yield* attempt({ port })).toMatchObject({ _tag: "InvalidConfig", path: "health.http.port" })
      }
      for (const path of ["health", "/health/", "/health?x", ""]) {
        expect(yield* attempt({ port: 0, path })).toMatchObject({ _tag: "InvalidConfig", path: "health.http.path" })
      }
    })
  )

  it.live("an unknown option fails with its path and the nearest option, as the configuration file's section does", () =>
    Effect.gen(function* () {
      const input = { port: 0, detail: true, path: "/health/" }
      const fromLayer = yield* Effect.flip(
        Layer.build(HealthHttp.layer(input as HealthHttp.Options).pipe(Layer.provide(HealthAggregator.layer()))).pipe(Effect.scoped)
      )
      expect(fromLayer).toMatchObject({ _tag: "InvalidConfig", path: "health.http.detail" })
      expect(fromLayer.message).toContain('health.http.detail: unknown option "detail"; did you mean "details"?')
      expect(fromLayer.message).toContain('health.http.path: must start with "/"')
      const fromConfig = yield* Effect.flip(Config.decode({ health: { http: input } }))
      expect(fromConfig).toMatchObject({ path: "health.http.detail", message: fromLayer.message })
    })
  )
})

describe("HealthHttp.routes", () => {
  const Api = HttpRouter.add("GET", "/users", HttpServerResponse.text("[]"))

  /** The routes next to an application route, on one `HttpRouter.serve` on a free loopback port. */
  const mounted = <A, E>(
    body: (health: HealthAggregator.HealthAggregator["Service"], base: string) => Effect.Effect<A, E, Scope.Scope>,
    options?: HealthHttp.RoutesOptions
  ) =>
    Effect.gen(function* () {
      const health = yield* HealthAggregator.HealthAggregator
      const base = yield* HttpServer.addressFormattedWith(Effect.succeed)
      return yield* body(health, base)
    }).pipe(
      Effect.scoped,
      Effect.provide(
        HttpRouter.serve(Layer.mergeAll(Api, HealthHttp.routes(options)), { disableListenLog: true, disableLogger: true }).pipe(
          Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
          Layer.provideMerge(HealthAggregator.layer())
        )
      )
    )

  it.live("mounted next to an application route, both answer on one port", () =>
    mounted((health, base) =>
      Effect.gen(function* () {
        yield* health.register("postgres-primary", Effect.succeed("healthy"), { critical: true })
        const users = yield* fetchAnswer(`${base}/users`)
        expect([users.status, users.text]).toEqual([200, "[]"])
        const full = yield* fetchAnswer(`${base}/health`)
        expect([full.status, full.contentType, full.cacheControl, full.body]).toEqual([
          200,
          "application/health+json",
          "no-store",
          { status: "pass" }
        ])
        expect(full.text).not.toContain("postgres-primary")
        expect((yield* fetchAnswer(`${base}/health/ready`)).body).toEqual({ status: "pass" })
        expect((yield* fetchAnswer(`${base}/health/live`)).body).toEqual({ status: "pass" })
      })
    )
  )

  it.live("answers as layer does: 503 for a critical failure, HEAD with no body, /live runs no check", () =>
    mounted((health, base) =>
      Effect.gen(function* () {
        const db = counted(Effect.succeed("unhealthy" as const))
        yield* health.register("db", db.check, { critical: true })
        expect((yield* fetchAnswer(`${base}/health/live`)).status).toBe(200)
        expect(db.state.calls).toBe(0)
        expect([(yield* fetchAnswer(`${base}/health`)).status, (yield* fetchAnswer(`${base}/health/ready`)).status]).toEqual([503, 503])
        const head = yield* fetchAnswer(`${base}/health`, { method: "HEAD" })
        expect([head.status, head.contentType, head.text]).toEqual([503, "application/health+json", ""])
      })
    )
  )

  it.live("under a base path, with details: component names appear, the default path is the application's", () =>
    mounted(
      (health, base) =>
        Effect.gen(function* () {
          yield* health.register("cache", Effect.succeed("degraded"))
          const full = yield* fetchAnswer(`${base}/internal/health`)
          expect([full.status, full.body.status, Object.keys(full.body.checks)]).toEqual([200, "warn", ["cache"]])
          expect((yield* fetchAnswer(`${base}/internal/health/live`)).status).toBe(200)
          expect((yield* fetchAnswer(`${base}/health`)).status).toBe(404)
        }),
      { path: "/internal/health", details: true }
    )
  )

  it.effect("a bad path fails InvalidConfig at health.http.path", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Layer.build(HealthHttp.routes({ path: "health/" }).pipe(Layer.provide(Layer.merge(HttpRouter.layer, HealthAggregator.layer()))))
      )
      expect(error).toMatchObject({ _tag: "InvalidConfig", path: "health.http.path" })
    }).pipe(Effect.scoped)
  )
})

describe("HealthHttp.render", () => {
  it.effect("the status alone by default; every component by name with details", () =>
    Effect.gen(function* () {
      const health = yield* HealthAggregator.HealthAggregator
      yield* health.register("postgres-primary", Effect.succeed("unhealthy"), { critical: true })
      yield* health.register("cache", Effect.succeed("healthy"))
      const report = yield* health.systemHealth
      expect(HealthHttp.render(report)).toEqual({
        status: 503,
        contentType: "application/health+json",
        body: JSON.stringify({ status: "fail" })
      })
      const detailed = HealthHttp.render(report, { details: true })
      expect(detailed.status).toBe(503)
      expect(Object.keys(JSON.parse(detailed.body).checks).sort()).toEqual(["cache", "postgres-primary"])
    }).pipe(Effect.scoped, Effect.provide(HealthAggregator.layer()))
  )
})
