/**
 * `npm run bench [-- --quick] [suite ...]`
 *
 * Runs every suite in bench/suites (or the named ones) in several rounds, each round in a
 * fresh process, and reports per scenario the median overhead over the calling style's
 * baseline, its spread across rounds, and ours-versus-peer ratios against the targets.
 * Writes bench/results/latest.md and latest.json (merged with earlier results of suites not
 * run this time, so one suite can be re-run alone).
 *
 * Our modules are measured as they ship: it builds `dist/` first, and the workers load it in
 * place of `src/` (bench/shipped.mjs); `--sources` measures the TypeScript sources through tsx
 * instead. Cases are timed by the wall clock; `--cpu-time` times them by the process's CPU time.
 * `--cases <prefix>[,<prefix>...]` runs only the baselines and the cases of those libraries.
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs"
import { cpus, tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import type { Case, Suite } from "./harness.js"
import { againstVariable, caseId, casesVariable, clockVariable, median, selectCases, shippedVariable } from "./harness.js"

const here = dirname(fileURLToPath(import.meta.url))
const args = process.argv.slice(2)
const quick = args.includes("--quick")
const sources = args.includes("--sources")
const cpuTime = args.includes("--cpu-time")
/** the value after `flag` (undefined without the flag); its index is kept so it is not read as a suite name */
const valued = new Set<number>()
const flagValue = (flag: string, usage: string): string | undefined => {
  const at = args.indexOf(flag)
  if (at === -1) return undefined
  const value = args[at + 1]
  if (value === undefined || value.startsWith("--")) throw new Error(`${flag} needs ${usage}`)
  valued.add(at + 1)
  return value
}
const againstRevision = flagValue("--against", "a git revision: npm run bench -- --against <revision> [suite ...]")
const casesValue = flagValue("--cases", "library prefixes: npm run bench -- --cases effect-foundation[,cockatiel] [suite ...]")
if (casesValue !== undefined) process.env[casesVariable] = casesValue
const only = args.filter((a, i) => !a.startsWith("--") && !valued.has(i))
const rounds = quick ? 3 : 7

// `--against <revision>`: the suites that support it also run our cases from that revision,
// checked out in a temporary worktree, in the same processes as today's (see harness.ts)
const againstTree = againstRevision === undefined ? undefined : checkOutAgainst(againstRevision)

const ownTree = join(here, "..")
if (cpuTime) process.env[clockVariable] = "cpu"
if (!sources) {
  // the compiled library of each tree we measure, built now so it matches the sources
  const trees = againstTree === undefined ? [ownTree] : [ownTree, againstTree]
  for (const tree of trees) {
    execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: tree, stdio: "inherit" })
  }
  process.env[shippedVariable] = JSON.stringify(trees)
}
const method = `${sources ? "the TypeScript sources through tsx" : "the compiled dist/"}, ${cpuTime ? "CPU" : "wall-clock"} time${casesValue === undefined ? "" : `, only the cases of ${casesValue}`}`

interface CaseResult {
  readonly case: string
  readonly library: string
  readonly style: string
  readonly baseline: boolean
  readonly median: number
  readonly spread: number
  readonly overhead?: number
}
interface TargetResult {
  readonly scenario: string
  readonly description: string
  /** the median over rounds of the ratio measured in each round (ours and peer in one process) */
  readonly ratio?: number
  /** the lowest and highest of those per-round ratios */
  readonly ratioRange?: readonly [number, number]
  readonly figure: number
  readonly bound: string
  /** undefined: a reference ratio, with no bound to meet */
  readonly met: boolean | undefined
}
interface SuiteResult {
  readonly suite: string
  readonly mode: "quick" | "full"
  /** what was timed, and how: "the compiled dist/, CPU time" (absent in older results) */
  readonly measured?: string
  readonly rounds: number
  readonly at: string
  readonly skipped?: string
  /** the revision our cases were also run from (`--against`) */
  readonly against?: string
  readonly scenarios: Record<string, { unit: string; cases: Array<CaseResult> }>
  readonly targets: Array<TargetResult>
}

const spreadOf = (xs: ReadonlyArray<number>): number => {
  const m = median(xs)
  return m === 0 ? 0 : (Math.max(...xs) - Math.min(...xs)) / Math.abs(m)
}

