/**
 * Root-only: the image users install, built and run as the chart's DaemonSet runs it.
 *
 * A dockerd of the test's (test/support/docker.ts) builds the project's Dockerfile, unmodified,
 * on stand-ins of its two base images (cached under /var/cache/multinet-test, built from Debian
 * and npm on a fresh machine). Then the lab comes up, dockerd is started again inside the lab's
 * node namespace (so that `--network host` is the node's network, as hostNetwork is on a node),
 * and the image runs with exactly the DaemonSet's container, rendered from the chart's default
 * values: its args and env, its hostPath mounts read-only with their propagation, host network and
 * PID, every capability dropped but NET_ADMIN and SYS_PTRACE, no privilege escalation, a
 * read-only root filesystem, the resources' memory limit and CPU request; what the kubelet adds
 * to every pod (the service account's token, CA and namespace, KUBERNETES_SERVICE_HOST/PORT) comes
 * from the kube API test server behind a TLS front, seeded with the lab's pods and NADs.
 *
 * It maps every lab pod's interfaces to their networks, every master is ready, no Event is
 * written, /readyz is 200, and the runbooks' doctor command runs in the container (no shell and
 * no `node` on PATH in a distroless image: /nodejs/bin/node). Then the same container with one of
 * the two capabilities fewer fails the way docs/security.md says.
 *
 * Off CI, without root, docker.io, debootstrap or the lab's CNI plugins, it says so in one line
 * and is skipped; in CI (CI set) a missing engine or one that cannot start fails the suite.
 */
import { X509Certificate } from 'node:crypto';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { renderTemplates } from '../chart/go-template.js';
import { parseExposition, type ParsedSample } from '../support/exposition.js';
import { buildPauseArchive, Containerd, containerdMissing, criCall, criRuntimeClient, CTR_BIN } from '../support/containerd.js';
import { BUILD_BASE, Dockerd, dockerMissing, ensureStandins, RUNTIME_BASE } from '../support/docker.js';
import { KubeApiServer } from '../support/kube-api-server.js';
import { LAB_POSSIBLE, seedKubeApiFromLab, testLab } from '../support/lab.js';
import { bridgeToNetns, type NetnsBridge } from '../support/netns-bridge.js';
import { missingDirs, removeEmptyDirs } from '../support/host-dirs.js';
import { fetchInNetns, ip } from '../support/netns.js';
import { until } from '../support/until.js';

const run = promisify(execFile);
const SUITE = 'test/integration/image.test.ts';
const SUITE_START = Date.now();
const REPO = new URL('../../', import.meta.url).pathname;
const CHART = path.join(REPO, 'chart');

function possible(): boolean {
  const missing = [...dockerMissing(), ...(LAB_POSSIBLE ? [] : ['the lab (root, containernetworking-plugins)'])];
  if (missing.length === 0) return true;
  if (process.env.CI) throw new Error(`${SUITE} needs ${missing.join(', ')} in CI (.ci/run installs them)`);
  console.warn(`${SUITE} needs ${missing.join(', ')}: skipped`);
  return false;
}
const POSSIBLE = possible();

const LAB = `im${process.pid % 100000}`;
const theLab = testLab(LAB);
const NODE = theLab.node;
const lab = theLab.run;

type Obj = Record<string, unknown>;
interface ContainerSpec {
  image: string;
  args: string[];
  env: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports: { containerPort: number }[];
  resources: { requests?: { cpu?: string; memory?: string }; limits?: { memory?: string } };
  securityContext: {
    runAsUser?: number;
    runAsGroup?: number;
    privileged?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
    seccompProfile?: { type: string };
  };
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean; mountPropagation?: string }[];
}
interface PodSpec {
  hostNetwork?: boolean;
  hostPID?: boolean;
  containers: ContainerSpec[];
  volumes: { name: string; hostPath?: { path: string; type?: string } }[];
}

