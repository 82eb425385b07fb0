/**
 * The soak, shortened for CI (issue 9; `npm run soak` runs 1,000 cycles): lab pods with real
 * macvlans created and deleted while the agent is scraped every second. Asserted: no scrape
 * error, every deleted pod's series gone in the next fresh scrape, every live pod complete, no
 * leaked fds or NSIDs (agent cache and kernel). Memory is printed, not asserted: over 80 cycles
 * on a shared 2-core machine it is a noise figure.
 */
import { describe, expect, it } from 'vitest';
import { runSoak, soakSummary } from '../soak/soak.js';
import { LAB_POSSIBLE, LAB_STATE_ROOT, requireLab } from '../support/lab.js';

requireLab('soak.test.ts');

describe.skipIf(!LAB_POSSIBLE)('soak under pod churn (short)', () => {
  it('80 cycles: no stale series, no missing ones, no leaked fds or nsids', async () => {
    const cycles = 80;
    const live = 4;
    const report = await runSoak({ cycles, live, warmup: 20, name: `soak${process.pid % 100_000}`, stateRoot: LAB_STATE_ROOT, port: 19840, log: (l) => console.log(l) });
    console.log(soakSummary(report).text);
    expect(report.failures).toEqual([]);
    expect(report.scrapeErrors).toBe(0);
    expect(report.cycles).toBe(cycles);
    // Every pod removed (the churn's and the drained ones) was looked for in a later scrape.
    expect(report.deletionsChecked).toBe(cycles + live);
    expect(report.drained.fds).toBeLessThanOrEqual(report.start.fds);
    // The agent sees only the soak's pods: after the drain it remembers no NSID, and the kernel
    // holds no more NSIDs in its namespace than before the first pod.
    expect([report.drained.netnsDiscovered, report.drained.nsidsCached, report.drained.soakSeries]).toEqual([0, 0, 0]);
    expect(report.drained.kernelNsids).toBeLessThanOrEqual(report.baseline.kernelNsids);
    expect(report.end.soakSeries).toBe(live * 3 * 14);
    expect(report.scrapes).toBeGreaterThan(10);
  }, 240_000);
});
