/**
 * Several Node processes share one breaker through a real redis-server: one trips it, the
 * others see it open within the documented delay (pub/sub: milliseconds), and once it is due
 * for a probe, only `halfOpenMaxCalls` (1) probe runs across all of them.
 */
import { describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { redisTests, useRedisServer } from "./support/redisServer.js"

const server = useRedisServer()

const run = (args: ReadonlyArray<string>, onReady: () => void = () => {}) =>
  new Promise<Record<string, number | string>>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/breakerWorker.ts", ...args], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    let err = ""
    child.stdout.on("data", (chunk) => {
      out += chunk
      if (out.startsWith("ready\n") || out.includes("\nready\n")) onReady()
    })
    child.stderr.on("data", (chunk) => (err += chunk))
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000)
    child.on("exit", (code) => {
      clearTimeout(timer)
      if (code !== 0) return reject(new Error(`worker exited with ${code}: ${err}`))
      resolve(JSON.parse(out.trim().split("\n").pop()!))
    })
  })

describe.skipIf(!redisTests.enabled)("CircuitBreakerRedis across processes", () => {
  it("one process trips the breaker; the others reject within 250 ms; one probe in total", async () => {
    const prefix = `procs${process.pid}`
    let ready = 0
    let allReady: () => void = () => {}
    const everyoneListening = new Promise<void>((resolve) => (allReady = resolve))
    const watchers = [1, 2, 3].map(() => run([server.url, prefix, "watch", "3"], () => ++ready === 3 && allReady()))
    await everyoneListening
    const tripper = run([server.url, prefix, "trip", "0"])
    const [trip, ...seen] = await Promise.all([tripper, ...watchers])
    for (const watcher of seen) {
      expect(Number(watcher.sawOpenAt) - Number(trip.openedAt)).toBeLessThan(250)
    }
    expect(seen.reduce((n, w) => n + Number(w.ran), 0)).toBe(1)
  }, 30_000)
})
