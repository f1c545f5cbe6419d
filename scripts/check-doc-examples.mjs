#!/usr/bin/env node
// Checks every TSDoc example in src/: each ```ts block inside a /** */ comment.
//
// 1. Type-check. Each block becomes a module in .doc-examples/ (inside the package, so
//    `import ... from "effect-foundation"` resolves to this package's own build, as it will for
//    a user) and tsc checks them all with the project's strict settings.
// 2. Run, for the blocks that end in an assertion. A block asserts when its last line is a
//    `// => <expected>` comment, alone on its line or after code (`statusOf(2) // => "degraded"`).
//    A `// =>` anywhere else, or on a line that is itself a comment
//    (`// Effect.runPromise(program) // => "ok"`), is commentary and is not checked.
//    - The value asserted is the block's last statement: the variable it declares
//      (`const program = ...`) or the value of its expression (`limits.maxWaiting`); after a
//      `type` or `interface` (which has no value) the comment is commentary. The last
//      statement is found by its layout: it starts at the last line that begins at column 0
//      with neither a closing bracket nor an operator, after a line that does not end in one.
//    - An Effect is run with `Effect.runPromise`, a Promise awaited (5 s at most each); the
//      value is then compared with `<expected>`. When `<expected>` reads as a JavaScript
//      expression (`"healthy"`, `1000`, `[["api"], 4]`, `{ status: 200 }`; `Duration` is in
//      scope), both are printed with the same stable formatter (object keys sorted, strings
//      quoted, Durations as `Duration(1s)`) and must print the same. Otherwise the text is
//      compared with the value (a string as it is, anything else as printed), spaces collapsed.
//    All asserting blocks run in one tsx process.
// Needs `npm run build` first. Exits 1 naming each example that fails to type-check, to run,
// or to print what it asserts.
import { execFileSync } from "node:child_process"
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const out = join(root, ".doc-examples")
const runDir = join(out, "run")
rmSync(out, { recursive: true, force: true })
mkdirSync(runDir, { recursive: true })

const files = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? files(path) : path.endsWith(".ts") ? [path] : []
  })

