/**
 * /metrics: the snapshot families, written by our own exposition writer (see exposition.ts for
 * why), then this scrape's process, build and live families, one body.
 */
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
import { EXPOSITION_CONTENT_TYPE, ProcessMetrics } from './process-metrics.js';

/** Options of {@link createMetricsRenderer}. */
export interface RendererOptions {
  readonly version: string;
  /** The Node.js version for multinet_build_info; process.version by default. */
  readonly nodeVersion?: string;
  /** Returns the snapshot behind this scrape and its assessment (made once per snapshot, by the snapshot cache). */
  readonly assessed: () => Promise<AssessedSnapshot>;
  /** Include the process_* and nodejs_* families (process-metrics.ts; default true). */
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

/** `multinet_build_info`. */
function buildInfo(version: string, nodeVersion: string): Family {
  return { name: 'multinet_build_info', help: 'Version of the agent and of the Node.js runtime it runs on (value 1).', type: 'gauge', samples: [{ labels: { version, node_version: nodeVersion }, value: 1 }] };
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
  const processFamilies = opts.processMetrics === false ? undefined : new ProcessMetrics();
  const build = buildInfo(opts.version, opts.nodeVersion ?? process.version);
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
    const assessed = await opts.assessed();
    let body = rendered.get(assessed.snapshot);
    if (body === undefined) {
      body = renderSnapshot(assessed);
      rendered.set(assessed.snapshot, body);
    }
    // This scrape's own part, after a blank line: the process families, build info and the live families.
    const own = new ByteWriter(16 * 1024);
    writeFamiliesTo(own, [...(processFamilies?.families() ?? []), build, ...(opts.live?.() ?? [])], true);
    return [body, own.toBuffer()];
  };
  return {
    contentType: EXPOSITION_CONTENT_TYPE,
    chunks,
    async render() {
      return Buffer.concat(await chunks()).toString('utf8');
    },
  };
}
