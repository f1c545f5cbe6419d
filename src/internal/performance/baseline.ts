/**
 * Learned baselines and alert decisions, as plain functions on plain state.
 *
 * A baseline is an exponentially weighted mean and variance of one metric (the window's p99
 * latency or error rate), updated once per evaluation with `alpha`. The metric departs from
 * its baseline when it exceeds `mean + sensitivity x deviation`, where the deviation has a
 * floor (a fraction of the mean for latency, an absolute rate for errors) so a perfectly
 * steady metric does not alert on noise. Only upward departures alert: a faster or cleaner
 * operation is not a problem.
 */

export type MetricName = "latency_p99" | "error_rate"

export interface Baseline {
  mean: number
  variance: number
  /** evaluations learned so far */
  samples: number
}

export interface BaselineConfig {
  /** weight of a new sample, in (0, 1] */
  readonly alpha: number
  /** deviations above the mean that count as a departure */
  readonly sensitivity: number
  /** evaluations learned before the baseline may alert */
  readonly warmup: number
  /** fraction of the mean used as the smallest latency deviation */
  readonly latencyFloor: number
  /** smallest error-rate deviation (absolute) */
  readonly errorRateFloor: number
}

export const emptyBaseline = (): Baseline => ({ mean: 0, variance: 0, samples: 0 })

/**
 * Folds one sample in. While alerting, only the mean moves, ten times slower, and the
 * deviation is frozen: a brief anomaly is neither learned as normal nor allowed to widen the
 * band until it "fits" (which would clear the alert while the anomaly lasts), but a lasting
 * new level is eventually accepted.
 */
export const learn = (baseline: Baseline, value: number, alpha: number, alerting: boolean): void => {
  if (baseline.samples === 0) {
    baseline.mean = value
    baseline.variance = 0
    baseline.samples = 1
    return
  }
  const diff = value - baseline.mean
  if (alerting) {
    baseline.mean += (alpha / 10) * diff
  } else {
    baseline.mean += alpha * diff
    baseline.variance = (1 - alpha) * (baseline.variance + alpha * diff * diff)
  }
  baseline.samples++
}

/**
 * The deviation used for decisions: the learned one, or its floor. For the error rate of a
 * window of `count` calls the floor also includes the binomial sampling noise
 * sqrt(p (1 - p) / count): 5 % errors over 30 calls is often 10 % in one window by chance.
 */
export const deviation = (baseline: Baseline, metric: MetricName, config: BaselineConfig, count = Infinity): number => {
  const floor =
    metric === "latency_p99"
      ? config.latencyFloor * baseline.mean
      : Math.max(config.errorRateFloor, Math.sqrt((baseline.mean * (1 - baseline.mean)) / count))
  return Math.max(Math.sqrt(baseline.variance), floor, Number.EPSILON)
}

/** The value above which the metric departs from its baseline (Infinity while warming up). */
export const upperBound = (baseline: Baseline, metric: MetricName, config: BaselineConfig, count = Infinity): number =>
  baseline.samples < config.warmup ? Infinity : baseline.mean + config.sensitivity * deviation(baseline, metric, config, count)

export interface ActiveAlert {
  readonly since: number
}

export type AlertDecision = "fire" | "clear" | "none"

/**
 * Whether an alert changes: fires when the value exceeds the bound and none is active, clears
 * when an active one's value is back within the bound or there is no value (no traffic).
 */
export const decide = (active: ActiveAlert | undefined, value: number | undefined, bound: number): AlertDecision => {
  const exceeded = value !== undefined && value > bound
  if (exceeded && active === undefined) return "fire"
  if (!exceeded && active !== undefined) return "clear"
  return "none"
}
