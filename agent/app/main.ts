/**
 * The agent's entry point and the only place where concrete adapters are wired together.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { pino } from 'pino';
import { ManifestSource } from '../../collectors/manifests/manifest-source.js';
import { NetlinkLinkEvents } from '../../collectors/netlink/link-events.js';
import { readNetnsNetworking, type NetworkingMemo } from '../../collectors/procfs/netns-networking.js';
import { createCollectors, type Exposed } from '../../collectors/index.js';
// The kube and kubelet clients are imported only when used (node:http2 for the kubelet's and the
// runtime's gRPC; the kube client is the agent's own on node:http, see collectors/kube/kube-client.ts).
import type { KubeMetadataSource } from '../../collectors/kube/kube-source.js';
import type { NodeConditionWriter } from '../../exporters/kube/node-condition.js';
import { runDoctor } from '../../exporters/doctor/doctor.js';
import { EventRecorder } from '../../exporters/kube/recorder.js';
import { eventFamilies, kubeCacheFamilies, manifestFamilies, netnsFamilies } from '../../exporters/prometheus/agent-families.js';
import { startHttpServer, type Readiness, type RunningServer } from '../../exporters/http/server.js';
import { BearerAuth } from '../../exporters/http/bearer-auth.js';
import { ServingCertificate } from '../../exporters/http/serving-certificate.js';
import { webAuthFamilies, webLimitFamilies, webTlsFamilies } from '../../exporters/prometheus/web-families.js';
import { type Family } from '../../exporters/prometheus/family.js';
import { createMetricsRenderer } from '../../exporters/prometheus/registry.js';
import { parseArgs, usage, type RunConfig } from './cli.js';
import { AgentError, errnoCode } from '../model/errors.js';
import { type Snapshot } from '../model/snapshot.js';
import type { PodMetadataSource } from '../model/pods.js';
import type { LinkSource, Logger } from '../model/ports.js';
import { assess } from '../rules/assess.js';
import { ProblemReporter, ReadinessMonitor } from '../runtime/readiness-monitor.js';
import { buildSnapshot, FailureLog } from '../runtime/snapshot.js';
import { SnapshotCache } from '../runtime/snapshot-cache.js';
import { NetnsNetworkingCache } from '../runtime/networking-cache.js';
import { Lifecycle } from '../runtime/lifecycle.js';

/** A snapshot younger than this is served again: Prometheus HA pairs scrape within the same second. */
const SNAPSHOT_MAX_AGE_MS = 1000;
/** How often manifest files are read again (off the scrape path). */
const MANIFEST_RELOAD_MS = 5000;
/** How long start-up waits for the kube caches before evaluating readiness anyway. */
const KUBE_SYNC_WAIT_MS = 10_000;
/** How often pod routes and addresses are read again (off the scrape path), and pod and NAD problems checked for Events. */
const NETWORKING_REFRESH_MS = 10_000;
/** A snapshot older than this is not used for the refresh: a fresh one is taken. */
const REFRESH_SNAPSHOT_MAX_AGE_MS = 30_000;
/** How often the Node condition is re-asserted (written only when changed or its heartbeat is due). */
const NODE_CONDITION_HEARTBEAT_MS = 15_000;

/** The package version, read from package.json beside the build output. */
export function agentVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** A running agent: its HTTP address and how to stop it. */
export interface RunningAgent {
  readonly server: RunningServer;
  stop(): Promise<void>;
}

/** The wired read side: what a snapshot is built from (what was started is released by the lifecycle it was wired with). */
interface Wiring {
  readonly build: () => Promise<Snapshot>;
  /** The host link dump, also read by the readiness monitor. */
  readonly links: LinkSource;
  /** Pods and NADs, when manifests (or, later, the kube API) provide them. */
  readonly metadata: PodMetadataSource | undefined;
  /** Calls `listener` after pods or NADs may have changed. */
  onMetadataChange(listener: () => void): void;
  /** The netns collector's caches, when it is enabled: reported as self-metrics. */
  readonly netnsStats: Exposed['netnsStats'] | undefined;
  /** The manifest files, with --manifests: their load is reported as self-metrics. */
  readonly manifests: ManifestSource | undefined;
  /** The kube API side, when the agent runs against a cluster. */
  readonly kube: { readonly source: KubeMetadataSource; readonly events: EventRecorder; readonly condition: NodeConditionWriter | undefined } | undefined;
}

