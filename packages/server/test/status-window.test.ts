// The status page's sliding minute, on a clock the test moves: rates,
// error rates and percentiles of the last 60 seconds, nothing older.
import type { CallEnd, CallStatus } from '@zrpc/core';
import { afterEach, describe, expect, it } from 'vitest';
import { StatusWindow } from '../src/admin/status-window.js';

const windows: StatusWindow[] = [];
afterEach(() => {
  for (const window of windows.splice(0)) window.close();
});

function windowAt(startMs = 1_000_000) {
  const clock = { ms: startMs };
  const window = new StatusWindow(
    (method) => (method.startsWith('known') ? method : '_OTHER'),
    () => clock.ms,
  );
  windows.push(window);
  const call = (method: string, durationMs: number, status: CallStatus = 'ok') => {
    // What the window's timer does every 100 ms.
    window.tick();
    window.observer({ method, durationMs, status } as CallEnd);
  };
  const method = (name: string) => window.methodStatuses().find((m) => m.name === name)!;
  return { clock, window, call, method };
}

const within10 = (actual: number, expected: number) =>
  Math.abs(actual - expected) / expected <= 0.1;

describe('StatusWindow', () => {
  it('calls per second and error rate over the seconds it has seen, up to a minute', () => {
    const { clock, call, method } = windowAt();
    for (let s = 0; s < 10; s++) {
      for (let i = 0; i < 5; i++) call('known_a', 1, i === 0 ? 'error' : 'ok');
      clock.ms += 1000;
    }
    // 50 calls over the 11 seconds since it started (the current one included).
    const a = method('known_a');
    expect(a).toMatchObject({ calls: 50, errors: 10, errorRate: 0.2 });
    expect(a.callsPerSecond).toBeCloseTo(50 / 11);
    expect(a.callsSeries.slice(-11)).toEqual([5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 0]);
    expect(a.errorsSeries.slice(-11, -1)).toEqual(Array(10).fill(1));
  });

  it('forgets calls older than a minute', () => {
    const { clock, call, method, window } = windowAt();
    call('known_a', 1);
    call('known_a', 1, 'refused_busy');
    clock.ms += 30_000;
    call('known_a', 1);
    expect(method('known_a').calls).toBe(3);
    clock.ms += 31_000;
    expect(method('known_a')).toMatchObject({ calls: 1, errors: 0 });
    expect(window.statusCounts().lastMinute).toMatchObject({ ok: 1, refused_busy: 0 });
    expect(window.statusCounts().total).toMatchObject({ ok: 2, refused_busy: 1 });
    clock.ms += 60_000;
    expect(method('known_a')).toMatchObject({ calls: 0, p50Ms: null, p99Ms: null });
  });

  it('p50 and p99 within 10% of the true values', () => {
    const { call, method } = windowAt();
    // 1..1000 ms, once each: p50 500 ms, p99 990 ms.
    for (let ms = 1; ms <= 1000; ms++) call('known_a', ms);
    const { p50Ms, p99Ms } = method('known_a');
    expect(within10(p50Ms!, 500)).toBe(true);
    expect(within10(p99Ms!, 990)).toBe(true);
    // Sub-millisecond calls keep their precision too.
    const small = windowAt();
    for (let i = 0; i < 100; i++) small.call('known_b', 0.05);
    expect(within10(small.method('known_b').p50Ms!, 0.05)).toBe(true);
  });

  it('p99 per 5 seconds for the chart, null where there were no calls', () => {
    const { clock, call, method } = windowAt(0);
    call('known_a', 100);
    clock.ms += 5000;
    call('known_a', 10);
    const series = method('known_a').p99Series;
    expect(series).toHaveLength(12);
    expect(series.slice(0, 10)).toEqual(Array(10).fill(null));
    expect(within10(series[10]!, 100)).toBe(true);
    expect(within10(series[11]!, 10)).toBe(true);
  });

  it('names the caller chooses share one label; listed names show with no calls', () => {
    const { call, window } = windowAt();
    for (let i = 0; i < 1000; i++) call(`random_${i}`, 1, 'unknown_method');
    const names = window.methodStatuses(['known_idle']).map((m) => m.name);
    expect(names).toEqual(['_OTHER', 'known_idle']);
  });
});
