#!/usr/bin/env node
// Type-checks every TSDoc example in src/: each ```ts block inside a /** */ comment becomes a
// module in .doc-examples/ (inside the package, so `import ... from "effect-foundation"`
// resolves to this package's own build, as it will for a user) and tsc checks them all with the
// project's strict settings. Needs `npm run build` first. Exits 1 naming each failing example.
import { execFileSync } from "node:child_process"
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const out = join(root, ".doc-examples")
rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })

const files = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? files(path) : path.endsWith(".ts") ? [path] : []
  })

const origins = new Map()
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
