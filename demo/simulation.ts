/**
 * The simulated world of the demo: a flaky dependency behind a pool of fake connections, and
 * clients sending requests at steady rates (one of them abusive).
 */
import { Context, Effect, Random } from "effect"
import type { Pool } from "../src/index.js"

/** A fake connection to the inventory service. */
export interface Connection {
  readonly id: number
  readonly lookup: (sku: string) => Effect.Effect<number, DependencyError>
}

export class DependencyError extends Error {
  readonly _tag = "DependencyError"
}

export class Inventory extends Context.Service<Inventory, Pool.Pool<Connection>>()("demo/Inventory") {}

/**
 * The dependency's health over the run: healthy, then down (slow failures: each call takes
 * `downLatencyMs` and fails), then healthy again. `outage` is [start, end) as fractions of the
 * run.
 */
export class Dependency {
  calls = 0
  failures = 0
  busyMillis = 0
  private nextId = 0

  constructor(
    readonly startedAt: number,
    readonly runMillis: number,
    readonly outage: readonly [number, number] = [0.3, 0.6],
    readonly downLatencyMs = 250
  ) {}

  isDown(now: number): boolean {
    const t = (now - this.startedAt) / this.runMillis
    return t >= this.outage[0] && t < this.outage[1]
  }

  connect: Effect.Effect<Connection> = Effect.suspend(() => {
    const id = this.nextId++
    return Effect.succeed({
      id,
      lookup: (_sku: string) =>
        Effect.gen({ self: this }, function* () {
          this.calls++
          const down = this.isDown(Date.now())
          const latency = down ? this.downLatencyMs : 15 + (yield* Random.nextIntBetween(0, 25))
          this.busyMillis += latency
          yield* Effect.sleep(latency)
          if (down) {
            this.failures++
            return yield* Effect.fail(new DependencyError("inventory: 503 Service Unavailable"))
          }
          return yield* Random.nextIntBetween(0, 100)
        })
    })
  })
}

/** A client of our service: `rate` requests per second, each on its own fiber. */
export interface Client {
  readonly name: string
  readonly rate: number
}

export const clients: ReadonlyArray<Client> = [
  { name: "web", rate: 25 },
  { name: "mobile", rate: 20 },
  { name: "partner", rate: 10 },
  { name: "scraper", rate: 120 } // the abusive one
]