/** Keeps the pods of one node: manifests may describe a whole cluster. */
function podsOfNode(source: PodMetadataSource, nodeName: string | undefined): PodMetadataSource {
  if (nodeName === undefined) return source;
  return { pods: () => source.pods().filter((p) => p.nodeName === undefined || p.nodeName === nodeName), networks: () => source.networks() };
}

/**
 * Wires the collectors the configuration asks for (shared by `run` and `doctor`). Whatever is
 * started is deferred on `life`: when wiring fails half-way (a kube module that does not load, a
 * kubeconfig that does not parse) the caller's `life.close()` leaves no timer or socket behind.
 */
async function wireSources(config: RunConfig, log: Logger, life: Lifecycle, reloadManifests: boolean, networking?: NetnsNetworkingCache, oneShot = false): Promise<Wiring> {
  const failures = new FailureLog(log);
  const collectors = await createCollectors(config, { log, defer: (undo) => life.defer(undo), oneShot });
  if (!collectors.hostLinks) throw new Error('the registry has no host link collector');
  const listeners: (() => void)[] = [];
  let metadata: PodMetadataSource | undefined;
  let manifests: ManifestSource | undefined;
  if (config.manifests.length > 0) {
    const source = new ManifestSource({ paths: config.manifests, log, limits: config.manifestLimits });
    manifests = source;
    await source.reload();
    if (reloadManifests) {
      // A reload still running when the timer fires is joined, not doubled (ManifestSource.reload).
      const reload = (): void =>
        void source.reload().then(
          (changed) => {
            if (changed) listeners.forEach((l) => l());
          },
          (err: unknown) => log.warn({ err }, 'manifest reload failed'),
        );
      const timer = setInterval(reload, MANIFEST_RELOAD_MS);
      timer.unref();
      life.defer(() => clearInterval(timer));
    }
    metadata = podsOfNode(source, config.nodeName);
  }
  let kube: Wiring['kube'];
  if (metadata === undefined && (config.kubeconfig !== undefined || process.env.KUBERNETES_SERVICE_HOST)) {
    if (!config.nodeName) throw new AgentError('E_USAGE', 'against the kube API the agent needs its node: set NODE_NAME (downward API) or --node-name');
    const [{ loadKubeConfig }, { KubeClient }, { KubeMetadataSource }, { KubeEventSink }, { NodeConditionWriter }] = await Promise.all([
      import('../../collectors/kube/kube-config.js'),
      import('../../collectors/kube/kube-client.js'),
      import('../../collectors/kube/kube-source.js'),
      import('../../exporters/kube/event-sink.js'),
      import('../../exporters/kube/node-condition.js'),
    ]);
    const kubeConfig = loadKubeConfig(config.kubeconfig);
    // Last undone: the idle keep-alive connections of the client the source, events and condition share.
    life.defer(() => KubeClient.for(kubeConfig).close());
    const source = new KubeMetadataSource({ kubeConfig, nodeName: config.nodeName, log });
    source.onChange(() => listeners.forEach((l) => l()));
    life.defer(() => source.stop());
    await source.start();
    const events = new EventRecorder({ sink: new KubeEventSink({ kubeConfig, nodeName: config.nodeName }), log, instance: config.nodeName });
    life.defer(() => events.close());
    const condition = config.nodeCondition ? new NodeConditionWriter({ kubeConfig, nodeName: config.nodeName }) : undefined;
    kube = { source, events, condition };
    metadata = source;
  }
  return {
    build: () => buildSnapshot(collectors.runs, { metadata, networking }, { collectorTimeoutMs: config.collectorTimeoutMs, failures }),
    links: collectors.hostLinks,
    metadata,
    netnsStats: collectors.netnsStats,
    onMetadataChange: (l) => void listeners.push(l),
    kube,
    manifests,
  };
}