/** The DaemonSet's pod spec, rendered from the chart's default values (as `helm template` would). */
function renderPodSpec(): PodSpec {
  const templates = new Map(readdirSync(path.join(CHART, 'templates')).map((f) => [f, readFileSync(path.join(CHART, 'templates', f), 'utf8')]));
  const chartYaml = parseYaml(readFileSync(path.join(CHART, 'Chart.yaml'), 'utf8')) as { name: string; version: string; appVersion: string };
  const out = renderTemplates({
    templates,
    values: parseYaml(readFileSync(path.join(CHART, 'values.yaml'), 'utf8')) as Obj,
    chart: { Name: chartYaml.name, Version: chartYaml.version, AppVersion: chartYaml.appVersion },
    release: { Name: 'mna', Namespace: 'monitoring' },
    files: new Map(),
  });
  const ds = parseYaml(out.get('daemonset.yaml') ?? '') as { spec: { template: { spec: PodSpec } } };
  return ds.spec.template.spec;
}

/** Kubernetes quantities the chart uses: `256Mi`, `20m`. */
const bytesOf = (q: string): number => Number(/^(\d+)Mi$/.exec(q)?.[1] ?? NaN) * 1024 * 1024;
const milliCpuOf = (q: string): number => (q.endsWith('m') ? Number(q.slice(0, -1)) : Number(q) * 1000);

/** Where the kubelet puts a pod's service account. */
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The `docker run` arguments of the DaemonSet's container, as the kubelet would run it on node
 * `nodeName`, with the service account's files at `saDir` on the host; `caps` overrides the
 * capabilities added (the least-privilege runs).
 */
function dockerRunArgs(spec: PodSpec, o: { name: string; nodeName: string; hostIP: string; saDir: string; apiHost: string; apiPort: number; image: string; caps?: string[] }): string[] {
  const c = spec.containers[0] as ContainerSpec;
  const sc = c.securityContext;
  const a = ['run', '-d', '--name', o.name];
  if (spec.hostNetwork) a.push('--network', 'host');
  if (spec.hostPID) a.push('--pid', 'host');
  if (sc.runAsUser !== undefined) a.push('--user', `${sc.runAsUser}:${sc.runAsGroup ?? 0}`);
  if (sc.privileged) a.push('--privileged');
  for (const cap of sc.capabilities?.drop ?? []) a.push('--cap-drop', cap);
  for (const cap of o.caps ?? sc.capabilities?.add ?? []) a.push('--cap-add', cap);
  if (sc.allowPrivilegeEscalation === false) a.push('--security-opt', 'no-new-privileges');
  // seccomp RuntimeDefault is the engine's default profile: nothing to add (Unconfined would be).
  if (sc.seccompProfile && sc.seccompProfile.type !== 'RuntimeDefault') throw new Error(`seccomp ${sc.seccompProfile.type} not translated`);
  if (sc.readOnlyRootFilesystem) a.push('--read-only');
  if (c.resources.limits?.memory) a.push('--memory', String(bytesOf(c.resources.limits.memory)));
  // The kubelet's cpu.shares for a request: millicores * 1024 / 1000, at least 2.
  if (c.resources.requests?.cpu) a.push('--cpu-shares', String(Math.max(2, Math.floor((milliCpuOf(c.resources.requests.cpu) * 1024) / 1000))));
  const env = new Map(c.env.map((e) => [e.name, envValue(e, o)]));
  for (const [k, v] of env) a.push('--env', `${k}=${v}`);
  for (const m of c.volumeMounts) {
    const v = spec.volumes.find((x) => x.name === m.name);
    if (!v?.hostPath) throw new Error(`volume ${m.name} is not a hostPath`);
    const opts = [m.readOnly ? 'ro' : 'rw', m.mountPropagation === 'HostToContainer' ? 'rslave' : m.mountPropagation === 'Bidirectional' ? 'rshared' : 'rprivate'];
    a.push('--volume', `${v.hostPath.path}:${m.mountPath}:${opts.join(',')}`);
  }
  // What the kubelet adds to every pod with automountServiceAccountToken.
  a.push('--volume', `${o.saDir}:${SA_DIR}:ro`, '--env', `KUBERNETES_SERVICE_HOST=${o.apiHost}`, '--env', `KUBERNETES_SERVICE_PORT=${o.apiPort}`);
  a.push(o.image, ...expandArgs(c.args, env));
  return a;
}

