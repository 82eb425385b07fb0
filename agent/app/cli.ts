/**
 * Command-line parsing, node_exporter style (`--group.name=value` or `--group.name value`).
 * Pure: returns a parsed command or a usage error; printing and exiting belong to main.ts.
 */
import { AgentError } from '../model/errors.js';
import { type FlagReader, type FlagSpec } from '../model/collector.js';
import { collectorFlags, parseCollectorOptions, type CollectorConfig } from '../../collectors/index.js';
import { type HttpLimits } from '../../exporters/http/server.js';
import { type ManifestLimits } from '../../collectors/manifests/manifest-source.js';
import { anchoredRegex, type ExportFilter, type NameFilter } from '../../exporters/prometheus/export-filter.js';

export type { FlagSpec };

/** Default port; Prometheus' exporter range is 9100-9999 and 9739 is not taken by a common exporter. */
export const DEFAULT_PORT = 9739;

/** Log levels accepted by --log.level. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Configuration of `multinet-agent run`: the collectors' part (paths, switches, options) is the registry's (collectors/index.ts). */
export interface RunConfig extends CollectorConfig {
  readonly listenHost: string;
  readonly listenPort: number;
  readonly logLevel: LogLevel;
  /** YAML files or directories with Pods and NetworkAttachmentDefinitions (no cluster needed). */
  readonly manifests: readonly string[];
  /** This node's name (`--node-name`, else $NODE_NAME): pods of other nodes are left out, and Node Events name it. */
  readonly nodeName: string | undefined;
  /** kubeconfig file for the kube API; in a pod the service account is used without it. */
  readonly kubeconfig: string | undefined;
  /** Write host-interface readiness as the Node condition SecondaryNetworksReady (needs nodes/status patch). */
  readonly nodeCondition: boolean;
  /** Per-collector time budget inside one scrape, milliseconds. */
  readonly collectorTimeoutMs: number;
  /** Who may read /metrics: anyone, or bearer tokens the kube API authenticates and RBAC allows. */
  readonly webAuth: WebAuthMode;
  /** How long an allowed /metrics decision is reused, milliseconds. */
  readonly webAuthCacheTtlMs: number;
  /** How long a denied /metrics decision is reused, milliseconds. */
  readonly webAuthDeniedCacheTtlMs: number;
  /** Serve HTTPS with this certificate (PEM, chain allowed) and key; reloaded when they change. */
  readonly webTls: { readonly certFile: string; readonly keyFile: string } | undefined;
  /** What /metrics leaves out (host interfaces, networks, namespaces, per-pod series) and the series limit. */
  readonly exportFilter: ExportFilter;
  /** HTTP timeouts and caps (`--web.*`). */
  readonly webLimits: HttpLimits;
  /** Caps on what `--manifests` reads: bytes of one file, bytes of all, number of files. */
  readonly manifestLimits: ManifestLimits;
}

/** Values of --web.auth. */
export const WEB_AUTH_MODES = ['none', 'kube'] as const;
export type WebAuthMode = (typeof WEB_AUTH_MODES)[number];

/** What the command line asks for. */
export type Command =
  | { readonly kind: 'run'; readonly config: RunConfig }
  | { readonly kind: 'doctor'; readonly config: RunConfig; readonly output: 'table' | 'json' }
  | { readonly kind: 'help' }
  | { readonly kind: 'version' };

