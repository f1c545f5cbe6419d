/**
 * The public module's longer signatures, kept here so `src/Pool.ts` stays readable.
 */
import type { Context, Effect } from "effect"
import type { InvalidConfig } from "../../Errors.js"
import type { CheckoutError, CheckoutOptions, Pool } from "../../Pool.js"

/** `Pool.use`: data-last and data-first, each with or without checkout options. */
export interface UseCombinator {
  // data-first first: with two arguments, TypeScript would otherwise try (f, options) and give
  // the resource's parameter no type
  <Self, A, E, B, E2, R2>(
    tag: Context.Key<Self, Pool<A, E>>,
    f: (resource: A) => Effect.Effect<B, E2, R2>
  ): Effect.Effect<B, E | E2 | CheckoutError, R2 | Self>
  <Self, A, E, B, E2, R2>(
    tag: Context.Key<Self, Pool<A, E>>,
    f: (resource: A) => Effect.Effect<B, E2, R2>,
    options: CheckoutOptions
  ): Effect.Effect<B, E | E2 | CheckoutError | InvalidConfig, R2 | Self>
  <A, B, E2, R2>(
    f: (resource: A) => Effect.Effect<B, E2, R2>
  ): <Self, E>(tag: Context.Key<Self, Pool<A, E>>) => Effect.Effect<B, E | E2 | CheckoutError, R2 | Self>
  <A, B, E2, R2>(
    f: (resource: A) => Effect.Effect<B, E2, R2>,
    options: CheckoutOptions
  ): <Self, E>(tag: Context.Key<Self, Pool<A, E>>) => Effect.Effect<B, E | E2 | CheckoutError | InvalidConfig, R2 | Self>
}
