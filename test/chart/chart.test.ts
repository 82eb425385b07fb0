/**
 * The Helm chart, checked without a helm binary: values.yaml against values.schema.json (ajv,
 * draft-07), every `.Values` path the templates name exists, every static file parses, and the
 * templates rendered by a small Go-template subset renderer (./go-template.ts) for the default
 * values and for everything switched on, so the security invariants are asserted on manifests.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { FLAGS, parseArgs, parseDuration, type RunConfig } from '../../agent/app/cli.js';
import { COLLECTORS, switchableCollectors } from '../../collectors/index.js';
import { mergeValues as merge, walk } from '../support/chart.js';
import { renderTemplates, TemplateError } from './go-template.js';

const CHART = new URL('../../chart/', import.meta.url).pathname;
const FIXTURES = new URL('./testdata/', import.meta.url).pathname;
const CHART_README = new URL('../../chart/README.md', import.meta.url).pathname;

type Obj = Record<string, unknown>;
type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } } & Obj;


const chartFiles = new Map(walk(CHART).map((p) => [relative(CHART, p), readFileSync(p, 'utf8')]));
// NOTES.txt is rendered by Helm but is no manifest: rendered apart (see 'NOTES.txt').
const templates = new Map([...chartFiles].filter(([p]) => p.startsWith('templates/') && !p.endsWith('.txt')));
const notesTemplate = chartFiles.get('templates/NOTES.txt') as string;
const defaultValues = parseYaml(chartFiles.get('values.yaml') as string) as Obj;
const chartYaml = parseYaml(chartFiles.get('Chart.yaml') as string) as { name: string; version: string; appVersion: string };
const schema = JSON.parse(chartFiles.get('values.schema.json') as string) as object;
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** The chart's files outside templates/, with rules/ and dashboards/ replaced by the test fixtures when asked. */
function filesWith(fixtures: boolean): Map<string, string> {
  const files = new Map([...chartFiles].filter(([p]) => !p.startsWith('templates/')));
  if (!fixtures) return files;
  for (const p of [...files.keys()]) if (p.startsWith('rules/') || p.startsWith('dashboards/')) files.delete(p);
  for (const p of walk(FIXTURES)) files.set(relative(FIXTURES, p), readFileSync(p, 'utf8'));
  return files;
}

/** Renders the chart (strict, like `helm template --strict`) and parses every document. */
function render(values: Obj = {}, fixtures = false): Manifest[] {
  const out = renderTemplates({
    templates,
    values: merge(defaultValues, values),
    chart: { Name: chartYaml.name, Version: chartYaml.version, AppVersion: chartYaml.appVersion },
    release: { Name: 'mna', Namespace: 'monitoring' },
    files: filesWith(fixtures),
    strict: true,
  });
  const docs: Manifest[] = [];
  for (const [name, text] of out) {
    for (const doc of parseAllDocuments(text)) {
      expect(doc.errors, `${name}: ${doc.errors.join('; ')}\n${text}`).toEqual([]);
      const v = doc.toJS() as Manifest | null;
      if (v !== null) docs.push(v);
    }
  }
  return docs;
}

function find(docs: Manifest[], kind: string, name?: string): Manifest {
  const hits = docs.filter((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
  expect(hits.map((d) => d.metadata.name), `${kind} ${name ?? ''}`).toHaveLength(1);
  return hits[0] as Manifest;
}

interface Container {
  args: string[];
  env: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports: { name: string; containerPort: number }[];
  securityContext: Obj & { capabilities: { drop: string[]; add: string[] } };
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean; mountPropagation?: string }[];
  livenessProbe: { httpGet: { path: string; port: string; scheme: string } };
  readinessProbe: { httpGet: { path: string; port: string; scheme: string } };
  resources: Obj;
  image: string;
}
interface PodSpec {
  hostNetwork: boolean;
  hostPID: boolean;
  dnsPolicy: string;
  containers: Container[];
  volumes: ({ name: string; hostPath?: { path: string }; secret?: { secretName: string } } & Obj)[];
  tolerations: Obj[];
  securityContext: Obj;
  serviceAccountName: string;
  terminationGracePeriodSeconds: number;
  priorityClassName?: string;
}

function podSpec(docs: Manifest[]): PodSpec {
  return ((find(docs, 'DaemonSet').spec as Obj).template as { spec: PodSpec }).spec;
}
function agent(docs: Manifest[]): Container {
  const spec = podSpec(docs);
  expect(spec.containers).toHaveLength(1);
  return spec.containers[0] as Container;
}

/** Every rule of every ClusterRole named `name`, flattened to "group/resource:verb" (or "url:verb"). */
function permissions(docs: Manifest[], name: string): string[] {
  const rules = (find(docs, 'ClusterRole', name).rules ?? []) as { apiGroups?: string[]; resources?: string[]; nonResourceURLs?: string[]; verbs: string[] }[];
  return rules
    .flatMap((r) => [...(r.resources ?? []).flatMap((res) => (r.apiGroups ?? []).map((g) => `${g}/${res}`)), ...(r.nonResourceURLs ?? [])].flatMap((what) => r.verbs.map((v) => `${what}:${v}`)))
    .sort();
}

/** Leaf paths of a values tree; empty maps, lists and label maps (keys with dots or slashes) count as leaves. */
function leafPaths(v: unknown, prefix = ''): string[] {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.keys(v).length === 0 || Object.keys(v).some((k) => /[./]/.test(k))) return [prefix];
  return Object.entries(v as Obj).flatMap(([k, x]) => leafPaths(x, prefix ? `${prefix}.${k}` : k));
}

function hasPath(v: unknown, path: string): boolean {
  let cur = v;
  for (const key of path.split('.')) {
    if (typeof cur !== 'object' || cur === null || !Object.hasOwn(cur, key)) return false;
    cur = (cur as Obj)[key];
  }
  return true;
}

/**
 * Filter regexes that YAML would mangle unquoted (`|` and `>` at the start, `: `, ` #`, `{`, `*`,
 * quotes, backslashes, `$`): each must reach the agent byte for byte.
 */
const REGEXES = {
  hostInterfaceInclude: String.raw`eth\d+|ens[0-9]+f[01]`,
  hostInterfaceExclude: String.raw`.*\.100$`,
  networkInclude: 'prod/.*|',
  networkExclude: `|"quoted": a #b`,
  trafficClassInclude: '>storage|{data}',
  trafficClassExclude: `.*bulk'|x`,
  namespaceInclude: 'prod-.*|',
  namespaceExclude: 'kube-.*|(dev|qa)-[0-9]+$',
};