/** Every flag: the agent's own, and each collector's switch and options from the registry (collectors/index.ts). */
export const FLAGS: readonly FlagSpec[] = [
  { name: 'web.listen-address', arg: 'HOST:PORT', help: 'Address to serve /metrics, /healthz and /readyz on.', default: `:${DEFAULT_PORT}` },
  { name: 'path.sysfs', arg: 'DIR', help: 'sysfs mount point.', default: '/sys' },
  { name: 'path.procfs', arg: 'DIR', help: 'procfs mount point.', default: '/proc' },
  { name: 'path.netns', arg: 'DIR', help: 'Directory of bind-mounted network namespaces (containerd cni-*, CRI-O, ip netns).', default: '/run/netns' },
  { name: 'manifests', arg: 'PATH', help: 'YAML file or directory of Pods and NetworkAttachmentDefinitions, read instead of the kube API (repeatable).', default: undefined, repeatable: true },
  { name: 'kubeconfig', arg: 'FILE', help: 'Read pods and NADs from the kube API with this kubeconfig (in a pod: the service account, no flag needed); ignored with --manifests.', default: undefined },
  { name: 'kube.node-condition', arg: undefined, help: 'Also write host-interface readiness as the Node condition SecondaryNetworksReady (RBAC: nodes/status patch).', default: 'off' },
  { name: 'node-name', arg: 'NAME', help: 'This node (default $NODE_NAME): pods scheduled elsewhere are ignored; Node Events name it.', default: undefined },
  { name: 'log.level', arg: LOG_LEVELS.join('|'), help: 'Only log messages at or above this level (to stderr, JSON).', default: 'info' },
  ...collectorFlags(),
  { name: 'collector.timeout', arg: 'DURATION', help: 'Time budget of each collector inside one scrape (e.g. 500ms, 2s).', default: '2s' },
  { name: 'web.auth', arg: WEB_AUTH_MODES.join('|'), help: 'kube: /metrics only for bearer tokens the kube API authenticates (TokenReview) and allows to get /metrics (SubjectAccessReview).', default: 'none' },
  { name: 'web.auth.cache-ttl', arg: 'DURATION', help: 'How long an allowed /metrics decision is reused.', default: '2m' },
  { name: 'web.auth.denied-cache-ttl', arg: 'DURATION', help: 'How long a denied /metrics decision (unknown token, no RBAC) is reused.', default: '10s' },
  { name: 'web.tls.cert-file', arg: 'FILE', help: 'Serve HTTPS with this PEM certificate (with --web.tls.key-file); reloaded when it changes.', default: undefined },
  { name: 'web.tls.key-file', arg: 'FILE', help: 'PEM private key of --web.tls.cert-file.', default: undefined },
  { name: 'web.header-timeout', arg: 'DURATION', help: 'Time a client has to send a request\'s headers.', default: '10s' },
  { name: 'web.request-timeout', arg: 'DURATION', help: 'Time a client has to send a whole request.', default: '30s' },
  { name: 'web.write-timeout', arg: 'DURATION', help: 'Time from a request to the end of its response; a client that has not taken the response by then is disconnected.', default: '1m' },
  { name: 'web.max-connections', arg: 'N', help: 'Most open HTTP connections; further connections are closed at once.', default: '64' },
  { name: 'web.max-buffered-bytes', arg: 'BYTES', help: 'Most bytes of /metrics responses that clients have not read yet, all together; beyond it a scrape gets 503 (one response is always served).', default: '64MiB' },
  { name: 'manifests.max-file-bytes', arg: 'BYTES', help: 'Largest --manifests file read; a larger one is skipped (named by multinet_manifest_files_skipped and one warning).', default: '4MiB' },
  { name: 'manifests.max-total-bytes', arg: 'BYTES', help: 'Most bytes of all --manifests files together; files beyond it (in path order) are skipped.', default: '64MiB' },
  { name: 'manifests.max-files', arg: 'N', help: 'Most --manifests files read; files beyond it (in path order) are skipped.', default: '10000' },
  // Filters and the series limit (issue 9), node_exporter style: regexes are anchored at both ends.
  { name: 'host.interfaces', arg: 'default|all', help: 'Host interfaces with per-interface series: default = physical NICs, SR-IOV PFs, NAD masters/devices, masters of pod interfaces and the links under them; all = every link.', default: 'default' },
  { name: 'host.interface-include', arg: 'REGEX', help: 'Only host interfaces whose name matches (replaces --host.interfaces); readiness and required series are never filtered.', default: undefined },
  { name: 'host.interface-exclude', arg: 'REGEX', help: 'Leave out host interfaces whose name matches.', default: undefined },
  { name: 'network.include', arg: 'REGEX', help: 'Only pod and NAD series of networks whose NAD namespace/name matches ("" for interfaces no network claims).', default: undefined },
  { name: 'network.exclude', arg: 'REGEX', help: 'Leave out networks whose NAD namespace/name matches.', default: undefined },
  { name: 'network.traffic-class-include', arg: 'REGEX', help: 'Only networks whose traffic class (multinet.io/traffic-class) matches ("" for none).', default: undefined },
  { name: 'network.traffic-class-exclude', arg: 'REGEX', help: 'Leave out networks whose traffic class matches.', default: undefined },
  { name: 'namespace.include', arg: 'REGEX', help: 'Only pods of Kubernetes namespaces that match; a network namespace of no known pod matches as "".', default: undefined },
  { name: 'namespace.exclude', arg: 'REGEX', help: 'Leave out pods of Kubernetes namespaces that match.', default: undefined },
  { name: 'pod.series', arg: 'per-pod|per-network', help: 'per-network: multinet_network_* sums per network on this node instead of multinet_pod_interface_* per pod interface.', default: 'per-pod' },
  { name: 'metrics.series-limit', arg: 'N', help: 'Most snapshot series per scrape; beyond it pod series are dropped first and multinet_series_limit_reached is 1 (0: no limit).', default: '50000' },
  { name: 'output', arg: 'table|json', help: 'doctor only: how to print the report.', default: 'table' },
  { name: 'version', arg: undefined, help: 'Print the version and exit.', default: undefined },
  { name: 'help', arg: undefined, help: 'Print this help and exit.', default: undefined },
];

