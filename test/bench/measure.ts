/**
 * The timing half of the bench, started by bench.ts as
 * `ip netns exec NS unshare --pid --mount-proc --kill-child=SIGTERM -- node measure.js CONFIG_JSON`:
 * inside the namespace, whose loopback the host cannot reach and whose /sys `ip netns exec` has
 * remounted, as PID 1 of a PID namespace with its own /proc. It starts each exporter as its own
 * child (which inherits all of that; the kernel kills them if this process dies), scrapes it,
 * reads its RSS and CPU time, stops it, then times the agent's rtnetlink dump alone (and, with
 * pod namespaces, their discovery and raw dumps), and prints one JSON line (MeasureResult) on
 * stdout.
 */
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { constants } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../agent/model/ports.js';
import { NetlinkLinkSource } from '../../collectors/netlink/link-dump.js';
import { POD_DUMP_CONCURRENCY } from '../../collectors/netlink/netns-links.js';
import { ensureNsid, getNsid } from '../../collectors/netlink/nsid.js';
import { NetnsDiscovery } from '../../collectors/procfs/netns-discovery.js';
import { ChunkedGzip } from '../../exporters/http/gzip-chunks.js';
import { cpuNanos } from './cpu-time.js';
import { exporterSpecs, type ExporterSpec } from './exporters.js';
import { ChildProcesses, commandLine, describeError, OutputTail } from './processes.js';
import type {
  CachedScrapeFigures,
  CpuFigures,
  ExporterFigures,
  GzipFigures,
  IntervalCpu,
  ReadinessFigures,
  KernelFigures,
  MeasureConfig,
  MeasureResult,
  PodInterfaceCount,
  PodKernelFigures,
} from './protocol.js';
import { countSamples, expositionStats, scrape, type ExpositionStats } from './scrape.js';
import { median, percentile } from './stats.js';

const RTM_NEWLINK = 16;
const STARTUP_TIMEOUT_MS = 30_000;
const KERNEL_WARMUPS = 2;

const children = new ChildProcesses();
/** The discovery timed here logs nothing: a denied /proc entry would show in the agent's own log. */
const SILENT: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
/** Set once SIGINT/SIGTERM arrived: the errors of the interrupted steps are expected then. */
let stopping = false;

function progress(line: string): void {
  process.stderr.write(`  [measure] ${line}\n`);
}

/** Polls /metrics until it answers 200; fails early, with the exporter's stderr, if it exits. */
async function waitUntilServing(spec: ExporterSpec, child: ChildProcess, stderr: OutputTail, agent: http.Agent): Promise<number> {
  const started = performance.now();
  let exit: string | undefined;
  child.once('exit', (code, signal) => {
    exit = signal ? `killed by ${signal}` : `exited ${code}`;
  });
  child.once('error', (err) => {
    exit = `failed to start (${err.message})`;
  });
  for (;;) {
    if (exit !== undefined) throw new Error(`${spec.name} ${exit} before serving: ${stderr.text}`);
    try {
      await scrape(spec.metricsUrl, agent);
      return performance.now() - started;
    } catch (err) {
      if (performance.now() - started > STARTUP_TIMEOUT_MS) {
        throw new Error(`${spec.name} did not serve ${spec.metricsUrl} within ${STARTUP_TIMEOUT_MS} ms: ${stderr.text}`, { cause: err });
      }
    }
    await sleep(100);
  }
}

/** VmRSS and VmHWM of a process, bytes. */
async function residentBytes(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (!m) throw new Error(`/proc/${pid}/status has no ${field}`);
    return Number(m[1]) * 1024;
  };
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

/** A stable key of the per-collector durations: equal keys mean the same snapshot was served. */
function durationsKey(stats: ExpositionStats): string {
  return JSON.stringify([...stats.collectorSeconds].sort(([a], [b]) => a.localeCompare(b)));
}

/** Per-collector medians over the timed scrapes, milliseconds. */
function collectorMedians(all: readonly ExpositionStats[]): Record<string, number> {
  const names = new Set(all.flatMap((s) => [...s.collectorSeconds.keys()]));
  const out: Record<string, number> = {};
  for (const name of [...names].sort()) {
    const values = all.flatMap((s) => {
      const v = s.collectorSeconds.get(name);
      return v === undefined ? [] : [v * 1000];
    });
    out[name] = median(values);
  }
  return out;
}