const runSuite = async (file: string): Promise<SuiteResult> => {
  const suite: Suite = selectCases((await import(file)).default)
  const at = new Date().toISOString()
  const skipped = await suite.skip?.()
  if (skipped !== undefined) {
    console.log(`- ${suite.name}: skipped (${skipped})`)
    return { suite: suite.name, mode: quick ? "quick" : "full", measured: method, rounds: 0, at, skipped, scenarios: {}, targets: [] }
  }
  const perRound: Array<Record<string, Record<string, number>>> = []
  for (let round = 0; round < rounds; round++) {
    const output = execFileSync(
      process.execPath,
      [...(suite.nodeFlags ?? []), "--import", "tsx", join(here, "worker.ts"), file, quick ? "quick" : "full", String(round)],
      { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 16 << 20 }
    )
    perRound.push(JSON.parse(output.trim().split("\n").pop()!))
    process.stdout.write(`  ${suite.name}: round ${round + 1}/${rounds} done\n`)
  }
  const caseOf = (scenario: string, library: string): Case => {
    const found = suite.scenarios.find((s) => s.name === scenario)?.cases.find((c) => c.library === library && !c.baseline)
    if (!found) throw new Error(`target names unknown case ${library} in ${scenario}`)
    return found
  }
  const scenarios: SuiteResult["scenarios"] = {}
  const overheadsOf = new Map<string, Array<number>>()
  for (const scenario of suite.scenarios) {
    const unit = scenario.unit ?? "ns/op"
    const baselineOf = (style: string) => scenario.cases.find((c) => c.baseline && c.style === style)
    const cases: Array<CaseResult> = scenario.cases.map((c: Case) => {
      const values = perRound.map((r) => r[scenario.name]![caseId(c)]!)
      const base = c.baseline ? undefined : baselineOf(c.style)
      // overhead per round (case - its baseline in the same process), then the median of those
      const overheads =
        base === undefined ? undefined : perRound.map((r) => r[scenario.name]![caseId(c)]! - r[scenario.name]![caseId(base)]!)
      if (overheads) overheadsOf.set(`${scenario.name}/${c.library}`, overheads)
      return {
        case: caseId(c),
        library: c.library,
        style: c.style,
        baseline: c.baseline === true,
        median: median(values),
        spread: spreadOf(values),
        ...(overheads ? { overhead: median(overheads) } : {})
      }
    })
    scenarios[scenario.name] = { unit, cases }
  }
  const targets: Array<TargetResult> = suite.targets.map((t) => {
    const scenario = scenarios[t.scenario]!
    const figureOf = (library: string) => {
      const c = scenario.cases.find((x) => x.library === library && !x.baseline)
      if (!c) throw new Error(`target names unknown case ${library} in ${t.scenario}`)
      return c.overhead ?? c.median
    }
    const ours = figureOf(t.ours)
    if (t.peer !== undefined) {
      // The ratio of each round (both figures from one process, the machine in one state),
      // then their median: a target is met on that median, and the range is shown with it.
      // An overhead within noise of zero counts as 1 so ratios stay finite and honest.
      const perRoundOf = (library: string) =>
        overheadsOf.get(`${t.scenario}/${library}`) ?? perRound.map((r) => r[t.scenario]![caseId(caseOf(t.scenario, library))]!)
      const oursRounds = perRoundOf(t.ours)
      const peerRounds = perRoundOf(t.peer)
      const ratios = oursRounds.map((o, i) => Math.max(o, 1) / Math.max(peerRounds[i]!, 1))
      const ratio = median(ratios)
      const ratioRange = [Math.min(...ratios), Math.max(...ratios)] as const
      const bound = t.max !== undefined ? `<= ${t.max}x` : t.min !== undefined ? `>= ${t.min}x` : "reference"
      const met = t.max !== undefined ? ratio <= t.max : t.min !== undefined ? ratio >= t.min : undefined
      return { scenario: t.scenario, description: t.description, ratio, ratioRange, figure: ours, bound, met }
    }
    return {
      scenario: t.scenario,
      description: t.description,
      figure: ours,
      bound: `<= ${t.absoluteMax} ${scenario.unit === "ns/op" ? "ns" : scenario.unit}`,
      met: ours <= (t.absoluteMax ?? Infinity)
    }
  })
  const against = againstTree === undefined ? {} : { against: `${againstRevision} (${JSON.parse(process.env[againstVariable]!).label})` }
  return { suite: suite.name, mode: quick ? "quick" : "full", measured: method, rounds, at, ...against, scenarios, targets }
}