/** The --help text. */
export function usage(): string {
  const lines = [
    'usage: multinet-agent [run] [flags]        serve /metrics',
    '       multinet-agent doctor [flags]       print what the agent sees and the problems found (exit 1 on a problem)',
    '',
    'Exports Prometheus metrics for the network interfaces of this node: every link of the',
    'network namespace it runs in (rtnetlink, sysfs) and of every pod network namespace, with',
    'the pod and the NetworkAttachmentDefinition each interface belongs to.',
    '',
    'flags:',
  ];
  for (const f of FLAGS) {
    const left = `  --${f.name}${f.arg ? `=${f.arg}` : ''}`;
    const def = f.default !== undefined ? ` (default ${f.default})` : '';
    lines.push(`${left.padEnd(38)} ${f.help}${def}`);
  }
  return `${lines.join('\n')}\n`;
}

function usageError(message: string): AgentError {
  return new AgentError('E_USAGE', message);
}

/** Parses `host:port`, `:port` or `[v6]:port`. */
export function parseListenAddress(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw usageError(`--web.listen-address: "${value}" is not HOST:PORT (e.g. :${DEFAULT_PORT}, 127.0.0.1:${DEFAULT_PORT}, [::1]:${DEFAULT_PORT})`);
  }
  // An empty host means every address, as in Go's net.Listen.
  return { host: m[1] ?? (m[2] || '::'), port };
}

/**
 * The longest duration a Node timer holds: setTimeout/setInterval take a signed 32-bit count of
 * milliseconds and turn anything larger into 1 ms (with a TimeoutOverflowWarning), so a longer
 * flag value would fire at once instead of never. About 24.8 days.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** Parses a Go-style duration (`500ms`, `2s`, `1m`) into milliseconds, at most {@link MAX_DURATION_MS}. */
export function parseDuration(flag: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(value);
  if (!m) throw usageError(`--${flag}: "${value}" is not a duration (e.g. 500ms, 2s, 1m)`);
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
  if (ms <= 0) throw usageError(`--${flag}: must be greater than zero`);
  if (ms > MAX_DURATION_MS) throw usageError(`--${flag}: "${value}" is longer than a timer can hold (at most ${MAX_DURATION_MS}ms, about 24 days)`);
  return ms;
}

/** Parses a byte size: a whole number, optionally with KiB, MiB or GiB (at most 2^40). */
export function parseBytes(flag: string, value: string): number {
  const m = /^(\d{1,13})(KiB|MiB|GiB)?$/.exec(value);
  const n = m ? Number(m[1]) * (m[2] === 'KiB' ? 1024 : m[2] === 'MiB' ? 1024 ** 2 : m[2] === 'GiB' ? 1024 ** 3 : 1) : NaN;
  if (!m || n > 2 ** 40) throw usageError(`--${flag}: "${value}" is not a byte size (e.g. 65536, 512KiB, 4MiB, 1GiB)`);
  if (n === 0) throw usageError(`--${flag}: must be greater than zero`);
  return n;
}

