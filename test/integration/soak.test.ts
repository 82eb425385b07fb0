/**
 * The soak, shortened for CI (issues 9 and 17; `npm run soak` runs 1,000 cycles): realistic lab
 * pods (a Pod in --manifests with both Multus annotations, a process in its kubepods cgroup, eth0
 * and three macvlans by the real plugins) created and deleted while the agent is scraped every
 * second. Asserted: no scrape error, every deleted pod's series gone in the next fresh scrape,
 * every live pod complete and, once its Pod file was read, known by name; no leaked fds or NSIDs
 * (agent cache and kernel), no Pod file left. Memory is printed, not asserted: over 60 cycles on
 * a shared 2-core machine it is a noise figure.
 */
import { describe, expect, it } from 'vitest';
import { runSoak, soakSummary } from '../soak/soak.js';
import { LAB_POSSIBLE, LAB_STATE_ROOT, requireLab } from '../support/lab.js';

requireLab('soak.test.ts');

describe.skipIf(!LAB_POSSIBLE)('soak under pod churn (short)', () => {
  it('60 cycles of realistic pods: no stale series, no missing or unnamed ones, no leaked fds or nsids', async () => {
    const cycles = 60;
    const live = 12;
    const report = await runSoak({ cycles, live, pods: 'realistic', warmup: 20, name: `soak${process.pid % 100_000}`, stateRoot: LAB_STATE_ROOT, port: 19840, log: (l) => console.log(l) });
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
    // At the end every live pod's Pod file has been read (runSoak waits for it): all of them
    // known by name, eth0 and three macvlans × 14 series each, none as an unknown namespace.
    expect(report.end.soakSeries).toBe(live * 4 * 14);
    expect(report.end.knownSeries).toBe(report.end.soakSeries);
    expect(report.knownChecks).toBeGreaterThanOrEqual(live);
    // Each pod lives past the 8 s its Pod file needs by a few scrapes: every pod the soak made,
    // removed or left at the end, was required by name at least once.
    expect(report.podsCheckedKnown).toBe(cycles + live);
    expect(report.podsSeenKnown).toBeGreaterThanOrEqual(live);
    expect(report.scrapes).toBeGreaterThan(10);
  }, 240_000);
});
