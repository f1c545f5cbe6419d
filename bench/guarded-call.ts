/**
 * `npx tsx bench/guarded-call.ts [closed|open] [rounds]`
 *
 * What the opt-in fast guarded call saves over the portable one, in one process: the library
 * is built once and loaded twice (two copies, each with its own choice of implementation, made
 * on its first guarded call), and a breaker of each copy is timed in interleaved rounds
 * against a plain `Effect.sync` loop. Prints each copy's overhead and the median of the
 * per-round ratios fast / portable with their range. (The suites cannot compare the two: the
 * choice is made once per process.)
 */
import { execFileSync } from "node:child_process"
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { Context, Effect } from "effect"
import type * as Library from "../src/index.js"
import { environmentVariable } from "../src/internal/runtime/guardedCall.js"
import { buildLayer, loopExits } from "./effectSupport.js"
import { median } from "./harness.js"

const open = process.argv[2] === "open"
const rounds = Number(process.argv[3] ?? 21)
const repository = join(dirname(fileURLToPath(import.meta.url)), "..")

// two copies of the built library, each a package of its own (type: module) using our node_modules
const root = mkdtempSync(join(tmpdir(), "guarded-call-"))
process.on("exit", () => rmSync(root, { recursive: true, force: true }))
execFileSync("npx", ["tsc", "-p", "tsconfig.build.json", "--outDir", join(root, "portable", "dist")], { cwd: repository, stdio: "inherit" })
cpSync(join(root, "portable"), join(root, "fast"), { recursive: true })
for (const copy of ["portable", "fast"]) {
  symlinkSync(join(repository, "node_modules"), join(root, copy, "node_modules"))
  writeFileSync(join(root, copy, "package.json"), '{ "type": "module" }\n')
}

const effectOp = Effect.sync(() => 1)

const breakerLoop = async (copy: "portable" | "fast") => {
  const { CircuitBreaker }: typeof Library = await import(pathToFileURL(join(root, copy, "dist", "index.js")).href)
  const layer = CircuitBreaker.layer({ breakers: { bench: { failureThreshold: 5, resetTimeout: "1 hour" } } })
  const { context } = await buildLayer(layer)
  if (open) await Effect.runPromise(CircuitBreaker.CircuitBreaker.use((s) => s.trip("bench")).pipe(Effect.provideContext(context)))
  const run = loopExits(context, () => effectOp.pipe(CircuitBreaker.protect("bench")))
  // this copy's first guarded call reads the switch
  process.env[environmentVariable] = copy
  await run(1)
  return run
}

const failed = Effect.fail("failed")
const cases = {
  baseline: loopExits(Context.empty(), () => (open ? failed : effectOp)),
  portable: await breakerLoop("portable"),
  fast: await breakerLoop("fast")
}
const names = Object.keys(cases) as Array<keyof typeof cases>
const n = 50_000
for (const name of names) await cases[name](n / 2)
const samples: Record<keyof typeof cases, Array<number>> = { baseline: [], portable: [], fast: [] }
const ratios: Array<number> = []
for (let round = 0; round < rounds; round++) {
  const took: Partial<Record<keyof typeof cases, number>> = {}
  for (const name of round % 2 === 0 ? names : [...names].reverse()) {
    const started = performance.now()
    await cases[name](n)
    took[name] = ((performance.now() - started) * 1e6) / n
    samples[name].push(took[name])
  }
  ratios.push((took.fast! - took.baseline!) / (took.portable! - took.baseline!))
}
const baseline = median(samples.baseline)
console.log(`${open ? "open: rejected call" : "closed: successful call"}, ${rounds} rounds of ${n} calls`)
for (const name of ["portable", "fast"] as const) console.log(`  ${name}: ${(median(samples[name]) - baseline).toFixed(0)} ns overhead`)
console.log(`  fast / portable: ${median(ratios).toFixed(2)}x (range ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}x)`)