/** Parses a count of at least 1. */
function parseCount(flag: string, value: string): number {
  if (!/^\d{1,9}$/.test(value) || Number(value) === 0) throw usageError(`--${flag}: "${value}" is not a whole number greater than zero`);
  return Number(value);
}

/** Compiles a filter regex; a bad one is a usage error naming the flag. */
function regexFlag(flag: string, value: string | undefined): RegExp | undefined {
  if (value === undefined) return undefined;
  try {
    return anchoredRegex(value);
  } catch (err) {
    throw usageError(`--${flag}: "${value}" is not a regular expression (${err instanceof Error ? err.message.replace(/^Invalid regular expression: /, '') : String(err)})`);
  }
}

/** The filters and the series limit from the flag values. */
function parseExportFilter(values: ReadonlyMap<string, string>, get: (name: string) => string): ExportFilter {
  const pair = (group: string, include = `${group}-include`, exclude = `${group}-exclude`): NameFilter => ({
    include: regexFlag(include, values.get(include)),
    exclude: regexFlag(exclude, values.get(exclude)),
  });
  const hostInterfaces = get('host.interfaces');
  if (hostInterfaces !== 'default' && hostInterfaces !== 'all') throw usageError(`--host.interfaces: "${hostInterfaces}" is not one of default, all`);
  const podSeries = get('pod.series');
  if (podSeries !== 'per-pod' && podSeries !== 'per-network') throw usageError(`--pod.series: "${podSeries}" is not one of per-pod, per-network`);
  const limit = get('metrics.series-limit');
  if (!/^\d{1,9}$/.test(limit)) throw usageError(`--metrics.series-limit: "${limit}" is not a whole number (0 for no limit)`);
  return {
    hostInterfaces,
    hostInterface: pair('host.interface'),
    network: pair('network', 'network.include', 'network.exclude'),
    trafficClass: pair('network.traffic-class'),
    namespace: pair('namespace', 'namespace.include', 'namespace.exclude'),
    podSeries,
    seriesLimit: Number(limit),
  };
}