/** /metrics protection: bearer-token auth through the kube API (--web.auth=kube) and HTTPS (--web.tls.*). */
interface WebSecurity {
  readonly auth: BearerAuth | undefined;
  readonly tls: ServingCertificate | undefined;
  families(): Family[];
  close(): void;
}

/** Wires --web.auth and --web.tls.*; throws AgentError E_USAGE when the pair or the kubeconfig is unusable. */
async function wireWebSecurity(config: RunConfig, log: Logger): Promise<WebSecurity> {
  const tls = config.webTls ? ServingCertificate.load({ ...config.webTls, log }) : undefined;
  let auth: BearerAuth | undefined;
  if (config.webAuth === 'kube') {
    const [{ loadKubeConfig }, { KubeAccessReviewer }] = await Promise.all([import('../../collectors/kube/kube-config.js'), import('../../collectors/kube/access-review.js')]);
    const reviewer = new KubeAccessReviewer({ kubeConfig: loadKubeConfig(config.kubeconfig) });
    auth = new BearerAuth({ reviewer, log, allowedTtlMs: config.webAuthCacheTtlMs, deniedTtlMs: config.webAuthDeniedCacheTtlMs });
  }
  tls?.start();
  return {
    auth,
    tls,
    families: () => [...(auth ? webAuthFamilies(auth.stats()) : []), ...(tls ? webTlsFamilies(tls.stats()) : [])],
    close: () => tls?.stop(),
  };
}

