/**
 * /metrics: prom-client's registry for the process and build metrics, and the snapshot families
 * written by our own exposition writer (see exposition.ts for why), one body.
 */
import client, { Registry } from 'prom-client';
import { type AssessedSnapshot } from '../../agent/model/assessment.js';
import { type Snapshot } from '../../agent/model/snapshot.js';
import { EXPORT_ALL, type ExportFilter } from './export-filter.js';
import type { Logger } from '../../agent/model/ports.js';
import { ByteWriter, TextBytes, writeFamiliesTo } from './exposition.js';
import { snapshotFamilies } from './families.js';
import { type Family } from './family.js';
import { NetworkTotals } from './network-families.js';
import { LabelTextCache } from './label-cache.js';
import { countSeries, limitSeries } from './series-limit.js';
import { EVENT_LOOP_DELAY_GAUGES, registerEventLoopDelay } from './event-loop-delay.js';

/** A timer period that never comes due (Node takes any positive integer; libuv's timers are 64-bit). */
const NEVER_MS = Number.MAX_SAFE_INTEGER;

/** prom-client default metrics that break the Prometheus naming rules. */
const LINT_FAILING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** Options of {@link createMetricsRenderer}. */
export interface RendererOptions {
  readonly version: string;
  /** The Node.js version for multinet_build_info; process.version by default. */
  readonly nodeVersion?: string;
  /** Returns the snapshot behind this scrape and its assessment (made once per snapshot, by the snapshot cache). */
  readonly assessed: () => Promise<AssessedSnapshot>;
  /** Include prom-client's process_* and nodejs_* defaults (default true). */
  readonly processMetrics?: boolean;
  /** Families of the agent's own state (event recorder, kube caches), read at every scrape. */
  readonly live?: () => readonly Family[];
  /** What to leave out, and the series limit; everything and no limit by default. */
  readonly filter?: ExportFilter;
  /** Told once when the series limit starts cutting (warn) and when it stops (info). */
  readonly log?: Logger;
}

/** Renders a /metrics body. */
export interface MetricsRenderer {
  readonly contentType: string;
  /** The body as one string (tests, tools). */
  render(): Promise<string>;
  /**
   * The body in pieces to send in order: first the snapshot's (the same Buffer for every scrape
   * of one snapshot, so whatever is derived from it, its gzip segment, can be cached with it),
   * then this scrape's process metrics and live families.
   */
  chunks?(): Promise<readonly Buffer[]>;
}

/** The registry of process and build metrics. */
function processRegistry(opts: RendererOptions): Registry {
  const registry = new Registry();
  if (opts.processMetrics !== false) {
    // prom-client's event-loop sampler cannot be left out of its defaults: its timer is made due
    // never, and its seven nodejs_eventloop_lag_* histogram gauges are ours (event-loop-delay.ts).
    client.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: NEVER_MS });
    // prom-client names these gauges with a _total suffix, which promtool check metrics rejects;
    // the per-type nodejs_active_{handles,requests,resources} gauges carry the same counts.
    for (const name of [...LINT_FAILING_DEFAULTS, ...EVENT_LOOP_DELAY_GAUGES]) registry.removeSingleMetric(name);
    registerEventLoopDelay(registry);
  }
  const build = new client.Gauge({
    name: 'multinet_build_info',
    help: 'Version of the agent and of the Node.js runtime it runs on (value 1).',
    labelNames: ['version', 'node_version'],
    registers: [registry],
  });
  build.set({ version: opts.version, node_version: opts.nodeVersion ?? process.version }, 1);
  return registry;
}

/** `multinet_exported_series`, `multinet_series_limit_reached`, `multinet_series_dropped`. */
export function seriesFamilies(exported: number, dropped: number): Family[] {
  return [
    { name: 'multinet_exported_series', help: 'Series of the snapshot families (host, pod, network, SR-IOV, collector) in this scrape, after filters and the series limit.', type: 'gauge', samples: [{ labels: {}, value: exported }] },
    { name: 'multinet_series_limit_reached', help: 'Whether --metrics.series-limit cut this scrape (1): host and readiness series come first, pod interfaces last.', type: 'gauge', samples: [{ labels: {}, value: dropped > 0 ? 1 : 0 }] },
    { name: 'multinet_series_dropped', help: 'Series left out of this scrape by --metrics.series-limit.', type: 'gauge', samples: [{ labels: {}, value: dropped }] },
  ];
}

/** Builds the /metrics renderer. */
export function createMetricsRenderer(opts: RendererOptions): MetricsRenderer {
  const registry = processRegistry(opts);
  const filter = opts.filter ?? EXPORT_ALL;
  const totals = filter.podSeries === 'per-network' ? new NetworkTotals() : undefined;
  let limiting = false;
  // A snapshot served twice (HA scrapers within its reuse window) is rendered once.
  const rendered = new WeakMap<Snapshot, Buffer>();
  // The last body's size: the next one is written into a buffer about that big, not grown by doubling.
  let lastBytes = 64 * 1024;
  // Label texts and their bytes, kept across renders for what did not change.
  const labels = { pods: new LabelTextCache(), host: new LabelTextCache() };
  const texts = new TextBytes();
  const renderSnapshot = ({ snapshot, assessment }: AssessedSnapshot): Buffer => {
    const { families, dropped } = limitSeries(snapshotFamilies(snapshot, assessment, filter, totals, labels), filter.seriesLimit);
    const exported = countSeries(families);
    if (dropped > 0 !== limiting) {
      limiting = dropped > 0;
      if (limiting) opts.log?.warn({ limit: filter.seriesLimit, dropped }, 'series limit reached; pod series dropped');
      else opts.log?.info({ limit: filter.seriesLimit }, 'series back under the limit');
    }
    const out = new ByteWriter(Math.ceil(lastBytes * 1.1));
    writeFamiliesTo(out, families, false, texts);
    writeFamiliesTo(out, seriesFamilies(exported, dropped), families.length > 0);
    texts.rotate();
    lastBytes = out.length;
    return out.toBuffer();
  };
  const chunks = async (): Promise<Buffer[]> => {
    const [base, assessed] = await Promise.all([registry.metrics(), opts.assessed()]);
    let body = rendered.get(assessed.snapshot);
    if (body === undefined) {
      body = renderSnapshot(assessed);
      rendered.set(assessed.snapshot, body);
    }
    // This scrape's own part: a blank line after the snapshot's families, prom-client's (each
    // family ending in a line feed, blank lines between) and the live families.
    const live = opts.live?.() ?? [];
    const own = new ByteWriter(base.length * 2 + 4096);
    own.byte(0x0a);
    own.string(base);
    if (live.length > 0) writeFamiliesTo(own, live, true);
    return [body, own.toBuffer()];
  };
  return {
    contentType: registry.contentType,
    chunks,
    async render() {
      return Buffer.concat(await chunks()).toString('utf8');
    },
  };
}