/** Parses argv (without node and the script). Throws AgentError E_USAGE naming the bad flag. */
export function parseArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env): Command {
  const args = [...argv];
  let sub = 'run';
  if (args[0] !== undefined && !args[0].startsWith('-')) {
    sub = args.shift() as string;
    // The lab is a developer tool of the source tree, not shipped with the agent.
    if (sub === 'lab') throw usageError('lab is not part of the agent: from a source checkout, run npm run lab -- up|traffic|down|status|pod add|pod del (as root)');
    if (sub !== 'run' && sub !== 'doctor') throw usageError(`unknown command "${sub}" (commands: run, doctor)`);
  }
  const values = new Map<string, string>();
  const repeated = new Map<string, string[]>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (!arg.startsWith('--')) throw usageError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    let name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    let value: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    let negated = false;
    if (name.startsWith('no-')) {
      negated = true;
      name = name.slice(3);
    }
    const spec = FLAGS.find((f) => f.name === name);
    if (!spec) throw usageError(`unknown flag --${name} (see --help)`);
    if (spec.arg === undefined) {
      if (value !== undefined) throw usageError(`--${name} takes no value`);
      value = negated ? 'off' : 'on';
    } else {
      if (negated) throw usageError(`--no-${name}: --${name} is not a switch`);
      if (value === undefined) {
        value = args[++i];
        if (value === undefined) throw usageError(`--${name} needs a value (${spec.arg})`);
        // `--manifests --web.listen-address=X` forgot the value: taking the next flag as it would
        // silently drop that flag. A value that starts with -- is given as --name=value.
        if (value.startsWith('--')) throw usageError(`--${name} needs a value (${spec.arg}), got the flag ${value.split('=')[0] ?? value} (write --${name}=VALUE for a value that starts with --)`);
      }
    }
    if (spec.repeatable) repeated.set(name, [...(repeated.get(name) ?? []), value]);
    else values.set(name, value);
  }
  if (values.get('help') === 'on') return { kind: 'help' };
  if (values.get('version') === 'on') return { kind: 'version' };

  const get = (name: string): string => values.get(name) ?? (FLAGS.find((f) => f.name === name)?.default as string);
  const { host, port } = parseListenAddress(get('web.listen-address'));
  const logLevel = get('log.level');
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw usageError(`--log.level: "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
  }
  for (const flag of FLAGS.filter((f) => f.name.startsWith('path.')).map((f) => f.name)) {
    if (get(flag) === '') throw usageError(`--${flag}: must not be empty`);
  }
  const manifests = repeated.get('manifests') ?? [];
  if (manifests.includes('')) throw usageError('--manifests: must not be empty');
  const output = get('output');
  if (output !== 'table' && output !== 'json') throw usageError(`--output: "${output}" is not one of table, json`);
  if (sub === 'run' && values.has('output')) throw usageError('--output applies to doctor only');
  const webAuth = get('web.auth');
  if (!(WEB_AUTH_MODES as readonly string[]).includes(webAuth)) throw usageError(`--web.auth: "${webAuth}" is not one of ${WEB_AUTH_MODES.join(', ')}`);
  if (webAuth === 'kube' && !values.get('kubeconfig') && (!env.KUBERNETES_SERVICE_HOST || !env.KUBERNETES_SERVICE_PORT)) {
    throw usageError('--web.auth=kube needs the kube API: give --kubeconfig=FILE, or run in a pod (KUBERNETES_SERVICE_HOST is unset)');
  }
  const certFile = values.get('web.tls.cert-file');
  const keyFile = values.get('web.tls.key-file');
  if (certFile === '' || keyFile === '') throw usageError(`--${certFile === '' ? 'web.tls.cert-file' : 'web.tls.key-file'}: must not be empty`);
  if ((certFile === undefined) !== (keyFile === undefined)) throw usageError(`--${certFile === undefined ? 'web.tls.key-file' : 'web.tls.cert-file'} needs --${certFile === undefined ? 'web.tls.cert-file' : 'web.tls.key-file'} too`);
  const reader: FlagReader = { get, has: (name) => values.has(name), on: (name) => get(name) === 'on', durationMs: (name) => parseDuration(name, get(name)) };
  const config: RunConfig = {
      listenHost: host,
      listenPort: port,
      sysfsRoot: get('path.sysfs'),
      procfsRoot: get('path.procfs'),
      logLevel: logLevel as LogLevel,
      netnsDir: get('path.netns'),
      ...parseCollectorOptions(reader),
      manifests,
      nodeName: values.get('node-name') ?? (env.NODE_NAME || undefined),
      kubeconfig: values.get('kubeconfig') || undefined,
      nodeCondition: get('kube.node-condition') === 'on',
      collectorTimeoutMs: parseDuration('collector.timeout', get('collector.timeout')),
      webAuth: webAuth as WebAuthMode,
      webAuthCacheTtlMs: parseDuration('web.auth.cache-ttl', get('web.auth.cache-ttl')),
      webAuthDeniedCacheTtlMs: parseDuration('web.auth.denied-cache-ttl', get('web.auth.denied-cache-ttl')),
      webTls: certFile !== undefined && keyFile !== undefined ? { certFile, keyFile } : undefined,
      exportFilter: parseExportFilter(values, get),
      webLimits: {
        headerTimeoutMs: parseDuration('web.header-timeout', get('web.header-timeout')),
        requestTimeoutMs: parseDuration('web.request-timeout', get('web.request-timeout')),
        writeTimeoutMs: parseDuration('web.write-timeout', get('web.write-timeout')),
        maxConnections: parseCount('web.max-connections', get('web.max-connections')),
        maxBufferedBytes: parseBytes('web.max-buffered-bytes', get('web.max-buffered-bytes')),
      },
      manifestLimits: {
        maxFileBytes: parseBytes('manifests.max-file-bytes', get('manifests.max-file-bytes')),
        maxTotalBytes: parseBytes('manifests.max-total-bytes', get('manifests.max-total-bytes')),
        maxFiles: parseCount('manifests.max-files', get('manifests.max-files')),
      },
  };
  return sub === 'doctor' ? { kind: 'doctor', config, output } : { kind: 'run', config };
}
