/**
 * `process_*` and `nodejs_*`: the families prom-client's `collectDefaultMetrics` exports, with its
 * names, help texts, types and labels, read by the agent itself.
 *
 * prom-client was only the agent's for these: the snapshot families never went through its
 * registry. Its registry took 0.3 ms a scrape for them, this 0.2 ms; imported with its defaults
 * into a bare process it cost 3.2 MB of RSS (54.4 → 57.7 MB beside the agent's other
 * dependencies), but in the agent, whose own work touches the same young-generation pages, only
 * about 0.7 MB at rest (three starts each, within the noise). It stays a dev dependency, for the
 * test that holds these families to its own.
 *
 * Where this differs from prom-client 15, on purpose:
 * - `process_cpu_*_seconds_total` count from the process's start (`process.cpuUsage()`), as the
 *   Go client's process collector does; prom-client counted from the moment its defaults were
 *   registered.
 * - `nodejs_gc_duration_seconds` observes every collection: prom-client's observer took only the
 *   first entry of each batch the runtime delivers, and so missed most minor collections.
 * - `nodejs_active_{handles,requests,resources}_total` are left out: promtool rejects a gauge
 *   named `_total`, and the per-type gauges carry the same counts.
 * - `nodejs_eventloop_lag_{min,...,p99}_seconds` come from the agent's own sampler
 *   (event-loop-delay.ts).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { PerformanceObserver, constants as perfConstants, type PerformanceEntry } from 'node:perf_hooks';
import v8 from 'node:v8';
import { EventLoopDelaySampler, eventLoopDelayFamilies } from './event-loop-delay.js';
import { type Family, type Sample } from './family.js';

/** The content type of the text exposition format 0.0.4, as prom-client and promhttp send it. */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** prom-client's default buckets of `nodejs_gc_duration_seconds`, seconds. */
export const GC_DURATION_BUCKETS: readonly number[] = [0.001, 0.01, 0.1, 1, 2, 5];

