/**
 * The `RateLimit-Policy` and `RateLimit` fields of draft-ietf-httpapi-ratelimit-headers
 * (-08/-09), as Structured Field lists of one item each:
 *
 *   RateLimit-Policy: "api";q=100;w=60
 *   RateLimit: "api";r=42;t=17
 *
 * `q` (quota) and `r` (remaining) are required; `w` (window) and `t` (seconds until reset)
 * are left out when unknown. All numbers are non-negative integers: seconds round up, so a
 * client never comes back before the quota is there.
 */
import { Duration } from "effect"

/** A policy name must be an sf-string: printable ASCII, with `"` and `\` escaped. */
export const isPolicyName = (name: string): boolean => name.length > 0 && /^[\x20-\x7e]*$/.test(name)

export const quoted = (name: string): string => `"${name.replace(/[\\"]/g, (c) => `\\${c}`)}"`

const integer = (value: number): number => (Number.isFinite(value) && value > 0 ? Math.floor(value) : 0)

/** Whole seconds, rounded up; undefined when infinite. */
export const seconds = (duration: Duration.Duration): number | undefined =>
  Duration.isFinite(duration) ? Math.max(0, Math.ceil(Duration.toMillis(duration) / 1000)) : undefined

export const policyField = (policy: string, quota: number, window: number | undefined): string =>
  `${policy};q=${integer(quota)}${window === undefined ? "" : `;w=${window}`}`

export const limitField = (policy: string, remaining: number, reset: number | undefined): string =>
  `${policy};r=${integer(remaining)}${reset === undefined ? "" : `;t=${reset}`}`
