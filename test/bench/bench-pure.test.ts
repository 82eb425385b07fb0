/** The bench's pure parts: statistics, exposition counting, flags, ip batches, mounts, CPU time, verdicts. Nothing here times anything. */
import { describe, expect, it } from 'vitest';
import { benchUsage, parseBenchArgs } from './bench-args.js';
import { fstabText, mountPoints, mountsUnder } from './bind-mounts.js';
import { macvlanBatch, nodeBatch, podInterfaceNames, podMacvlanBatch, podNames, type PreparedCase } from './cases.js';
import { cpuNanos, runNanosOfSchedstat } from './cpu-time.js';
import { parseEnvAssignments } from './exporters.js';
import { netnsBatchInput, netnsInodeOfLink, parseNetnsList } from './netns.js';
import { commandLine } from './processes.js';
import type { ExporterFigures, MeasureResult, PodInterfaceCount } from './protocol.js';
import { cpuUseOf, floorOf, intervalSpread, podCheckOf, shortList, verdictOf } from './report.js';
import { countSamples, expositionStats } from './scrape.js';
import { median, percentile } from './stats.js';

describe('median and percentile', () => {
  it('takes the middle, or the mean of the two middle samples', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('p95 of 20 samples is the 19th by nearest rank', () => {
    const samples = Array.from({ length: 20 }, (_, i) => 20 - i);
    expect(percentile(samples, 95)).toBe(19);
    expect(percentile([7], 95)).toBe(7);
  });

  it('refuses no samples', () => {
    expect(() => median([])).toThrow('no samples');
  });
});

describe('expositionStats', () => {
  const body = [
    '# HELP a_up Up.',
    '# TYPE a_up gauge',
    'a_up{interface="eth0"} 1',
    'a_up{interface="mv\\"0"} 0',
    'a_info{interface="eth0",kind=""} 1',
    'scrape_collector_duration_seconds{collector="netlink"} 0.0125',
    'scrape_collector_duration_seconds{collector="sysfs"} 0.001',
    'process_start_time_seconds 1700000000',
    '',
  ].join('\n');

  it('counts sample lines and distinct interfaces, and reads collector durations', () => {
    const s = expositionStats(body, 'interface', 'scrape_collector_duration_seconds');
    expect(s.series).toBe(6);
    expect(s.links).toBe(2);
    expect(Object.fromEntries(s.collectorSeconds)).toEqual({ netlink: 0.0125, sysfs: 0.001 });
  });

  it("tells the pods' interfaces of the same name apart by pod or netns", () => {
    const pods = [
      'a_up{interface="eth1"} 1',
      'p_info{namespace="",pod="",netns="pod-1",interface="net1"} 1',
      'p_up{namespace="",pod="",netns="pod-1",interface="net1"} 1',
      'p_info{namespace="",pod="",netns="pod-2",interface="net1"} 1',
      'p_info{namespace="default",pod="web",netns="",interface="net1"} 1',
    ].join('\n');
    expect(expositionStats(pods, 'interface', 'x').links).toBe(4);
  });
});

describe('countSamples', () => {
  const body = [
    '# HELP multinet_pod_interface_info Info.',
    'multinet_pod_interface_info{netns="pod-1",interface="net1"} 1',
    'multinet_pod_interface_info{netns="pod-1",interface="net2"} 1',
    'multinet_pod_interface_info{netns="pod-2",interface="eth0"} 1',
    'multinet_pod_interface_info_extra{interface="net1"} 1',
    'multinet_pod_interface_up{netns="pod-1",interface="net1"} 1',
    '',
  ].join('\n');

  it('counts the samples of exactly that metric, and those with a wanted label value', () => {
    expect(countSamples(body, 'multinet_pod_interface_info', 'interface', new Set(['net1', 'net2', 'net3']))).toEqual({ all: 3, named: 2, withPod: 0 });
    expect(countSamples('', 'multinet_pod_interface_info', 'interface', new Set())).toEqual({ all: 0, named: 0, withPod: 0 });
  });
});

describe('parseBenchArgs', () => {
  const cases = ['macvlan', 'pods'];

  it('runs every case with the defaults', () => {
    expect(parseBenchArgs([], cases)).toEqual({ cases, links: undefined, pods: undefined, scrapes: 20, cpuIntervals: 8, nodeExporterBin: 'prometheus-node-exporter', nodeBin: undefined, help: false });
  });

  it('takes --flag=value and --flag value', () => {
    expect(parseBenchArgs(['--case=pods', '--links', '50', '--scrapes=30'], cases)).toMatchObject({ cases: ['pods'], links: 50, scrapes: 30 });
    expect(parseBenchArgs(['--case', 'pods', '--pods', '20'], cases)).toMatchObject({ cases: ['pods'], links: undefined, pods: 20 });
    expect(parseBenchArgs(['--pods=1000'], cases)).toMatchObject({ cases, pods: 1000 });
    expect(parseBenchArgs(['--cpu-intervals', '4'], cases)).toMatchObject({ cases, cpuIntervals: 4 });
    expect(parseBenchArgs(['--node', '/opt/node24/bin/node'], cases)).toMatchObject({ cases, nodeBin: '/opt/node24/bin/node' });
    expect(parseBenchArgs(['--node=node24'], cases)).toMatchObject({ nodeBin: 'node24' });
  });

  it('says the default sizes in --help', () => {
    const text = benchUsage(cases, { links: 750, pods: 250, podNetworks: 3 });
    expect(text).toContain('--links N              Macvlan links of the macvlan case (default 750).');
    expect(text).toContain('--pods N               Pods of the pods, cni and cni-kube cases, 3 macvlans each (default 250).');
  });

  it('names the bad flag', () => {
    expect(() => parseBenchArgs(['--case', 'nope'], cases)).toThrow('--case: no case "nope"');
    expect(() => parseBenchArgs(['--links=0'], cases)).toThrow('--links');
    expect(() => parseBenchArgs(['--scrapes=19'], cases)).toThrow('--scrapes');
    expect(() => parseBenchArgs(['--cpu-intervals=0'], cases)).toThrow('--cpu-intervals');
    expect(() => parseBenchArgs(['--links'], cases)).toThrow('--links needs a value');
    expect(() => parseBenchArgs(['--node'], cases)).toThrow('--node needs a value');
    expect(() => parseBenchArgs(['--pods=0'], cases)).toThrow('--pods: "0" is not a whole number from 1 to 1000');
    expect(() => parseBenchArgs(['--pods', '1001'], cases)).toThrow('--pods');
    expect(() => parseBenchArgs(['--pods', '2.5'], cases)).toThrow('--pods');
    expect(() => parseBenchArgs(['--fast'], cases)).toThrow('unknown argument "--fast"');
  });
});

describe('macvlanBatch', () => {
  it('brings lo and the veth pair up, adds the macvlans, and brings every other one up', () => {
    const lines = macvlanBatch(3);
    expect(lines).toEqual([
      'link set lo up',
      'link add mnab-lower type veth peer name mnab-peer',
      'link set mnab-lower up',
      'link set mnab-peer up',
      'link add mv0 link mnab-lower type macvlan mode bridge',
      'link add mv1 link mnab-lower type macvlan mode bridge',
      'link add mv2 link mnab-lower type macvlan mode bridge',
      'link set mv0 up',
      'link set mv2 up',
    ]);
  });
});

describe('the pods case', () => {
  it('names pods zero-padded, so that they sort in order', () => {
    expect(podNames(3)).toEqual(['pod-1', 'pod-2', 'pod-3']);
    expect(podNames(250).slice(0, 2)).toEqual(['pod-001', 'pod-002']);
    expect(podNames(250)[249]).toBe('pod-250');
    expect(podInterfaceNames(3)).toEqual(['net1', 'net2', 'net3']);
  });

  it('gives the node namespace lo and the masters eth1..ethK, each a veth whose peer stays there, all up', () => {
    expect(nodeBatch(2)).toEqual([
      'link set lo up',
      'link add eth1 type veth peer name eth1-peer',
      'link set eth1 up',
      'link set eth1-peer up',
      'link add eth2 type veth peer name eth2-peer',
      'link set eth2 up',
      'link set eth2-peer up',
    ]);
  });

  it('creates each pod macvlan in place, inside its pod namespace, on its master, up', () => {
    expect(podMacvlanBatch(['ns-a', 'ns-b'], 2)).toEqual([
      'link add net1 link eth1 netns ns-a up type macvlan mode bridge',
      'link add net2 link eth2 netns ns-a up type macvlan mode bridge',
      'link add net1 link eth1 netns ns-b up type macvlan mode bridge',
      'link add net2 link eth2 netns ns-b up type macvlan mode bridge',
    ]);
  });
});

describe('netns helpers', () => {
  it('takes the name before the id', () => {
    expect(parseNetnsList('mna-bench-12 (id: 3)\nprobe1\n\n')).toEqual(['mna-bench-12', 'probe1']);
  });

  it('writes one ip -batch line per namespace', () => {
    expect(netnsBatchInput('add', ['a', 'b'])).toBe('netns add a\nnetns add b\n');
    expect(netnsBatchInput('del', ['a'])).toBe('netns del a\n');
  });

  it('reads the inode of a /proc/<pid>/ns/net link', () => {
    expect(netnsInodeOfLink('net:[4026531840]')).toBe(4026531840);
    expect(netnsInodeOfLink('mnt:[4026531841]')).toBeUndefined();
  });
});

describe('bind mounts', () => {
  it('writes an fstab of bind mounts, escaping what fstab escapes', () => {
    expect(fstabText([{ source: '/run/netns/a', target: '/tmp/w/netns/pod-1' }, { source: '/run/netns/b c', target: '/tmp/w x/p\\q' }])).toBe(
      '/run/netns/a /tmp/w/netns/pod-1 none bind 0 0\n/run/netns/b\\040c /tmp/w\\040x/p\\134q none bind 0 0\n',
    );
  });

  it('reads mount points from mountinfo, unescaped, and picks those under a directory', () => {
    const mountinfo = [
      '26 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
      '546 26 0:4 net:[4026532246] /tmp/w/netns/pod-1 rw shared:256 - nsfs nsfs rw',
      '547 26 0:4 net:[4026532317] /tmp/w\\040x/netns/pod-2 rw shared:257 - nsfs nsfs rw',
      '548 26 0:4 net:[4026532318] /tmp/wx/netns/pod-3 rw shared:258 - nsfs nsfs rw',
      '',
    ].join('\n');
    const points = mountPoints(mountinfo);
    expect(points).toEqual(['/', '/tmp/w/netns/pod-1', '/tmp/w x/netns/pod-2', '/tmp/wx/netns/pod-3']);
    expect(mountsUnder(points, '/tmp/w')).toEqual(['/tmp/w/netns/pod-1']);
    expect(mountsUnder(points, '/tmp/w x')).toEqual(['/tmp/w x/netns/pod-2']);
  });
});

describe('CPU time', () => {
  it('reads the run time of a schedstat line, in nanoseconds', () => {
    expect(runNanosOfSchedstat('3990636 159091 2\n')).toBe(3990636);
    expect(runNanosOfSchedstat('0 0 0')).toBe(0);
    expect(() => runNanosOfSchedstat('')).toThrow('no run time');
    expect(() => runNanosOfSchedstat('-5 1 1')).toThrow('no run time');
  });

  it('sums the run time of every thread of a live process, and it grows with work', async () => {
    const before = await cpuNanos(process.pid);
    let x = 0;
    for (let i = 0; i < 2e6; i++) x += Math.sqrt(i);
    expect(x).toBeGreaterThan(0);
    expect(before).toBeGreaterThan(0);
    expect(await cpuNanos(process.pid)).toBeGreaterThan(before);
  });

});

/** An exporter's figures with only what the verdict reads set to something meaningful. */
function figures(id: 'agent' | 'node_exporter', over: Partial<ExporterFigures>): ExporterFigures {
  return {
    id,
    name: id,
    command: id,
    mode: '',
    links: 0,
    scrapesMs: [],
    medianMs: 10,
    p95Ms: 10,
    rssBytes: 50e6,
    peakRssBytes: 50e6,
    series: 0,
    bytes: 0,
    freshScrapes: 20,
    collectorMedianMs: {},
    cachedScrapes: undefined,
    gzip: undefined,
    cpu: { scrapesCpuMs: 600, scrapes: 20, atInterval: { intervalMs: 15_000, intervals: 4, wallMs: 60_000, cpuMs: 240, quiet: { wallMs: 52_000, cpuMs: 104 }, perIntervalCpuMs: [70, 50, 60, 60], rssBytes: 50e6 } },
    podInterfaces: [],
    ...over,
  };
}

function result(agent: Partial<ExporterFigures>, nodeExporterMedianMs = 500): MeasureResult {
  const k = { runs: 20, medianMs: 1, p95Ms: 1 };
  return {
    exporters: [figures('agent', agent), figures('node_exporter', { medianMs: nodeExporterMedianMs })],
    rawDump: k,
    listLinks: k,
    dumpMessages: 7,
    pods: undefined,
    readiness: undefined,
  };
}

function prepared(pods: number): PreparedCase {
  return {
    netns: 'n',
    linksInNetns: 7,
    macvlans: pods * 3,
    podNetnsDir: '/tmp/x/netns',
    pods,
    podInterfaceNames: pods > 0 ? ['net1', 'net2', 'net3'] : [],
    agentArgs: [],
    description: '',
    setupMs: {},
    teardown: () => Promise.resolve(),
  };
}

describe('verdicts', () => {
  it('judges the macvlan targets: ratio and RSS', () => {
    const checks = verdictOf(result({ medianMs: 40, rssBytes: 116e6 }, 800), { maxRatio: 0.1, maxRssMB: 80 });
    expect(checks.map((c) => [c.key, c.met])).toEqual([
      ['ratio', true],
      ['agentRssMB', false],
    ]);
    expect(checks[0]?.text).toBe('ratio median(agent)/median(node_exporter) = 0.050 (target <= 0.1)');
  });

  it('judges the pods targets: median, RSS and CPU at a 15 s interval', () => {
    const targets = { maxMedianMs: 50, maxRssMB: 100, cpu: { maxPercent: 1, scrapeIntervalS: 15 } };
    // 600 ms over 20 scrapes = 30 ms a scrape; 60 ms in 30 s = 2 ms/s idle: (30 + 30) / 15000 = 0.4%
    const checks = verdictOf(result({ medianMs: 51, rssBytes: 90e6 }), targets);
    expect(checks.map((c) => [c.key, c.met])).toEqual([
      ['agentMedianMs', false],
      ['agentRssMB', true],
      ['agentCpuPercent', true],
    ]);
    expect(checks[2]?.value).toBeCloseTo(0.4, 10);
    expect(checks[2]?.text).toBe('agent CPU 0.40% of one core scraped every 15 s (target <= 1%)');
  });

  it('prints the spread of the intervals the CPU share is an average of', () => {
    expect(intervalSpread([150, 90, 120, 105], 15)).toEqual(['  each interval, from its scrape to the next: min 90 ms (0.60%), median 113 ms (0.75%), max 150 ms (1.00%) over 4']);
    expect(intervalSpread([], 15)).toEqual([]);
  });

  it('gives CPU per scrape, and at an interval the quiet CPU per second and the share of a core as read', () => {
    const use = cpuUseOf({ scrapesCpuMs: 600, scrapes: 20, atInterval: { intervalMs: 15_000, intervals: 4, wallMs: 60_000, cpuMs: 240, quiet: { wallMs: 52_000, cpuMs: 104 }, perIntervalCpuMs: [70, 50, 60, 60], rssBytes: 50e6 } });
    expect(use.perScrapeMs).toBe(30);
    expect(use.idleMsPerS).toBeCloseTo(2, 10);
    // 240 ms over 60 s: read, not modelled from the two figures above.
    expect(use.percent).toBeCloseTo(0.4, 10);
    expect(use.intervalS).toBe(15);
    expect(cpuUseOf({ scrapesCpuMs: 600, scrapes: 20, atInterval: undefined }).percent).toBeUndefined();
  });

  it('passes an exposition only if every timed scrape has exactly the pod interfaces the case built', () => {
    const each = (n: number, c: PodInterfaceCount): PodInterfaceCount[] => Array.from({ length: n }, () => c);
    expect(podCheckOf(prepared(250), result({ podInterfaces: each(20, { all: 750, named: 750, withPod: 0 }) })).ok).toBe(true);
    const oneShort = [...each(19, { all: 750, named: 750, withPod: 0 }), { all: 749, named: 749, withPod: 0 }];
    expect(podCheckOf(prepared(250), result({ podInterfaces: oneShort }))).toMatchObject({ ok: false, expected: 750, all: { min: 749, max: 750 } });
    expect(podCheckOf(prepared(250), result({ podInterfaces: each(20, { all: 750, named: 747, withPod: 0 }) })).ok).toBe(false);
    expect(podCheckOf(prepared(250), result({ podInterfaces: [] })).ok).toBe(false);
    expect(podCheckOf(prepared(0), result({ podInterfaces: each(20, { all: 0, named: 0, withPod: 0 }) })).ok).toBe(true);
    expect(podCheckOf(prepared(0), result({ podInterfaces: each(20, { all: 3, named: 0, withPod: 0 }) })).ok).toBe(false);
    // Where the case gives the agent its Pods, every pod interface must carry its pod's name.
    const known = { ...prepared(250), podsKnown: true };
    expect(podCheckOf(known, result({ podInterfaces: each(20, { all: 750, named: 750, withPod: 750 }) })).ok).toBe(true);
    expect(podCheckOf(known, result({ podInterfaces: each(20, { all: 750, named: 750, withPod: 749 }) })).ok).toBe(false);
  });

  it('judges the agent against the kernel floor of the same run', () => {
    const r = { ...result({ medianMs: 52 }), pods: { namespaces: 250, links: 1000, discovery: k(1), sequential: k(80), pooled: { ...k(38), sockets: 8 }, floor: k(40) } };
    const checks = verdictOf(r, { maxFloorRatio: 1.3, maxRssMB: 100 });
    expect(checks.map((c) => [c.key, c.met])).toEqual([
      ['floorRatio', true],
      ['agentRssMB', true],
    ]);
    expect(checks[0]?.value).toBeCloseTo(1.3, 10);
    expect(floorOf(result({}))).toEqual(k(1));
  });
});

function k(medianMs: number): { runs: number; medianMs: number; p95Ms: number } {
  return { runs: 20, medianMs, p95Ms: medianMs };
}

describe('shortList', () => {
  it('lists a few names and shortens many', () => {
    expect(shortList(['a', 'b'])).toBe('a, b');
    expect(shortList(['a', 'b', 'c', 'd', 'e'])).toBe('a, b .. e (5)');
  });
});

describe('the agent\'s environment and command line', () => {
  it('reads BENCH_AGENT_ENV as NAME=VALUE words and refuses anything else', () => {
    expect(parseEnvAssignments(' MALLOC_ARENA_MAX=4  MALLOC_TOP_PAD_=0 ')).toEqual({ MALLOC_ARENA_MAX: '4', MALLOC_TOP_PAD_: '0' });
    expect(parseEnvAssignments('')).toEqual({});
    expect(parseEnvAssignments('A=x=y')).toEqual({ A: 'x=y' });
    expect(() => parseEnvAssignments('MALLOC_ARENA_MAX')).toThrow('"MALLOC_ARENA_MAX" is not NAME=VALUE');
    expect(() => parseEnvAssignments('=1')).toThrow('is not NAME=VALUE');
  });

  it('prints the environment it adds before the command, quoted as a shell needs', () => {
    expect(commandLine('/usr/bin/node', ['--x=1', 'a b'], { MALLOC_ARENA_MAX: '2' })).toBe("MALLOC_ARENA_MAX=2 /usr/bin/node --x=1 'a b'");
    expect(commandLine('node', ['-e', '0'])).toBe('node -e 0');
    expect(commandLine('node', [], { NODE_OPTIONS: '--a --b' })).toBe("NODE_OPTIONS='--a --b' node");
  });
});