const ALL_ON: Obj = {
  auth: { enabled: true, cacheTTL: '30s', deniedCacheTTL: '1500ms' },
  tls: { enabled: true, secretName: 'agent-tls' },
  cri: { enabled: true, endpoint: 'unix:///run/crio/crio.sock' },
  nodeCondition: { enabled: true },
  collectors: { sysfs: false, netns: false, sriov: false, podresources: false, ipam: false },
  ipam: { leakGrace: '5m', extraDataDirs: ['/var/lib/cni/storage-ipam', '/opt/cni data/ipam'] },
  filters: { hostInterfaces: 'all', ...REGEXES },
  podSeries: 'per-network',
  // 1000000, not 50000: Helm reads it as a float64 that would print as 1e+06 without `int`.
  seriesLimit: 1000000,
  logLevel: 'debug',
  extraArgs: ['--collector.timeout=3s'],
  env: { MALLOC_ARENA_MAX: '4', NODE_OPTIONS: '--optimize-for-size' },
  image: { tag: '9.9.9' },
  imagePullSecrets: [{ name: 'regcred' }],
  podAnnotations: { 'example.com/a': 'b' },
  podLabels: { team: 'net' },
  priorityClassName: 'system-node-critical',
  serviceMonitor: { enabled: true, labels: { release: 'kps' }, interval: '15s', tlsConfig: { insecureSkipVerify: true } },
  prometheusRule: { enabled: true, labels: { release: 'kps' } },
  grafanaDashboard: { enabled: true, annotations: { grafana_folder: 'Networking' } },
};

describe('values.schema.json', () => {
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  const validate = ajv.compile(schema);

  it('accepts values.yaml, and values.yaml with everything switched on', () => {
    expect(validate(defaultValues), JSON.stringify(validate.errors)).toBe(true);
    expect(validate(merge(defaultValues, ALL_ON)), JSON.stringify(validate.errors)).toBe(true);
    // --set updateStrategy.type=OnDelete keeps the default rollingUpdate: valid, and not rendered.
    expect(validate(merge(defaultValues, { updateStrategy: { type: 'OnDelete' } })), JSON.stringify(validate.errors)).toBe(true);
    expect(validate(merge(defaultValues, { updateStrategy: { rollingUpdate: { maxUnavailable: '10%' } } })), JSON.stringify(validate.errors)).toBe(true);
  });

  it('accepts `global`, which Helm gives every subchart (the chart can be a dependency)', () => {
    expect(validate(merge(defaultValues, { global: { imageRegistry: 'r.example.com', imagePullSecrets: [] } })), JSON.stringify(validate.errors)).toBe(true);
  });

  it.each<[string, Obj]>([
    ['an unknown top-level key', { colectors: { sysfs: false } }],
    ['an unknown collector', { collectors: { ebpf: true } }],
    ['a filter mode the agent does not know', { filters: { hostInterfaces: 'some' } }],
    ['an unknown filter', { filters: { interfaceInclude: 'eth.*' } }],
    ['a regex that is not a string', { filters: { namespaceExclude: ['kube-system'] } }],
    ['a pod series mode the agent does not know', { podSeries: 'per-node' }],
    ['a negative series limit', { seriesLimit: -1 }],
    ['a series limit that is a string', { seriesLimit: '50000' }],
    ['a leak grace in hours (the agent takes ms, s, m)', { ipam: { leakGrace: '1h' } }],
    ['a zero leak grace', { ipam: { leakGrace: '0s' } }],
    ['an auth cache TTL without a unit', { auth: { cacheTTL: '120' } }],
    ['a relative IPAM data directory', { ipam: { extraDataDirs: ['var/lib/x'] } }],
    ['an IPAM data directory given twice', { ipam: { extraDataDirs: ['/a', '/a'] } }],
    ['a log level the agent does not know', { logLevel: 'trace' }],
    ['a port that is a string', { web: { port: '9739' } }],
    ['a port out of range', { web: { port: 70000 } }],
    ['tls without a Secret', { tls: { enabled: true } }],
    ['a CRI endpoint that is not a unix socket', { cri: { enabled: true, endpoint: 'tcp://10.0.0.1:1234' } }],
    ['a collector switch that is a string', { collectors: { netns: 'false' } }],
    ['an extra arg that is not a flag', { extraArgs: ['-v'] }],
    ['an env variable the chart sets itself', { env: { NODE_NAME: 'x' } }],
    ['an env variable that is not a string (YAML reads 4 as a number)', { env: { MALLOC_ARENA_MAX: 4 } }],
    ['an env name that is not one', { env: { 'MALLOC-ARENA': '2' } }],
    ['an unknown update strategy', { updateStrategy: { type: 'Recreate' } }],
    ['maxUnavailable 0', { updateStrategy: { rollingUpdate: { maxUnavailable: 0 } } }],
    ['a relative host path', { hostPaths: { podResources: 'var/lib/kubelet/pod-resources' } }],
    ['a bad pull policy', { image: { pullPolicy: 'Sometimes' } }],
    ['an unknown serviceMonitor key', { serviceMonitor: { port: 'metrics' } }],
    ['a monitor kind the Operator does not have', { serviceMonitor: { kind: 'Probe' } }],
    ['settings for an alert the chart does not have', { prometheusRule: { alerts: { MultinetAgentDwn: { enabled: false } } } }],
    ['an alert setting that is not one', { prometheusRule: { alerts: { MultinetAgentDown: { severty: 'critical' } } } }],
    ['a relative runbook URL (a dead link outside the repository)', { prometheusRule: { runbookUrl: 'docs/runbooks.md' } }],
    ['a negative sample limit', { serviceMonitor: { sampleLimit: -1 } }],
    ['a non-string pod annotation', { podAnnotations: { a: 1 } }],
    ['a toleration with an unknown operator', { tolerations: [{ operator: 'Any' }] }],
  ])('rejects %s', (_, over) => {
    expect(validate(merge(defaultValues, over))).toBe(false);
  });
});