const nanosToMs = (ns: number): number => ns / 1e6;

/**
 * Warm-up, then timed scrapes of a serving exporter, each after `gapMs` of quiet, plain and
 * `Accept-Encoding: gzip` alternating so that both meet the same conditions (load, JIT warmth,
 * heap size); the CPU time from the start of one scrape's pause to the next's is its cost.
 */
async function timedScrapes(
  spec: ExporterSpec,
  config: MeasureConfig,
  agent: http.Agent,
  pid: number,
): Promise<Omit<ExporterFigures, 'rssBytes' | 'peakRssBytes' | 'command' | 'cachedScrapes' | 'cpu'> & { scrapesCpuMs: number }> {
  let previousKey = '';
  for (let i = 0; i < config.warmups; i++) {
    await sleep(config.gapMs);
    previousKey = durationsKey(expositionStats((await scrape(spec.metricsUrl, agent)).body, spec.linkLabel, spec.collectorDurationMetric));
  }
  const times: number[] = [];
  const gzipTimes: number[] = [];
  const stats: ExpositionStats[] = [];
  const podInterfaces: PodInterfaceCount[] = [];
  const names = new Set(config.podInterfaceNames);
  let fresh = 0;
  let bytes = 0;
  let lastPlainBody = '';
  let gzipBytes = 0;
  let gzipPlainBytes = 0;
  let compressed = 0;
  let plainNanos = 0;
  let gzipNanos = 0;
  let nanos = await cpuNanos(pid);
  for (let i = 0; i < 2 * config.scrapes; i++) {
    const gzip = i % 2 === 1;
    await sleep(config.gapMs);
    const s = await scrape(spec.metricsUrl, agent, 30_000, gzip);
    const now = await cpuNanos(pid);
    // The pause before this scrape and the scrape: the same pause for both kinds.
    if (gzip) gzipNanos += now - nanos;
    else plainNanos += now - nanos;
    nanos = now;
    const st = expositionStats(s.body, spec.linkLabel, spec.collectorDurationMetric);
    const key = durationsKey(st);
    if (gzip) {
      gzipTimes.push(s.ms);
      gzipBytes = s.bytes;
      gzipPlainBytes = Buffer.byteLength(s.body);
      if (s.gzipped) compressed++;
    } else {
      times.push(s.ms);
      bytes = s.bytes;
      lastPlainBody = s.body;
      stats.push(st);
      if (spec.podInterfaceMetric !== undefined) podInterfaces.push(countSamples(s.body, spec.podInterfaceMetric, spec.linkLabel, names));
      if (key !== previousKey) fresh++;
    }
    previousKey = key;
  }
  const last = stats[stats.length - 1] as ExpositionStats;
  const gzip: GzipFigures = {
    compressCpuMs: spec.id === 'agent' ? await compressCpuMs(Buffer.from(lastPlainBody)) : undefined,
    scrapes: gzipTimes.length,
    medianMs: median(gzipTimes),
    p95Ms: percentile(gzipTimes, 95),
    bytes: gzipBytes,
    plainBytes: gzipPlainBytes,
    cpuMsPerScrape: nanosToMs(gzipNanos) / gzipTimes.length,
    compressed,
  };
  return {
    id: spec.id,
    name: spec.name,
    mode: spec.mode,
    links: last.links,
    scrapesMs: times,
    medianMs: median(times),
    p95Ms: percentile(times, 95),
    series: last.series,
    bytes,
    gzip,
    freshScrapes: fresh,
    collectorMedianMs: collectorMedians(stats),
    podInterfaces,
    scrapesCpuMs: nanosToMs(plainNanos + gzipNanos),
  };
}

/** CPU of compressing `body` with the agent's own compressor, median of 20 runs in this process (its thread pool included). */
async function compressCpuMs(body: Buffer): Promise<number> {
  const runs: number[] = [];
  for (let i = 0; i < 20; i++) {
    const before = process.cpuUsage();
    // A new one each run: a compressor keeps the first chunk's result while that Buffer lives.
    await new ChunkedGzip().compress([body]);
    const used = process.cpuUsage(before);
    runs.push((used.user + used.system) / 1000);
  }
  return median(runs);
}

/** The part of an interval counted as quiet starts this long after its scrape. */
const QUIET_AFTER_MS = 2000;

