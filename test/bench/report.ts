/**
 * What the bench prints: per case a table of both exporters, whether the agent exported the
 * case's pod interfaces, where the agent's time goes next to the kernel round trips, its CPU
 * time, and the case's targets; and at the end one JSON line with every figure.
 */
import { median } from './stats.js';
import type { CaseTargets, PreparedCase } from './cases.js';
import type { CpuFigures, ExporterFigures, ExporterId, KernelFigures, MeasureConfig, MeasureResult, PodKernelFigures } from './protocol.js';

/** Figures are printed in MB of 10^6 bytes. */
const MB = 1e6;

/** One measured case. */
export interface CaseReport {
  readonly name: string;
  readonly prepared: PreparedCase;
  readonly targets: CaseTargets;
  readonly config: MeasureConfig;
  readonly result: MeasureResult;
}

/** One judged target. */
export interface Check {
  /** Its key in the summary JSON. */
  readonly key: 'ratio' | 'agentMedianMs' | 'floorRatio' | 'agentRssMB' | 'agentCpuPercent';
  /** The printed line, without the verdict. */
  readonly text: string;
  readonly value: number;
  readonly max: number;
  readonly met: boolean;
}

/** An exporter's CPU time per scrape and, where it was read, at a scrape interval: quiet, and as a share of one core. */
export interface CpuUse {
  readonly perScrapeMs: number;
  readonly idleMsPerS: number | undefined;
  /** Percent of one core when scraped every `intervalS` seconds. */
  readonly percent: number | undefined;
  readonly intervalS: number;
}

/** Pod interfaces the case built against what the agent exported in each timed scrape. */
export interface PodCheck {
  readonly expected: number;
  /** Lowest and highest count over the timed scrapes, of all pod interfaces and of those named net1..netK. */
  readonly all: { readonly min: number; readonly max: number };
  readonly named: { readonly min: number; readonly max: number };
  /** Of those, the ones carrying a pod name. */
  readonly withPod: { readonly min: number; readonly max: number };
  readonly ok: boolean;
}

/** The scrape interval a CPU share is given for when the case sets no CPU target. */
const DEFAULT_INTERVAL_S = 15;

/** The figures of one exporter; throws if measure.ts did not report it. */
export function figuresOf(result: MeasureResult, id: ExporterId): ExporterFigures {
  const f = result.exporters.find((e) => e.id === id);
  if (!f) throw new Error(`no figures for ${id}`);
  return f;
}

/** CPU per scrape and, scraped at an interval, CPU per quiet second and the share of one core. */
export function cpuUseOf(cpu: CpuFigures): CpuUse {
  const perScrapeMs = cpu.scrapesCpuMs / cpu.scrapes;
  const at = cpu.atInterval;
  if (!at) return { perScrapeMs, idleMsPerS: undefined, percent: undefined, intervalS: DEFAULT_INTERVAL_S };
  return { perScrapeMs, idleMsPerS: at.quiet.cpuMs / (at.quiet.wallMs / 1000), percent: (at.cpuMs / at.wallMs) * 100, intervalS: at.intervalMs / 1000 };
}

/** Whether the agent exported exactly pods × interfaces pod interfaces, all named as the case named them, in every timed scrape. */
export function podCheckOf(prepared: PreparedCase, result: MeasureResult): PodCheck {
  const expected = prepared.pods * (prepared.podInterfaceNames.length + (prepared.otherPodInterfaces ?? 0));
  const expectedNamed = prepared.pods * prepared.podInterfaceNames.length;
  const counts = figuresOf(result, 'agent').podInterfaces;
  const range = (values: readonly number[]): { min: number; max: number } =>
    values.length === 0 ? { min: NaN, max: NaN } : { min: Math.min(...values), max: Math.max(...values) };
  const all = range(counts.map((c) => c.all));
  const named = range(counts.map((c) => c.named));
  const withPod = range(counts.map((c) => c.withPod));
  const ok = counts.length > 0 && counts.every((c) => c.all === expected && c.named === expectedNamed && (!prepared.podsKnown || c.withPod === expected));
  return { expected, all, named, withPod, ok };
}

/**
 * The kernel floor of a case, timed in the same run: the raw dumps of every namespace the agent
 * reads (the node's, and every pod's pooled as the agent pools them, at once), nothing else.
 */
