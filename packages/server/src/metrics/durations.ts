import { Histogram, type Registry as MetricsRegistry } from 'prom-client';

/** One label set's counts: per bucket (not cumulative), then the sum and count. */
export interface DurationSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * A prom-client `Histogram` whose observations are counted here, in plain
 * arrays, and handed to it when the registry is scraped. prom-client's own
 * `observe` validates and hashes the labels on every call (about 0.5 µs,
 * the better part of what metrics would cost a call); counting into a
 * series resolved once costs a few comparisons. The histogram stays a real
 * prom-client metric: registered, typed, exported (and aggregated across a
 * cluster) like any other.
 *
 * What is handed over is the shape prom-client keeps its label sets in
 * (`hashMap` entries of `{ labels, bucketValues, sum, count }`, prom-client
 * 11 to 15); the metrics tests read the exported text, so a change there
 * fails them.
 */
export class DurationHistogram {
  private readonly series: DurationSeries[] = [];
  private readonly bounds: Float64Array;

  constructor(
    registry: MetricsRegistry,
    config: { name: string; help: string; labelNames: string[]; buckets: readonly number[] },
  ) {
    const series = this.series;
    const bounds = [...config.buckets];
    new Histogram({
      ...config,
      buckets: bounds,
      registers: [registry],
      collect() {
        const entries: Record<string, unknown> = {};
        series.forEach((s, i) => {
          if (s.count === 0) return;
          const bucketValues: Record<number, number> = {};
          bounds.forEach((bound, b) => {
            bucketValues[bound] = s.buckets[b]!;
          });
          entries[i] = { labels: { ...s.labels }, bucketValues, sum: s.sum, count: s.count };
        });
        (this as unknown as { hashMap: Record<string, unknown> }).hashMap = entries;
      },
    });
    this.bounds = Float64Array.from(bounds);
  }

  /** A new label set (resolve it once, then `observe` into it). */
  add(labels: Record<string, string>): DurationSeries {
    const series: DurationSeries = {
      labels,
      buckets: new Float64Array(this.bounds.length),
      sum: 0,
      count: 0,
    };
    this.series.push(series);
    return series;
  }

  /** Count one observation of `seconds` in `series`. */
  observe(series: DurationSeries, seconds: number): void {
    const bounds = this.bounds;
    let b = 0;
    while (b < bounds.length && seconds > bounds[b]!) b++;
    // Past the last bound: counted in +Inf (the count) only, as prom-client does.
    if (b < bounds.length) series.buckets[b]!++;
    series.sum += seconds;
    series.count++;
  }
}
