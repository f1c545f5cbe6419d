/** The shared breaker layer's own options (stated once, decoded strictly). */
import { Schema } from "effect"
import { Prefix } from "../../runtime/redisOptions.js"
import { TimerDuration, withDefault } from "../../runtime/schemas.js"

export const SharedOptions = Schema.Struct({
  /** keys and channel are `<prefix>:state:<breaker>`, `<prefix>:lease:<breaker>:<i>`, `<prefix>:transitions` */
  prefix: withDefault(Prefix, "effect-foundation:cb"),
  /** the bound on every command: once per transition or probe, so it can be generous */
  commandTimeout: withDefault(TimerDuration, "1 second")
})
