/**
 * Decoding options through a module's Schema, the one way every entry point (a layer, the
 * configuration file, runtime `configure`) turns input into options. Strict: an unknown key is
 * a violation naming its path, with the nearest known key as a suggestion. Every violation is
 * reported, at most `MAX_LISTED_VIOLATIONS` spelled out, as one `InvalidConfig` whose `path`
 * is the first violation's.
 */
import { Effect, Result, Schema, SchemaAST, SchemaIssue } from "effect"
import { InvalidConfig } from "../../Errors.js"
import { joinViolations } from "./validate.js"

// An unknown key's leaf message carries the keys that were expected, for the suggestion; the
// key itself is the last segment of the issue's path.
const UNKNOWN = "\u0000unknown-key\u0000"
// A key a record's key Schema refused (an empty name) is reported as unexpected too: it is not
// an unknown option but a bad name, and says so.
const BAD_NAME = "\u0000bad-name\u0000"

const leafHook: SchemaIssue.LeafHook = (issue) => {
  if (issue._tag !== "UnexpectedKey") return SchemaIssue.defaultLeafHook(issue)
  if (SchemaAST.isObjects(issue.ast) && issue.ast.propertySignatures.length === 0 && issue.ast.indexSignatures.length > 0) return BAD_NAME
  const known = SchemaAST.isObjects(issue.ast) ? issue.ast.propertySignatures.map((property) => String(property.name)) : []
  return UNKNOWN + known.join("\u0000")
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1({ leafHook })

/** One problem with the input: where, and what. */
export interface Violation {
  readonly path: string
  readonly message: string
}

const joinPath = (base: string, segments: ReadonlyArray<PropertyKey>): string =>
  [base, ...segments.map(String)].filter((segment) => segment !== "").join(".")

/** The violations a Schema issue stands for, paths prefixed by `base`. */
export const violationsOf = (issue: SchemaIssue.Issue, base = ""): Array<Violation> =>
  formatter(issue).issues.map((entry) => {
    const segments = (entry.path ?? []).map((segment) =>
      typeof segment === "object" && segment !== null && "key" in segment ? segment.key : segment
    ) as ReadonlyArray<PropertyKey>
    const path = joinPath(base, segments)
    if (entry.message === BAD_NAME) {
      return { path, message: `${JSON.stringify(String(segments[segments.length - 1] ?? ""))} is not a valid name here` }
    }
    if (!entry.message.startsWith(UNKNOWN)) return { path, message: entry.message }
    const known = entry.message
      .slice(UNKNOWN.length)
      .split("\u0000")
      .filter((key) => key !== "")
    const key = String(segments[segments.length - 1] ?? "")
    return { path, message: unknownKeyMessage(key, known) }
  })

/** `InvalidConfig` for a list of violations (the first one's path), or undefined when empty. */
export const invalidConfig = (violations: ReadonlyArray<Violation>): InvalidConfig | undefined =>
  violations.length === 0
    ? undefined
    : new InvalidConfig({
        path: violations[0]!.path,
        message: joinViolations(violations.map((v) => `${v.path || "(root)"}: ${v.message}`))
      })

/** How every entry point parses: report every violation, and an unknown key is one. */
export const parseOptions = { errors: "all", onExcessProperty: "error" } as const

/** A plain object (not null, not an array): where options carry code next to data. */
export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * Decodes `input` with `schema`, strictly (unknown keys are violations), reporting every
 * violation with its path under `base`.
 */
export const decode = <S extends Schema.Top & { readonly DecodingServices: never }>(
  schema: S,
  input: unknown,
  base = ""
): Effect.Effect<S["Type"], InvalidConfig> =>
  Schema.decodeUnknownEffect(schema)(input, parseOptions).pipe(Effect.mapError((error) => invalidConfig(violationsOf(error.issue, base))!))

/** `decode` for callers that cannot run an effect (a layer's synchronous set-up, a constructor). */
export const decodeSync = <S extends Schema.Top & { readonly DecodingServices: never }>(
  schema: S,
  input: unknown,
  base = ""
): S["Type"] | InvalidConfig => {
  const result = Schema.decodeUnknownResult(schema)(input, parseOptions)
  return Result.isSuccess(result) ? result.success : invalidConfig(violationsOf(result.failure.issue, base))!
}

/** The message for an unknown key: what it is not, and the nearest known key if one is close. */
export const unknownKeyMessage = (key: string, known: ReadonlyArray<string>): string => {
  const nearest = suggest(key, known)
  if (nearest !== undefined) return `unknown option "${key}"; did you mean "${nearest}"?`
  return known.length === 0
    ? `unknown option "${key}"`
    : `unknown option "${key}"; the options here are ${known.map((k) => `"${k}"`).join(", ")}`
}

/**
 * The candidate nearest to `name` by edit distance, if it is close enough to be a typo: at most
 * a third of the name's length (and at least 1) edits, or a case-insensitive match.
 */
export const suggest = (name: string, candidates: Iterable<string>): string | undefined => {
  const budget = Math.max(1, Math.floor(name.length / 3))
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of candidates) {
    if (candidate.toLowerCase() === name.toLowerCase()) return candidate
    const distance = editDistance(name, candidate, budget)
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return bestDistance <= budget ? best : undefined
}

/**
 * What a not-found error says after the name: the nearest configured name, or the configured
 * names (at most 10) when none is close, or that nothing is configured.
 */
export const describeCandidates = (name: string, candidates: ReadonlyArray<string>): string => {
  if (candidates.length === 0) return "none is configured"
  const nearest = suggest(name, candidates)
  if (nearest !== undefined) return `did you mean "${nearest}"?`
  const listed = candidates
    .slice(0, 10)
    .map((c) => `"${c}"`)
    .join(", ")
  return `configured: ${listed}${candidates.length > 10 ? ` and ${candidates.length - 10} more` : ""}`
}

/** Levenshtein distance, giving up (returning budget + 1) once it must exceed `budget`. */
const editDistance = (a: string, b: string, budget: number): number => {
  if (Math.abs(a.length - b.length) > budget) return budget + 1
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    let rowMin = i
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      const value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost)
      current.push(value)
      if (value < rowMin) rowMin = value
    }
    if (rowMin > budget) return budget + 1
    previous = current
  }
  return previous[b.length]!
}