/**
 * CPU of a serving exporter scraped every `ms` milliseconds `count` times, as Prometheus would
 * (gzip): read, not modelled from a scrape's CPU and an idle rate. The agent's own timers (the
 * route refresh every 10 s, the manifest reload, the event-loop sampler) run as they do between
 * real scrapes; an idle agent left unscraped for 30 s would also take snapshots of its own.
 */
async function cpuAtInterval(spec: ExporterSpec, agent: http.Agent, pid: number, interval: { ms: number; count: number }): Promise<IntervalCpu> {
  const start = await cpuNanos(pid);
  const t0 = performance.now();
  const until = (at: number): Promise<void> => sleep(Math.max(0, t0 + at - performance.now()));
  let quietNs = 0;
  let quietMs = 0;
  const perIntervalCpuMs: number[] = [];
  let intervalStart = start;
  for (let i = 0; i < interval.count; i++) {
    await until(i * interval.ms);
    await scrape(spec.metricsUrl, agent, 30_000, true);
    await until(i * interval.ms + QUIET_AFTER_MS);
    const q0 = await cpuNanos(pid);
    const w0 = performance.now();
    await until((i + 1) * interval.ms);
    const end = await cpuNanos(pid);
    quietNs += end - q0;
    quietMs += performance.now() - w0;
    perIntervalCpuMs.push(nanosToMs(end - intervalStart));
    intervalStart = end;
  }
  // The intervals end to end: their sum is the window's CPU.
  const cpuMs = nanosToMs(intervalStart - start);
  const wallMs = performance.now() - t0;
  return { intervalMs: interval.ms, intervals: interval.count, wallMs, cpuMs, quiet: { wallMs: quietMs, cpuMs: nanosToMs(quietNs) }, perIntervalCpuMs, rssBytes: (await residentBytes(pid)).rss };
}

/** Pairs of scrapes, `gapMs` apart: a fresh one, then at once one the snapshot cache should answer (timed). */
async function cachedScrapes(spec: ExporterSpec, config: MeasureConfig, agent: http.Agent): Promise<CachedScrapeFigures> {
  const times: number[] = [];
  let hits = 0;
  const key = async (): Promise<[string, number]> => {
    const s = await scrape(spec.metricsUrl, agent);
    return [durationsKey(expositionStats(s.body, spec.linkLabel, spec.collectorDurationMetric)), s.ms];
  };
  for (let i = 0; i < config.scrapes; i++) {
    await sleep(config.gapMs);
    const [freshKey] = await key();
    const [cachedKey, ms] = await key();
    times.push(ms);
    if (cachedKey === freshKey) hits++;
  }
  return { runs: times.length, medianMs: median(times), p95Ms: percentile(times, 95), hits };
}

/** Arrivals on a watch of the API's Events: when each came and what it said. */
interface EventArrival {
  readonly at: number;
  readonly reason: string;
  readonly message: string;
}

/** Watches every Event at the kube API; `stop` ends the stream. */
function watchEvents(apiUrl: string, token: string): { arrivals: EventArrival[]; stop(): void } {
  const arrivals: EventArrival[] = [];
  let pending = '';
  const req = http.get(`${apiUrl}/api/v1/events?watch=true`, { headers: { Authorization: `Bearer ${token}` } }, (res) => {
    res.setEncoding('utf8').on('data', (chunk: string) => {
      const at = performance.now();
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.trim() === '') continue;
        const e = JSON.parse(line) as { type: string; object?: { reason?: string; message?: string } };
        if (e.type === 'ADDED' || e.type === 'MODIFIED') arrivals.push({ at, reason: e.object?.reason ?? '', message: e.object?.message ?? '' });
      }
    });
    res.on('error', () => undefined);
  });
  req.on('error', () => undefined);
  return { arrivals, stop: () => req.destroy() };
}

