/**
 * The package says `"sideEffects": false`: importing the guarded call (or the breaker built on
 * it) must run no effect. Every run of an effect starts a fiber, and fiber ids count up from
 * one shared counter, so "no fiber started" is "the next fiber id moved by one".
 * This file imports the modules only dynamically, after `vi.resetModules()`, so each test
 * evaluates them afresh (effect itself, an external dependency, stays the same instance).
 */
import { afterEach, describe, expect, it, vi } from "@effect/vitest"
import { Effect } from "effect"

const nextFiberId = () => Effect.runSync(Effect.withFiber((fiber) => Effect.succeed(fiber.id)))

/** how many fibers `f` started */
const fibersStartedBy = async (f: () => Promise<unknown> | unknown): Promise<number> => {
  const before = nextFiberId()
  await f()
  return nextFiberId() - before - 1
}

const variable = "EFFECT_FOUNDATION_GUARDED_CALL"
const saved = process.env[variable]
afterEach(() => {
  if (saved === undefined) delete process.env[variable]
  else process.env[variable] = saved
})

const freshImport = () => {
  vi.resetModules()
  return import("../../../src/internal/runtime/guardedCall.js")
}

const guard = { admit: () => 1, onSuccess: () => {}, onFailure: () => {} }

describe("guarded call: nothing runs at import time", () => {
  it.each(["portable", "fast"])("importing the module runs no effect (%s)", async (mode) => {
    process.env[variable] = mode
    expect(await fibersStartedBy(freshImport)).toBe(0)
  })

  it("with the fast path asked for, the self-check runs on the first guarded call, once", async () => {
    process.env[variable] = "fast"
    const module = await freshImport()
    expect(await fibersStartedBy(() => module.guarded(Effect.void, guard))).toBeGreaterThan(0)
    expect(await fibersStartedBy(() => module.guarded(Effect.void, guard))).toBe(0)
    expect(module.implementation()).toBe("fast")
  })

  it("the portable path runs no check: building a guarded call starts no fiber", async () => {
    delete process.env[variable]
    const module = await freshImport()
    expect(await fibersStartedBy(() => module.guarded(Effect.void, guard))).toBe(0)
    expect(module.implementation()).toBe("portable")
  })

  it("importing the package entry point runs no effect", async () => {
    vi.resetModules()
    expect(await fibersStartedBy(() => import("../../../src/index.js"))).toBe(0)
  })
})