export function floorOf(result: MeasureResult): KernelFigures {
  return result.pods?.floor ?? result.rawDump;
}

const ms = (v: number): string => v.toFixed(1);
const mb = (v: number): string => (v / MB).toFixed(1);
const met = (ok: boolean): string => (ok ? 'met' : 'MISSED');
const pct = (v: number): string => `${v < 0.1 ? v.toFixed(3) : v.toFixed(2)}%`;

/** Judges a case against its targets; a target the case does not set is left out. */
export function verdictOf(result: MeasureResult, targets: CaseTargets): Check[] {
  const agent = figuresOf(result, 'agent');
  const nodeExporter = figuresOf(result, 'node_exporter');
  const checks: Check[] = [];
  if (targets.maxRatio !== undefined) {
    const ratio = agent.medianMs / nodeExporter.medianMs;
    checks.push({
      key: 'ratio',
      text: `ratio median(agent)/median(node_exporter) = ${ratio.toFixed(3)} (target <= ${targets.maxRatio})`,
      value: ratio,
      max: targets.maxRatio,
      met: ratio <= targets.maxRatio,
    });
  }
  if (targets.maxMedianMs !== undefined) {
    checks.push({
      key: 'agentMedianMs',
      text: `agent median full scrape ${ms(agent.medianMs)} ms (target <= ${targets.maxMedianMs} ms)`,
      value: agent.medianMs,
      max: targets.maxMedianMs,
      met: agent.medianMs <= targets.maxMedianMs,
    });
  }
  if (targets.maxFloorRatio !== undefined) {
    const floor = floorOf(result).medianMs;
    const ratio = agent.medianMs / floor;
    checks.push({
      key: 'floorRatio',
      text: `ratio median(agent)/kernel floor = ${ms(agent.medianMs)}/${ms(floor)} = ${ratio.toFixed(2)} (target <= ${targets.maxFloorRatio})`,
      value: ratio,
      max: targets.maxFloorRatio,
      met: ratio <= targets.maxFloorRatio,
    });
  }
  const rssMB = agent.rssBytes / MB;
  checks.push({
    key: 'agentRssMB',
    text: `agent RSS ${rssMB.toFixed(1)} MB (target <= ${targets.maxRssMB} MB)`,
    value: rssMB,
    max: targets.maxRssMB,
    met: rssMB <= targets.maxRssMB,
  });
  if (targets.cpu !== undefined) {
    const { percent, intervalS } = cpuUseOf(agent.cpu);
    if (percent === undefined || intervalS !== targets.cpu.scrapeIntervalS) throw new Error(`the case has a CPU target at ${targets.cpu.scrapeIntervalS} s but measure.ts read no CPU at that interval`);
    checks.push({
      key: 'agentCpuPercent',
      text: `agent CPU ${pct(percent)} of one core scraped every ${targets.cpu.scrapeIntervalS} s (target <= ${targets.cpu.maxPercent}%)`,
      value: percent,
      max: targets.cpu.maxPercent,
      met: percent <= targets.cpu.maxPercent,
    });
  }
  return checks;
}

/** Right-aligned columns after a left-aligned first one. */
function table(rows: readonly (readonly string[])[]): string[] {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  '));
}

function exporterTable(result: MeasureResult): string[] {
  const header = ['exporter', 'links', 'median ms', 'p95 ms', 'CPU ms/scrape', 'RSS MB', 'peak RSS MB', 'series', 'bytes', 'gzip bytes'];
  const rows = result.exporters.map((e) => [
    e.name,
    String(e.links),
    ms(e.medianMs),
    ms(e.p95Ms),
    ms(e.cpu.scrapesCpuMs / e.cpu.scrapes),
    mb(e.rssBytes),
    mb(e.peakRssBytes),
    String(e.series),
    String(e.bytes),
    e.gzip && e.gzip.compressed > 0 ? String(e.gzip.bytes) : 'not served',
  ]);
  return table([header, ...rows]);
}

function collectorList(f: ExporterFigures): string {
  return Object.entries(f.collectorMedianMs)
    .map(([name, v]) => `${name} ${ms(v)}`)
    .join(', ');
}

const splitLine = (label: string, value: number, note: string): string => `  ${label.padEnd(50)} ${ms(value).padStart(7)} ms  ${note}`.trimEnd();