describe('templates name only values that exist', () => {
  // The scanner finds full paths written from the root: `.Values.a.b` and `$.Values.a.b`,
  // anywhere in an action. It does not follow `with`/`range` (a path relative to the new dot),
  // `index .Values "a"` or a variable holding a part of .Values; rendering in strict mode below
  // catches those on the branches the rendered value sets reach.
  const used = new Set<string>();
  for (const [name, text] of templates) {
    for (const m of text.matchAll(/(?<![\w\])])\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) used.add(`${name}:${(m[1] as string).slice(1)}`);
  }

  it('finds the paths', () => {
    expect(used.size).toBeGreaterThan(40);
  });

  it('every .Values path in a template exists in values.yaml', () => {
    const missing = [...used].filter((u) => !hasPath(defaultValues, u.slice(u.indexOf(':') + 1)));
    expect(missing).toEqual([]);
  });

  it('every value in values.yaml is used by a template', () => {
    const paths = [...used].map((u) => u.slice(u.indexOf(':') + 1));
    const unused = leafPaths(defaultValues).filter((leaf) => !paths.some((p) => leaf === p || leaf.startsWith(`${p}.`)));
    expect(unused).toEqual([]);
  });

  it('every value has a comment in values.yaml and a row in the values table of chart/README.md', () => {
    const lines = (chartFiles.get('values.yaml') as string).split('\n');
    const rows = new Set([...readFileSync(CHART_README, 'utf8').matchAll(/^\| `([A-Za-z0-9_.]+)` \|/gm)].map((m) => m[1] as string));
    for (const leaf of leafPaths(defaultValues)) {
      // Find each key of the path below the previous one, at two spaces more; the line right
      // above the leaf, or above one of its parent maps (resources is documented whole), is a comment.
      let at = -1;
      let documented = false;
      for (const [depth, key] of leaf.split('.').entries()) {
        const re = new RegExp(`^${' '.repeat(2 * depth)}${key}:`);
        at = lines.findIndex((l, i) => i > at && re.test(l));
        expect(at, leaf).toBeGreaterThan(0);
        if (/^\s*#/.test(lines[at - 1] as string)) documented = true;
      }
      expect(documented, `${leaf} has no comment in values.yaml`).toBe(true);
      const covered = [...rows].some((r) => leaf === r || leaf.startsWith(`${r}.`));
      expect(covered, `${leaf} has no row in the values table of chart/README.md`).toBe(true);
    }
    for (const r of rows) if (r.includes('.') || Object.hasOwn(defaultValues, r)) expect(hasPath(defaultValues, r), r).toBe(true);
  });
});

describe('static files parse', () => {
  it('Chart.yaml names the chart and carries package.json version as appVersion', () => {
    expect(chartYaml).toMatchObject({ apiVersion: 'v2', name: 'multinet-agent', type: 'application', appVersion: pkg.version });
    const meta = parseYaml(chartFiles.get('Chart.yaml') as string) as { annotations: Record<string, string> };
    expect(meta.annotations['artifacthub.io/license']).toBe((JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { license: string }).license);
    expect(parseYaml(meta.annotations['artifacthub.io/images'] as string)).toEqual([{ name: 'multinet-agent', image: `multinet-agent:${pkg.version}` }]);
  });

  it('every ci/*-values.yaml (the values chart-testing installs with) is valid and renders', () => {
    const ci = [...chartFiles].filter(([p]) => /^ci\/[^/]+-values\.yaml$/.test(p));
    expect(ci.map(([p]) => p).sort()).toEqual(['ci/default-values.yaml', 'ci/kube-prometheus-stack-values.yaml', 'ci/podmonitor-values.yaml', 'ci/secure-values.yaml']);
    const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
    const validate = ajv.compile(schema);
    for (const [p, text] of ci) {
      const values = (parseYaml(text) ?? {}) as Obj;
      expect(validate(merge(defaultValues, values)), `${p}: ${JSON.stringify(validate.errors)}`).toBe(true);
      const docs = render(values);
      expect(docs.filter((d) => d.kind === 'DaemonSet'), p).toHaveLength(1);
    }
    const kps = render(parseYaml(chartFiles.get('ci/kube-prometheus-stack-values.yaml') as string) as Obj);
    for (const kind of ['ServiceMonitor', 'PrometheusRule']) expect(find(kps, kind).metadata.labels?.release, kind).toBe('kube-prometheus-stack');
    expect(find(render(parseYaml(chartFiles.get('ci/podmonitor-values.yaml') as string) as Obj), 'PodMonitor').kind).toBe('PodMonitor');
  });

  it('pod and container securityContext come from values, merged into the defaults as Helm merges values', () => {
    const c = agent(render({ securityContext: { seLinuxOptions: { type: 'spc_t' } } }));
    expect(c.securityContext).toMatchObject({ seLinuxOptions: { type: 'spc_t' }, capabilities: { drop: ['ALL'], add: ['NET_ADMIN', 'SYS_PTRACE'] } });
    const pod = (find(render({ podSecurityContext: { appArmorProfile: { type: 'RuntimeDefault' } } }), 'DaemonSet').spec as { template: { spec: Obj } }).template.spec;
    expect(pod.securityContext).toEqual({ seccompProfile: { type: 'RuntimeDefault' }, appArmorProfile: { type: 'RuntimeDefault' } });
  });

  it('every YAML and JSON file of the chart outside templates/ parses', () => {
    const files = [...chartFiles.keys()].filter((p) => !p.startsWith('templates/') && /\.(ya?ml|json)$/.test(p));
    expect(files).toEqual(expect.arrayContaining(['Chart.yaml', 'values.yaml', 'values.schema.json']));
    for (const p of files) {
      const text = chartFiles.get(p) as string;
      if (p.endsWith('.json')) expect(() => JSON.parse(text), p).not.toThrow();
      else for (const doc of parseAllDocuments(text)) expect(doc.errors, p).toEqual([]);
    }
  });
});

