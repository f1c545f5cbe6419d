/**
 * The benchmark model. A suite has scenarios; a scenario has cases, one per library and
 * calling style, plus one baseline per calling style (the same work without any protection).
 * What we report is *overhead*: a case's time per operation minus its style's baseline, and
 * the ratio of our overhead to each peer's. Ratios survive a noisy machine; absolute times do
 * not.
 */
import { pathToFileURL } from "node:url"

/** How a case is called: each style has its own baseline. */
export type Style = "promise" | "effect-gen" | "run-promise" | "custom"

export interface Case {
  readonly library: string
  readonly style: Style
  /** true for the unprotected reference of its style */
  readonly baseline?: boolean
  /**
   * Returns a function running `n` operations; the harness times it. Setup cost (building
   * layers, pools, warm caches) stays outside the timing.
   */
  readonly setup?: () => Promise<(n: number) => Promise<void>>
  /** A custom measurement instead of timing (bytes per key, p99 wait ...). */
  readonly measure?: (quick: boolean) => Promise<number>
  readonly teardown?: () => Promise<void>
}

export interface Scenario {
  readonly name: string
  /** unit of the reported figure: "ns/op" (timed, default), or a custom one */
  readonly unit?: string
  /** for custom measurements: whether a larger number is better */
  readonly higherIsBetter?: boolean
  readonly operations?: { readonly quick: number; readonly full: number }
  readonly cases: ReadonlyArray<Case>
}

export interface Target {
  readonly scenario: string
  readonly description: string
  /** ours / peer (by overhead for timed scenarios, by value for custom ones) at most `max`,
   *  or at least `min`; with neither, a reference ratio reported without a bound */
  readonly ours: string
  readonly peer?: string
  readonly max?: number
  readonly min?: number
  /** an absolute bound on our figure (ns overhead or the custom unit) */
  readonly absoluteMax?: number
}

export interface Suite {
  readonly name: string
  /** extra node flags the worker process needs (e.g. --expose-gc) */
  readonly nodeFlags?: ReadonlyArray<string>
  /** true when the suite needs an external service it could not reach; it reports why */
  readonly skip?: () => Promise<string | undefined>
  readonly scenarios: ReadonlyArray<Scenario>
  readonly targets: ReadonlyArray<Target>
}

/** The middle value (the mean of the two middle ones for an even count). */
export const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
export const caseId = (c: Case): string => `${c.library} [${c.style}${c.baseline ? ", baseline" : ""}]`

/** Runs a fifth of `n` operations, untimed: lets the JIT settle before a case is timed. */
export const warmUp = (run: (n: number) => Promise<void>, n: number): Promise<void> => run(Math.max(1, Math.floor(n / 5)))

/**
 * The environment variable bench/run.ts sets to `cpu` (`--cpu-time`) to time cases by the
 * process's CPU time instead of the wall clock.
 */
export const clockVariable = "EFFECT_FOUNDATION_BENCH_CLOCK"

/**
 * The environment variable carrying the trees (JSON array of paths) whose `src/` modules the
 * workers load from `dist/` (see shipped.mjs); unset with `--sources`.
 */
export const shippedVariable = "EFFECT_FOUNDATION_BENCH_SHIPPED"

/**
 * The environment variable bench/run.ts sets with `--cases <prefix>[,<prefix>...]`: only the
 * baselines and the cases whose library starts with one of the prefixes run.
 */
export const casesVariable = "EFFECT_FOUNDATION_BENCH_CASES"

/**
 * `suite` with only the cases `--cases` keeps (all of them without it): every baseline, the
 * cases whose library starts with a given prefix, and the targets whose cases are all kept.
 * `--cases effect-foundation --against <revision>` compares two revisions alone, with no
 * peer's garbage or code shapes in the same process.
 */
export const selectCases = (suite: Suite): Suite => {
  const value = process.env[casesVariable]
  if (value === undefined || value === "") return suite
  const prefixes = value.split(",")
  const kept = (c: Case) => c.baseline === true || prefixes.some((prefix) => c.library.startsWith(prefix))
  const scenarios = suite.scenarios.map((s) => ({ ...s, cases: s.cases.filter(kept) }))
  const has = (scenario: string, library: string | undefined) =>
    library === undefined || scenarios.some((s) => s.name === scenario && s.cases.some((c) => c.library === library && !c.baseline))
  return { ...suite, scenarios, targets: suite.targets.filter((t) => has(t.scenario, t.ours) && has(t.scenario, t.peer)) }
}

/** CPU time of this process (user + system, every thread) in milliseconds */
const cpuMillis = (): number => {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}

/**
 * Times `run(n)`, repeating until at least `minMillis` have passed (warm it up first). By the
 * wall clock, as a caller sees it; with `--cpu-time`, by the process's CPU time, which leaves
 * out the time this process was not running (other processes, a busy host) but counts the
 * garbage collector's helper threads, which the wall clock lets run beside the case on a
 * second core. Every timed case is CPU-bound (callers that "wait" yield to the scheduler,
 * nothing sleeps), so both are meaningful.
 */
export const time = async (run: (n: number) => Promise<void>, n: number, minMillis: number): Promise<number> => {
  const clock = process.env[clockVariable] === "cpu" ? cpuMillis : () => performance.now()
  let total = 0
  let ops = 0
  const started = performance.now()
  do {
    const t0 = clock()
    await run(n)
    total += clock() - t0
    ops += n
  } while (performance.now() - started < minMillis)
  return (total * 1e6) / ops
}

/** The environment variable `bench/run.ts --against <revision>` passes to the suites. */
export const againstVariable = "EFFECT_FOUNDATION_BENCH_AGAINST"

/**
 * With `npm run bench -- --against <revision>`: that revision's sources (checked out by
 * bench/run.ts), so a suite can run our cases from both revisions in one process and report
 * today's against then's, the comparison a cross-run table cannot make on a noisy machine.
 * `load("src/index.js")` imports a module of that tree (its compiled `dist/` file, like
 * today's modules, unless `--sources`); `label` names its cases. Read when
 * called (a suite calls it as it loads): bench/run.ts sets the variable after importing this.
 */
export const against = (): { readonly label: string; readonly load: <M>(path: string) => Promise<M> } | undefined => {
  const value = process.env[againstVariable]
  if (value === undefined || value === "") return undefined
  const { root, label } = JSON.parse(value) as { readonly root: string; readonly label: string }
  return { label, load: <M>(path: string) => import(pathToFileURL(`${root}/${path}`).href) as Promise<M> }
}

/** The name of our case `library` run from the `--against` revision. */
export const againstName = (library: string): string => `${library} @${against()?.label ?? "?"}`

/** With `--against`: in each scenario, today's `library` is no slower than the revision's. */
export const againstTargets = (scenarios: ReadonlyArray<string>, library = "effect-foundation"): Array<Target> =>
  against() === undefined
    ? []
    : scenarios.map((scenario) => ({
        scenario,
        description: `${scenario.split(":")[0]}: today vs @${against()!.label}${library === "effect-foundation" ? "" : `, ${library}`}`,
        ours: library,
        peer: againstName(library),
        max: 1.0
      }))
