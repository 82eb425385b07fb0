/**
 * Root-only: the per-node series budget of docs/filters.md, counted from real scrapes of the seed
 * lab (not by hand): series per pod attachment, per pod interface, per host interface, per
 * required master, per NAD, per network with --pod.series=per-network; per VF from the SR-IOV
 * golden exposition (no SR-IOV hardware here). Prints the arithmetic for 110 pods × 3 networks
 * and asserts the per-unit counts docs/filters.md states.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgentIn, type AgentProcess } from '../support/agent-process.js';
import { parseExposition, type ParsedSample } from '../support/exposition.js';
import { LAB_POSSIBLE, LAB_STATE_ROOT, requireLab, scrapeAgent, testLab } from '../support/lab.js';

const LAB = `bud${process.pid % 100000}`;
const theLab = testLab(LAB);
const NODE = theLab.node;
const PORT = 19741;
const MANIFESTS = `${LAB_STATE_ROOT}/${LAB}/manifests`;

requireLab('test/integration/series-budget.test.ts');

/** Series per key, for the samples `pick` keys (undefined: not counted). */
function perKey(samples: readonly ParsedSample[], pick: (s: ParsedSample) => string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples) {
    const k = pick(s);
    if (k !== undefined) out.set(k, (out.get(k) ?? 0) + 1);
  }
  return out;
}

const distinct = (m: Map<string, number>): number[] => [...new Set(m.values())].sort((a, b) => a - b);

