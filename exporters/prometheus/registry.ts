/**
 * The prom-client side: an explicit registry holding the agent's build info, prom-client's
 * process defaults, and one collector per snapshot family. At scrape time every family reads
 * the same snapshot (shared through the SnapshotCache), computed once per snapshot.
 */
import client, { Registry, type Metric } from 'prom-client';
import { EMPTY_SNAPSHOT, type Snapshot } from '../../agent/domain.js';
import { snapshotFamilies, type Family } from './host-families.js';


/** prom-client default metrics that break the Prometheus naming rules. */
const LINT_FAILING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** Options of {@link createRegistry}. */
export interface RegistryOptions {
  readonly version: string;
  /** The Node.js version for multinet_build_info; process.version by default. */
  readonly nodeVersion?: string;
  /** Returns the snapshot behind this scrape. */
  readonly snapshot: () => Promise<Snapshot>;
  /** Include prom-client's process_* and nodejs_* defaults (default true). */
  readonly processMetrics?: boolean;
}

/**
 * A prom-client "metric" whose values are produced at scrape time from the snapshot, in the
 * shape Registry.getMetricsAsString() reads (`get()` → name, help, type, values).
 */
function snapshotFamilyMetric(template: Family, familiesOf: () => Promise<ReadonlyMap<string, Family>>): Metric {
  const metric = {
    name: template.name,
    help: template.help,
    type: template.type,
    aggregator: 'sum',
    async get() {
      const family = (await familiesOf()).get(template.name);
      return {
        name: template.name,
        help: template.help,
        type: template.type,
        aggregator: 'sum',
        values: (family?.samples ?? []).map((s) => ({ labels: s.labels, value: s.value })),
      };
    },
    reset() {},
  };
  return metric as unknown as Metric;
}

/** Builds the registry that /metrics renders. */
export function createRegistry(opts: RegistryOptions): Registry {
  const registry = new Registry();
  if (opts.processMetrics !== false) {
    client.collectDefaultMetrics({ register: registry });
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

  // Families are computed once per snapshot, however many metrics read them.
  const computed = new WeakMap<Snapshot, Map<string, Family>>();
  const familiesOf = async (): Promise<ReadonlyMap<string, Family>> => {
    const snapshot = await opts.snapshot();
    let byName = computed.get(snapshot);
    if (!byName) {
      byName = new Map(snapshotFamilies(snapshot).map((f) => [f.name, f]));
      computed.set(snapshot, byName);
    }
    return byName;
  };
  for (const template of snapshotFamilies(EMPTY_SNAPSHOT)) registry.registerMetric(snapshotFamilyMetric(template, familiesOf));
  return registry;
}