/** The pod-namespace lines of the time split: discovery, raw dumps, the agent's netns collector. */
function podSplit(pods: PodKernelFigures, agent: ExporterFigures): string[] {
  const netns = agent.collectorMedianMs.netns;
  const kernel = pods.discovery.medianMs + pods.pooled.medianMs;
  return [
    splitLine('pod netns discovery alone', pods.discovery.medianMs, `NetnsDiscovery.discover(): readdir + stat of ${pods.namespaces} bind mounts, /proc scan`),
    splitLine('raw pod dumps, one socket, in sequence', pods.sequential.medianMs, `open + RTM_GETNSID + RTM_GETLINK dump of ${pods.namespaces} namespaces (${pods.links} links), summed`),
    splitLine(`raw pod dumps as the agent runs them`, pods.pooled.medianMs, `${pods.pooled.sockets} sockets in flight, RTM_GETNSID and dump pipelined; p95 ${ms(pods.pooled.p95Ms)} ms`),
    ...(netns === undefined
      ? []
      : [splitLine("the agent's netns collector", netns, `${ms(netns - kernel)} ms beyond discovery + the pooled raw dumps (parsing, join, scheduling)`)]),
  ];
}

function agentSplit(result: MeasureResult): string[] {
  const agent = figuresOf(result, 'agent');
  const raw = result.rawDump.medianMs;
  const cached = agent.cachedScrapes;
  const pods = result.pods;
  const kernel = raw + (pods ? pods.discovery.medianMs + pods.pooled.medianMs : 0);
  const share = Math.round((kernel / agent.medianMs) * 100);
  const what = pods ? 'the node dump, discovery and the pooled pod dumps' : 'the kernel round trip';
  return [
    `agent time split (medians; the kernel work timed in measure.js inside the namespace, ${result.rawDump.runs} runs each, paced like the scrapes):`,
    splitLine(`raw RTM_GETLINK dump alone${pods ? ' of the node namespace' : ''}`, raw, `kernel round trip for ${result.dumpMessages} links`),
    splitLine("listLinks: the dump plus the agent's parser", result.listLinks.medianMs, ''),
    ...(pods ? podSplit(pods, agent) : []),
    `  the agent's own collector durations: ${collectorList(agent)} (ms)`,
    splitLine('full /metrics scrape', agent.medianMs, `${ms(agent.medianMs - kernel)} ms beyond ${what} (${ms(kernel)} ms, ${share}% of the scrape)`),
    ...(cached
      ? [splitLine('scrape answered from the snapshot cache', cached.medianMs, `rendering + HTTP alone; p95 ${ms(cached.p95Ms)} ms; ${cached.hits}/${cached.runs} reused the snapshot`)]
      : []),
    splitLine(
      'kernel floor',
      floorOf(result).medianMs,
      pods ? 'the node dump and the pooled pod dumps at once, in measure.js, nothing else' : 'the raw dump alone',
    ) + `; agent/floor = ${(agent.medianMs / floorOf(result).medianMs).toFixed(2)}`,
  ];
}

/** Median and max of latencies; NaN (nothing came) counts as missing. */
function latency(values: readonly number[]): { median: number; max: number; missing: number } {
  const seen = values.filter((v) => !Number.isNaN(v));
  return { median: seen.length > 0 ? median(seen) : NaN, max: seen.length > 0 ? Math.max(...seen) : NaN, missing: values.length - seen.length };
}

function readinessLines(result: MeasureResult): string[] {
  const r = result.readiness;
  if (!r) return [];
  const ev = latency(r.eventMs);
  const me = latency(r.metricsMs);
  const miss = (n: number): string => (n > 0 ? `, ${n} never came` : '');
  return [
    `readiness, ${r.transitions} transitions of ${r.iface} (${r.transitions / 2} × down and up), from just before \`ip link set\` starts (its ~3 ms of process start included):`,
    `  -> Event at the kube API (watch arrival): median ${ms(ev.median)} ms, max ${ms(ev.max)} ms${miss(ev.missing)} (target < 100 ms: ${met(ev.missing === 0 && ev.max < 100)})`,
    `  -> /metrics (multinet_host_interface_ready, polled every 10 ms): median ${ms(me.median)} ms, max ${ms(me.max)} ms${miss(me.missing)} (target < 1000 ms: ${met(me.missing === 0 && me.max < 1000)})`,
  ];
}