/** multinet_host_interface_ready of `iface` in an exposition, or undefined. */
function hostReady(body: string, iface: string): number | undefined {
  for (const line of body.split('\n')) {
    if (!line.startsWith('multinet_host_interface_ready{') || !line.includes(`interface="${iface}"`)) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/**
 * Sets a master down and up `cycles` times; for each transition, the time from just before
 * `ip link set` starts to the Event arriving on a watch of the API, and to the first /metrics
 * scrape (polled every 10 ms) showing the new readiness. The recorder's spam filter (burst 25
 * per Node, as client-go's) bounds how many Events one Node may get in a row: 10 cycles, 20
 * Events, stay under it.
 */
async function readinessFlaps(spec: ExporterSpec, config: MeasureConfig, agent: http.Agent): Promise<ReadinessFigures | undefined> {
  const flap = config.readinessFlap;
  if (flap === undefined) return undefined;
  progress(`${spec.name}: ${flap.cycles} × ${flap.iface} down and up; to the Event at the kube API and to /metrics`);
  const watch = watchEvents(flap.apiUrl, flap.token);
  const eventMs: number[] = [];
  const metricsMs: number[] = [];
  try {
    await sleep(500);
    for (let i = 0; i < flap.cycles * 2; i++) {
      const down = i % 2 === 0;
      const reason = down ? 'HostInterfaceNotReady' : 'HostInterfaceReady';
      const t0 = performance.now();
      await children.run('ip', ['link', 'set', flap.iface, down ? 'down' : 'up']);
      let metricsAt: number | undefined;
      for (;;) {
        const s = await scrape(spec.metricsUrl, agent);
        if (hostReady(s.body, flap.iface) === (down ? 0 : 1)) {
          metricsAt = performance.now();
          break;
        }
        if (performance.now() - t0 > 5000) break;
        await sleep(10);
      }
      let event: EventArrival | undefined;
      while (!(event = watch.arrivals.find((a) => a.at >= t0 && a.reason === reason && a.message.includes(flap.iface))) && performance.now() - t0 < 5000) await sleep(10);
      eventMs.push(event ? event.at - t0 : NaN);
      metricsMs.push(metricsAt === undefined ? NaN : metricsAt - t0);
      await sleep(300);
    }
  } finally {
    watch.stop();
  }
  return { iface: flap.iface, transitions: eventMs.length, eventMs, metricsMs };
}

/** Starts one exporter, scrapes it, reads its memory, and stops it. */
async function measureExporter(spec: ExporterSpec, config: MeasureConfig, readiness: { figures?: ReadinessFigures }): Promise<ExporterFigures> {
  const command = commandLine(spec.file, spec.args, spec.env);
  progress(`starting ${command}`);
  const child = children.spawn(spec.file, spec.args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...spec.env } });
  const stderr = new OutputTail();
  child.stderr?.on('data', (c: Buffer) => stderr.push(c));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const startMs = await waitUntilServing(spec, child, stderr, agent);
    progress(`${spec.name} serving after ${Math.round(startMs)} ms; ${config.warmups} warm-up + ${config.scrapes} timed plain scrapes alternating with ${config.scrapes} asking for gzip, ${config.gapMs} ms apart`);
    const pid = child.pid as number;
    const { scrapesCpuMs, ...figures } = await timedScrapes(spec, config, agent, pid);
    const mem = await residentBytes(pid);
    let atInterval: IntervalCpu | undefined;
    if (spec.id === 'agent' && config.scrapeInterval) {
      const { ms, count } = config.scrapeInterval;
      progress(`${spec.name}: scraped every ${ms / 1000} s, ${count} times (gzip), for its CPU at that interval`);
      await sleep(config.gapMs);
      atInterval = await cpuAtInterval(spec, agent, pid, config.scrapeInterval);
    }
    const cpu: CpuFigures = { scrapesCpuMs, scrapes: 2 * config.scrapes, atInterval };
    let cached: CachedScrapeFigures | undefined;
    if (spec.cachesSnapshots) {
      progress(`${spec.name}: ${config.scrapes} more fresh scrapes, each followed at once by one the snapshot cache answers (timed)`);
      cached = await cachedScrapes(spec, config, agent);
    }
    if (spec.id === 'agent') readiness.figures = await readinessFlaps(spec, config, agent);
    return { ...figures, command, rssBytes: mem.rss, peakRssBytes: mem.peak, cachedScrapes: cached, cpu };
  } finally {
    // Close the kept-alive connection first: the agent's server.close() waits for open connections.
    agent.destroy();
    await children.stop(child);
  }
}

/**
 * Runs `phases` back to back `runs` times after two warm-ups, each run after `gapMs` of quiet as
 * the scrapes are, and times each phase.
 */
