/**
 * The Prometheus scrape config the Prometheus Operator generates from a ServiceMonitor, for
 * tests that must see the agent's series labelled exactly as kube-prometheus-stack users see
 * them. Transcribed from prometheus-operator's pkg/prometheus/promcfg.go
 * (generateServiceMonitorConfig, commit 6adcebc, endpoints role): the same relabel_configs in the
 * same order, honor_labels from the endpoint, the endpoint's relabelings and
 * metricRelabelings. Kubernetes service discovery is replaced by static targets that carry the
 * `__meta_kubernetes_*` labels the endpoints role gives an agent pod (relabeling reads them;
 * Prometheus drops `__` labels after it), built from the rendered Service and DaemonSet.
 */
import { type Manifest } from './chart.js';

type Obj = Record<string, unknown>;

/** promcfg.go's sanitizeLabelName. */
const sanitize = (name: string): string => name.replace(/[^a-zA-Z0-9_]/g, '_');

/** A monitoringv1.RelabelConfig (camelCase) as Prometheus' relabel_config (snake_case), as generateRelabelConfig writes it. */
function relabel(rc: Obj): Obj {
  const out: Obj = {};
  if (Array.isArray(rc.sourceLabels) && rc.sourceLabels.length > 0) out.source_labels = rc.sourceLabels;
  if (rc.separator !== undefined) out.separator = rc.separator;
  if (rc.targetLabel) out.target_label = rc.targetLabel;
  if (rc.regex) out.regex = rc.regex;
  if (rc.modulus) out.modulus = rc.modulus;
  if (rc.replacement !== undefined) out.replacement = rc.replacement;
  if (rc.action) out.action = String(rc.action).toLowerCase();
  return out;
}

/** One agent pod behind the Service: its address, pod and node names. */
export interface AgentTarget {
  readonly address: string;
  readonly pod: string;
  readonly node: string;
  /** Extra target labels (e.g. `__scheme__` for a fixture that serves https). */
  readonly extra?: Readonly<Record<string, string>>;
}

/**
 * The scrape config of endpoint 0 of `serviceMonitor`, with `targets` as the pods behind
 * `service` (the Service's and the DaemonSet pod template's labels as meta labels).
 * `interval` overrides the endpoint's (tests scrape every second).
 */
export function operatorScrapeConfig(serviceMonitor: Manifest, service: Manifest, daemonSet: Manifest, targets: readonly AgentTarget[], interval?: string): Obj {
  const spec = serviceMonitor.spec as { selector: { matchLabels: Record<string, string> }; jobLabel?: string; targetLabels?: string[]; podTargetLabels?: string[]; endpoints: Obj[]; sampleLimit?: number; labelLimit?: number };
  const ep = spec.endpoints[0] as Obj;
  const ns = serviceMonitor.metadata.namespace as string;
  const template = (daemonSet.spec as { template: { metadata: { labels: Record<string, string> }; spec: { containers: { name: string }[] } } }).template;

  const relabelings: Obj[] = [{ source_labels: ['job'], target_label: '__tmp_prometheus_job_name' }];
  for (const k of Object.keys(spec.selector.matchLabels).sort()) {
    relabelings.push({ action: 'keep', source_labels: [`__meta_kubernetes_service_label_${sanitize(k)}`, `__meta_kubernetes_service_labelpresent_${sanitize(k)}`], regex: `(${spec.selector.matchLabels[k]});true` });
  }
  relabelings.push({ action: 'keep', source_labels: ['__meta_kubernetes_endpoint_port_name'], regex: ep.port });
  const kind = ['__meta_kubernetes_endpoint_address_target_kind', '__meta_kubernetes_endpoint_address_target_name'];
  relabelings.push(
    { source_labels: kind, separator: ';', regex: 'Node;(.*)', replacement: '${1}', target_label: 'node' },
    { source_labels: kind, separator: ';', regex: 'Pod;(.*)', replacement: '${1}', target_label: 'pod' },
    { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
    { source_labels: ['__meta_kubernetes_service_name'], target_label: 'service' },
    { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
    { source_labels: ['__meta_kubernetes_pod_container_name'], target_label: 'container' },
    { action: 'drop', source_labels: ['__meta_kubernetes_pod_phase'], regex: '(Failed|Succeeded)' },
  );
  for (const l of spec.targetLabels ?? []) relabelings.push({ source_labels: [`__meta_kubernetes_service_label_${sanitize(l)}`], target_label: sanitize(l), regex: '(.+)', replacement: '${1}' });
  for (const l of spec.podTargetLabels ?? []) relabelings.push({ source_labels: [`__meta_kubernetes_pod_label_${sanitize(l)}`], target_label: sanitize(l), regex: '(.+)', replacement: '${1}' });
  relabelings.push({ source_labels: ['__meta_kubernetes_service_name'], target_label: 'job', replacement: '${1}' });
  if (spec.jobLabel) relabelings.push({ source_labels: [`__meta_kubernetes_service_label_${sanitize(spec.jobLabel)}`], target_label: 'job', regex: '(.+)', replacement: '${1}' });
  relabelings.push({ target_label: 'endpoint', replacement: ep.port });
  relabelings.push(...((ep.relabelings as Obj[] | undefined) ?? []).map(relabel));

  const meta = (t: AgentTarget): Record<string, string> => {
    const labels: Record<string, string> = {
      __meta_kubernetes_namespace: ns,
      __meta_kubernetes_service_name: service.metadata.name,
      __meta_kubernetes_endpoint_port_name: String(ep.port),
      __meta_kubernetes_endpoint_address_target_kind: 'Pod',
      __meta_kubernetes_endpoint_address_target_name: t.pod,
      __meta_kubernetes_pod_name: t.pod,
      __meta_kubernetes_pod_node_name: t.node,
      __meta_kubernetes_pod_container_name: template.spec.containers[0]?.name ?? '',
      __meta_kubernetes_pod_phase: 'Running',
      ...(t.extra ?? {}),
    };
    for (const [k, v] of Object.entries(service.metadata.labels ?? {})) {
      labels[`__meta_kubernetes_service_label_${sanitize(k)}`] = v;
      labels[`__meta_kubernetes_service_labelpresent_${sanitize(k)}`] = 'true';
    }
    for (const [k, v] of Object.entries(template.metadata.labels)) labels[`__meta_kubernetes_pod_label_${sanitize(k)}`] = v;
    return labels;
  };

  const cfg: Obj = {
    job_name: `serviceMonitor/${ns}/${serviceMonitor.metadata.name}/0`,
    honor_labels: ep.honorLabels === true,
    static_configs: targets.map((t) => ({ targets: [t.address], labels: meta(t) })),
    scrape_interval: interval ?? ep.interval,
    scrape_timeout: interval ?? ep.scrapeTimeout,
    metrics_path: ep.path,
    scheme: ep.scheme,
    relabel_configs: relabelings,
  };
  if (spec.sampleLimit) cfg.sample_limit = spec.sampleLimit;
  if (spec.labelLimit) cfg.label_limit = spec.labelLimit;
  if (Array.isArray(ep.metricRelabelings) && ep.metricRelabelings.length > 0) cfg.metric_relabel_configs = (ep.metricRelabelings as Obj[]).map(relabel);
  return cfg;
}