/** What gzip costs and saves, from the fresh gzip scrapes against the plain ones. */
function gzipLines(result: MeasureResult): string[] {
  return result.exporters.flatMap((e) => {
    const g = e.gzip;
    if (!g) return [];
    if (g.compressed === 0) return [`${e.name}: Accept-Encoding: gzip answered uncompressed (${g.plainBytes} bytes)`];
    const plainCpu = (e.cpu.scrapesCpuMs - g.cpuMsPerScrape * g.scrapes) / (e.cpu.scrapes - g.scrapes);
    return [
      `${e.name} with Accept-Encoding: gzip, alternating with the plain scrapes (${g.compressed}/${g.scrapes} compressed): ${g.bytes} bytes instead of ${g.plainBytes} ` +
        `(${((1 - g.bytes / g.plainBytes) * 100).toFixed(1)}% saved); median ${ms(g.medianMs)} ms (plain ${ms(e.medianMs)}), p95 ${ms(g.p95Ms)} ms; ` +
        `CPU ${ms(g.cpuMsPerScrape)} ms/scrape (plain ${ms(plainCpu)}` +
        (g.compressCpuMs === undefined
          ? `)`
          : `; gzip itself ${ms(g.compressCpuMs)} ms, the agent's compressor on this body in measure.js: the rest of the difference is where the full garbage collections land)`),
    ];
  });
}

/** The Node.js the agent and the kernel floor ran on: the bench's own, or `--node`'s. */
export interface Runtime {
  readonly bin: string;
  /** `node --version` of `bin`, e.g. v24.11.1. */
  readonly version: string;
}

/** One line per case with the figures the issue asks for, side by side. */
export function summaryTable(reports: readonly CaseReport[], runtime: Runtime): string {
  const header = ['case', 'floor ms', 'median ms', 'p95 ms', 'agent/floor', 'CPU ms/scrape', 'CPU % at 15 s', 'RSS MB', 'bytes', 'gzip bytes', 'gzip CPU ms', 'Event ms med/max', '/metrics ms med/max'];
  const rows = reports.map((r) => {
    const a = figuresOf(r.result, 'agent');
    const floor = floorOf(r.result).medianMs;
    const use = cpuUseOf(a.cpu);
    return [
      r.name,
      ms(floor),
      ms(a.medianMs),
      ms(a.p95Ms),
      (a.medianMs / floor).toFixed(2),
      ms(use.perScrapeMs),
      use.percent === undefined ? 'not read' : pct(use.percent),
      mb(a.rssBytes),
      String(a.bytes),
      a.gzip && a.gzip.compressed > 0 ? String(a.gzip.bytes) : '-',
      a.gzip && a.gzip.compressed > 0 && a.gzip.compressCpuMs !== undefined ? ms(a.gzip.compressCpuMs) : '-',
      r.result.readiness ? `${ms(latency(r.result.readiness.eventMs).median)}/${ms(latency(r.result.readiness.eventMs).max)}` : '-',
      r.result.readiness ? `${ms(latency(r.result.readiness.metricsMs).median)}/${ms(latency(r.result.readiness.metricsMs).max)}` : '-',
    ];
  });
  return [
    `multinet-agent on Node.js ${runtime.version} (${runtime.bin}), every case of this run (fresh snapshots; floor = raw kernel dumps of the same namespaces, same run):`,
    ...table([header, ...rows]),
  ].join('\n');
}

function podLines(report: CaseReport): string[] {
  const c = podCheckOf(report.prepared, report.result);
  const { pods, podInterfaceNames: names } = report.prepared;
  const span = (r: { min: number; max: number }): string => (r.min === r.max ? String(r.min) : `${r.min}..${r.max}`);
  const named =
    (names.length > 0 ? `, with interface ${names.join('/')}: ${span(c.named)},` : '') + (report.prepared.podsKnown ? ` with a pod name: ${span(c.withPod)},` : '');
  const other = report.prepared.otherPodInterfaces ?? 0;
  const expected = pods === 0 ? '0 (no pod namespaces)' : `${pods} × ${names.length + other} = ${c.expected}${other > 0 ? ` (eth0 too), ${pods * names.length} of them ${names.join('/')}` : ''}`;
  return [
    `pod interfaces in the agent's exposition (multinet_pod_interface_info samples): ${span(c.all)}${named} ` +
      `per timed scrape (${report.config.scrapes} scrapes); expected ${expected}: ${c.ok ? 'ok' : 'WRONG'}`,
  ];
}