/** The value the kubelet gives an env var: a literal, or the downward API's node name / host IP. */
function envValue(e: ContainerSpec['env'][number], o: { nodeName: string; hostIP: string }): string {
  if (e.value !== undefined) return e.value;
  const field = e.valueFrom?.fieldRef?.fieldPath;
  if (field === 'spec.nodeName') return o.nodeName;
  if (field === 'status.hostIP' || field === 'status.hostIPs') return o.hostIP;
  throw new Error(`env ${e.name} not translated`);
}

/** `$(VAR)` in args expanded from the container's env as the kubelet does (`$$` is a literal `$`; unknown names stay). */
function expandArgs(args: readonly string[], env: ReadonlyMap<string, string>): string[] {
  return args.map((a) => a.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string | undefined) => (name === undefined ? '$' : (env.get(name) ?? m))));
}

/** A TLS front for the (plain HTTP) kube API test server, as in a cluster the API is HTTPS. */
async function tlsFront(dir: string, host: string, backendPort: number): Promise<{ server: NetServer; port: number; ca: string }> {
  const key = path.join(dir, 'api.key');
  const crt = path.join(dir, 'api.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', crt, '-days', '2', '-subj', '/CN=kubernetes', '-addext', `subjectAltName=IP:${host}`], { stdio: 'ignore' });
  const cert = readFileSync(crt, 'utf8');
  new X509Certificate(cert); // parses
  const server = createTlsServer({ key: readFileSync(key), cert }, (s) => {
    const b = connect(backendPort, host);
    s.pipe(b).pipe(s);
    s.on('error', () => b.destroy());
    b.on('error', () => s.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { server, port: (server.address() as { port: number }).port, ca: cert };
}

describe.skipIf(!POSSIBLE)('the image, built and run as the DaemonSet runs it', () => {
  const spec = POSSIBLE ? renderPodSpec() : ({ containers: [], volumes: [] } as unknown as PodSpec);
  const container = spec.containers[0] as ContainerSpec;
  const IMAGE = container?.image ?? '';
  const port = container?.ports[0]?.containerPort ?? 0;
  let dir = '';
  let dockerd: Dockerd | undefined;
  let api: KubeApiServer | undefined;
  let front: NetServer | undefined;
  let bridge: NetnsBridge | undefined;
  let saDir = '';
  let apiPort = 0;
  let podNames: string[] = [];
  /** hostPath directories the runs created (DirectoryOrCreate), removed after. */
  const created: string[] = [];
  const containers: string[] = [];

  const docker = (args: string[], timeoutMs?: number): Promise<{ stdout: string; stderr: string }> => {
    if (!dockerd) throw new Error('no dockerd');
    return dockerd.docker(args, { timeoutMs });
  };

  /** The node's address the kubelet would give as status.hostIP: the lab node's side of its link to the test. */
  const hostIP = (): string => bridge?.netnsAddress ?? '127.0.0.1';
  /** Where the agent listens (the chart binds status.hostIP by default). */
  const agentHost = (): string => (hostIP().includes(':') ? `[${hostIP()}]` : hostIP());

  /** Runs the DaemonSet's container (with `caps` instead of the chart's when given) and waits until it serves /readyz (any status). */
  async function runAgent(name: string, caps?: string[]): Promise<void> {
    for (const v of spec.volumes) if (v.hostPath) created.push(...missingDirs(v.hostPath.path));
    containers.push(name);
    await docker(dockerRunArgs(spec, { name, nodeName: NODE, hostIP: hostIP(), saDir, apiHost: bridge?.hostAddress ?? '', apiPort, image: IMAGE, caps }));
    await until(`${name} serving`, 60_000, async () => {
      const state = (await docker(['inspect', '--format', '{{.State.Status}}', name])).stdout.trim();
      if (state !== 'running') throw new Error(`${name} is ${state}: ${(await docker(['logs', name])).stderr}`);
      return fetchInNetns(NODE, `http://${agentHost()}:${port}/readyz`).catch(() => undefined);
    }, 250);
  }

  async function stopAgent(name: string): Promise<string> {
    const log = (await docker(['logs', name])).stderr;
    await docker(['rm', '-f', name]);
    containers.splice(containers.indexOf(name), 1);
    return log;
  }

  async function scrape(): Promise<ParsedSample[]> {
    const res = await fetchInNetns(NODE, `http://${agentHost()}:${port}/metrics`);
    expect(res.status).toBe(200);
    return parseExposition(res.body);
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mna-img-'));
    dockerd = new Dockerd(path.join(dir, 'docker'));
    await dockerd.start();

    let t0 = Date.now();
    const standins = await ensureStandins(dockerd, path.join(dir, 'standins'));
    console.log(`image suite: stand-ins ${BUILD_BASE} and ${RUNTIME_BASE} ${standins.cached ? `loaded from ${standins.file}` : 'built from Debian and npm'} in ${Date.now() - t0} ms (${JSON.stringify(standins.ms)})`);

    // The Dockerfile as it is in the repository; --network host: npm ci reaches the registry from the daemon's namespace (it has no bridge).
    t0 = Date.now();
    await docker(['build', '--network', 'host', '--file', path.join(REPO, 'Dockerfile'), '--tag', IMAGE, REPO]);
    const size = Number((await docker(['image', 'inspect', '--format', '{{.Size}}', IMAGE])).stdout.trim());
    console.log(`image suite: ${IMAGE} built in ${Date.now() - t0} ms, ${(size / 1e6).toFixed(1)} MB`);
    // For the CRI run: the image as `docker save` writes it, which `ctr images import` reads.
    await docker(['save', '--output', path.join(dir, 'agent-image.tar'), IMAGE]);

    // The node: the lab, the kube API (behind TLS) over a veth, and dockerd again, now in the node's network namespace.
    await dockerd.stop();
    await lab('down');
    const up = await lab('up');
    if (up.code !== 0) throw new Error(`lab up failed: ${up.out}`);
    bridge = await bridgeToNetns(NODE, 2);
    api = await KubeApiServer.start({ host: bridge.hostAddress });
    podNames = (await seedKubeApiFromLab(api, LAB)).map((p) => String((p.metadata as { name: string }).name));
    const tls = await tlsFront(dir, bridge.hostAddress, api.port);
    front = tls.server;
    apiPort = tls.port;
    saDir = path.join(dir, 'serviceaccount');
    await mkdir(saDir);
    await writeFile(path.join(saDir, 'token'), 't');
    await writeFile(path.join(saDir, 'ca.crt'), tls.ca);
    await writeFile(path.join(saDir, 'namespace'), 'monitoring');
    await dockerd.start(NODE);
  }, 40 * 60_000);

  afterAll(async () => {
    const errors: unknown[] = [];
    for (const c of [...containers]) await docker(['rm', '-f', c]).catch((e: unknown) => errors.push(e));
    if (dockerd?.pid !== undefined) await docker(['rmi', '-f', IMAGE]).catch((e: unknown) => errors.push(e));
    const leftovers = (await dockerd?.destroy()) ?? [];
    front?.close();
    await api?.close();
    await bridge?.remove();
    const down = await lab('down');
    removeEmptyDirs(created);
    if (dir) await rm(dir, { recursive: true, force: true });
    console.log(`image suite: ${((Date.now() - SUITE_START) / 1000).toFixed(1)} s in all`);
    expect(errors).toEqual([]);
    expect(leftovers).toEqual([]);
    expect(down.code).toBe(0);
    expect((await ip('netns', 'list')).includes(`mnlab-${LAB}-`)).toBe(false);
  }, 300_000);

  it('carries the org.opencontainers.image labels', async () => {
    const labels = JSON.parse((await docker(['image', 'inspect', '--format', '{{json .Config.Labels}}', IMAGE])).stdout) as Record<string, string>;
    const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string; license: string };
    expect(labels).toMatchObject({
      'org.opencontainers.image.title': 'multinet-agent',
      'org.opencontainers.image.version': pkg.version,
      'org.opencontainers.image.licenses': pkg.license,
      'org.opencontainers.image.base.name': RUNTIME_BASE,
    });
    // The chart's default image is this version.
    expect(IMAGE).toBe(`multinet-agent:${pkg.version}`);
    expect(labels['org.opencontainers.image.description']).toBeTruthy();
  });

  /** The log's JSON lines at warn and above. */
  const warnings = (log: string): { msg: string; err?: { message?: string; capability?: string }; capability?: string; collector?: string }[] =>
    log
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .filter((l) => l.level >= 40);

  it('as the DaemonSet: maps every pod interface to its network, masters ready, no Event, /readyz 200; doctor runs in it', async () => {
    await runAgent('mna-agent');
    let log = '';
    try {
      expect((await fetchInNetns(NODE, `http://${agentHost()}:${port}/readyz`)).status).toBe(200);
      const samples = await until('every pod mapped', 30_000, async () => {
        const s = await scrape();
        const pods = new Set(s.filter((x) => x.name === 'multinet_pod_interface_info' && x.labels.pod !== '').map((x) => x.labels.pod));
        return pods.size === podNames.length ? s : undefined;
      });
      // The node's other namespaces (hostPID: every one on this machine) are there too, without a pod.
      const info = samples.filter((s) => s.name === 'multinet_pod_interface_info' && s.labels.pod !== '');
      expect([...new Set(info.map((s) => s.labels.pod))].sort()).toEqual([...podNames].sort());
      const secondary = info.filter((s) => s.labels.interface?.startsWith('net'));
      expect(secondary.length).toBeGreaterThan(0);
      for (const s of secondary) expect(s.labels, JSON.stringify(s.labels)).toMatchObject({ network: expect.stringMatching(/-network$/) as unknown as string, master: expect.stringMatching(/^eth[1-4]$/) as unknown as string });
      const ready = samples.filter((s) => s.name === 'multinet_host_interface_ready');
      expect(ready.length).toBeGreaterThan(0);
      expect(ready.filter((s) => s.value !== 1)).toEqual([]);
      // podresources: the lab has no kubelet, so its socket is absent (not a blind spot: /readyz is 200).
      expect(samples.filter((s) => s.name === 'multinet_scrape_collector_success' && s.value !== 1).map((s) => s.labels.collector)).toEqual(['podresources']);
      expect(samples.find((s) => s.name === 'multinet_kube_cache_synced' && s.labels.resource === 'pods')?.value).toBe(1);
      expect(api?.events()).toEqual([]);

      // The runbooks' command (docs/runbooks.md), as `docker exec` runs what `kubectl exec` would.
      const doctor = await docker(['exec', 'mna-agent', '/nodejs/bin/node', '/app/dist/agent/app/bin.js', 'doctor', '--path.sysfs=/host/sys', '--path.procfs=/host/proc', '--path.netns=/host/run/netns', '--output=json']).catch(
        (err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }), // exit 1: a problem found somewhere on the node; the report is still there
      );
      const report = JSON.parse(doctor.stdout) as { pods: { pod: string; mappedBy: string }[]; problems: { pod?: string }[] };
      const labPods = report.pods.filter((p) => podNames.includes(p.pod));
      expect(labPods.map((p) => p.pod).sort()).toEqual([...podNames].sort());
      expect(labPods.filter((p) => p.mappedBy === 'none')).toEqual([]);
      expect(report.problems.filter((p) => p.pod !== undefined && podNames.includes(p.pod))).toEqual([]);
      // No shell in the image: the runbooks must not tell anyone to use one.
      await expect(docker(['exec', 'mna-agent', 'sh', '-c', 'true'])).rejects.toThrow();
    } finally {
      log = await stopAgent('mna-agent');
    }
    // The one warning: the lab has no kubelet, so no pod-resources socket (collector="podresources" 0 above).
    // Besides it, a VM may refuse even a full root some process (pid 1 here holds CAP_SYS_RESOURCE):
    // said once, naming that cause, never blaming a capability the agent holds.
    const said = warnings(log).map((w) => w.msg);
    const refused = said.filter((m) => /^cannot read the network namespace of \d+ process/.test(m));
    for (const m of refused) expect(m).toMatch(/refused by an LSM .* or the VM although the agent holds CAP_SYS_PTRACE/);
    expect(said.filter((m) => !refused.includes(m))).toEqual(['kubelet pod resources unavailable']);
  }, 120_000);

  for (const [dropped, kept] of [
    ['NET_ADMIN', 'SYS_PTRACE'],
    ['SYS_PTRACE', 'NET_ADMIN'],
  ] as const) {
    it(`without ${dropped}: not ready naming CAP_${dropped}, collector="netns" 0, one warning, as docs/security.md says`, async () => {
      const name = `mna-agent-no-${dropped.toLowerCase().replace('_', '-')}`;
      await runAgent(name, [kept]);
      let log = '';
      try {
        const readyz = await fetchInNetns(NODE, `http://${agentHost()}:${port}/readyz`);
        const samples = await scrape();
        const podsSeen = new Set(samples.filter((s) => s.name === 'multinet_pod_interface_info' && podNames.includes(s.labels.pod ?? '')).map((s) => s.labels.pod));
        console.log(`image suite: without ${dropped}: /readyz ${readyz.status} ${readyz.body.trim()}; lab pods seen ${podsSeen.size}/${podNames.length}`);
        expect(readyz.status).toBe(503);
        expect(readyz.body).toContain(`collector netns needs CAP_${dropped}`);
        expect(samples.find((s) => s.name === 'multinet_scrape_collector_success' && s.labels.collector === 'netns')?.value).toBe(0);
        expect(samples.filter((s) => s.name === 'multinet_scrape_collector_success' && s.value !== 1).map((s) => s.labels.collector).sort()).toEqual(['netns', 'podresources']);
        // Without NET_ADMIN no other namespace can be dumped: no pod interface at all. Without
        // SYS_PTRACE the bind-mounted namespaces (all the lab's) are still read.
        if (dropped === 'NET_ADMIN') expect(podsSeen.size).toBe(0);
        else expect(podsSeen.size).toBe(podNames.length);
      } finally {
        log = await stopAgent(name);
      }
      const failed = warnings(log).filter((w) => w.msg === 'collector failed');
      console.log(`image suite: without ${dropped} the log's warnings: ${JSON.stringify(warnings(log).map((w) => [w.msg, w.err?.message ?? w.capability]))}`);
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ collector: 'netns', err: { capability: `CAP_${dropped}` } });
    }, 120_000);
  }

  it("through containerd's CRI as the kubelet runs the DaemonSet's pod: hostNetwork/hostPID sandbox, the chart's securityContext and mounts; maps the lab's pods", async () => {
    const missing = containerdMissing();
    if (missing.length > 0) {
      if (process.env.CI) throw new Error(`needs ${missing.join(', ')} in CI`);
      console.warn(`image suite: the CRI run needs ${missing.join(', ')}: not run`);
      return;
    }
    const cgroupParent = `/mna-img-${process.pid}`;
    const pauseImage = 'multinet-test.local/pause:3.9';
    const ctrd = await Containerd.start({
      dir: path.join(dir, 'ctrd'),
      netns: NODE,
      sandboxImage: pauseImage,
      pauseArchive: await buildPauseArchive(path.join(dir, 'pause'), pauseImage),
      bridge: 'mnimgbr0',
      subnet: '10.79.0.0/24',
    });
    const cri = criRuntimeClient(ctrd.socket);
    let sandboxId = '';
    let containerId = '';
    const errors: unknown[] = [];
    try {
      await run(CTR_BIN, ['--address', ctrd.socket, '-n', 'k8s.io', 'images', 'import', path.join(dir, 'agent-image.tar')]);
      const c = spec.containers[0] as ContainerSpec;
      const sc = c.securityContext;
      const logDir = path.join(dir, 'pod-logs');
      await mkdir(path.join(logDir, 'agent'), { recursive: true }); // the kubelet makes the container's log directory
      // A hostNetwork pod's sandbox as the kubelet makes it: the node's network and PID namespaces, no hostname.
      const sandboxConfig = {
        metadata: { name: `multinet-agent-${LAB}`, uid: `00000000-0000-0000-0000-${String(process.pid).padStart(12, '0')}`, namespace: 'monitoring', attempt: 0 },
        log_directory: logDir,
        labels: { 'app.kubernetes.io/name': 'multinet-agent' },
        linux: {
          cgroup_parent: cgroupParent,
          security_context: { namespace_options: { network: spec.hostNetwork ? 'NODE' : 'POD', pid: spec.hostPID ? 'NODE' : 'CONTAINER', ipc: 'POD' }, seccomp: { profile_type: 'RuntimeDefault' } },
        },
      };
      sandboxId = (await criCall<{ pod_sandbox_id: string }>(cri, 'RunPodSandbox', { config: sandboxConfig })).pod_sandbox_id;
      const mounts = c.volumeMounts.map((m) => {
        const v = spec.volumes.find((x) => x.name === m.name);
        if (!v?.hostPath) throw new Error(`volume ${m.name} is not a hostPath`);
        return { container_path: m.mountPath, host_path: v.hostPath.path, readonly: m.readOnly === true, propagation: m.mountPropagation === 'HostToContainer' ? 'PROPAGATION_HOST_TO_CONTAINER' : m.mountPropagation === 'Bidirectional' ? 'PROPAGATION_BIDIRECTIONAL' : 'PROPAGATION_PRIVATE' };
      });
      for (const v of spec.volumes) if (v.hostPath) created.push(...missingDirs(v.hostPath.path));
      // containerd's CNI library caches results under /var/lib/cni (removed with the sandbox).
      created.push(...missingDirs('/var/lib/cni/results'));
      mounts.push({ container_path: SA_DIR, host_path: saDir, readonly: true, propagation: 'PROPAGATION_PRIVATE' });
      const envMap = new Map(c.env.map((e) => [e.name, envValue(e, { nodeName: NODE, hostIP: hostIP() })]));
      const envs = [...envMap].map(([key, value]) => ({ key, value }));
      envs.push({ key: 'KUBERNETES_SERVICE_HOST', value: bridge?.hostAddress ?? '' }, { key: 'KUBERNETES_SERVICE_PORT', value: String(apiPort) });
      const containerConfig = {
        metadata: { name: 'agent', attempt: 0 },
        image: { image: IMAGE },
        args: expandArgs(c.args, envMap),
        envs,
        mounts,
        log_path: 'agent/0.log',
        linux: {
          // The chart's container securityContext, field by field, as the kubelet translates it.
          security_context: {
            capabilities: { drop_capabilities: sc.capabilities?.drop ?? [], add_capabilities: sc.capabilities?.add ?? [] },
            privileged: sc.privileged === true,
            namespace_options: { network: spec.hostNetwork ? 'NODE' : 'POD', pid: spec.hostPID ? 'NODE' : 'CONTAINER', ipc: 'POD' },
            ...(sc.runAsUser !== undefined ? { run_as_user: { value: sc.runAsUser } } : {}),
            readonly_rootfs: sc.readOnlyRootFilesystem === true,
            no_new_privs: sc.allowPrivilegeEscalation === false,
            seccomp: { profile_type: sc.seccompProfile?.type === 'RuntimeDefault' ? 'RuntimeDefault' : 'Unconfined' },
          },
        },
      };
      containerId = (await criCall<{ container_id: string }>(cri, 'CreateContainer', { pod_sandbox_id: sandboxId, config: containerConfig, sandbox_config: sandboxConfig })).container_id;
      await criCall(cri, 'StartContainer', { container_id: containerId });
      const readLog = (): Promise<string> => readFile(path.join(logDir, 'agent/0.log'), 'utf8').catch(() => '');
      await until('the CRI-run agent ready', 60_000, async () => {
        const st = await criCall<{ status: { state: string; reason: string; message: string } }>(cri, 'ContainerStatus', { container_id: containerId });
        if (st.status.state === 'CONTAINER_EXITED') throw new Error(`the agent exited: ${st.status.reason} ${st.status.message}: ${await readLog()}`);
        const r = await fetchInNetns(NODE, `http://${agentHost()}:${port}/readyz`).catch(() => undefined);
        return r?.status === 200 ? r : undefined;
      }, 250);
      const samples = await until('every pod mapped (CRI run)', 30_000, async () => {
        const s = await scrape();
        const pods = new Set(s.filter((x) => x.name === 'multinet_pod_interface_info' && podNames.includes(x.labels.pod ?? '')).map((x) => x.labels.pod));
        return pods.size === podNames.length ? s : undefined;
      });
      const secondary = samples.filter((s) => s.name === 'multinet_pod_interface_info' && podNames.includes(s.labels.pod ?? '') && s.labels.interface?.startsWith('net'));
      for (const s of secondary) expect(s.labels.network, JSON.stringify(s.labels)).toMatch(/-network$/);
      // The runtime applied the chart's securityContext: the agent's process has exactly the two capabilities, no_new_privs, seccomp.
      const pids = (await run('ip', ['netns', 'pids', NODE])).stdout; // the processes on the node's network
      const statusOf = (p: string): string => readFileSync(`/proc/${p}/status`, 'utf8');
      const agentPid = pids.split('\n').find((p) => p && existsSync(`/proc/${p}/cmdline`) && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('dist/agent/app/bin.js'));
      expect(agentPid).toBeDefined();
      const st = statusOf(agentPid as string);
      // CAP_NET_ADMIN is bit 12, CAP_SYS_PTRACE bit 19.
      expect(/^CapEff:\s+([0-9a-f]+)$/m.exec(st)?.[1]).toBe(((1n << 12n) | (1n << 19n)).toString(16).padStart(16, '0'));
      expect(/^NoNewPrivs:\s+(\d)$/m.exec(st)?.[1]).toBe('1');
      expect(/^Seccomp:\s+(\d)$/m.exec(st)?.[1]).toBe('2');
      console.log(`image suite: the DaemonSet's pod through containerd's CRI maps ${podNames.length} lab pods`);
    } finally {
      if (containerId) {
        await criCall(cri, 'StopContainer', { container_id: containerId, timeout: 10 }).catch((e: unknown) => errors.push(e));
        await criCall(cri, 'RemoveContainer', { container_id: containerId }).catch((e: unknown) => errors.push(e));
      }
      if (sandboxId) {
        await criCall(cri, 'StopPodSandbox', { pod_sandbox_id: sandboxId }).catch((e: unknown) => errors.push(e));
        await criCall(cri, 'RemovePodSandbox', { pod_sandbox_id: sandboxId }).catch((e: unknown) => errors.push(e));
      }
      cri.close();
      errors.push(...(await ctrd.destroy(cgroupParent)).map((l) => new Error(`left behind: ${l}`)));
    }
    expect(errors).toEqual([]);
  }, 180_000);
});
