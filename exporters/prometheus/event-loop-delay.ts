/**
 * `nodejs_eventloop_lag_{min,max,mean,stddev,p50,p90,p99}_seconds`: how late the event loop ran a
 * timer due once a second, over the time since the last scrape.
 *
 * prom-client's defaults make these from Node's `monitorEventLoopDelay`, whose timer woke the
 * agent 10 times a second at the 100 ms precision we gave it: an idle agent took 1.4-1.9 ms of CPU
 * a second with it and 1.1-1.3 ms with this sampler (250-pod lab, route refresh off, perf stat);
 * idle CPU counts against the 1%-of-a-core target. And Node's histogram records the time between
 * two timer callbacks, not the delay (prom-client's p50 was 0.100 s with nothing blocking), and
 * its reset at each scrape drops the next interval.
 *
 * Here one timer, due every second, records how late each of its runs was. A second's sampling
 * still catches the stalls that matter: CPU throttling or a long scrape straddles a tick often
 * over a scrape interval's 15-30 samples; a short one is caught in proportion to its length (a
 * 60 ms scrape in 6% of seconds).
 */
import { type Family } from './family.js';

/** How often the sampler's timer is due, milliseconds. */
export const EVENT_LOOP_SAMPLE_MS = 1000;
/** Delays kept between two scrapes at most (the latest): a quarter of an hour at one a second. */
const MAX_SAMPLES = 900;

/** The seven gauges, as prom-client names and describes them. */
const GAUGES = [
  ['nodejs_eventloop_lag_min_seconds', 'The minimum recorded event loop delay.'],
  ['nodejs_eventloop_lag_max_seconds', 'The maximum recorded event loop delay.'],
  ['nodejs_eventloop_lag_mean_seconds', 'The mean of the recorded event loop delays.'],
  ['nodejs_eventloop_lag_stddev_seconds', 'The standard deviation of the recorded event loop delays.'],
  ['nodejs_eventloop_lag_p50_seconds', 'The 50th percentile of the recorded event loop delays.'],
  ['nodejs_eventloop_lag_p90_seconds', 'The 90th percentile of the recorded event loop delays.'],
  ['nodejs_eventloop_lag_p99_seconds', 'The 99th percentile of the recorded event loop delays.'],
] as const;

/** The names of the seven gauges. */
export const EVENT_LOOP_DELAY_GAUGES: readonly string[] = GAUGES.map(([name]) => name);

/** min, max, mean, stddev, p50, p90, p99 of `delays` (ms), in seconds; all 0 for none. Sorts `delays`. */
export function delayFigures(delays: number[]): number[] {
  const n = delays.length;
  if (n === 0) return GAUGES.map(() => 0);
  delays.sort((a, b) => a - b);
  let sum = 0;
  for (const d of delays) sum += d;
  const mean = sum / n;
  let squares = 0;
  for (const d of delays) squares += (d - mean) ** 2;
  // Nearest rank, as HdrHistogram (prom-client's source) answers.
  const pct = (p: number): number => delays[Math.max(0, Math.ceil((p / 100) * n) - 1)] as number;
  return [delays[0] as number, delays[n - 1] as number, mean, Math.sqrt(squares / n), pct(50), pct(90), pct(99)].map((ms) => ms / 1000);
}

/** A timer due every `sampleMs` that records how late each run is, in ms. */
export class EventLoopDelaySampler {
  #delays: number[] = [];
  #last = performance.now();
  readonly #timer: NodeJS.Timeout;

  constructor(sampleMs = EVENT_LOOP_SAMPLE_MS) {
    this.#timer = setInterval(() => {
      const now = performance.now();
      if (this.#delays.length >= MAX_SAMPLES) this.#delays.shift();
      this.#delays.push(Math.max(0, now - this.#last - sampleMs));
      this.#last = now;
    }, sampleMs);
    this.#timer.unref();
  }

  /** The delays recorded since the last call, oldest first. */
  take(): number[] {
    const taken = this.#delays;
    this.#delays = [];
    return taken;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** The seven gauges over the delays `sampler` recorded since the last call (which it forgets). */
export function eventLoopDelayFamilies(sampler: EventLoopDelaySampler): Family[] {
  const figures = delayFigures(sampler.take());
  return GAUGES.map(([name, help], i) => ({ name, help, type: 'gauge', samples: [{ labels: {}, value: figures[i] as number }] }));
}
