/**
 * Runs one suite in this process and prints one JSON line: { case id -> figure } per scenario.
 * Spawned by bench/run.ts, once per round, so each round has a fresh heap and JIT.
 */
import { caseId, time, type Suite } from "./harness.js"

const [suiteFile, mode, round] = process.argv.slice(2)
const quick = mode === "quick"
const suite: Suite = (await import(suiteFile!)).default
const out: Record<string, Record<string, number>> = {}
for (const scenario of suite.scenarios) {
  const figures: Record<string, number> = {}
  const n = quick ? (scenario.operations?.quick ?? 20_000) : (scenario.operations?.full ?? 200_000)
  // odd rounds run the cases in reverse order, so no case always pays for running first
  const cases = Number(round) % 2 === 1 ? [...scenario.cases].reverse() : scenario.cases
  for (const c of cases) {
    if (c.measure) {
      figures[caseId(c)] = await c.measure(quick)
    } else if (c.setup) {
      const run = await c.setup()
      figures[caseId(c)] = await time(run, n, quick ? 150 : 600)
    }
    await c.teardown?.()
  }
  out[scenario.name] = figures
}
process.stdout.write(JSON.stringify(out) + "\n")
process.exit(0)