async function timePhases(runs: number, gapMs: number, phases: readonly (() => Promise<unknown>)[]): Promise<KernelFigures[]> {
  const times = phases.map((): number[] => []);
  for (let i = 0; i < KERNEL_WARMUPS + runs; i++) {
    await sleep(gapMs);
    for (const [p, work] of phases.entries()) {
      const started = performance.now();
      await work();
      if (i >= KERNEL_WARMUPS) times[p]?.push(performance.now() - started);
    }
  }
  return times.map((t) => ({ runs, medianMs: median(t), p95Ms: percentile(t, 95) }));
}

/** Times `work` `runs` times after two warm-ups, each call after `gapMs` of quiet. */
async function timeKernel(runs: number, gapMs: number, work: () => Promise<unknown>): Promise<KernelFigures> {
  return (await timePhases(runs, gapMs, [work]))[0] as KernelFigures;
}

const linkCount = (msgs: readonly { type: number }[]): number => msgs.filter((m) => m.type === RTM_NEWLINK).length;

/**
 * The raw kernel work for one namespace; RTM_NEWLINK messages. Step by step: open, RTM_GETNSID
 * (assigning an id if there is none), raw RTM_GETLINK dump, close. Pipelined, once the id is
 * known: RTM_GETNSID and the dump sent back to back on the socket, one round trip, as the
 * agent's NetlinkPodLinkSource.listIn does.
 */
async function dumpNamespace(nl: NetlinkLinkSource, file: string, signal: AbortSignal, nsids: Map<string, number>, pipelined: boolean): Promise<number> {
  const fd = openSync(file, 'r');
  try {
    const known = nsids.get(file);
    if (pipelined && known !== undefined) {
      // allSettled: if one request fails, the other's failure must not go unhandled.
      const [nsid, msgs] = await Promise.allSettled([getNsid(nl, fd, signal), nl.dumpRaw(signal, known)]);
      if (nsid.status === 'rejected') throw nsid.reason;
      if (msgs.status === 'rejected') throw msgs.reason;
      if (nsid.value !== known) throw new Error(`${file}: NSID ${known} became ${nsid.value} during the bench`);
      return linkCount(msgs.value);
    }
    const nsid = await ensureNsid(nl, fd, signal);
    nsids.set(file, nsid);
    return linkCount(await nl.dumpRaw(signal, nsid));
  } finally {
    closeSync(fd);
  }
}

/** Dumps every namespace in `files` over `sockets`, each taking the next file when done, as the agent's pool does; links in all. */
async function dumpAll(
  sockets: readonly NetlinkLinkSource[],
  files: readonly string[],
  signal: AbortSignal,
  nsids: Map<string, number>,
  pipelined: boolean,
): Promise<number> {
  let next = 0;
  let links = 0;
  const worker = async (nl: NetlinkLinkSource): Promise<void> => {
    while (next < files.length) {
      const n = await dumpNamespace(nl, files[next++] as string, signal, nsids, pipelined);
      links += n;
    }
  };
  await Promise.all(sockets.map(worker));
  return links;
}

/** The kernel work of the netns collector on the case's pod namespaces: discovery, and the raw dumps in sequence and pooled. */
async function measurePodKernel(config: MeasureConfig, podNetnsDir: string): Promise<PodKernelFigures> {
  const files = readdirSync(podNetnsDir).map((n) => path.join(podNetnsDir, n));
  const namespaces = files.length;
  const discovery = new NetnsDiscovery({ procRoot: '/proc', netnsDir: podNetnsDir, log: SILENT });
  const sockets = Array.from({ length: POD_DUMP_CONCURRENCY }, () => new NetlinkLinkSource());
  const host = new NetlinkLinkSource();
  const signal = (): AbortSignal => AbortSignal.timeout(30_000);
  const nsids = new Map<string, number>();
  try {
    progress(
      `timing, as the agent runs them, the discovery of ${namespaces} pod namespaces, then their raw dumps over ${sockets.length} sockets ` +
        `(RTM_GETNSID and RTM_GETLINK pipelined); then open + RTM_GETNSID + dump of each in sequence on one socket; ${config.dumpRuns} runs each, ${config.gapMs} ms apart`,
    );
    const [discovered, pooled, floor] = (await timePhases(config.dumpRuns, config.gapMs, [
      async () => discovery.discover(),
      () => dumpAll(sockets, files, signal(), nsids, true),
      // The floor: what the kernel must be asked for every scrape, the node's links and every pod's, at once.
      () => Promise.all([host.dumpRaw(signal()), dumpAll(sockets, files, signal(), nsids, true)]),
    ])) as [KernelFigures, KernelFigures, KernelFigures];
    const sequential = await timeKernel(config.dumpRuns, config.gapMs, () => dumpAll(sockets.slice(0, 1), files, signal(), nsids, false));
    const links = await dumpAll(sockets, files, signal(), nsids, false);
    return { namespaces, links, discovery: discovered, sequential, pooled: { ...pooled, sockets: sockets.length }, floor };
  } finally {
    for (const nl of sockets) nl.close();
    host.close();
  }
}

