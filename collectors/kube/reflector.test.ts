/** The retry delays of the kube watches. */
import { describe, expect, test } from 'vitest';
import { Backoff, DEFAULT_WATCH_TIMING } from './reflector.js';

describe('Backoff', () => {
  test('doubles from 0.8 s to a 30 s ceiling, ±25 % jitter', () => {
    const middle = new Backoff(DEFAULT_WATCH_TIMING, () => 0.5);
    const delays = Array.from({ length: 8 }, (_, i) => middle.next(1000 + i * 100));
    expect(delays).toEqual([800, 1600, 3200, 6400, 12_800, 25_600, 30_000, 30_000]);

    const low = new Backoff(DEFAULT_WATCH_TIMING, () => 0);
    const high = new Backoff(DEFAULT_WATCH_TIMING, () => 0.999_999);
    expect(low.next(0)).toBe(600);
    expect(high.next(0)).toBe(1000);
  });

  test('starts again from the first delay after a healthy period', () => {
    const b = new Backoff(DEFAULT_WATCH_TIMING, () => 0.5);
    expect([b.next(0), b.next(1000), b.next(2000)]).toEqual([800, 1600, 3200]);
    expect(b.next(2000 + DEFAULT_WATCH_TIMING.backoffResetMs + 1)).toBe(800);
  });

  test('the defaults let a healthy watch end before the watchdog trips', () => {
    expect(DEFAULT_WATCH_TIMING.watchSilenceMs).toBeGreaterThan(2 * DEFAULT_WATCH_TIMING.watchTimeoutSeconds * 1000);
  });
});
