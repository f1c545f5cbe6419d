/**
 * The package without its optional peers: `redis` and `@effect/platform-node` are needed only
 * by the Redis stores and the health HTTP server, and only when those layers are built. A child
 * process with both made unresolvable loads the entry point and uses every in-memory service.
 */
import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { promisify } from "node:util"

const run = promisify(execFile)

describe("package", () => {
  it("loads and serves every in-memory service with redis and @effect/platform-node absent", async () => {
    const { stdout } = await run(
      process.execPath,
      ["--import", "./test/fixtures/withoutOptionalPeers.mjs", "--import", "tsx", "test/fixtures/inMemoryServices.ts"],
      { timeout: 60_000 }
    )
    expect(JSON.parse(stdout.trim())).toEqual(["breaker", "limited", "pooled 1", "guarded", "healthy", "protected", "profile"])
  })

  it("the hiding works: a module that needs redis at load fails to load", async () => {
    const failed = await run(
      process.execPath,
      ["--import", "./test/fixtures/withoutOptionalPeers.mjs", "--input-type=module", "-e", "await import('redis')"],
      { timeout: 30_000 }
    ).then(
      () => false,
      (error: { stderr: string }) => error.stderr.includes("hidden by the test")
    )
    expect(failed).toBe(true)
  })
})