const assertion = /^(.*?)\/\/\s*=>\s?(.*)$/
// a line that continues the statement above it: it opens with a closing bracket or an operator
const continues = /^(\s|[)\]}.,?:+\-*/%|&=!])/
// a line after which the statement goes on: it ends with an opening bracket or an operator
const leadsOn = /([([{,?:+\-*/%|&=!]|=>)\s*$/

/**
 * The module that computes an asserting block's value as `__value`, and the expected text; or
 * undefined when the block does not end in an assertion.
 */
const runnable = (block) => {
  let last = block.length - 1
  while (last >= 0 && block[last].trim() === "") last--
  if (last < 0) return undefined
  const match = assertion.exec(block[last])
  if (match === null) return undefined
  const code = match[1].trimEnd()
  if (code.trimStart().startsWith("//")) return undefined // a commented-out line: commentary
  const expected = match[2].trim()
  const lines = block.slice(0, last)
  if (code !== "") lines.push(code)
  let end = lines.length - 1
  while (end >= 0 && (lines[end].trim() === "" || lines[end].trimStart().startsWith("//"))) end--
  if (end < 0) return undefined
  let start = end
  for (; start > 0; start--) {
    const line = lines[start]
    if (continues.test(line) || line.trimStart().startsWith("//")) continue
    let previous = start - 1
    while (previous >= 0 && (lines[previous].trim() === "" || lines[previous].trimStart().startsWith("//"))) previous--
    if (previous >= 0 && leadsOn.test(lines[previous])) continue
    break
  }
  const statement = lines
    .slice(start, end + 1)
    .join("\n")
    .replace(/;\s*$/, "")
  // a type has no value to print: `// =>` after one is commentary
  if (/^(?:export\s+)?(?:type|interface|declare)\s/.test(statement)) return undefined
  const declared = /^(?:export\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*[:=]/.exec(statement)
  const body = declared
    ? [...lines.slice(0, end + 1), `export const __value = ${declared[1]}`]
    : [...lines.slice(0, start), `export const __value = (\n${statement}\n)`]
  return { source: `${body.join("\n")}\n`, expected }
}

const origins = new Map()
const runs = []
let count = 0
for (const file of files(join(root, "src"))) {
  const lines = readFileSync(file, "utf8").split("\n")
  let inComment = false
  let block = undefined
  let start = 0
  lines.forEach((line, index) => {
    if (/^\s*\/\*\*/.test(line)) inComment = true
    if (inComment) {
      const text = line.replace(/^\s*\*\s?/, "")
      if (block === undefined && /^```(ts|typescript)\b/.test(text.trim())) {
        block = []
        start = index + 1
      } else if (block !== undefined && text.trim() === "```") {
        const name = `${relative(join(root, "src"), file).replace(/[\\/]/g, "_").replace(/\.ts$/, "")}_${start}.ts`
        // a module of its own, so declarations of one example never clash with another's
        writeFileSync(join(out, name), `${block.join("\n")}\nexport {}\n`)
        origins.set(name, `${relative(root, file)}:${start}`)
        const run = runnable(block)
        if (run !== undefined) {
          writeFileSync(join(runDir, name), run.source)
          runs.push({ module: `./${name}`, origin: origins.get(name), expected: run.expected })
        }
        count++
        block = undefined
      } else if (block !== undefined) {
        block.push(text)
      }
    }
    if (/\*\//.test(line)) {
      inComment = false
      block = undefined
    }
  })
}

writeFileSync(
  join(out, "tsconfig.json"),
  JSON.stringify({
    extends: "../tsconfig.base.json",
    compilerOptions: { noEmit: true, noUnusedLocals: false, noUnusedParameters: false },
    include: ["*.ts"]
  })
)

try {
  execFileSync(join(root, "node_modules", ".bin", "tsc"), ["-p", join(out, "tsconfig.json")], { stdio: "pipe", encoding: "utf8" })
} catch (error) {
  const report = String(error.stdout ?? "") + String(error.stderr ?? "")
  const failing = new Set()
  for (const line of report.split("\n")) {
    const match = /^(?:\.doc-examples\/)?([^(:\s]+\.ts)\((\d+),(\d+)\): (.*)$/.exec(line.replace(`${out}/`, ""))
    if (match === null) continue
    failing.add(match[1])
    console.error(`${origins.get(match[1]) ?? match[1]} (example line ${match[2]}): ${match[4]}`)
  }
  console.error(`check-doc-examples: ${failing.size} of ${count} TSDoc examples do not type-check`)
  process.exit(1)
}
console.log(`check-doc-examples: all ${count} TSDoc examples type-check`)

// The runner: imports each asserting example in turn, in this one process.
writeFileSync(
  join(runDir, "main.ts"),
  `import { Duration, Effect } from "effect"

const runs: ReadonlyArray<{ module: string; origin: string; expected: string }> = ${JSON.stringify(runs, null, 2)}

const show = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (typeof value === "bigint") return \`\${value}n\`
  if (typeof value === "function") return "[Function]"
  if (typeof value !== "object" || value === null) return String(value)
  if (Duration.isDuration(value)) return \`Duration(\${Duration.format(value)})\`
  if (Array.isArray(value)) return \`[\${value.map(show).join(", ")}]\`
  const record = value as Record<string, unknown>
  const keys = Object.keys(record).sort()
  return keys.length === 0 ? "{}" : \`{ \${keys.map((key) => \`\${key}: \${show(record[key])}\`).join(", ")} }\`
}

const collapse = (text: string) => text.replace(/\\s+/g, " ").trim()

const withTimeout = <A>(promise: Promise<A>): Promise<A> =>
  Promise.race([promise, new Promise<A>((_, reject) => setTimeout(() => reject(new Error("did not finish within 5 s")), 5_000).unref())])

const failures: Array<string> = []
for (const run of runs) {
  try {
    const module = (await withTimeout(import(run.module))) as { __value: unknown }
    let value = module.__value
    if (Effect.isEffect(value)) value = await withTimeout(Effect.runPromise(value as Effect.Effect<unknown, unknown>))
    else if (value instanceof Promise) value = await withTimeout(value)
    let expected: unknown
    let parsed = false
    try {
      expected = new Function("Duration", \`return (\${run.expected})\`)(Duration)
      parsed = true
    } catch {}
    const actual = parsed ? show(value) : typeof value === "string" ? value : show(value)
    const wanted = parsed ? show(expected) : run.expected
    if (collapse(actual) !== collapse(wanted)) failures.push(\`\${run.origin}: expected \${run.expected}, got \${show(value)}\`)
  } catch (error) {
    const reason = error instanceof Error && error.message !== "" ? error.message : String(error)
    failures.push(\`\${run.origin}: failed to run: \${reason.split("\\n")[0]}\`)
  }
}
for (const failure of failures) console.error(failure)
console.log(
  failures.length === 0
    ? \`check-doc-examples: all \${runs.length} asserting TSDoc examples print what they assert\`
    : \`check-doc-examples: \${failures.length} of \${runs.length} asserting TSDoc examples do not print what they assert\`
)
process.exit(failures.length === 0 ? 0 : 1)
`
)

try {
  execFileSync(join(root, "node_modules", ".bin", "tsx"), [join(runDir, "main.ts")], { cwd: root, stdio: "inherit" })
} catch {
  process.exit(1)
}