describe('rendered with the default values', () => {
  const docs = render();

  it('renders the ServiceAccount, RBAC, Service and DaemonSet and nothing optional', () => {
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`).sort()).toEqual([
      'ClusterRole/mna-multinet-agent',
      'ClusterRole/mna-multinet-agent-metrics-reader',
      'ClusterRoleBinding/mna-multinet-agent',
      'DaemonSet/mna-multinet-agent',
      'Service/mna-multinet-agent',
      'ServiceAccount/mna-multinet-agent',
    ]);
    for (const d of docs) expect(d.metadata.labels).toMatchObject({ 'app.kubernetes.io/name': 'multinet-agent', 'app.kubernetes.io/instance': 'mna', 'app.kubernetes.io/version': '0.1.0' });
  });

  it('runs on the host network and PIDs as uid 0 with only NET_ADMIN and SYS_PTRACE', () => {
    const spec = podSpec(docs);
    expect(spec).toMatchObject({ hostNetwork: true, hostPID: true, dnsPolicy: 'ClusterFirstWithHostNet', serviceAccountName: 'mna-multinet-agent' });
    expect(spec.securityContext).toEqual({ seccompProfile: { type: 'RuntimeDefault' } });
    expect(spec.terminationGracePeriodSeconds).toBeLessThanOrEqual(15);
    expect(spec.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(spec.priorityClassName).toBeUndefined();
    expect(agent(docs).securityContext).toEqual({
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: ['NET_ADMIN', 'SYS_PTRACE'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  it('mounts every host path read-only, /run/netns with HostToContainer, and no runtime socket', () => {
    const spec = podSpec(docs);
    const c = agent(docs);
    expect(c.volumeMounts).toEqual([
      { name: 'sys', mountPath: '/host/sys', readOnly: true },
      { name: 'proc', mountPath: '/host/proc', readOnly: true },
      { name: 'netns', mountPath: '/host/run/netns', readOnly: true, mountPropagation: 'HostToContainer' },
      { name: 'ipam', mountPath: '/var/lib/cni/networks', readOnly: true },
      { name: 'podresources', mountPath: '/var/lib/kubelet/pod-resources', readOnly: true },
    ]);
    expect(spec.volumes.map((v) => [v.name, v.hostPath?.path])).toEqual([
      ['sys', '/sys'],
      ['proc', '/proc'],
      ['netns', '/run/netns'],
      ['ipam', '/var/lib/cni/networks'],
      ['podresources', '/var/lib/kubelet/pod-resources'],
    ]);
    expect(JSON.stringify(spec)).not.toMatch(/\.sock|containerd|crio/);
  });

  it('passes the paths and port to the agent and its node name from the downward API', () => {
    const c = agent(docs);
    expect(c.image).toBe('multinet-agent:0.1.0');
    expect(c.args).toEqual([
      '--web.listen-address=[$(HOST_IP)]:9739',
      '--path.sysfs=/host/sys',
      '--path.procfs=/host/proc',
      '--path.netns=/host/run/netns',
      '--path.ipam=/var/lib/cni/networks',
      '--path.podresources=/var/lib/kubelet/pod-resources',
      '--log.level=info',
    ]);
    expect(c.env).toEqual([
      { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
      { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
    ]);
    const all = agent(render({ web: { listenOnAllAddresses: true } }));
    expect(all.args[0]).toBe('--web.listen-address=:9739');
    expect(all.env).toEqual([{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }]);
    // env: after the chart's own, in name order (Helm ranges over a map by sorted key), values
    // quoted so that a number or "true" stays a string.
    const withEnv = agent(render({ env: { NODE_OPTIONS: '--optimize-for-size --max-lazy', MALLOC_ARENA_MAX: '4', FLAG: 'true' } }));
    expect(withEnv.env).toEqual([
      { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
      { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
      { name: 'FLAG', value: 'true' },
      { name: 'MALLOC_ARENA_MAX', value: '4' },
      { name: 'NODE_OPTIONS', value: '--optimize-for-size --max-lazy' },
    ]);
    expect(c.ports).toEqual([{ name: 'metrics', containerPort: 9739, protocol: 'TCP' }]);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics', scheme: 'HTTP' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics', scheme: 'HTTP' });
    expect(c.resources).toEqual({ requests: { cpu: '20m', memory: '128Mi' }, limits: { memory: '256Mi' } });
    expect((find(docs, 'DaemonSet').spec as Obj).updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } });
    const onDelete = render({ updateStrategy: { type: 'OnDelete' } });
    expect((find(onDelete, 'DaemonSet').spec as Obj).updateStrategy).toEqual({ type: 'OnDelete' });
  });

  it('grants the agent only pods, NADs and events', () => {
    expect(permissions(docs, 'mna-multinet-agent')).toEqual([
      '/events:create',
      '/events:patch',
      '/pods:get',
      '/pods:list',
      '/pods:watch',
      'k8s.cni.cncf.io/network-attachment-definitions:get',
      'k8s.cni.cncf.io/network-attachment-definitions:list',
      'k8s.cni.cncf.io/network-attachment-definitions:watch',
    ]);
    expect(permissions(docs, 'mna-multinet-agent-metrics-reader')).toEqual(['/metrics:get']);
    const binding = find(docs, 'ClusterRoleBinding');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'mna-multinet-agent' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'mna-multinet-agent', namespace: 'monitoring' }]);
  });

  it('has a headless Service on the metrics port selecting the agent pods', () => {
    const svc = find(docs, 'Service');
    expect(svc.spec).toEqual({
      clusterIP: 'None',
      selector: { 'app.kubernetes.io/name': 'multinet-agent', 'app.kubernetes.io/instance': 'mna' },
      ports: [{ name: 'metrics', port: 9739, targetPort: 'metrics', protocol: 'TCP' }],
    });
    const ds = find(docs, 'DaemonSet').spec as { selector: { matchLabels: Obj }; template: { metadata: { labels: Obj } } };
    expect(ds.template.metadata.labels).toMatchObject(ds.selector.matchLabels);
    expect(ds.selector.matchLabels).toEqual((svc.spec as { selector: Obj }).selector);
  });
});

describe('rendered with everything switched on', () => {
  const docs = render(ALL_ON, true);

  it('adds the flags, the TLS Secret and the CRI socket directory, all read-only', () => {
    const c = agent(docs);
    expect(c.image).toBe('multinet-agent:9.9.9');
    expect(c.args).toEqual([
      '--web.listen-address=[$(HOST_IP)]:9739',
      '--path.sysfs=/host/sys',
      '--path.procfs=/host/proc',
      '--path.netns=/host/run/netns',
      '--path.ipam=/var/lib/cni/networks',
      '--path.podresources=/var/lib/kubelet/pod-resources',
      '--log.level=debug',
      '--no-collector.sysfs',
      '--no-collector.netns',
      '--no-collector.sriov',
      '--no-collector.podresources',
      '--no-collector.ipam',
      '--collector.ipam.leak-grace=5m',
      '--kube.node-condition',
      '--web.auth=kube',
      '--web.auth.cache-ttl=30s',
      '--web.auth.denied-cache-ttl=1500ms',
      '--web.tls.cert-file=/etc/multinet-agent/tls/tls.crt',
      '--web.tls.key-file=/etc/multinet-agent/tls/tls.key',
      '--cri.endpoint=unix:///run/crio/crio.sock',
      '--host.interfaces=all',
      `--host.interface-include=${REGEXES.hostInterfaceInclude}`,
      `--host.interface-exclude=${REGEXES.hostInterfaceExclude}`,
      `--network.include=${REGEXES.networkInclude}`,
      `--network.exclude=${REGEXES.networkExclude}`,
      `--network.traffic-class-include=${REGEXES.trafficClassInclude}`,
      `--network.traffic-class-exclude=${REGEXES.trafficClassExclude}`,
      `--namespace.include=${REGEXES.namespaceInclude}`,
      `--namespace.exclude=${REGEXES.namespaceExclude}`,
      '--pod.series=per-network',
      '--metrics.series-limit=1000000',
      '--collector.timeout=3s',
    ]);
    // The IPAM collector is off: none of its directories is mounted.
    expect(c.volumeMounts.filter((m) => ['tls', 'cri', 'podresources'].includes(m.name) || m.name.startsWith('ipam'))).toEqual([
      { name: 'tls', mountPath: '/etc/multinet-agent/tls', readOnly: true },
      { name: 'cri', mountPath: '/run/crio', readOnly: true },
    ]);
    expect(podSpec(docs).volumes.filter((v) => v.name.startsWith('ipam'))).toEqual([]);
    const ipamOn = render({ ...ALL_ON, collectors: { ipam: true } }, true);
    expect(agent(ipamOn).volumeMounts.filter((m) => m.name.startsWith('ipam'))).toEqual([
      { name: 'ipam', mountPath: '/var/lib/cni/networks', readOnly: true },
      { name: 'ipam-0', mountPath: '/var/lib/cni/storage-ipam', readOnly: true },
      { name: 'ipam-1', mountPath: '/opt/cni data/ipam', readOnly: true },
    ]);
    expect(podSpec(ipamOn).volumes.filter((v) => v.name.startsWith('ipam'))).toEqual([
      { name: 'ipam', hostPath: { path: '/var/lib/cni/networks', type: 'DirectoryOrCreate' } },
      { name: 'ipam-0', hostPath: { path: '/var/lib/cni/storage-ipam', type: 'DirectoryOrCreate' } },
      { name: 'ipam-1', hostPath: { path: '/opt/cni data/ipam', type: 'DirectoryOrCreate' } },
    ]);
    for (const m of c.volumeMounts) expect(m.readOnly, m.name).toBe(true);
    const spec = podSpec(docs);
    expect(spec.volumes.find((v) => v.name === 'tls')).toEqual({ name: 'tls', secret: { secretName: 'agent-tls' } });
    expect(spec.volumes.find((v) => v.name === 'cri')).toEqual({ name: 'cri', hostPath: { path: '/run/crio', type: 'Directory' } });
    expect(c.livenessProbe.httpGet.scheme).toBe('HTTPS');
    expect(c.readinessProbe.httpGet.scheme).toBe('HTTPS');
    expect(c.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['NET_ADMIN', 'SYS_PTRACE'] });
    expect(spec.priorityClassName).toBe('system-node-critical');
    const tmpl = (find(docs, 'DaemonSet').spec as { template: { metadata: { labels: Obj; annotations: Obj } } }).template.metadata;
    expect(tmpl.labels).toMatchObject({ team: 'net' });
    expect(tmpl.annotations).toEqual({ 'example.com/a': 'b' });
  });

  it('grants node status and the review APIs only now', () => {
    expect(permissions(docs, 'mna-multinet-agent')).toEqual([
      '/events:create',
      '/events:patch',
      '/nodes/status:patch',
      '/nodes:get',
      '/pods:get',
      '/pods:list',
      '/pods:watch',
      'authentication.k8s.io/tokenreviews:create',
      'authorization.k8s.io/subjectaccessreviews:create',
      'k8s.cni.cncf.io/network-attachment-definitions:get',
      'k8s.cni.cncf.io/network-attachment-definitions:list',
      'k8s.cni.cncf.io/network-attachment-definitions:watch',
    ]);
  });

  it('has a ServiceMonitor scraping https with the bearer token and a node label', () => {
    const sm = find(docs, 'ServiceMonitor');
    expect(sm.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(sm.metadata.labels).toMatchObject({ release: 'kps' });
    expect(sm.spec).toEqual({
      selector: { matchLabels: { 'app.kubernetes.io/name': 'multinet-agent', 'app.kubernetes.io/instance': 'mna' } },
      namespaceSelector: { matchNames: ['monitoring'] },
      endpoints: [
        {
          port: 'metrics',
          path: '/metrics',
          scheme: 'https',
          interval: '15s',
          scrapeTimeout: '10s',
          honorLabels: true,
          bearerTokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
          tlsConfig: { insecureSkipVerify: true },
          relabelings: [{ sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'node', action: 'replace' }],
        },
      ],
    });
    const withSecret = find(render({ ...ALL_ON, serviceMonitor: { enabled: true, authorization: { type: 'Bearer', credentials: { name: 's', key: 'token' } } } }), 'ServiceMonitor');
    const ep = (withSecret.spec as { endpoints: Obj[] }).endpoints[0] as Obj;
    expect(ep.authorization).toEqual({ type: 'Bearer', credentials: { name: 's', key: 'token' } });
    expect(ep.bearerTokenFile).toBeUndefined();
    const plain = find(render({ serviceMonitor: { enabled: true } }), 'ServiceMonitor');
    const plainEp = (plain.spec as { endpoints: Obj[] }).endpoints[0] as Obj;
    expect(plainEp.scheme).toBe('http');
    expect(Object.keys(plainEp).sort()).toEqual(['honorLabels', 'interval', 'path', 'port', 'relabelings', 'scheme', 'scrapeTimeout']);
    expect(plainEp.honorLabels).toBe(true);
  });

  it('passes the Operator options as the node-exporter chart does: jobLabel, target labels, limits, attachMetadata', () => {
    const sm = find(render({ serviceMonitor: { enabled: true, jobLabel: 'app.kubernetes.io/name', targetLabels: ['team'], podTargetLabels: ['zone'], sampleLimit: 60000, labelLimit: 40, attachMetadata: { node: true } } }), 'ServiceMonitor');
    expect(sm.spec).toMatchObject({ jobLabel: 'app.kubernetes.io/name', targetLabels: ['team'], podTargetLabels: ['zone'], sampleLimit: 60000, labelLimit: 40, attachMetadata: { node: true } });
    // 0 and empty mean "not set": the defaults render none of them.
    const plain = find(render({ serviceMonitor: { enabled: true } }), 'ServiceMonitor');
    expect(Object.keys(plain.spec as Obj).sort()).toEqual(['endpoints', 'namespaceSelector', 'selector']);
  });

  it('renders a PodMonitor instead with kind PodMonitor: the same endpoint, honorLabels, pod labels only', () => {
    const docs = render({ serviceMonitor: { enabled: true, kind: 'PodMonitor', podTargetLabels: ['zone'], targetLabels: ['team'] } });
    expect(docs.filter((d) => d.kind === 'ServiceMonitor')).toEqual([]);
    const pm = find(docs, 'PodMonitor');
    expect(pm.apiVersion).toBe('monitoring.coreos.com/v1');
    const spec = pm.spec as { podMetricsEndpoints: Obj[]; podTargetLabels: string[] } & Obj;
    expect(spec.targetLabels).toBeUndefined();
    expect(spec.podTargetLabels).toEqual(['zone']);
    expect(spec.selector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'multinet-agent', 'app.kubernetes.io/instance': 'mna' } });
    expect(spec.podMetricsEndpoints).toEqual([
      { port: 'metrics', path: '/metrics', scheme: 'http', interval: '30s', scrapeTimeout: '10s', honorLabels: true, relabelings: [{ sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'node', action: 'replace' }] },
    ]);
    // A PodMonitor has no bearerTokenFile: with auth it needs `authorization`.
    expect(() => render({ auth: { enabled: true }, serviceMonitor: { enabled: true, kind: 'PodMonitor' } })).toThrow(/authorization/);
    const authed = find(render({ auth: { enabled: true }, serviceMonitor: { enabled: true, kind: 'PodMonitor', authorization: { type: 'Bearer', credentials: { name: 's', key: 't' } } } }), 'PodMonitor');
    expect((authed.spec as { podMetricsEndpoints: Obj[] }).podMetricsEndpoints[0]?.authorization).toEqual({ type: 'Bearer', credentials: { name: 's', key: 't' } });
  });

  it('puts every group of every rules/*.yaml file into the PrometheusRule, untouched', () => {
    const rule = find(docs, 'PrometheusRule');
    expect(rule.metadata.labels).toMatchObject({ release: 'kps' });
    const groups = (rule.spec as { groups: { name: string; rules: Obj[] }[] }).groups;
    expect(groups.map((g) => g.name)).toEqual(['fixture-a', 'fixture-b', 'fixture-c']);
    const fromFiles = ['a-placeholder.yaml', 'b-placeholder.yaml'].flatMap((f) => (parseYaml(readFileSync(join(FIXTURES, 'rules', f), 'utf8')) as { groups: unknown[] }).groups);
    expect(groups).toEqual(fromFiles);
    expect((groups[0]?.rules[0] as { annotations: Obj }).annotations.summary).toBe('Host interface {{ $labels.interface }} on {{ $labels.node }} not ready');
  });

  it('puts every dashboards/*.json file into the sidecar ConfigMap, untouched', () => {
    const cm = find(docs, 'ConfigMap');
    expect(cm.metadata).toMatchObject({ name: 'mna-multinet-agent-dashboards', namespace: 'monitoring', annotations: { grafana_folder: 'Networking' } });
    expect(cm.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
    expect(cm.data).toEqual({ 'placeholder.json': readFileSync(join(FIXTURES, 'dashboards', 'placeholder.json'), 'utf8').replace(/\n$/, '') });
    const custom = find(render({ grafanaDashboard: { enabled: true, sidecarLabel: 'grafana.com/dashboard', sidecarLabelValue: 'net', namespace: 'grafana' } }, true), 'ConfigMap');
    expect(custom.metadata.labels).toMatchObject({ 'grafana.com/dashboard': 'net' });
    expect(custom.metadata.namespace).toBe('grafana');
  });

  it('applies prometheusRule.alerts per alert (enabled, severity, for, labels), additionalAlertLabels and runbookUrl', () => {
    const rules = (values: Obj): Obj[] => (find(render({ prometheusRule: { enabled: true, ...values } }), 'PrometheusRule').spec as { groups: { rules: Obj[] }[] }).groups.flatMap((g) => g.rules);
    const alert = (rs: Obj[], name: string): Obj | undefined => rs.find((r) => r.alert === name);
    const plain = rules({});
    // No runbookUrl: no runbook_url at all, never a relative (dead) link.
    expect(plain.filter((r) => r.alert && (r.annotations as Obj).runbook_url !== undefined)).toEqual([]);
    expect(alert(plain, 'MultinetAgentDown')).toMatchObject({ for: '15m', labels: { severity: 'warning' } });
    const tuned = rules({
      runbookUrl: 'https://example.com/multinet-agent/docs/runbooks.md',
      additionalAlertLabels: { team: 'network' },
      alerts: { MultinetAgentDown: { severity: 'critical', for: '30m', labels: { page: 'yes' } }, MultinetHostInterfaceSaturated: { enabled: false }, MultinetPodInterfaceDrops: { enabled: true } },
    });
    expect(alert(tuned, 'MultinetAgentDown')).toMatchObject({ for: '30m', labels: { severity: 'critical', team: 'network', page: 'yes' } });
    expect((alert(tuned, 'MultinetAgentDown')?.annotations as Obj).runbook_url).toBe('https://example.com/multinet-agent/docs/runbooks.md#multinetagentdown');
    expect(alert(tuned, 'MultinetHostInterfaceSaturated')).toBeUndefined();
    expect(alert(tuned, 'MultinetPodInterfaceDrops')).toMatchObject({ labels: { severity: 'warning', team: 'network' } });
    expect(tuned.filter((r) => r.alert)).toHaveLength(plain.filter((r) => r.alert).length - 1);
    // Recording rules are never touched.
    expect(tuned.filter((r) => r.record)).toEqual(plain.filter((r) => r.record));
    // Every alert group emptied: the group goes, not an empty one (the Operator refuses those).
    const names = plain.filter((r) => r.alert).map((r) => r.alert as string);
    const none = rules({ alerts: Object.fromEntries(names.map((n) => [n, { enabled: false }])) });
    expect(none.filter((r) => r.alert)).toEqual([]);
    expect((find(render({ prometheusRule: { enabled: true, alerts: Object.fromEntries(names.map((n) => [n, { enabled: false }])) } }), 'PrometheusRule').spec as { groups: { rules: Obj[] }[] }).groups.every((g) => g.rules.length > 0)).toBe(true);
  });

  it('ships the recording rules with the dashboard even when prometheusRule is off (the panels read them), no alerts', () => {
    const docs = render({ grafanaDashboard: { enabled: true } });
    const groups = (find(docs, 'PrometheusRule').spec as { groups: { name: string; rules: Obj[] }[] }).groups;
    const rs = groups.flatMap((g) => g.rules);
    expect(rs.filter((r) => r.alert)).toEqual([]);
    const recorded = [...filesWith(false)].filter(([p]) => p.startsWith('rules/')).flatMap(([, t]) => (parseYaml(t) as { groups: { rules: Obj[] }[] }).groups.flatMap((g) => g.rules)).filter((r) => r.record);
    expect(rs).toEqual(recorded);
    expect(render({}).filter((d) => d.kind === 'PrometheusRule')).toEqual([]);
  });

  it('renders the chart files that exist today: every group of every real rule file, every real dashboard', () => {
    const real = render({ prometheusRule: { enabled: true }, grafanaDashboard: { enabled: true } });
    const files = filesWith(false);
    const groups = [...files].filter(([p]) => /^rules\/[^/]*\.yaml$/.test(p)).flatMap(([, t]) => (parseYaml(t) as { groups: unknown[] }).groups);
    expect((find(real, 'PrometheusRule').spec as { groups: unknown[] }).groups).toEqual(groups);
    const dashboards = [...files.keys()].filter((p) => /^dashboards\/[^/]*\.json$/.test(p)).map((p) => p.slice('dashboards/'.length));
    expect(Object.keys((find(real, 'ConfigMap').data as Obj | null) ?? {}).sort()).toEqual(dashboards.sort());
  });
});

/** What the agent makes of the DaemonSet's args: its own parser, as in the pod (service account env). */
/** The container's args as the kubelet passes them: $(VAR) of its env expanded (HOST_IP: the node's primary address). */
const expandEnv = (args: readonly string[], env: Record<string, string>): string[] => args.map((a) => a.replace(/\$\((\w+)\)/g, (m, v: string) => env[v] ?? m));

function agentConfig(docs: Manifest[], hostIp = '10.0.0.7'): RunConfig {
  const cmd = parseArgs(expandEnv(agent(docs).args, { HOST_IP: hostIp }), { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443', NODE_NAME: 'node-a' });
  expect(cmd.kind).toBe('run');
  return (cmd as { kind: 'run'; config: RunConfig }).config;
}

describe("the DaemonSet's args, parsed by the agent's own parseArgs", () => {
  it('listens on the node\'s primary address, IPv4 or IPv6 (status.hostIP has no brackets), or on every address', () => {
    expect(agentConfig(render({}), '10.0.0.7')).toMatchObject({ listenHost: '10.0.0.7', listenPort: 9739 });
    expect(agentConfig(render({}), 'fd00:10::7')).toMatchObject({ listenHost: 'fd00:10::7', listenPort: 9739 });
    expect(agentConfig(render({ web: { listenOnAllAddresses: true } }))).toMatchObject({ listenHost: '::', listenPort: 9739 });
  });

  it('every flag the chart renders with everything switched on is a flag of the agent, with the values meant', () => {
    const docs = render(ALL_ON, true);
    // One flag at a time too, so a renamed flag is named (the TLS pair only parses together).
    const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
    for (const arg of agent(docs).args.filter((a) => !a.startsWith('--web.tls.'))) expect(() => parseArgs([arg], env), arg).not.toThrow();
    const config = agentConfig(docs);
    expect(config).toMatchObject({
      listenPort: 9739,
      sysfsRoot: '/host/sys',
      procfsRoot: '/host/proc',
      netnsDir: '/host/run/netns',
      ipamDir: '/var/lib/cni/networks',
      podResourcesDir: '/var/lib/kubelet/pod-resources',
      logLevel: 'debug',
      sysfsEnabled: false,
      netnsEnabled: false,
      sriovEnabled: false,
      podResourcesEnabled: false,
      ipamEnabled: false,
      ipamLeakGraceMs: 300_000,
      nodeCondition: true,
      webAuth: 'kube',
      webAuthCacheTtlMs: 30_000,
      webAuthDeniedCacheTtlMs: 1_500,
      webTls: { certFile: '/etc/multinet-agent/tls/tls.crt', keyFile: '/etc/multinet-agent/tls/tls.key' },
      criSocket: '/run/crio/crio.sock',
      collectorTimeoutMs: 3_000,
      nodeName: 'node-a',
    });
    const f = config.exportFilter;
    expect({ hostInterfaces: f.hostInterfaces, podSeries: f.podSeries, seriesLimit: f.seriesLimit }).toEqual({ hostInterfaces: 'all', podSeries: 'per-network', seriesLimit: 1_000_000 });
    // Each regex arrived whole: the agent anchors exactly the string of values.yaml.
    const sources = {
      hostInterfaceInclude: f.hostInterface.include,
      hostInterfaceExclude: f.hostInterface.exclude,
      networkInclude: f.network.include,
      networkExclude: f.network.exclude,
      trafficClassInclude: f.trafficClass.include,
      trafficClassExclude: f.trafficClass.exclude,
      namespaceInclude: f.namespace.include,
      namespaceExclude: f.namespace.exclude,
    };
    for (const [k, re] of Object.entries(sources)) expect(re?.source, k).toBe(new RegExp(`^(?:${REGEXES[k as keyof typeof REGEXES]})$`).source);
    expect(f.network.include?.test('')).toBe(true);
    expect(f.namespace.exclude?.test('qa-7')).toBe(true);
    expect(f.namespace.exclude?.test('prod-1')).toBe(false);
    expect(f.hostInterface.include?.test('eth12')).toBe(true);
    expect(f.hostInterface.exclude?.test('bond0.100')).toBe(true);
  });

  it("values.yaml's defaults are the agent's defaults, so leaving a flag out changes nothing", () => {
    const config = agentConfig(render());
    const bare = (parseArgs([], {}) as { config: RunConfig }).config;
    const v = defaultValues as { auth: { cacheTTL: string; deniedCacheTTL: string }; ipam: { leakGrace: string }; filters: Record<string, string>; podSeries: string; seriesLimit: number };
    expect(config.ipamLeakGraceMs).toBe(parseDuration('x', v.ipam.leakGrace));
    expect(bare.ipamLeakGraceMs).toBe(config.ipamLeakGraceMs);
    expect(bare.webAuthCacheTtlMs).toBe(parseDuration('x', v.auth.cacheTTL));
    expect(bare.webAuthDeniedCacheTtlMs).toBe(parseDuration('x', v.auth.deniedCacheTTL));
    expect(config.exportFilter).toEqual(bare.exportFilter);
    expect(bare.exportFilter).toMatchObject({ hostInterfaces: v.filters.hostInterfaces, podSeries: v.podSeries, seriesLimit: v.seriesLimit });
    expect(config).toMatchObject({ sysfsEnabled: true, netnsEnabled: true, sriovEnabled: true, podResourcesEnabled: true, ipamEnabled: true, webAuth: 'none', webTls: undefined, criSocket: undefined, nodeCondition: false });
    // Auth TTLs are rendered only with auth on, and only when they differ.
    expect(agent(render({ auth: { cacheTTL: '1m' } })).args.some((a) => a.startsWith('--web.auth'))).toBe(false);
    expect(agentConfig(render({ auth: { enabled: true } })).webAuthCacheTtlMs).toBe(bare.webAuthCacheTtlMs);
    expect(agent(render({ auth: { enabled: true } })).args.filter((a) => a.startsWith('--web.auth'))).toEqual(['--web.auth=kube']);
  });

  it('a series limit of 0 (no limit) is passed, not dropped as false', () => {
    expect(agent(render({ seriesLimit: 0 })).args).toContain('--metrics.series-limit=0');
    expect(agentConfig(render({ seriesLimit: 0 })).exportFilter.seriesLimit).toBe(0);
  });

  it('probes stay on /healthz and /readyz, which the agent serves without a token; HTTPS with tls', () => {
    // exporters/http/server.ts only checks /metrics; the kubelet's probes carry no token.
    const authOnly = agent(render({ auth: { enabled: true } }));
    expect(authOnly.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics', scheme: 'HTTP' });
    expect(authOnly.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics', scheme: 'HTTP' });
    const tls = agent(render({ auth: { enabled: true }, tls: { enabled: true, secretName: 's' } }));
    expect(tls.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics', scheme: 'HTTPS' });
    expect(tls.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics', scheme: 'HTTPS' });
  });
});

describe('collectors: the chart follows the registry (collectors/index.ts)', () => {
  const switchable: string[] = switchableCollectors();
  const agentArgs = (docs: Manifest[]): string[] => agent(docs).args;

  it("values.yaml's and the schema's collectors.* keys are the registry's switchable collectors, on as the registry's defaults are", () => {
    const values = defaultValues.collectors as Record<string, boolean>;
    expect(Object.keys(values).sort()).toEqual([...switchable].sort());
    const prop = (schema as { properties: { collectors: { properties: Obj; required: string[] } } }).properties.collectors;
    expect(Object.keys(prop.properties).sort()).toEqual([...switchable].sort());
    expect([...prop.required].sort()).toEqual([...switchable].sort());
    for (const c of COLLECTORS) if (c.switch) expect(values[c.name], c.name).toBe(c.switch.default);
    for (const name of switchable) expect(FLAGS.find((f) => f.name === `collector.${name}`)?.default, name).toBe(values[name] ? 'on' : 'off');
  });

  it("the DaemonSet's --no-collector.X args are exactly the switched-off collectors, and the agent turns them off", () => {
    expect(agentArgs(render()).filter((a) => a.startsWith('--no-collector.'))).toEqual([]);
    const off = agentArgs(render({ collectors: Object.fromEntries(switchable.map((n) => [n, false])) })).filter((a) => a.startsWith('--no-collector.'));
    expect([...off].sort()).toEqual(switchable.map((n) => `--no-collector.${n}`).sort());
    const config = (parseArgs(off, {}) as { config: RunConfig }).config;
    for (const c of COLLECTORS) if (c.switch) expect(c.enabled(config), c.name).toBe(false);
  });
});

describe('rendering refuses', () => {
  it('an extra IPAM data directory that is hostPaths.ipam (two mounts at one path)', () => {
    expect(() => render({ ipam: { extraDataDirs: ['/var/lib/cni/networks'] } })).toThrow(/repeats hostPaths.ipam/);
  });

  it('tls without a Secret, as the schema does', () => {
    expect(() => render({ tls: { enabled: true } })).toThrow(/tls.enabled needs tls.secretName/);
  });

  it('a value path that does not exist (strict, like helm template --strict)', () => {
    const broken = new Map([...templates, ['templates/broken.yaml', 'x: {{ .Values.collectors.ebpf }}\n']]);
    expect(() =>
      renderTemplates({ templates: broken, values: defaultValues, chart: { Name: 'c', Version: '1', AppVersion: '1' }, release: { Name: 'r', Namespace: 'n' }, files: new Map() }),
    ).toThrow(TemplateError);
  });
});

describe('NOTES.txt', () => {
  const notes = (values: Obj): string =>
    renderTemplates({
      // The helpers NOTES.txt includes come from _helpers.tpl, as in Helm.
      templates: new Map([['templates/_helpers.tpl', templates.get('templates/_helpers.tpl') as string], ['templates/NOTES.txt', notesTemplate]]),
      values: merge(defaultValues, values) as Obj,
      chart: { Name: chartYaml.name, Version: chartYaml.version, AppVersion: chartYaml.appVersion },
      release: { Name: 'mna', Namespace: 'monitoring' },
      files: filesWith(false),
      strict: true,
    }).get('templates/NOTES.txt') as string;

  it('says how to scrape, the release label kube-prometheus-stack selects, PSA, and the doctor command that exists in the image', () => {
    const plain = notes({});
    expect(plain).toContain('No ServiceMonitor: --set serviceMonitor.enabled=true');
    expect(plain).toContain('honor_labels: true');
    expect(plain).toContain('pod-security.kubernetes.io/enforce=privileged');
    // The doctor command of docs/runbooks.md, with the image's runtime path (no `node` on PATH).
    const doctor = /exec \$POD -- (.+)$/m.exec(plain)?.[1];
    expect(doctor).toBe('/nodejs/bin/node /app/dist/agent/app/bin.js doctor --path.sysfs=/host/sys --path.procfs=/host/proc --path.netns=/host/run/netns');
    expect(readFileSync(new URL('../../docs/runbooks.md', import.meta.url), 'utf8')).toContain(doctor?.split(' --path')[0]);
    const entrypoint = /^ENTRYPOINT \["([^"]+)", [^\]]*"([^"]+\.js)"\]/m.exec(readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8'));
    const workdir = [...readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8').matchAll(/^WORKDIR (\S+)/gm)].pop()?.[1];
    expect(doctor?.startsWith(`${entrypoint?.[1]} ${workdir}/${entrypoint?.[2]} doctor`)).toBe(true);

    const unselected = notes({ serviceMonitor: { enabled: true }, prometheusRule: { enabled: true } });
    expect(unselected).toContain('It has no `release` label');
    expect(unselected).toContain('prometheusRule.labels.release');
    expect(unselected).toContain('set prometheusRule.runbookUrl');
    const selected = notes({ serviceMonitor: { enabled: true, labels: { release: 'kps' } }, prometheusRule: { enabled: true, labels: { release: 'kps' }, runbookUrl: 'https://example.com/runbooks.md' } });
    expect(selected).not.toContain('no `release` label');
    expect(selected).not.toContain('runbookUrl');
  });
});
