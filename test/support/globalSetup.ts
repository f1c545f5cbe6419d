/**
 * Once per `npm test`: says in one line when the Redis suites are skipped and how to run
 * them, and fails at once when CI requires them (`FOUNDATION_REQUIRE_REDIS=1`) but there is
 * no redis-server.
 */
import { redisRequired, redisServerPath, redisTests } from "./redisServer.js"

export default function setup(): void {
  if (redisServerPath() !== undefined) return
  if (redisRequired) {
    throw new Error(`FOUNDATION_REQUIRE_REDIS=1 but no redis-server on PATH: ${redisTests.howToRun}`)
  }
  console.log(`Redis suites skipped: no redis-server on PATH. To run them, ${redisTests.howToRun}.`)
}