function cpuLines(report: CaseReport): string[] {
  const agent = figuresOf(report.result, 'agent');
  const use = cpuUseOf(agent.cpu);
  const at = agent.cpu.atInterval;
  if (!at || use.idleMsPerS === undefined || use.percent === undefined) return [];
  return [
    `agent CPU (run time of its threads, /proc/<pid>/task/*/schedstat): ${ms(use.perScrapeMs)} ms per fresh scrape, the pause before it included;`,
    `  scraped every ${use.intervalS} s for ${(at.wallMs / 1000).toFixed(1)} s (${at.intervals} gzip scrapes): ${Math.round(at.cpuMs)} ms = ${pct(use.percent)} of one core; ` +
      `quiet ${use.idleMsPerS.toFixed(2)} ms/s (${Math.round(at.quiet.cpuMs)} ms in the ${(at.quiet.wallMs / 1000).toFixed(1)} s from 2 s after each scrape to the next); ` +
      `RSS then ${mb(at.rssBytes)} MB`,
    ...intervalSpread(at.perIntervalCpuMs, use.intervalS),
  ];
}

/** The spread of the intervals' CPU: the share above is their average, and one interval holds a route refresh or a mark-compact more than another. */
export function intervalSpread(perIntervalCpuMs: readonly number[], intervalS: number): string[] {
  if (perIntervalCpuMs.length === 0) return [];
  const at = (cpuMs: number): string => `${Math.round(cpuMs)} ms (${pct((100 * cpuMs) / (intervalS * 1000))})`;
  return [
    `  each interval, from its scrape to the next: min ${at(Math.min(...perIntervalCpuMs))}, median ${at(median(perIntervalCpuMs))}, ` +
      `max ${at(Math.max(...perIntervalCpuMs))} over ${perIntervalCpuMs.length}`,
  ];
}

/** The human-readable report of one case. */
export function formatCase(report: CaseReport): string {
  const { config, result, prepared } = report;
  const agent = figuresOf(result, 'agent');
  const nodeExporter = figuresOf(result, 'node_exporter');
  const setup = Object.entries(prepared.setupMs)
    .map(([step, v]) => `${step} ${(v / 1000).toFixed(2)} s`)
    .join(', ');
  return [
    `case ${report.name}: ${prepared.description}`,
    `set up in ${(Object.values(prepared.setupMs).reduce((a, b) => a + b, 0) / 1000).toFixed(1)} s (${setup}); not part of the figures.`,
    `${config.warmups} warm-up + ${config.scrapes} timed scrapes per exporter, sequential, one exporter running at a time, whole body read, uncompressed; ` +
      `each followed by one asking for gzip (Accept-Encoding: gzip, as Prometheus sends it), timed apart.`,
    `Each scrape starts ${config.gapMs} ms after the previous one ended: longer than the agent serves a snapshot again (1 s), so every timed agent scrape builds a new one (fresh snapshots: ${agent.freshScrapes}/${config.scrapes}).`,
    `links = distinct interfaces in the exposition; series = sample lines; bytes = body of the last scrape; MB = 10^6 bytes; RSS = VmRSS after the scrapes, peak = VmHWM;`,
    `CPU ms/scrape = run time of the exporter's threads (/proc/<pid>/task/*/schedstat) over the timed scrapes, plain and gzip (the pauses between them included) / scrapes; gzip CPU = the agent's compressor (zlib level 1) on the body, in measure.js.`,
    `commands, in netns ${prepared.netns} and a PID namespace of their own (unshare --pid --mount-proc):`,
    ...result.exporters.map((e) => `  ${e.name.padEnd(15)} ${e.command}   [${e.mode}]`),
    ...(prepared.pods > 0 ? [`node_exporter runs for reference only: it sees the ${nodeExporter.links} links of ${prepared.netns}, not the pod namespaces.`] : []),
    '',
    ...exporterTable(result),
    '',
    ...podLines(report),
    '',
    ...agentSplit(result),
    ...gzipLines(result),
    ...readinessLines(result),
    `node_exporter collector durations (medians, ms): ${collectorList(nodeExporter)}`,
    ...cpuLines(report),
    '',
    ...verdictOf(result, report.targets).map((c) => `${c.text}: ${met(c.met)}`),
  ].join('\n');
}