/** The kind label of a GC performance entry, as prom-client names them. */
const GC_KINDS = new Map<number, string>([
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [perfConstants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
]);

/** Whole seconds since the epoch at which the process started (prom-client's rounding). */
const START_SECONDS = Math.round(Date.now() / 1000 - process.uptime());

/** Where the process reads itself; `/proc/self` on Linux. */
export interface ProcessMetricsOptions {
  readonly procSelf?: string;
  /** The event-loop sampler's period, ms (tests shorten it). */
  readonly eventLoopSampleMs?: number;
}

/** One histogram of GC pauses per kind, counts per bucket (not cumulative) plus the sum. */
interface GcHistogram {
  readonly counts: number[];
  sum: number;
  count: number;
}

const gauge = (name: string, help: string, samples: readonly Sample[]): Family => ({ name, help, type: 'gauge', samples });
const one = (value: number): Sample[] => [{ labels: {}, value }];

/** Counts of each string in `names` (first-seen order). */
function countBy(names: Iterable<string>): Sample[] {
  const counts = new Map<string, number>();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  return [...counts].map(([type, value]) => ({ labels: { type }, value }));
}

/** Constructor names of libuv handles or requests, as prom-client groups them. */
function* constructorNames(list: readonly unknown[]): Iterable<string> {
  for (const item of list) {
    const name = (item as { constructor?: { name?: unknown } } | null)?.constructor?.name;
    if (typeof name === 'string') yield name;
  }
}

/** `VmRSS`, `VmSize` and `VmData` of a /proc/<pid>/status text, in bytes; absent ones undefined. */
export function parseProcStatus(text: string): { rss?: number; virtual?: number; data?: number } {
  const field = (key: string): number | undefined => {
    const m = new RegExp(`^${key}:\\s*(\\d+) kB$`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const rss = field('VmRSS');
  const virtual = field('VmSize');
  const data = field('VmData');
  return { ...(rss === undefined ? {} : { rss }), ...(virtual === undefined ? {} : { virtual }), ...(data === undefined ? {} : { data }) };
}

/** The soft limit of open files from a /proc/<pid>/limits text; undefined when absent ("unlimited" is Infinity). */
export function parseMaxFds(text: string): number | undefined {
  const m = /^Max open files\s+(\S+)/m.exec(text);
  if (!m) return undefined;
  return m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

/** The process and runtime families, read at each scrape. */
export class ProcessMetrics {
  readonly #self: string;
  readonly #maxFds: number | undefined;
  readonly #sampler: EventLoopDelaySampler;
  readonly #gc = new Map<string, GcHistogram>();
  readonly #observer: PerformanceObserver;
  /** The lag of the setImmediate queued by the previous scrape, seconds (prom-client's `nodejs_eventloop_lag_seconds`). */
  #lag = 0;

  constructor(opts: ProcessMetricsOptions = {}) {
    this.#self = opts.procSelf ?? '/proc/self';
    this.#maxFds = this.#tryRead('limits', parseMaxFds);
    this.#sampler = new EventLoopDelaySampler(opts.eventLoopSampleMs);
    this.#observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) this.#observeGc(entry);
    });
    this.#observer.observe({ entryTypes: ['gc'] });
  }

  /** Stops the sampler's timer and the GC observer. */
  stop(): void {
    this.#sampler.stop();
    this.#observer.disconnect();
  }

  #observeGc(entry: PerformanceEntry): void {
    const kind = GC_KINDS.get((entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? -1);
    if (kind === undefined) return;
    let h = this.#gc.get(kind);
    if (h === undefined) this.#gc.set(kind, (h = { counts: GC_DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 }));
    const seconds = entry.duration / 1000;
    const bucket = GC_DURATION_BUCKETS.findIndex((le) => seconds <= le);
    if (bucket >= 0) (h.counts[bucket] as number)++;
    h.sum += seconds;
    h.count++;
  }

  #tryRead<T>(file: string, parse: (text: string) => T): T | undefined {
    try {
      return parse(readFileSync(`${this.#self}/${file}`, 'latin1'));
    } catch {
      return undefined;
    }
  }

  /** This scrape's families, in prom-client's order. */
  families(): Family[] {
    // prom-client measures the loop's lag with a setImmediate queued at the scrape, and shows it at the next.
    const queued = process.hrtime.bigint();
    setImmediate(() => {
      this.#lag = Number(process.hrtime.bigint() - queued) / 1e9;
    });
    const cpu = process.cpuUsage();
    const status = this.#tryRead('status', parseProcStatus) ?? {};
    let openFds: number | undefined;
    try {
      // Less the descriptor readdir itself held open.
      openFds = readdirSync(`${this.#self}/fd`).length - 1;
    } catch {
      openFds = undefined;
    }
    const heap = v8.getHeapStatistics();
    const spaces = v8.getHeapSpaceStatistics();
    const space = (pick: (s: v8.HeapSpaceInfo) => number): Sample[] =>
      spaces.map((s) => ({ labels: { space: s.space_name.slice(0, s.space_name.indexOf('_space')) }, value: pick(s) }));
    const [major = '0', minor = '0', patch = '0'] = process.version.slice(1).split('.');
    const families: Family[] = [
      { name: 'process_cpu_user_seconds_total', help: 'Total user CPU time spent in seconds.', type: 'counter', samples: one(cpu.user / 1e6) },
      { name: 'process_cpu_system_seconds_total', help: 'Total system CPU time spent in seconds.', type: 'counter', samples: one(cpu.system / 1e6) },
      { name: 'process_cpu_seconds_total', help: 'Total user and system CPU time spent in seconds.', type: 'counter', samples: one((cpu.user + cpu.system) / 1e6) },
      gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', one(START_SECONDS)),
    ];
    if (status.rss !== undefined) families.push(gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', one(status.rss)));
    if (status.virtual !== undefined) families.push(gauge('process_virtual_memory_bytes', 'Virtual memory size in bytes.', one(status.virtual)));
    if (status.data !== undefined) families.push(gauge('process_heap_bytes', 'Process heap size in bytes.', one(status.data)));
    if (openFds !== undefined) families.push(gauge('process_open_fds', 'Number of open file descriptors.', one(openFds)));
    if (this.#maxFds !== undefined) families.push(gauge('process_max_fds', 'Maximum number of open file descriptors.', one(this.#maxFds)));
    families.push(
      gauge('nodejs_eventloop_lag_seconds', 'Lag of event loop in seconds.', one(this.#lag)),
      ...eventLoopDelayFamilies(this.#sampler),
      gauge('nodejs_active_resources', 'Number of active resources that are currently keeping the event loop alive, grouped by async resource type.', countBy(process.getActiveResourcesInfo())),
      gauge('nodejs_active_handles', 'Number of active libuv handles grouped by handle type. Every handle type is C++ class name.', countBy(constructorNames((process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles()))),
      gauge('nodejs_active_requests', 'Number of active libuv requests grouped by request type. Every request type is C++ class name.', countBy(constructorNames((process as unknown as { _getActiveRequests(): unknown[] })._getActiveRequests()))),
      gauge('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.', one(heap.total_heap_size)),
      gauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.', one(heap.used_heap_size)),
      gauge('nodejs_external_memory_bytes', 'Node.js external memory size in bytes.', one((heap as v8.HeapInfo & { external_memory: number }).external_memory)),
      gauge('nodejs_heap_space_size_total_bytes', 'Process heap space size total from Node.js in bytes.', space((s) => s.space_size)),
      gauge('nodejs_heap_space_size_used_bytes', 'Process heap space size used from Node.js in bytes.', space((s) => s.space_used_size)),
      gauge('nodejs_heap_space_size_available_bytes', 'Process heap space size available from Node.js in bytes.', space((s) => s.space_available_size)),
      gauge('nodejs_version_info', 'Node.js version info.', [{ labels: { version: process.version, major, minor, patch }, value: 1 }]),
      { name: 'nodejs_gc_duration_seconds', help: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.', type: 'histogram', samples: this.#gcSamples() },
    );
    return families;
  }

  /** `_bucket` (cumulative, `le` first as prom-client writes it), `_sum` and `_count` per kind seen. */
  #gcSamples(): Sample[] {
    const samples: Sample[] = [];
    for (const [kind, h] of this.#gc) {
      let cumulative = 0;
      for (const [i, le] of GC_DURATION_BUCKETS.entries()) {
        cumulative += h.counts[i] as number;
        samples.push({ suffix: '_bucket', labels: { le: String(le), kind }, value: cumulative });
      }
      samples.push({ suffix: '_bucket', labels: { le: '+Inf', kind }, value: h.count });
      samples.push({ suffix: '_sum', labels: { kind }, value: h.sum });
      samples.push({ suffix: '_count', labels: { kind }, value: h.count });
    }
    return samples;
  }
}
