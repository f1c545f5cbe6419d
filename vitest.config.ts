import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // one line saying whether the Redis suites run (and how to run them when they do not)
    globalSetup: ["test/support/globalSetup.ts"],
    // property tests and 100-fiber races are CPU-bound: give them room on 2-core CI machines
    testTimeout: 30_000,
    hookTimeout: 60_000
  }
})
