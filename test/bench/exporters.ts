/**
 * The two exporters the bench compares: how each is started, which label names an interface in
 * its exposition, and which metric carries its own per-collector durations.
 */
import type { ExporterId, MeasureConfig } from './protocol.js';

/** Ports on the namespace's loopback; the namespace is fresh, so nothing else holds them. */
const AGENT_PORT = 19739;
const NODE_EXPORTER_PORT = 19100;

/** One exporter as the bench runs it. */
export interface ExporterSpec {
  readonly id: ExporterId;
  readonly name: string;
  readonly file: string;
  readonly args: readonly string[];
  /** Added to the bench's environment for this exporter. */
  readonly env?: Readonly<Record<string, string>>;
  readonly metricsUrl: string;
  readonly mode: string;
  /** The label that names the interface of a per-interface series. */
  readonly linkLabel: string;
  /** The exporter's own per-collector duration gauge, labelled `collector`. */
  readonly collectorDurationMetric: string;
  /** Whether a scrape right after another reuses its snapshot (SNAPSHOT_MAX_AGE_MS in agent/app/main.ts). */
  readonly cachesSnapshots: boolean;
  /** The info family with one sample per pod interface, labelled `interface`; undefined if the exporter has none. */
  readonly podInterfaceMetric: string | undefined;
}

/** The V8 flags the executable's shebang, `npm start` and the image run the agent with (test/docs/runtime-settings.test.ts holds them to it). */
export const DEFAULT_AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4', '--max-old-space-size=128', '--v8-pool-size=1', '--no-memory-reducer'];

/** The flags the bench runs the agent with: the shipped ones, or BENCH_AGENT_NODE_FLAGS to try others. */
export const AGENT_NODE_FLAGS = process.env.BENCH_AGENT_NODE_FLAGS === undefined ? [...DEFAULT_AGENT_NODE_FLAGS] : process.env.BENCH_AGENT_NODE_FLAGS.split(' ').filter(Boolean);

/**
 * The environment the image and `npm start` give the agent, glibc malloc's settings:
 * - MALLOC_ARENA_MAX=2: 2 arenas (its default is 8 per core, and each thread that allocates —
 *   libuv's pool compressing responses, V8's GC helpers — may keep one: memory touched there stays
 *   in RSS). A realistic 1,000-cycle soak ran about 7 MB lower with it (docs/performance.md).
 * - MALLOC_MMAP_THRESHOLD_=131072, MALLOC_TRIM_THRESHOLD_=131072, MALLOC_TOP_PAD_=65536: fixed,
 *   where glibc's defaults move. After a large block made with mmap is freed, glibc raises its
 *   mmap threshold to that block's size (up to 32 MB) and its trim threshold to twice that; a
 *   scrape's multi-megabyte buffers (the exposition, its writer) then come from the heap, and
 *   the heap's free top is kept up to 2x that size. Fixed, a buffer of 128 KiB or more is its own
 *   mapping, returned when freed, and a free top above 128 KiB is given back. The 250-pod lab
 *   (realistic pods, 30 scrapes 1.1 s apart): RSS after the scrapes 96 -> 87 MB, the malloc heap
 *   20 -> 10 MB, CPU per scrape within the noise (docs/performance.md, eighth round).
 */
export const DEFAULT_AGENT_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '131072',
  MALLOC_TRIM_THRESHOLD_: '131072',
  MALLOC_TOP_PAD_: '65536',
};

/**
 * The environment the bench adds to its own for the agent: the shipped one, or BENCH_AGENT_ENV to
 * try another ("NAME=VALUE NAME=VALUE", in place of all of the shipped variables; empty: none of
 * them). Variables already in the bench's environment (a MALLOC_* of the shell) still reach the
 * agent unless named here.
 */
export const AGENT_ENV: Readonly<Record<string, string>> = process.env.BENCH_AGENT_ENV === undefined ? DEFAULT_AGENT_ENV : parseEnvAssignments(process.env.BENCH_AGENT_ENV);

/** "A=1 B=2" as { A: '1', B: '2' }; a word without "=" is an error, not a silent default. */
export function parseEnvAssignments(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const word of text.split(' ').filter(Boolean)) {
    const eq = word.indexOf('=');
    if (eq <= 0) throw new Error(`BENCH_AGENT_ENV: "${word}" is not NAME=VALUE`);
    env[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return env;
}

/** The agent of this build with its default collectors, plus the case's flags, run as it ships. */
function agentSpec(config: MeasureConfig): ExporterSpec {
  return {
    id: 'agent',
    name: 'multinet-agent',
    file: process.execPath,
    args: [...AGENT_NODE_FLAGS, config.agentBin, `--web.listen-address=127.0.0.1:${AGENT_PORT}`, '--log.level=warn', ...config.agentArgs],
    env: AGENT_ENV,
    metricsUrl: `http://127.0.0.1:${AGENT_PORT}/metrics`,
    mode: 'default collectors',
    linkLabel: 'interface',
    collectorDurationMetric: 'multinet_scrape_collector_duration_seconds',
    cachesSnapshots: true,
    podInterfaceMetric: 'multinet_pod_interface_info',
  };
}

/**
 * node_exporter with only netdev and netclass. v1.5.0 defaults, left as they are:
 * --collector.netdev.netlink=true (netdev reads an RTM_GETLINK dump) and
 * --collector.netclass.netlink=false (netclass reads /sys/class/net/<dev>/*).
 */
function nodeExporterSpec(config: MeasureConfig): ExporterSpec {
  return {
    id: 'node_exporter',
    name: 'node_exporter',
    file: config.nodeExporterBin,
    args: ['--collector.disable-defaults', '--collector.netdev', '--collector.netclass', `--web.listen-address=127.0.0.1:${NODE_EXPORTER_PORT}`],
    metricsUrl: `http://127.0.0.1:${NODE_EXPORTER_PORT}/metrics`,
    mode: 'netdev via rtnetlink, netclass via sysfs (v1.5.0 defaults of --collector.netdev.netlink / --collector.netclass.netlink)',
    linkLabel: 'device',
    collectorDurationMetric: 'node_scrape_collector_duration_seconds',
    cachesSnapshots: false,
    podInterfaceMetric: undefined,
  };
}

/** Both exporters, in the order they are measured. */
export function exporterSpecs(config: MeasureConfig): ExporterSpec[] {
  return [agentSpec(config), nodeExporterSpec(config)];
}