function checkOutAgainst(revision: string): string {
  const repository = join(here, "..")
  const git = (...gitArgs: Array<string>) => execFileSync("git", gitArgs, { cwd: repository, encoding: "utf8" }).trim()
  const commit = git("rev-parse", "--short", `${revision}^{commit}`)
  const tree = mkdtempSync(join(tmpdir(), `bench-against-${commit}-`))
  git("worktree", "add", "--detach", tree, commit)
  symlinkSync(join(repository, "node_modules"), join(tree, "node_modules"))
  process.env[againstVariable] = JSON.stringify({ root: tree, label: commit })
  process.on("exit", () => {
    execFileSync("git", ["worktree", "remove", "--force", tree], { cwd: repository, stdio: "ignore" })
  })
  console.log(`against ${revision} (${commit}), checked out in ${tree}`)
  return tree
}

const suitesDir = join(here, "suites")
const files = readdirSync(suitesDir)
  .filter((f) => f.endsWith(".ts"))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .map((f) => join(suitesDir, f))

const resultsDir = join(here, "results")
mkdirSync(resultsDir, { recursive: true })
const jsonPath = join(resultsDir, "latest.json")
const previous: { suites?: Record<string, SuiteResult> } = existsSync(jsonPath) ? JSON.parse(readFileSync(jsonPath, "utf8")) : {}
const results: Record<string, SuiteResult> = { ...(previous.suites ?? {}) }
for (const file of files) {
  console.log(`suite ${file.split("/").pop()}`)
  const r = await runSuite(file)
  results[r.suite] = r
}

const machine = { node: process.version, cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length }
writeFileSync(jsonPath, JSON.stringify({ machine, suites: results }, null, 2) + "\n")

const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2))
const lines: Array<string> = [
  "# Benchmark results",
  "",
  `Node ${machine.node}, ${machine.cpu} (${machine.cores} cores). Generated by \`npm run bench\`;`,
  "each suite ran in several rounds, each in a fresh process. *Overhead* is a case's time per",
  "operation minus the baseline of the same calling style, per round; the table shows the median",
  "over rounds and the spread ((max - min) / median of the raw time). Ratios compare overheads.",
  ""
]
for (const r of Object.values(results)) {
  lines.push(
    `## ${r.suite}`,
    "",
    `${r.mode} mode, ${r.rounds} rounds, ${r.at}${r.measured ? `, ${r.measured}` : ", the TypeScript sources through tsx, wall-clock time"}${r.against ? `, against ${r.against}` : ""}`,
    ""
  )
  if (r.skipped) {
    lines.push(`Skipped: ${r.skipped}`, "")
    continue
  }
  for (const [name, s] of Object.entries(r.scenarios)) {
    lines.push(`### ${name}`, "", `| case | median (${s.unit}) | spread | overhead |`, "|---|---:|---:|---:|")
    for (const c of s.cases) {
      lines.push(`| ${c.case} | ${fmt(c.median)} | ${(c.spread * 100).toFixed(0)}% | ${c.overhead === undefined ? "" : fmt(c.overhead)} |`)
    }
    lines.push("")
  }
  if (r.targets.length > 0) {
    lines.push(
      "### Targets",
      "",
      "Ratio: the median of the per-round ratios; range: their lowest and highest.",
      "",
      "| target | figure | ratio | range | bound | met |",
      "|---|---:|---:|---:|---|---|"
    )
    for (const t of r.targets) {
      const range = t.ratioRange === undefined ? "" : `${fmt(t.ratioRange[0])}-${fmt(t.ratioRange[1])}x`
      lines.push(
        `| ${t.description} | ${fmt(t.figure)} | ${t.ratio === undefined ? "" : fmt(t.ratio) + "x"} | ${range} | ${t.bound} | ${t.met === undefined ? "" : t.met ? "yes" : "**no**"} |`
      )
    }
    lines.push("")
  }
}
writeFileSync(join(resultsDir, "latest.md"), lines.join("\n"))
for (const r of Object.values(results)) {
  for (const t of r.targets) {
    console.log(
      `${t.met === undefined ? "REF " : t.met ? "MET " : "MISS"} ${r.suite}: ${t.description}: ${t.ratio === undefined ? fmt(t.figure) : fmt(t.ratio) + "x"}${t.ratioRange === undefined ? "" : ` [${fmt(t.ratioRange[0])}-${fmt(t.ratioRange[1])}]`} (${t.bound})`
    )
  }
}
