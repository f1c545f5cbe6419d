/**
 * Runs one suite in this process and prints one JSON line: { case id -> figure } per scenario.
 * Spawned by bench/run.ts, once per round, so each round has a fresh heap and JIT.
 */
import { register } from "node:module"
import { caseId, median, type Suite, selectCases, shippedVariable, time, warmUp } from "./harness.js"

const [suiteFile, mode, round] = process.argv.slice(2)
const quick = mode === "quick"
// our modules as they ship (dist/), unless bench/run.ts was asked for the sources (shipped.mjs)
const shipped = process.env[shippedVariable]
if (shipped !== undefined && shipped !== "") register("./shipped.mjs", import.meta.url, { data: { roots: JSON.parse(shipped) } })
const suite: Suite = selectCases((await import(suiteFile!)).default)
const out: Record<string, Record<string, number>> = {}
/** each timed case runs in this many slices, interleaved with the others (A B C, C B A, ...) */
const slices = quick ? 3 : 5
for (const scenario of suite.scenarios) {
  const figures: Record<string, number> = {}
  const n = quick ? (scenario.operations?.quick ?? 20_000) : (scenario.operations?.full ?? 200_000)
  // odd rounds start from the other end, so no case always pays for running first
  const cases = Number(round) % 2 === 1 ? [...scenario.cases].reverse() : scenario.cases
  // custom measurements (bytes, p99, throughput) one after another, each alone
  for (const c of cases) {
    if (!c.measure) continue
    figures[caseId(c)] = await c.measure(quick)
    await c.teardown?.()
  }
  // timed cases side by side: all set up and warmed up, then timed in interleaved slices, so
  // each sees the machine (and the JIT) in the same states as the others; a case's figure is
  // the median of its slices
  const timed = cases.filter((c) => !c.measure && c.setup)
  const runs: Array<(n: number) => Promise<void>> = []
  for (const c of timed) runs.push(await c.setup!())
  for (const run of runs) await warmUp(run, n)
  const samples = timed.map((): Array<number> => [])
  for (let slice = 0; slice < slices; slice++) {
    const order = timed.map((_, i) => (slice % 2 === 0 ? i : timed.length - 1 - i))
    for (const i of order) samples[i]!.push(await time(runs[i]!, Math.max(1, Math.ceil(n / slices)), (quick ? 150 : 600) / slices))
  }
  timed.forEach((c, i) => {
    figures[caseId(c)] = median(samples[i]!)
  })
  for (const c of timed) await c.teardown?.()
  out[scenario.name] = figures
}
process.stdout.write(JSON.stringify(out) + "\n")
process.exit(0)
