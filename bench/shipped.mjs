/**
 * Module hooks for the benchmark workers: our modules are measured as they ship. A suite
 * imports `src/...` (so it type-checks against the sources), and these hooks load the
 * compiled `dist/...` file of the same tree instead, which bench/run.ts builds first.
 *
 * Why: the workers load TypeScript through tsx, whose esbuild transform keeps function names
 * (`keepNames`). That wraps every named closure in an `Object.defineProperty` call each time
 * it is created, and redefines each class's `name`, which makes `instanceof` on our classes
 * several times slower. The peers and effect are measured from their published JavaScript;
 * ours is too. `npm run bench -- --sources` measures the sources through tsx instead.
 *
 * Plain JavaScript (not TypeScript) because hooks run in the loader's own thread.
 */
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"

/** the trees (repository, `--against` worktree) whose `src/` is redirected */
let roots = []

export const initialize = (data) => {
  roots = data.roots.map((root) => `${root.endsWith("/") ? root.slice(0, -1) : root}/`)
}

export const resolve = async (specifier, context, nextResolve) => {
  const resolved = await nextResolve(specifier, context)
  const url = resolved.url
  if (!url.startsWith("file://")) return resolved
  const path = fileURLToPath(url)
  const root = roots.find((r) => path.startsWith(`${r}src/`))
  if (root === undefined) return resolved
  const compiled = `${root}dist/${path.slice(root.length + 4).replace(/\.ts$/, ".js")}`
  if (!existsSync(compiled)) throw new Error(`benchmark: ${compiled} is missing (bench/run.ts builds dist first; run npm run build)`)
  return { ...resolved, url: new URL(`file://${compiled}`).href, format: "module" }
}
