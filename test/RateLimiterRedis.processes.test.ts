/**
 * Several Node processes (test/fixtures/redisRateLimitWorker.ts) share one limit on one key
 * through Redis, with local clocks hours apart: together they never exceed the limit, and
 * they agree because every decision is taken on Redis's clock.
 */
import { spawn } from "node:child_process"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RedisServer, startRedisServer } from "./support/redisServer.js"

interface Seen {
  readonly admitted: number
  readonly denied: number
  readonly maxRetryAfter: number
}
interface WorkerReport {
  readonly rules: Record<string, Seen>
  readonly localNow: number
}

/** The workers' rules (see the fixture): limit per window in ms. */
const rules = {
  sliding: { limit: 50, windowMillis: 60_000 },
  gcra: { limit: 30, windowMillis: 60_000 },
  bucket: { limit: 20, windowMillis: 60_000 }
} as const

const HOUR = 3_600_000
const offsets = [-HOUR, 0, 26 * HOUR]
const ATTEMPTS = 40

const runWorker = (url: string, prefix: string, offset: number): Promise<WorkerReport> =>
  new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "test/fixtures/redisRateLimitWorker.ts", url, prefix, String(ATTEMPTS), String(offset)],
      { stdio: ["ignore", "pipe", "pipe"] }
    )
    let out = ""
    let err = ""
    child.stdout.on("data", (chunk) => (out += chunk))
    child.stderr.on("data", (chunk) => (err += chunk))
    child.on("error", reject)
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`worker exited with ${code}: ${err}`))
      try {
        resolve(JSON.parse(out.trim().split("\n").pop()!))
      } catch (error) {
        reject(new Error(`worker printed no report: ${out} ${err} ${String(error)}`))
      }
    })
  })

let server: RedisServer
let reports: Array<WorkerReport>
let elapsedMillis: number

beforeAll(async () => {
  server = await startRedisServer()
  const started = Date.now()
  reports = await Promise.all(offsets.map((offset) => runWorker(server.url, "procs:", offset)))
  elapsedMillis = Date.now() - started
}, 90_000)

afterAll(async () => {
  await server?.stop()
})

const total = (rule: keyof typeof rules, field: "admitted" | "denied") =>
  reports.reduce((sum, report) => sum + report.rules[rule]![field], 0)

describe("RateLimiterRedis.layer across processes", () => {
  it("three processes on one key never exceed the shared limit together", () => {
    expect(reports).toHaveLength(3)
    // every process made all its calls, and more were made than any limit allows
    for (const rule of Object.keys(rules) as Array<keyof typeof rules>) {
      expect(total(rule, "admitted") + total(rule, "denied")).toBe(offsets.length * ATTEMPTS)
    }
    // exact sliding window: nothing leaves the 60 s window during the run
    expect(total("sliding", "admitted")).toBe(rules.sliding.limit)
    // rate algorithms: the burst plus what refilled while the processes ran, never more
    for (const rule of ["gcra", "bucket"] as const) {
      const { limit, windowMillis } = rules[rule]
      const refilled = Math.ceil((elapsedMillis * limit) / windowMillis)
      expect(total(rule, "admitted")).toBeGreaterThanOrEqual(limit)
      expect(total(rule, "admitted")).toBeLessThanOrEqual(limit + refilled)
    }
  })

  it("processes with clocks a day apart agree: decisions and retryAfter come from Redis time", () => {
    // the local clocks really were apart
    const locals = reports.map((report) => report.localNow).sort((a, b) => a - b)
    expect(locals[locals.length - 1]! - locals[0]!).toBeGreaterThan(26 * HOUR)
    // had each process used its own clock, the one a day ahead would see every other entry as
    // expired (and the one behind would see retryAfter of hours); on Redis time all agree
    expect(total("sliding", "admitted")).toBe(rules.sliding.limit)
    for (const report of reports) {
      for (const rule of Object.keys(rules) as Array<keyof typeof rules>) {
        expect(report.rules[rule]!.maxRetryAfter).toBeLessThanOrEqual(rules[rule].windowMillis)
      }
    }
    // every process was denied on the shared sliding window at some point, whatever its clock
    expect(reports.filter((report) => report.rules.sliding!.denied > 0).length).toBeGreaterThanOrEqual(2)
  })
})
