/**
 * Where `Foundation.load` finds the configuration: the JSON file named by
 * `FOUNDATION_CONFIG_FILE`, else the JSON in `FOUNDATION_CONFIG`, else `config` (variables).
 */
import { Config as EffectConfig, Effect, Option } from "effect"
import { readFile } from "node:fs/promises"
import * as Config from "../../Config.js"
import { InvalidConfig } from "../../Errors.js"
import { describeCandidates } from "../runtime/options.js"

export const loadFrom = (config: EffectConfig.Config<Config.FoundationConfig>): Effect.Effect<Config.FoundationConfig, InvalidConfig> =>
  Effect.gen(function* () {
    const file = yield* EffectConfig.option(EffectConfig.String("FOUNDATION_CONFIG_FILE")).pipe(
      Effect.mapError((error) => new InvalidConfig({ path: "FOUNDATION_CONFIG_FILE", message: String(error) }))
    )
    if (Option.isSome(file)) {
      const text = yield* Effect.tryPromise({
        try: () => readFile(file.value, "utf8"),
        catch: (error) => new InvalidConfig({ path: "FOUNDATION_CONFIG_FILE", message: `cannot read ${file.value}: ${String(error)}` })
      })
      return yield* Config.decode(yield* parseJson(text, `FOUNDATION_CONFIG_FILE (${file.value})`))
    }
    const inline = yield* EffectConfig.option(EffectConfig.String("FOUNDATION_CONFIG")).pipe(
      Effect.mapError((error) => new InvalidConfig({ path: "FOUNDATION_CONFIG", message: String(error) }))
    )
    if (Option.isSome(inline)) return yield* Config.decode(yield* parseJson(inline.value, "FOUNDATION_CONFIG"))
    return yield* config.pipe(Effect.mapError((error) => new InvalidConfig({ path: "foundation", message: error.message })))
  })

const parseJson = (text: string, path: string) =>
  Effect.try({
    try: () => JSON.parse(text) as unknown,
    catch: (error) => new InvalidConfig({ path, message: `${path} is not valid JSON: ${String(error)}` })
  })

/**
 * One pool's section of a configuration as written (own keys only: "toString" is not a pool),
 * with its name; throws `InvalidConfig` for a name the configuration has no pool for.
 */
export const poolSizing = (config: unknown, name: string): object => {
  const pools = typeof config === "object" && config !== null ? (config as { readonly pools?: unknown }).pools : undefined
  const configured = typeof pools === "object" && pools !== null ? Object.keys(pools) : []
  if (!configured.includes(name)) {
    throw new InvalidConfig({
      path: `pools.${name}`,
      message: `pools.${name}: no pool "${name}" is configured; ${describeCandidates(name, configured)}`
    })
  }
  return { ...(pools as Record<string, object>)[name], name }
}