/** The agent's link source timed in this process: the raw dump, and the dump with parsing. */
async function measureKernel(config: MeasureConfig): Promise<Pick<MeasureResult, 'rawDump' | 'listLinks' | 'dumpMessages'>> {
  progress(`timing the raw RTM_GETLINK dump, then listLinks, ${config.dumpRuns} runs each, ${config.gapMs} ms apart`);
  const source = new NetlinkLinkSource();
  try {
    const signal = (): AbortSignal => AbortSignal.timeout(10_000);
    const rawDump = await timeKernel(config.dumpRuns, config.gapMs, () => source.dumpRaw(signal()));
    const listLinks = await timeKernel(config.dumpRuns, config.gapMs, () => source.listLinks(signal()));
    const dumpMessages = (await source.dumpRaw(signal())).filter((m) => m.type === RTM_NEWLINK).length;
    return { rawDump, listLinks, dumpMessages };
  } finally {
    source.close();
  }
}

/**
 * One process per pod, as a pause container: `sleep` in the pod's network namespace, in the pod's
 * kubepods cgroup. The cgroup hierarchy is mounted here, inside this process' own mount
 * namespace (`ip netns exec` replaced /sys), and goes with it; the processes die with this PID
 * namespace, and bench.js removes the cgroup directories afterwards.
 */
async function startPodProcesses(config: MeasureConfig): Promise<void> {
  if (config.podProcesses.length === 0) return;
  const controller = config.cgroupController;
  if (controller === undefined) throw new Error('pod processes without a cgroup controller');
  await mkdir(config.cgroupMountDir, { recursive: true });
  await children.run('mount', ['-t', 'cgroup', '-o', controller, 'cgroup', config.cgroupMountDir]);
  progress(`starting ${config.podProcesses.length} pod processes, each in its pod's network namespace and ${controller} cgroup`);
  for (const p of config.podProcesses) {
    const dir = path.join(config.cgroupMountDir, p.cgroup);
    await mkdir(dir, { recursive: true });
    const child = children.spawn('nsenter', [`--net=${p.netnsFile}`, '--', 'sleep', 'infinity'], { stdio: 'ignore' });
    if (child.pid === undefined) throw new Error(`could not start a process in ${p.netnsFile}`);
    await writeFile(path.join(dir, 'cgroup.procs'), String(child.pid));
  }
}

async function main(configJson: string | undefined): Promise<void> {
  if (configJson === undefined) throw new Error('usage: measure.js CONFIG_JSON (started by bench.js inside the bench namespace)');
  const config = JSON.parse(configJson) as MeasureConfig;
  await startPodProcesses(config);
  const exporters: ExporterFigures[] = [];
  const readiness: { figures?: ReadinessFigures } = {};
  for (const spec of exporterSpecs(config)) exporters.push(await measureExporter(spec, config, readiness));
  const kernel = await measureKernel(config);
  const pods = config.podNetnsDir === undefined ? undefined : await measurePodKernel(config, config.podNetnsDir);
  const result: MeasureResult = { exporters, ...kernel, pods, readiness: readiness.figures };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    stopping = true;
    void children.stopAll(1000).finally(() => process.exit(128 + constants.signals[signal]));
  });
}
process.on('exit', () => children.killAllSync());

void main(process.argv[2]).then(
  () => children.stopAll(),
  (err: unknown) => {
    if (stopping) return undefined;
    process.stderr.write(`measure: ${describeError(err)}\n`);
    process.exitCode = 1;
    return children.stopAll();
  },
);