/** Wires the adapters for `run` and starts serving. */
export async function startAgent(config: RunConfig, log: Logger): Promise<RunningAgent> {
  const version = agentVersion();
  // What start-up starts is deferred on one undo stack, undone in reverse order by stop(), or at
  // once when start-up fails half-way (a kubeconfig, the first snapshot, a port already taken).
  const life = new Lifecycle(log);
  // Routes and addresses of pod namespaces: read every 10 s off the scrape path, served from here.
  // Namespaces whose routes and addresses read the same as last time are not parsed or judged again.
  const networkingMemo: NetworkingMemo = new Map();
  const networking = new NetnsNetworkingCache((refs) => readNetnsNetworking(config.procfsRoot, refs, networkingMemo));
  const { web, wiring } = await life.starting(async () => {
    // Before the sources: a bad certificate or kubeconfig refuses to start without opening sockets.
    const web = await wireWebSecurity(config, log);
    life.defer(() => web.close());
    return { web, wiring: await wireSources(config, log, life, true, networking) };
  });
  const snapshots = new SnapshotCache(wiring.build, { maxAgeMs: SNAPSHOT_MAX_AGE_MS });
  let serving: RunningServer | undefined;
  const kube = wiring.kube;
  const netnsStats = wiring.netnsStats;
  const metrics = createMetricsRenderer({
    version,
    assessed: () => snapshots.get(),
    live: () => [
      ...(kube ? [...eventFamilies(kube.events.stats()), ...kubeCacheFamilies(kube.source.cacheStatus())] : []),
      ...(netnsStats ? netnsFamilies(netnsStats()) : []),
      ...(wiring.manifests ? manifestFamilies(wiring.manifests.stats()) : []),
      ...web.families(),
      ...(serving ? webLimitFamilies(serving.stats()) : []),
    ],
    filter: config.exportFilter,
    log,
  });

  // Not ready while the host link dump fails or a collector lacks a capability (the last
  // snapshot's assessment says so): the agent then cannot see what it is deployed to see, and the
  // DaemonSet's readiness should say so.
  const readiness = (): Readiness => {
    const last = snapshots.last;
    if (!last) return { ready: false, reasons: ['no snapshot taken yet'] };
    const reasons = [...(kube && !kube.source.synced() ? ['kube API caches not synced yet'] : []), ...last.assessment.blindSpots];
    return { ready: reasons.length === 0, reasons };
  };

  // Start-up that fails from here on (the first snapshot, the link-event socket, a port already
  // taken) undoes what was started, as the wiring above does.
  const { first, server } = await life.starting(async () => {
    // The first snapshot should know the pods: wait (boundedly) for the kube caches first.
    if (kube && !(await kube.source.waitForSync(KUBE_SYNC_WAIT_MS))) log.warn({ waitedMs: KUBE_SYNC_WAIT_MS }, 'kube API caches not synced yet; starting anyway');
    // One snapshot before serving: readiness is known from the start, and a missing capability
    // or a broken netlink socket shows in the log (once, by FailureLog) rather than at the first scrape.
    const first = (await snapshots.get()).snapshot;

    // Host-interface readiness between scrapes: link events re-evaluate at once.
    let monitor: ReadinessMonitor | undefined;
    // The optional Node condition follows each transition, and is re-asserted on a heartbeat. It
    // reads the monitor: the same rule as the snapshot's assessment, on links fresher by the
    // events since (the assessment's verdict would lag a link change until the next snapshot).
    const condition = kube?.condition;
    const syncCondition = (): void => {
      if (!condition || !monitor) return;
      condition.write(monitor.current()).catch((err: unknown) => log.debug({ err }, 'node condition not written; retried on the next heartbeat'));
    };
    const conditionTimer = condition ? setInterval(syncCondition, NODE_CONDITION_HEARTBEAT_MS) : undefined;
    conditionTimer?.unref();
    life.defer(() => clearInterval(conditionTimer));
    if (wiring.metadata) {
      const metadata = wiring.metadata;
      monitor = new ReadinessMonitor({
        links: wiring.links,
        linkEvents: new NetlinkLinkEvents({ log }),
        metadata: () => ({ pods: metadata.pods(), networks: metadata.networks() }),
        sriov: () => snapshots.last?.snapshot.sriov ?? { pfs: [] },
        events: kube?.events,
        nodeName: config.nodeName ?? hostname(),
        log,
        // A scrape right after a transition shows it, rather than a snapshot taken before it.
        onTransition: () => {
          snapshots.invalidate();
          syncCondition();
        },
      });
      const started = monitor;
      life.defer(() => started.stop());
      await monitor.start(AbortSignal.timeout(config.collectorTimeoutMs));
      wiring.onMetadataChange(() => monitor?.metadataChanged());
      syncCondition();
    }

    // Pod routes and addresses are read on a timer off the scrape path (scrapes take the last
    // result); the latest snapshot is assessed again with them, and with the kube API its pod and
    // NAD problems then become Events on those objects: the verdicts the next scrapes serve.
    const reporter = kube ? new ProblemReporter(kube.events, (ns, name) => kube.source.pods().find((p) => p.namespace === ns && p.name === name)?.uid) : undefined;
    const refresh = async (): Promise<void> => {
      // Not one taken before a readiness transition: its pods' interfaces were judged on the host
      // interface as it was (a pod Event saying its master is down, written after it came back).
      const last = snapshots.lastValid;
      const assessed = last && Date.now() - last.snapshot.takenAtMs < REFRESH_SNAPSHOT_MAX_AGE_MS ? last : await snapshots.get();
      // Only pods with a secondary network have routes to check (about 1 ms of CPU per namespace here).
      const read = await networking.refresh(assessed.snapshot.podNetns.filter((v) => v.pod && v.interfaces.some((i) => !i.isDefault && i.definition)).map((v) => v.netns));
      reporter?.report(snapshots.withNetworking(assessed, read).assessment.problems);
    };
    const problemTimer = setInterval(() => void refresh().catch((err: unknown) => log.warn({ err }, 'route refresh or problem check failed')), NETWORKING_REFRESH_MS);
    problemTimer.unref();
    life.defer(() => clearInterval(problemTimer));
    await refresh().catch((err: unknown) => log.warn({ err }, 'route refresh or problem check failed'));

    const server = await startHttpServer({
      host: config.listenHost,
      port: config.listenPort,
      metrics,
      readiness,
      log,
      version,
      limits: config.webLimits,
      ...(web.tls ? { tls: web.tls } : {}),
      ...(web.auth ? { auth: web.auth } : {}),
    }).catch((err: unknown) => {
      throw listenError(err, config);
    });
    return { first, server };
  });
  serving = server;
  life.defer(() => server.close());
  log.info({ address: server.address, version, links: first.hostLinks.length, tls: web.tls !== undefined, auth: config.webAuth }, 'listening');
  return {
    server,
    stop: () => life.close(),
  };
}

