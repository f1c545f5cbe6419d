import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // property tests and 100-fiber races are CPU-bound: give them room on 2-core CI machines
    testTimeout: 30_000,
    hookTimeout: 60_000
  }
})
