import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { parseExposition } from '../../test/support/exposition.js';
import { delayFigures, EVENT_LOOP_DELAY_GAUGES, EventLoopDelaySampler, eventLoopDelayFamilies } from './event-loop-delay.js';
import { writeFamilies } from './exposition.js';
import { createMetricsRenderer } from './registry.js';
import { EMPTY_SNAPSHOT } from '../../agent/model/snapshot.js';
import { assess } from '../../agent/rules/assess.js';

const value = (text: string, name: string): number => {
  const s = parseExposition(text).find((x) => x.name === name);
  if (s === undefined) throw new Error(`${name} not in the exposition`);
  return s.value;
};

describe('event-loop delay gauges', () => {
  it('are min, max, mean, stddev and nearest-rank percentiles in seconds, all 0 with no sample', () => {
    expect(delayFigures([40, 10, 30, 20])).toEqual([0.01, 0.04, 0.025, expect.closeTo(Math.sqrt(125) / 1000, 12), 0.02, 0.04, 0.04]);
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(delayFigures(hundred).slice(4)).toEqual([0.05, 0.09, 0.099]);
    expect(delayFigures([])).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });

  it('see a blocked loop, and not the interval itself when nothing blocks', async () => {
    const sampler = new EventLoopDelaySampler(400);
    const read = (): string => writeFamilies(eventLoopDelayFamilies(sampler));
    try {
      // Quiet for three ticks: what is recorded is lateness, not the 400 ms between ticks.
      await sleep(1_300);
      const quiet = read();
      expect(value(quiet, 'nodejs_eventloop_lag_min_seconds')).toBeLessThan(0.2);
      // Read and reset: the next read starts afresh. Then the loop blocked across a tick.
      const until = Date.now() + 900;
      while (Date.now() < until) {
        // busy: the tick due meanwhile runs late
      }
      await sleep(450);
      const blocked = read();
      expect(value(blocked, 'nodejs_eventloop_lag_max_seconds')).toBeGreaterThanOrEqual(0.4);
      for (const name of EVENT_LOOP_DELAY_GAUGES) expect(value(blocked, name)).toBeGreaterThanOrEqual(0);
    } finally {
      sampler.stop();
    }
  });

  it('are in /metrics once each', async () => {
    const renderer = createMetricsRenderer({ version: 't', assessed: async () => ({ snapshot: EMPTY_SNAPSHOT, assessment: assess(EMPTY_SNAPSHOT) }) });
    const samples = parseExposition(await renderer.render());
    for (const name of EVENT_LOOP_DELAY_GAUGES) expect(samples.filter((s) => s.name === name), name).toHaveLength(1);
    // prom-client's gauge, measured with a setImmediate queued at the scrape, is there too.
    expect(samples.filter((s) => s.name === 'nodejs_eventloop_lag_seconds')).toHaveLength(1);
  });
});