/** `a, b .. z (N)`: a long list of names, shortened for a progress line. */
export function shortList(names: readonly string[]): string {
  if (names.length <= 4) return names.join(', ');
  return `${names.slice(0, 2).join(', ')} .. ${names[names.length - 1] ?? ''} (${names.length})`;
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

function exporterJson(f: ExporterFigures): Record<string, unknown> {
  const cpu = cpuUseOf(f.cpu);
  return {
    links: f.links,
    medianMs: round(f.medianMs),
    p95Ms: round(f.p95Ms),
    rssMB: round(f.rssBytes / MB),
    peakRssMB: round(f.peakRssBytes / MB),
    series: f.series,
    bytes: f.bytes,
    freshScrapes: f.freshScrapes,
    ...(f.gzip ? { gzip: { bytes: f.gzip.bytes, plainBytes: f.gzip.plainBytes, medianMs: round(f.gzip.medianMs), cpuMsPerScrape: round(f.gzip.cpuMsPerScrape), compressed: f.gzip.compressed } } : {}),
    cpuMsPerScrape: round(cpu.perScrapeMs),
    ...(cpu.idleMsPerS === undefined ? {} : { idleCpuMsPerS: Math.round(cpu.idleMsPerS * 1000) / 1000 }),
    ...(f.cpu.atInterval ? { intervalCpuMs: f.cpu.atInterval.perIntervalCpuMs.map(round) } : {}),
    collectorMedianMs: Object.fromEntries(Object.entries(f.collectorMedianMs).map(([k, v]) => [k, round(v)])),
    scrapesMs: f.scrapesMs.map(round),
    ...(f.cachedScrapes
      ? { cachedScrape: { medianMs: round(f.cachedScrapes.medianMs), p95Ms: round(f.cachedScrapes.p95Ms), hits: f.cachedScrapes.hits, runs: f.cachedScrapes.runs } }
      : {}),
  };
}

function podKernelJson(pods: PodKernelFigures): Record<string, unknown> {
  return {
    namespaces: pods.namespaces,
    links: pods.links,
    discoveryMedianMs: round(pods.discovery.medianMs),
    sequentialDumpsMedianMs: round(pods.sequential.medianMs),
    pooledDumpsMedianMs: round(pods.pooled.medianMs),
    pooledSockets: pods.pooled.sockets,
    floorMedianMs: round(pods.floor.medianMs),
  };
}

/** The machine-readable line: every case's figures and verdict. */
export function summaryJson(reports: readonly CaseReport[], runtime: Runtime): string {
  return JSON.stringify({
    bench: 'multinet-agent',
    node: runtime,
    cases: reports.map((r) => {
      const podCheck = podCheckOf(r.prepared, r.result);
      return {
        case: r.name,
        links: r.prepared.macvlans,
        podNetns: r.prepared.pods,
        linksInNetns: r.prepared.linksInNetns,
        scrapes: r.config.scrapes,
        gapMs: r.config.gapMs,
        setupMs: Object.fromEntries(Object.entries(r.prepared.setupMs).map(([k, v]) => [k, Math.round(v)])),
        podInterfaces: { expected: podCheck.expected, min: podCheck.all.min, max: podCheck.all.max, ok: podCheck.ok },
        agent: exporterJson(figuresOf(r.result, 'agent')),
        nodeExporter: exporterJson(figuresOf(r.result, 'node_exporter')),
        rawDumpMedianMs: round(r.result.rawDump.medianMs),
        floorMedianMs: round(floorOf(r.result).medianMs),
        agentFloorRatio: round(figuresOf(r.result, 'agent').medianMs / floorOf(r.result).medianMs),
        listLinksMedianMs: round(r.result.listLinks.medianMs),
        ...(r.result.pods ? { podKernel: podKernelJson(r.result.pods) } : {}),
        ...(r.result.readiness
          ? {
              readiness: {
                iface: r.result.readiness.iface,
                transitions: r.result.readiness.transitions,
                eventMs: r.result.readiness.eventMs.map(round),
                metricsMs: r.result.readiness.metricsMs.map(round),
              },
            }
          : {}),
        targets: Object.fromEntries(verdictOf(r.result, r.targets).map((c) => [c.key, { max: c.max, value: Math.round(c.value * 10_000) / 10_000, met: c.met }])),
      };
    }),
  });
}
