/**
 * Schema building blocks for the modules' option Schemas: durations (in code a `Duration`, a
 * string such as `"5 seconds"` or milliseconds; in a file a string or milliseconds), counts and
 * ratios, each with the constraint stated once.
 */
import { Duration, Effect, Schema } from "effect"
import { timerLimitProblem } from "./validate.js"

const positiveFinite = Schema.makeFilter<Duration.Duration>((duration) =>
  Duration.isFinite(duration) && Duration.toMillis(duration) > 0 ? undefined : "must be a positive, finite duration"
)

const fitsATimer = Schema.makeFilter<Duration.Duration>((duration) => timerLimitProblem(Duration.toMillis(duration)))

/** A positive, finite duration: a `Duration`, a string effect parses (`"5 seconds"`) or milliseconds. */
export const DurationInput = Schema.Union([Schema.Duration, Schema.DurationFromString, Schema.DurationFromMillis]).pipe(
  Schema.check(positiveFinite)
)

/** A duration that arms a timer (a timeout, an interval): also at most 2^31 - 1 ms. */
export const TimerDuration = DurationInput.pipe(Schema.check(fitsATimer))

/** An integer >= 1. */
export const PositiveInt = Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(1)))

/** An integer >= 0. */
export const NonNegativeInt = Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(0)))

/** A ratio in (0, 1]. */
export const Ratio = Schema.Finite.pipe(Schema.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(1)))

/** A number in [min, max]. */
export const between = (minimum: number, maximum: number) => Schema.Finite.pipe(Schema.check(Schema.isBetween({ minimum, maximum })))

/**
 * An optional field with its default next to it: absent (or `undefined`) decodes to `value`,
 * given in the input form (`"1 second"`, `1000`), so the default reads as a user would write it.
 */
export const withDefault = <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S, value: S["Encoded"]) =>
  schema.pipe(Schema.withDecodingDefault(Effect.succeed(value)))

/** Milliseconds of a decoded duration. */
export const millis = (duration: Duration.Duration): number => Duration.toMillis(duration)
