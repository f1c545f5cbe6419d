#!/usr/bin/env node
// The layout rules of docs/contributing.md, checked: code in `src/internal/<concept>/`
//   - never imports, at run time, the public module it implements (`import type` is fine):
//     the public module imports its internals, so a run-time import back is a cycle;
//   - never reaches into another concept's folder: what concepts share lives in
//     `src/internal/runtime/`, which itself imports no concept folder.
// No file in `src/` is longer than MAX_LINES. Exits 1 with one line per violation.
import { readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve, sep } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const src = join(root, "src")
const internal = join(src, "internal")
const MAX_LINES = 400

/** The public modules each concept folder implements. */
const implementsModules = {
  circuitBreaker: ["CircuitBreaker.ts", "CircuitBreakerRedis.ts"],
  rateLimiter: ["RateLimiter.ts", "RateLimiterRedis.ts"],
  pool: ["Pool.ts"],
  memory: ["MemoryManager.ts"],
  performance: ["PerformanceMonitor.ts"],
  health: ["HealthAggregator.ts", "HealthHttp.ts"],
  protection: ["Protection.ts", "Protection.ts"],
  http: ["ProtectionHttp.ts", "RateLimitHttp.ts"],
  bulkhead: ["Bulkhead.ts"],
  foundation: ["Foundation.ts"],
  runtime: []
}

const files = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? files(path) : path.endsWith(".ts") ? [path] : []
  })

// `import x from "..."`, `import { a } from`, `export { a } from`, `export * from`, `import "..."`;
// `import type` / `export type` are type-only and erased at run time.
const importPattern = /^\s*(import|export)\s+(type\s+)?([^'"]*?\bfrom\s+)?["']([^"']+)["']/gm

const problems = []
for (const file of files(src)) {
  const text = readFileSync(file, "utf8")
  const lines = text.split("\n").length
  const shown = relative(root, file)
  if (lines > MAX_LINES) problems.push(`${shown}: ${lines} lines (at most ${MAX_LINES}): split it`)
  if (!file.startsWith(internal + sep)) continue
  const concept = relative(internal, file).split(sep)[0]
  if (!(concept in implementsModules)) {
    problems.push(`${shown}: internal code lives in a concept folder (${Object.keys(implementsModules).join(", ")})`)
    continue
  }
  for (const match of text.matchAll(importPattern)) {
    // only `import type` is erased: under verbatimModuleSyntax `import { type A }` stays an import
    const typeOnly = match[2] !== undefined
    const specifier = match[4]
    if (!specifier.startsWith(".")) continue
    const target = resolve(dirname(file), specifier.replace(/\.js$/, ".ts"))
    const line = text.slice(0, match.index).split("\n").length
    if (target.startsWith(internal + sep)) {
      const other = relative(internal, target).split(sep)[0]
      if (other !== concept && other !== "runtime") {
        problems.push(`${shown}:${line}: imports ${relative(root, target)}: reach another concept only through internal/runtime/`)
      }
      if (concept === "runtime" && other !== "runtime") {
        problems.push(`${shown}:${line}: internal/runtime/ imports no concept folder (${relative(root, target)})`)
      }
    } else if (dirname(target) === src && !typeOnly && implementsModules[concept].includes(relative(src, target))) {
      problems.push(`${shown}:${line}: imports its own public module ${relative(root, target)} at run time (use import type)`)
    }
  }
}

if (problems.length > 0) {
  for (const problem of problems) console.error(problem)
  console.error(`check-layout: ${problems.length} problem${problems.length === 1 ? "" : "s"}`)
  process.exit(1)
}
console.log("check-layout: every internal module is in its concept folder; no file over 400 lines")