/** Why a listen fails, in the operator's words; the errno stays in the message. */
const LISTEN_ERRORS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the port is in use',
  EADDRNOTAVAIL: 'the address is not one of this node',
  EACCES: 'permission denied (a port below 1024 needs CAP_NET_BIND_SERVICE)',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name does not resolve (DNS not answering)',
  EAI_FAIL: 'the host name does not resolve',
  EAI_NONAME: 'the host name does not resolve',
};

/** A listen that cannot work is a configuration error: one line, exit 2, as the README promises; anything else passes through. */
function listenError(err: unknown, config: RunConfig): unknown {
  const code = errnoCode(err) ?? '';
  const why = LISTEN_ERRORS[code];
  if (why === undefined) return err;
  const host = config.listenHost.includes(':') ? `[${config.listenHost}]` : config.listenHost;
  return new AgentError('E_USAGE', `--web.listen-address: cannot listen on ${host}:${config.listenPort}: ${why} (${code})`, { cause: err });
}

/** Runs the command line; resolves to the process exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  let command;
  try {
    command = parseArgs(argv);
  } catch (err) {
    if (err instanceof AgentError && err.code === 'E_USAGE') {
      process.stderr.write(`multinet-agent: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (command.kind === 'help') {
    process.stdout.write(usage());
    return 0;
  }
  if (command.kind === 'doctor') {
    const log = pino({ level: command.config.logLevel, base: { app: 'multinet-agent' } }, pino.destination(2));
    const life = new Lifecycle(log);
    try {
      const wiring = await wireSources(command.config, log, life, false, undefined, true);
      // Against the kube API, the report needs the caches: wait for them as `run` does, and say so when they do not fill.
      const kube = wiring.kube;
      const kubeSynced = kube ? await kube.source.waitForSync(KUBE_SYNC_WAIT_MS) : true;
      return await runDoctor({
        sourceFindings: async () =>
          kube && !kubeSynced
            ? [{ source: `kube API (${command.config.kubeconfig !== undefined ? `--kubeconfig ${command.config.kubeconfig}` : 'in-cluster service account'})`, problem: `pods and NADs not listed within ${KUBE_SYNC_WAIT_MS / 1000} s (see the log for the API's answer)` }]
            : [],
        snapshot: wiring.build,
        networking: (refs) => readNetnsNetworking(command.config.procfsRoot, refs),
        assess,
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
        write: (text) => process.stdout.write(text),
        output: command.output,
      });
    } finally {
      await life.close();
    }
  }
  if (command.kind === 'version') {
    process.stdout.write(`multinet-agent ${agentVersion()} (node ${process.version})\n`);
    return 0;
  }
  const log = pino({ level: command.config.logLevel, base: { app: 'multinet-agent' } }, pino.destination(2));
  let agent: RunningAgent;
  try {
    agent = await startAgent(command.config, log);
  } catch (err) {
    // A configuration that cannot work (a bad certificate, an unreadable kubeconfig): one line, exit 2, as a bad flag.
    if (err instanceof AgentError && err.code === 'E_USAGE') {
      process.stderr.write(`multinet-agent: ${err.message}\n`);
      return 2;
    }
    log.error({ err }, 'start failed');
    return 1;
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'stopping');
      agent.stop().then(resolve, resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}
