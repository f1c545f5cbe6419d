/**
 * A pool of fake database connections under a burst of 40 concurrent queries: 4 base
 * connections plus 2 overflow, FIFO waiters, a checkout timeout, validation that replaces a
 * connection the server dropped, and a clean shutdown that closes every connection once.
 * Last, a typo in the configuration file's pool section, which decodes through the same
 * Schema as `Pool.layer`. Runs in well under a second.
 *
 *   npx tsx examples/pool.ts
 */
import { Context, Effect } from "effect"
import { Config, Errors, Pool } from "effect-foundation"

interface Connection {
  readonly id: number
  alive: boolean
  readonly query: (sql: string) => Effect.Effect<string>
}

let opened = 0
let closed = 0
const connect = Effect.sync((): Connection => {
  const id = ++opened
  const connection: Connection = {
    id,
    alive: true,
    query: (sql) => Effect.as(Effect.sleep("20 millis"), `#${id}: ${sql}`)
  }
  return connection
}).pipe(Effect.delay("5 millis"))

class Db extends Context.Service<Db, Pool.Pool<Connection>>()("example/Db") {}

const DbLive = Pool.layer(Db, {
  acquire: connect,
  release: () => Effect.sync(() => void closed++),
  validate: (connection) => Effect.succeed(connection.alive),
  size: 4,
  maxOverflow: 2,
  checkoutTimeout: "100 millis",
  // a connect that hangs is given up after this, and its slot freed for another attempt
  acquireTimeout: "1 second",
  name: "db"
})

const urgent: Pool.CheckoutOptions = { checkoutTimeout: "50 millis", priority: 0 }

const query = (n: number) =>
  Pool.use(Db, (connection) => connection.query(`select ${n}`)).pipe(
    Effect.catchTag("PoolCheckoutTimeout", (error: Errors.PoolCheckoutTimeout) => Effect.succeed(`timed out: ${error.message}`))
  )

const program = Effect.gen(function* () {
  // a burst of 40 queries of 20 ms: 6 run at a time, the others queue first come, first
  // served; those still waiting after 100 ms fail with PoolCheckoutTimeout
  const results = yield* Effect.forEach(
    Array.from({ length: 40 }, (_, n) => n),
    query,
    { concurrency: "unbounded" }
  )
  console.log(
    `burst: ${results.filter((r) => r.startsWith("#")).length} served, ${results.filter((r) => r.startsWith("timed out")).length} timed out`
  )
  console.log(`first results: ${results.slice(0, 3).join(" | ")}`)

  // the server drops a connection: validation replaces it instead of handing it out
  yield* Pool.use(Db, (connection) => Effect.sync(() => (connection.alive = false)))
  console.log(yield* query(100))

  // an urgent call waits less and goes first; a resize grows the pool at run time
  yield* Pool.resize(Db, { size: 8, maxWaiting: 20 })
  console.log(yield* Pool.use(Db, (connection) => connection.query("select 'urgent'"), urgent))
  yield* Pool.ready(Db)

  const status = yield* Pool.status(Db)
  console.log(
    `status: size ${status.size}+${status.maxOverflow}, idle ${status.idle}, in use ${status.inUse}, ` +
      `created ${status.created}, destroyed ${status.destroyed}, reuse ${((status.reused / status.checkouts) * 100).toFixed(
        0
      )}%, timeouts ${status.timeouts}`
  )
}).pipe(Effect.provide(DbLive))

await Effect.runPromise(program)
console.log(`after shutdown: opened ${opened}, closed ${closed}`)

// the file's pools.<name> section is `Pool.OptionsSchema` too: same names, defaults and messages
const typo = await Effect.runPromise(Effect.flip(Config.decode({ pools: { db: { size: 4, checkoutTimout: 100 } } })))
console.log(`config typo: ${typo.message}`)
process.exit(opened === closed ? 0 : 1)