describe.skipIf(!LAB_POSSIBLE)('series budget, counted on the seed lab', () => {
  let perPod: ParsedSample[] = [];
  let perNetwork: ParsedSample[] = [];

  beforeAll(async () => {
    await theLab.run('down');
    const up = await theLab.run('up');
    if (up.code !== 0) throw new Error(`lab up failed: ${up.out}`);
    const scrapeWith = async (args: string[]): Promise<ParsedSample[]> => {
      let agent: AgentProcess | undefined;
      try {
        agent = await startAgentIn(NODE, PORT, ['--manifests', MANIFESTS, '--log.level=warn', ...args]);
        return await scrapeAgent(NODE, agent, { fresh: true });
      } finally {
        await agent?.stop();
      }
    };
    perPod = await scrapeWith([]);
    perNetwork = await scrapeWith(['--pod.series=per-network']);
  }, 120_000);

  afterAll(async () => {
    expect((await theLab.run('down')).code).toBe(0);
  }, 120_000);

  it('counts series per unit and prints the budget for 110 pods × 3 networks', () => {
    const labPod = (s: ParsedSample): boolean => s.labels.pod !== undefined && s.labels.pod !== '';
    // Per attachment (requested network): attachment_missing, route_mismatch (the network has a
    // subnet and the pod a process) and policy_violation (the NAD has a policy).
    const attachmentFamilies = new Set(['multinet_pod_network_attachment_missing', 'multinet_pod_interface_route_mismatch', 'multinet_pod_network_policy_violation']);
    // Per pod interface (secondary or the cluster eth0): every other multinet_pod_interface_* series.
    const podIf = perKey(perPod, (s) => (s.name.startsWith('multinet_pod_interface_') && !attachmentFamilies.has(s.name) && labPod(s) ? `${s.labels.namespace}/${s.labels.pod}/${s.labels.interface}` : undefined));
    const attach = perKey(perPod, (s) => (attachmentFamilies.has(s.name) ? `${s.labels.namespace}/${s.labels.pod}/${s.labels.interface}` : undefined));
    // Per host-local range: allocated, capacity, leaked.
    const ipamRange = perKey(perPod, (s) => (s.name.startsWith('multinet_ipam_addresses_') ? `${s.labels.network}/${s.labels.range}` : undefined));
    // Per host interface: the per-interface families (not readiness, which is per required master).
    const readiness = new Set(['multinet_host_interface_required', 'multinet_host_interface_ready', 'multinet_host_interface_attachments']);
    const hostIf = perKey(perPod, (s) => (s.name.startsWith('multinet_host_interface_') && !readiness.has(s.name) ? s.labels.interface : undefined));
    const master = perKey(perPod, (s) => (readiness.has(s.name) ? s.labels.interface : undefined));
    const nad = perKey(perPod, (s) => (s.name.startsWith('multinet_network_attachment_definition_') ? `${s.labels.network_namespace}/${s.labels.network}` : undefined));
    const network = perKey(perNetwork, (s) => (s.name.startsWith('multinet_network_') && !s.name.startsWith('multinet_network_attachment_definition_') ? `${s.labels.network_namespace}/${s.labels.network}` : undefined));
    const fixed = perPod.filter((s) => s.name.startsWith('multinet_scrape_') || ['multinet_exported_series', 'multinet_series_limit_reached', 'multinet_series_dropped', 'multinet_build_info'].includes(s.name)).length;
    const processSeries = perPod.filter((s) => s.name.startsWith('process_') || s.name.startsWith('nodejs_')).length;
    // Per VF: the SR-IOV golden exposition (fixture E810/X710/ConnectX, the real writer).
    const sriov = parseExposition(readFileSync(new URL('../../collectors/sriov/testdata/sriov-metrics.prom', import.meta.url), 'utf8'));
    const vf = perKey(sriov, (s) => (s.name.startsWith('multinet_sriov_vf_') ? `${s.labels.pf}/${s.labels.vf}` : undefined));
    const pf = perKey(sriov, (s) => (s.name.startsWith('multinet_sriov_pf_') ? s.labels.pf : undefined));

    const [ifSeries] = distinct(podIf);
    expect(distinct(podIf)).toEqual([14]);
    // Up to 3: route_mismatch only where the pod's routes were read (a process inside, after the
    // first 10 s refresh), policy_violation only on the seed's storage network (it has a policy).
    expect(distinct(attach).every((n) => n >= 1 && n <= 3)).toBe(true);
    const attachMax = 3;
    expect(distinct(ipamRange)).toEqual([3]);
    expect(distinct(nad)).toEqual([2]);
    // eth1..eth3 are the lab's NAD masters (veths, which report a speed): info + 15 families.
    expect(distinct(hostIf)).toEqual([16]);
    // A required master: required (one per network that needs it) + ready + attachments.
    expect(distinct(master)).toEqual([3]);
    // Per network: 8 summed counters + interfaces{state="up"|"down"}.
    expect(distinct(network)).toEqual([10]);
    // Only the per-attachment health series stay per pod.
    expect(perNetwork.filter((s) => s.name.startsWith('multinet_pod_interface_') && !attachmentFamilies.has(s.name))).toEqual([]);

    const vfMax = Math.max(...vf.values());
    const pfMax = Math.max(...pf.values());
    const pods = 110;
    const nets = 3;
    const interfaces = pods * (nets + 1); // + eth0, the cluster network
    const hostNics = 4;
    const perPodBudget = interfaces * (ifSeries as number) + pods * nets * attachMax + nets * (2 + 3) + nets * 3 + hostNics * 16 + fixed;
    const perNetworkBudget = (nets + 1) * 10 + pods * nets * attachMax + nets * (2 + 3) + nets * 3 + hostNics * 16 + fixed;
    console.log(
      [
        'series per unit, counted from a scrape of the seed lab (5 pods, 3 macvlan NADs on eth1..eth3):',
        `  pod interface (each secondary interface and eth0)   ${ifSeries}  (${podIf.size} interfaces seen)`,
        `  pod attachment health (missing, route mismatch, policy violation) up to ${attachMax}  (${attach.size} attachments)`,
        `  host-local range (allocated, capacity, leaked)     3  (${ipamRange.size} ranges)`,
        `  host interface with a speed (info + 15)             16 (${hostIf.size} host interfaces: ${[...hostIf.keys()].join(', ')})`,
        `  required master (required per network, ready, attachments) 3`,
        `  NAD (info, invalid) + its host-local range (3)     5`,
        `  network with --pod.series=per-network               10 (${network.size} networks: ${[...network.keys()].join(', ')})`,
        `  SR-IOV VF (golden fixture)                          up to ${vfMax}; PF up to ${pfMax}`,
        `  fixed: collector success/duration, build, series self-metrics ${fixed}; process_*/nodejs_* ${processSeries}`,
        `budget, ${pods} pods x ${nets} networks (+ eth0), ${hostNics} physical NICs, ${nets} NADs on ${nets} masters:`,
        `  per-pod:     ${interfaces} x ${ifSeries} + ${pods * nets} x ${attachMax} + ${nets} x 5 + ${nets} x 3 + ${hostNics} x 16 + ${fixed} = ${perPodBudget}  (+ ${processSeries} process/nodejs)`,
        `  per-network: ${nets + 1} x 10 + ${pods * nets} x ${attachMax} + ${nets} x 5 + ${nets} x 3 + ${hostNics} x 16 + ${fixed} = ${perNetworkBudget}  (+ ${processSeries} process/nodejs)`,
        `  each SR-IOV VF adds up to ${vfMax}`,
      ].join('\n'),
    );
    expect(vfMax).toBeGreaterThan(0);
  });
});
