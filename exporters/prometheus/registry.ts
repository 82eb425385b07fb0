/**
 * /metrics: prom-client's registry for the process and build metrics, and the snapshot families
 * written by our own exposition writer (see exposition.ts for why), one body.
 */
import client, { Registry } from 'prom-client';
import { type AssessedSnapshot } from '../../agent/model/assessment.js';
import { type Snapshot } from '../../agent/model/snapshot.js';
import { EXPORT_ALL, type ExportFilter } from './export-filter.js';
import type { Logger } from '../../agent/model/ports.js';
import { writeFamilies } from './exposition.js';
import { snapshotFamilies } from './families.js';
import { type Family } from './family.js';
import { NetworkTotals } from './network-families.js';
import { countSeries, limitSeries } from './series-limit.js';

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
  render(): Promise<string>;
}

/** The registry of process and build metrics. */
function processRegistry(opts: RendererOptions): Registry {
  const registry = new Registry();
  if (opts.processMetrics !== false) {
    // The event-loop monitor samples every 10 ms by default: measured, that alone kept an idle
    // agent at ~1% of a core. 100 ms is plenty for nodejs_eventloop_lag_* percentiles.
    client.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });
    // prom-client names these gauges with a _total suffix, which promtool check metrics rejects;
    // the per-type nodejs_active_{handles,requests,resources} gauges carry the same counts.
    for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(name);
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
  const rendered = new WeakMap<Snapshot, string>();
  const renderSnapshot = ({ snapshot, assessment }: AssessedSnapshot): string => {
    const { families, dropped } = limitSeries(snapshotFamilies(snapshot, assessment, filter, totals), filter.seriesLimit);
    const exported = countSeries(families);
    if (dropped > 0 !== limiting) {
      limiting = dropped > 0;
      if (limiting) opts.log?.warn({ limit: filter.seriesLimit, dropped }, 'series limit reached; pod series dropped');
      else opts.log?.info({ limit: filter.seriesLimit }, 'series back under the limit');
    }
    return `${writeFamilies(families)}\n${writeFamilies(seriesFamilies(exported, dropped))}`;
  };
  return {
    contentType: registry.contentType,
    async render() {
      const [base, assessed] = await Promise.all([registry.metrics(), opts.assessed()]);
      let text = rendered.get(assessed.snapshot);
      if (text === undefined) {
        text = renderSnapshot(assessed);
        rendered.set(assessed.snapshot, text);
      }
      const live = opts.live?.() ?? [];
      return live.length > 0 ? `${base}\n${text}\n${writeFamilies(live)}` : `${base}\n${text}`;
    },
  };
}
