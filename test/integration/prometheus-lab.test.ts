/**
 * Root-only: a real Prometheus (Debian `prometheus`) scrapes the agent on the seed lab, loads
 * the rules the chart ships (its PrometheusRule rendered with the default values plus
 * serviceMonitor, prometheusRule and grafanaDashboard enabled), and every rule and every query of
 * chart/dashboards/multinet.json is evaluated through its HTTP API: each parses and returns data.
 *
 * Issue 15: the scrape is the one the Prometheus Operator generates from the chart's rendered
 * ServiceMonitor (test/support/operator-scrape.ts: its relabel_configs, honor_labels, the job
 * named after the Service), the agent being pod multinet-agent-lab01 of namespace monitoring; so
 * every series carries job, instance, namespace, pod, service, endpoint, container and node as
 * kube-prometheus-stack users see them. The seed lab has several pods with `net1` on one node.
 * Alerts go to a real Alertmanager (Debian `prometheus-alertmanager`) configured with the chart's
 * inhibit rule (chart/alertmanager/inhibit-rules.yaml, checked by `amtool check-config`); a
 * webhook receiver in the test records what it notifies. With a master down, only the
 * host-interface alert is notified: the pod alerts it causes are inhibited.
 *
 * Set-up, as in lab-kube.test.ts: the lab's Pods and NADs are served by the kube API test server
 * (reached over a veth, slot 2), so the kube and Event series exist; the NADs carry the
 * `multinet.io/traffic-class` label users set, and one extra Pod of this node has a Multus
 * annotation that does not parse. eth1 goes down and up once, so the agent writes real Events.
 * The lab has no SR-IOV NIC: a second agent reads the SR-IOV fixture tree
 * (collectors/sriov/testdata/sys, `--path.sysfs`) in a namespace of its own that holds nothing
 * else, scraped as node `sriov-fixture`; its series are fixture data and labelled so.
 * Prometheus runs in the lab's node namespace: scrape and evaluation every second, static `node`
 * labels, listening on the veth so the test reaches its API.
 *
 * "Returns data" for an alert, whose expression is empty while all is well: the expression with
 * every filtering comparison against a number turned into its `bool` form (`x == 0` becomes
 * `x == bool 0`), and `absent(x)` into `x`, must return series — so every selector, join and
 * label the alert relies on meets real series; the expression as written must parse. Dashboard
 * queries are evaluated with the dashboard's defaults ($node and $network: All) and
 * $__rate_interval = 10s (the dashboard's own choice on a 1 s scrape would be 4 s).
 *
 * Issue 7: the lab has one more NAD, tiny-network (a host-local range of three addresses, no pods
 * at first); the correct seed shows one policy, no violation, no route mismatch, no leak. Last,
 * the four faults of lab-ipam.test.ts — a pod against the storage NAD's policy, the storage subnet
 * routed via eth0 in a pod, a sandbox lost without CNI DEL (its leases aged past the grace), the
 * tiny range filled by the real host-local — must each reach Prometheus as a pending alert and
 * show in the panels.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { cp, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startAgentIn, type AgentProcess } from '../support/agent-process.js';
import { manifestOf, renderChart } from '../support/chart.js';
import { operatorScrapeConfig } from '../support/operator-scrape.js';
import { KubeApiServer, type KubeObject } from '../support/kube-api-server.js';
import { LAB_POSSIBLE, LAB_STATE_ROOT, labPods, requireLab, seedKubeApiFromLab, testLab, TINY_NAD, type LabPodState } from '../support/lab.js';
import { bridgeToNetns, type NetnsBridge } from '../support/netns-bridge.js';
import { createNetns, deleteNetns, ip, netnsName } from '../support/netns.js';
import { requirePrometheusTools } from '../support/promtool.js';
import { makeTestPair, type TestPair } from '../support/tls.js';
import { until as untilEvery } from '../support/until.js';
import { scrapeInNetns } from '../support/scrape.js';

const until = <T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>): Promise<T> => untilEvery(what, timeoutMs, probe, 200);

const LAB = `pl${process.pid % 100000}`;
const theLab = testLab(LAB);
const NODE = theLab.node;
const lab = theLab.run;
const SRIOV_NS = netnsName('sriov');
const SRIOV_NODE = 'sriov-fixture';
const AGENT_PORT = 19742;
const SRIOV_PORT = 19743;
const PROM_PORT = 19744;
const AM_PORT = 19745;
const WEBHOOK_PORT = 19746;
const AGENT_POD = 'multinet-agent-lab01';
const ROOT = new URL('../../', import.meta.url).pathname;
const INHIBIT_RULES = path.join(ROOT, 'chart/alertmanager/inhibit-rules.yaml');
const DASHBOARD = path.join(ROOT, 'chart/dashboards/multinet.json');
const SRIOV_SYSFS = path.join(ROOT, 'collectors/sriov/testdata/sys');
const RATE_INTERVAL = '10s';
const TRAFFIC_CLASS: Record<string, string> = { 'mgmt-network': 'management', 'data-network': 'data', 'storage-network': 'storage' };
const SEED = path.join(ROOT, 'lab/manifests/seed');
const LAB_DIR = path.join(LAB_STATE_ROOT, LAB);
requireLab('test/integration/prometheus-lab.test.ts');
const HAVE_PROMETHEUS = LAB_POSSIBLE && requirePrometheusTools('test/integration/prometheus-lab.test.ts', ['prometheus', 'prometheus-alertmanager', 'amtool']);
/** The chart as a kube-prometheus-stack user installs it: default values, the three switches on. */
const CHART = renderChart({ serviceMonitor: { enabled: true }, prometheusRule: { enabled: true }, grafanaDashboard: { enabled: true } });

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
}
interface Target {
  expr: string;
  refId: string;
}
interface Panel {
  type: string;
  title: string;
  targets?: Target[];
}
interface Series {
  metric: Record<string, string>;
  value: [number, string];
}

/** The alert expression without its filters: comparisons with a number get `bool`, absent(x) is x. */
function unfiltered(expr: string): string {
  const absent = /^\s*absent\(([\s\S]*)\)\s*$/.exec(expr);
  if (absent) return absent[1] as string;
  // Outside label matchers (which compare with quoted strings) a comparison operator followed by
  // a number is a filter.
  return expr.replace(/(==|!=|>=|<=|>|<)\s*(?!bool\b)(-?\d[\d.e+]*)/g, '$1 bool $2');
}

/** The dashboard's template variables as Grafana expands them with the defaults (All). */
function expand(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', RATE_INTERVAL)
    .replaceAll('$cluster', '.*')
    .replaceAll('$node', '.*')
    .replaceAll('$namespace', '.*')
    .replaceAll('$network_namespace', '.*')
    .replaceAll('$network', '.+');
}

interface Notification {
  status: string;
  labels: Record<string, string>;
}

describe.skipIf(!HAVE_PROMETHEUS)('Prometheus on the lab: every rule and dashboard query', () => {
  let server: KubeApiServer | undefined;
  let bridge: NetnsBridge | undefined;
  let agent: AgentProcess | undefined;
  let sriovAgent: AgentProcess | undefined;
  let prometheus: ChildProcess | undefined;
  let prometheusExited: Promise<void> | undefined;
  let prometheusLog = '';
  let workDir = '';
  let promUrl = '';
  let sriovNsMade = false;
  let iperfBytes = 0;
  let sriovCert: TestPair | undefined;
  let rules: Rule[] = [];
  let alertmanager: ChildProcess | undefined;
  let alertmanagerExited: Promise<void> | undefined;
  let alertmanagerLog = '';
  let webhook: Server | undefined;
  const notified: Notification[] = [];
  let dashboard: { templating: { list: { name: string; type: string; query?: { query: string } | string }[] }; panels: Panel[] } | undefined;

  async function query(q: string): Promise<{ status: string; error?: string; data?: { resultType: string; result: Series[] } }> {
    const res = await fetch(`${promUrl}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: q }) });
    return (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: Series[] } };
  }
  async function series(q: string): Promise<Series[]> {
    const r = await query(q);
    if (r.status !== 'success') throw new Error(`${q}: ${r.error}`);
    return r.data?.result ?? [];
  }
  const value = async (q: string): Promise<number | undefined> => {
    const s = await series(q);
    return s.length === 1 ? Number(s[0]?.value[1]) : undefined;
  };

  beforeAll(async () => {
    const ruleGroups = (manifestOf(CHART, 'PrometheusRule').spec as { groups: { rules: Rule[] }[] }).groups;
    rules = ruleGroups.flatMap((g) => g.rules);
    dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as typeof dashboard;

    await lab('down');
    workDir = await mkdtemp(path.join(tmpdir(), 'mna-prom-'));
    const labManifests = path.join(workDir, 'lab-manifests');
    await cp(SEED, labManifests, { recursive: true });
    await writeFile(path.join(labManifests, 'tiny-network.yaml'), TINY_NAD);
    const up = await lab('up', '--manifests', labManifests);
    if (up.code !== 0) throw new Error(`lab up failed: ${up.out}`);

    // The kube API with the lab's objects, the NADs labelled with a traffic class.
    bridge = await bridgeToNetns(NODE, 2);
    server = await KubeApiServer.start({ host: bridge.hostAddress });
    await seedKubeApiFromLab(server, LAB, {
      nad: (n) => {
        const cls = TRAFFIC_CLASS[String(n.metadata.name)];
        const labels = { ...(n.metadata.labels as Record<string, string> | undefined), ...(cls ? { 'multinet.io/traffic-class': cls } : {}) };
        return { ...n, metadata: { ...n.metadata, labels } };
      },
      extraPods: [
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'broken-annotation', namespace: 'default', uid: '0b0b0b0b-0000-4000-8000-000000000001', annotations: { 'k8s.v1.cni.cncf.io/networks': '[{"name": "data-network",' } },
          spec: { nodeName: NODE },
        },
      ],
    });
    const kubeconfig = path.join(workDir, 'kubeconfig');
    await server.writeKubeconfig(kubeconfig);
    agent = await startAgentIn(NODE, AGENT_PORT, [`--kubeconfig=${kubeconfig}`], 30_000, { NODE_NAME: NODE });

    // The SR-IOV fixture node: its own namespace, a veth to the lab node for the scrape.
    await createNetns(SRIOV_NS);
    sriovNsMade = true;
    const octet = 100 + (process.pid % 150);
    const [labEnd, srEnd] = [`mnp${process.pid % 100000}a`, `mnp${process.pid % 100000}b`];
    const [labAddr, srAddr] = [`169.254.${octet}.13`, `169.254.${octet}.14`];
    await ip('-n', SRIOV_NS, 'link', 'add', srEnd, 'type', 'veth', 'peer', 'name', labEnd, 'netns', NODE);
    await ip('-n', SRIOV_NS, 'addr', 'add', `${srAddr}/30`, 'dev', srEnd);
    await ip('-n', SRIOV_NS, 'link', 'set', srEnd, 'up');
    await ip('-n', NODE, 'addr', 'add', `${labAddr}/30`, 'dev', labEnd);
    await ip('-n', NODE, 'link', 'set', labEnd, 'up');
    // It serves TLS (a self-signed certificate for 127.0.0.1, valid 90 days), so the serving
    // certificate's expiry is real: Prometheus scrapes it over https, verifying the certificate
    // against itself as the CA and its IP SAN through server_name.
    sriovCert = makeTestPair(workDir, 'sriov-fixture', 90);
    sriovAgent = await startAgentIn(SRIOV_NS, SRIOV_PORT, [
      `--path.sysfs=${SRIOV_SYSFS}`,
      '--no-collector.netns',
      '--no-collector.podresources',
      `--web.listen-address=:${SRIOV_PORT}`,
      `--web.tls.cert-file=${path.join(workDir, 'sriov-fixture.crt')}`,
      `--web.tls.key-file=${path.join(workDir, 'sriov-fixture.key')}`,
    ]);

    // The webhook receiver Alertmanager notifies: in the test, on the bridge's host end.
    webhook = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => (body += d));
      req.on('end', () => {
        notified.push(...((JSON.parse(body) as { alerts: Notification[] }).alerts ?? []));
        res.end();
      });
    });
    await new Promise<void>((resolve) => webhook?.listen(WEBHOOK_PORT, bridge?.hostAddress, resolve));

    // Alertmanager in the lab's node namespace: the chart's inhibit rule, everything to the
    // webhook at once (group_wait 1s), grouped per alert and host interface.
    const amConfig = {
      route: { receiver: 'webhook', group_by: ['alertname', 'instance', 'host_interface', 'namespace', 'pod', 'interface'], group_wait: '1s', group_interval: '1s', repeat_interval: '1h' },
      receivers: [{ name: 'webhook', webhook_configs: [{ url: `http://${bridge.hostAddress}:${WEBHOOK_PORT}/`, send_resolved: false }] }],
      ...(parse(await readFile(INHIBIT_RULES, 'utf8')) as object),
    };
    await writeFile(path.join(workDir, 'alertmanager.yml'), JSON.stringify(amConfig, null, 2));
    const check = spawnSync('amtool', ['check-config', path.join(workDir, 'alertmanager.yml')], { encoding: 'utf8' });
    if (check.status !== 0) throw new Error(`amtool check-config: ${check.stdout}${check.stderr}`);
    if (!/inhibit_rules\s*:\s*1\b|1 inhibit rules/.test(check.stdout)) throw new Error(`amtool check-config saw no inhibit rule: ${check.stdout}`);
    alertmanager = spawn(
      'ip',
      ['netns', 'exec', NODE, 'prometheus-alertmanager', `--config.file=${path.join(workDir, 'alertmanager.yml')}`, `--storage.path=${path.join(workDir, 'alertmanager')}`, `--web.listen-address=${bridge.netnsAddress}:${AM_PORT}`, '--cluster.listen-address=', '--log.level=warn'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    alertmanager.stderr?.setEncoding('utf8').on('data', (d: string) => (alertmanagerLog += d));
    const am = alertmanager;
    alertmanagerExited = new Promise<void>((resolve) => am.once('exit', () => resolve()));
    await until('Alertmanager ready', 30_000, async () => {
      if (am.exitCode !== null) throw new Error(`alertmanager exited with ${am.exitCode}: ${alertmanagerLog}`);
      return fetch(`http://${bridge?.netnsAddress}:${AM_PORT}/-/ready`).then((r) => (r.ok ? true : undefined), () => undefined);
    });

    // Prometheus in the lab's node namespace: the chart's rules, the Operator's scrape config of
    // the chart's ServiceMonitor (every second), alerts to the Alertmanager.
    const ruleFile = path.join(workDir, 'chart-rules.yaml');
    await writeFile(ruleFile, JSON.stringify({ groups: ruleGroups }, null, 2));
    const scrape = operatorScrapeConfig(manifestOf(CHART, 'ServiceMonitor'), manifestOf(CHART, 'Service'), manifestOf(CHART, 'DaemonSet'), [
      { address: `127.0.0.1:${AGENT_PORT}`, pod: AGENT_POD, node: NODE },
      // The fixture node serves https (its own __scheme__; the chart's endpoint is http without tls).
      { address: `${srAddr}:${SRIOV_PORT}`, pod: 'multinet-agent-sriov', node: SRIOV_NODE, extra: { __scheme__: 'https' } },
    ], '1s');
    const config = {
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: [ruleFile],
      alerting: { alertmanagers: [{ static_configs: [{ targets: [`${bridge.netnsAddress}:${AM_PORT}`] }] }] },
      scrape_configs: [
        {
          ...scrape,
          // Only the target that serves https uses it (its __scheme__ label).
          tls_config: { ca_file: path.join(workDir, 'sriov-fixture.crt'), server_name: '127.0.0.1' },
        },
      ],
    };
    await writeFile(path.join(workDir, 'prometheus.yml'), JSON.stringify(config, null, 2));
    promUrl = `http://${bridge.netnsAddress}:${PROM_PORT}`;
    prometheus = spawn(
      'ip',
      ['netns', 'exec', NODE, 'prometheus', `--config.file=${path.join(workDir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(workDir, 'tsdb')}`, `--web.listen-address=${bridge.netnsAddress}:${PROM_PORT}`, '--log.level=warn'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    prometheus.stderr?.setEncoding('utf8').on('data', (d: string) => (prometheusLog += d));
    const child = prometheus;
    prometheusExited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await until('Prometheus ready', 30_000, async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${prometheusLog}`);
      return fetch(`${promUrl}/-/ready`).then((r) => (r.ok ? true : undefined), () => undefined);
    });

    // Prometheus hands targets to the scrapers a few seconds after it is ready: wait for them.
    await until('first scrape of both targets', 30_000, async () => ((await series('up{job="multinet-agent"} == 1').catch(() => [])).length === 2 ? true : undefined));

    // Real Events: a master down and up again (HostInterfaceNotReady, HostInterfaceReady).
    await ip('-n', NODE, 'link', 'set', 'eth1', 'down');
    await until('HostInterfaceNotReady at the API', 10_000, () => (server?.events().some((e) => e.reason === 'HostInterfaceNotReady') ? true : undefined));
    await ip('-n', NODE, 'link', 'set', 'eth1', 'up');
    await until('HostInterfaceReady at the API', 10_000, () => (server?.events().some((e) => e.reason === 'HostInterfaceReady') ? true : undefined));

    // Traffic while Prometheus scrapes: iperf3 on the data network, pings on the others.
    const traffic = await lab('traffic', '--seconds', '3');
    const trafficEnd = Date.now() / 1000;
    if (traffic.code !== 0) throw new Error(`lab traffic failed: ${traffic.out}`);
    console.log(traffic.out.trim());
    iperfBytes = Number(/iperf3 \S*data-network: .*, (\d+) bytes/.exec(traffic.out)?.[1] ?? 0);

    // Enough scrapes for the 10 s rate windows, the last ones after the traffic.
    await until('scrapes after the traffic', 60_000, async () => {
      const s = await series(`count_over_time(up{job="multinet-agent"}[15s]) >= 12 and timestamp(up{job="multinet-agent"}) > ${trafficEnd + 2}`).catch(() => []);
      return s.length === 2 ? true : undefined;
    });
    // Series the agent makes off the scrape path: leaks are judged once the kube cache has the
    // pods and the leases' holders have been read (every 10 s), routes are read every 10 s.
    await until('IPAM leak judgement and pod routes, recorded', 60_000, async () => {
      const leaked = await series(`node_network:multinet_ipam_addresses_leaked:sum{node="${NODE}"}`).catch(() => []);
      const routes = await series(`node_network:multinet_pod_interface_route_mismatch:sum{node="${NODE}"}`).catch(() => []);
      return leaked.length > 0 && routes.length > 0 ? true : undefined;
    });
    await until('every rule evaluated', 30_000, async () => {
      const res = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: { rules: { health: string }[] }[] } };
      return res.data.groups.flatMap((g) => g.rules).every((r) => r.health === 'ok') ? true : undefined;
    });
  }, 180_000);

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null && prometheus.signalCode === null) prometheus.kill('SIGTERM');
    await prometheusExited;
    if (alertmanager && alertmanager.exitCode === null && alertmanager.signalCode === null) alertmanager.kill('SIGTERM');
    await alertmanagerExited;
    await new Promise<void>((resolve) => (webhook ? webhook.close(() => resolve()) : resolve()));
    await agent?.stop();
    await sriovAgent?.stop();
    await server?.close();
    await bridge?.remove();
    if (sriovNsMade) deleteNetns(SRIOV_NS);
    await lab('down');
    if (workDir) await rm(workDir, { recursive: true, force: true });
  }, 120_000);

  it('scrapes both agents, unauthenticated, the fixture node over https', async () => {
    const up = await series('up{job="multinet-agent"}');
    expect(up.map((s) => [s.metric.node, s.value[1]]).sort()).toEqual([[NODE, '1'], [SRIOV_NODE, '1']].sort());
    const targets = (await (await fetch(`${promUrl}/api/v1/targets`)).json()) as { data: { activeTargets: { labels: Record<string, string>; scrapeUrl: string }[] } };
    expect(targets.data.activeTargets.find((t) => t.labels.node === SRIOV_NODE)?.scrapeUrl).toMatch(/^https:/);
    // What Prometheus scraped, scraped the same way by the test: each body holds the exposition invariant.
    expect((await scrapeInNetns(NODE, `${agent?.url}/metrics`)).status).toBe(200);
    expect((await scrapeInNetns(SRIOV_NS, `${sriovAgent?.url}/metrics`, { insecureTls: true })).status).toBe(200);
  });

  it('the serving certificate panel: the fixture node\'s certificate, days ahead', async () => {
    const left = (await value(expand(dashboard?.panels.find((p) => p.title === 'Serving certificate expires in')?.targets?.[0]?.expr ?? ''))) ?? 0;
    const expected = ((sriovCert?.notAfterMs ?? 0) - Date.now()) / 1000;
    expect(Math.abs(left - expected)).toBeLessThan(60);
    expect(left).toBeGreaterThan(89 * 86400);
  });

  it('labels every series as the Operator does, and keeps the workload\'s namespace and pod (honor_labels)', async () => {
    const targets = (await (await fetch(`${promUrl}/api/v1/targets`)).json()) as { data: { activeTargets: { labels: Record<string, string>; scrapePool: string }[] } };
    const agentTarget = targets.data.activeTargets.find((t) => t.labels.node === NODE);
    expect(agentTarget?.scrapePool).toBe('serviceMonitor/monitoring/multinet-agent/0');
    expect(agentTarget?.labels).toEqual({ job: 'multinet-agent', instance: `127.0.0.1:${AGENT_PORT}`, namespace: 'monitoring', pod: AGENT_POD, service: 'multinet-agent', endpoint: 'metrics', container: 'agent', node: NODE });
    // The agent's own and host series carry the agent pod's namespace and pod ...
    const ready = await series(`multinet_host_interface_ready{node="${NODE}"}`);
    expect(ready.length).toBe(3);
    expect(ready.every((s) => s.metric.namespace === 'monitoring' && s.metric.pod === AGENT_POD && s.metric.service === 'multinet-agent')).toBe(true);
    // ... pod series the workload's, never renamed exported_*.
    expect(await series('{__name__=~"multinet_.*", exported_namespace!=""}')).toEqual([]);
    expect(await series('{__name__=~"multinet_.*", exported_pod!=""}')).toEqual([]);
    const net1 = await series(`multinet_pod_interface_info{node="${NODE}", interface="net1", default="false"}`);
    const pods = await labPods(LAB);
    expect(net1.map((s) => `${s.metric.namespace}/${s.metric.pod}`).sort()).toEqual(pods.filter((p) => p.status.some((x) => x.interface === 'net1')).map((p) => `default/${p.name}`).sort());
    // Several pods share net1 on this node: the case that was many-to-many under the agent's own
    // namespace/pod. The pod rules evaluate and see every pod.
    expect(net1.length).toBeGreaterThan(1);
    const down = await query(unfiltered(rules.find((r) => r.alert === 'MultinetPodSecondaryInterfaceDown')?.expr ?? ''));
    expect(down.status, down.error).toBe('success');
    expect((down.data?.result ?? []).filter((s) => s.metric.interface === 'net1').length).toBe(net1.length);
    // Networks: namespace and name on every family that names one.
    const required = await series(`multinet_host_interface_required{node="${NODE}"}`);
    expect(required.map((s) => `${s.metric.interface} ${s.metric.network_namespace}/${s.metric.network}`).sort()).toEqual(['eth1 default/mgmt-network', 'eth2 default/data-network', 'eth3 default/storage-network']);
  });

  it('loads exactly the rules the chart ships and evaluates each without error', async () => {
    const res = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] } };
    const loaded = res.data.groups.flatMap((g) => g.rules);
    expect(loaded.map((r) => r.name).sort()).toEqual(rules.map((r) => r.alert ?? r.record).sort());
    expect(loaded.filter((r) => r.health !== 'ok' || r.lastError)).toEqual([]);
  });

  it('every recording rule returns series', async () => {
    const empty: string[] = [];
    for (const r of rules.filter((x) => x.record)) if ((await series(r.record as string)).length === 0) empty.push(r.record as string);
    expect(empty).toEqual([]);
  });

  it('every alert expression parses, and without its filters returns series', async () => {
    const problems: string[] = [];
    for (const r of rules.filter((x) => x.alert)) {
      const asWritten = await query(r.expr);
      if (asWritten.status !== 'success') problems.push(`${r.alert}: ${asWritten.error}`);
      const open = unfiltered(r.expr);
      expect(open).not.toBe(r.expr);
      if ((await series(open)).length === 0) problems.push(`${r.alert}: no series for ${open}`);
    }
    expect(problems).toEqual([]);
  });

  it('the healthy lab (and the fixture node) trips none of the alerts but the invalid annotation it has on purpose', async () => {
    const firing: string[] = [];
    for (const r of rules.filter((x) => x.alert)) if ((await series(r.expr)).length > 0) firing.push(r.alert as string);
    expect(firing).toEqual(['MultinetPodNetworkAnnotationInvalid']);
    const invalid = await series(rules.find((r) => r.alert === 'MultinetPodNetworkAnnotationInvalid')?.expr ?? '');
    expect(invalid.map((s) => `${s.metric.namespace}/${s.metric.pod} ${s.metric.annotation}`)).toEqual(['default/broken-annotation k8s.v1.cni.cncf.io/networks']);
  });

  it('every dashboard query parses and returns data', async () => {
    const problems: string[] = [];
    let n = 0;
    for (const p of dashboard?.panels ?? []) {
      for (const t of p.targets ?? []) {
        n++;
        const r = await query(expand(t.expr));
        if (r.status !== 'success') problems.push(`${p.title} ${t.refId}: ${r.error}`);
        else if ((r.data?.result ?? []).length === 0) problems.push(`${p.title} ${t.refId}: no data for ${expand(t.expr)}`);
      }
    }
    expect(problems).toEqual([]);
    expect(n).toBeGreaterThan(30);
  });

  it('the dashboard variables list the nodes and networks', async () => {
    const values: Record<string, string[]> = {};
    for (const v of (dashboard?.templating.list ?? []).filter((x) => x.type === 'query')) {
      const q = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
      const m = /^label_values\((.+),\s*(\w+)\)$/.exec(q);
      if (!m) throw new Error(`${v.name}: not label_values(expr, label): ${q}`);
      values[v.name] = [...new Set((await series(expand(m[1] as string))).map((s) => s.metric[m[2] as string] ?? ''))].sort();
    }
    // label_values lists non-empty values; no cluster label on this Prometheus: none, and All
    // (".*") still matches every series.
    for (const k of Object.keys(values)) values[k] = (values[k] ?? []).filter((v) => v !== '');
    expect(values).toEqual({ cluster: [], node: [NODE, SRIOV_NODE].sort(), namespace: ['default'], network_namespace: ['default'], network: ['data-network', 'mgmt-network', 'storage-network'] });
  });

  it('the overview numbers are the lab: 5 healthy pods of 5, 3 host interfaces ready, traffic on the data network', async () => {
    expect(await value(`node:multinet_pods_with_secondary_networks:count{node="${NODE}"}`)).toBe(5);
    expect(await value(`node:multinet_pods_with_secondary_networks_healthy:sum{node="${NODE}"}`)).toBe(5);
    expect(await value(`node:multinet_pods_with_secondary_networks_unhealthy:sum{node="${NODE}"}`)).toBe(0);
    expect(await value(`node:multinet_host_interfaces_required:count{node="${NODE}"}`)).toBe(3);
    expect(await value(`node:multinet_host_interfaces_not_ready:sum{node="${NODE}"}`)).toBe(0);
    expect(await value(`sum(node_network:multinet_pod_network_attachment_missing:sum{node="${NODE}"})`)).toBe(0);
    // What iperf3 moved on the data network (its receiver's byte count) arrived in the pods'
    // interfaces inside the 5-minute window: rate5m x 300 s is what the window saw (headers
    // included, so at least the payload). The management network carried only pings.
    const data = (await value(`node_network:multinet_pod_interface_receive_bytes:rate5m{node="${NODE}", network="data-network"}`)) ?? 0;
    const mgmt = (await value(`node_network:multinet_pod_interface_receive_bytes:rate5m{node="${NODE}", network="mgmt-network"}`)) ?? 0;
    expect(iperfBytes).toBeGreaterThan(0);
    expect(data * 300).toBeGreaterThanOrEqual(iperfBytes);
    expect(data).toBeGreaterThan(10 * mgmt);
    // Each master's traffic class, from the NAD label through the saturation join.
    const classes = await series(`max by (interface, traffic_class) (multinet_host_interface_required * on (job, instance, network_namespace, network) group_left (traffic_class) multinet_network_attachment_definition_info)`);
    expect(classes.map((s) => `${s.metric.interface}=${s.metric.traffic_class}`).sort()).toEqual(['eth1=management', 'eth2=data', 'eth3=storage']);
    expect((await series(`multinet_pod_network_annotation_invalid{node="${NODE}"}`)).map((s) => s.metric.pod)).toEqual(['broken-annotation']);
    expect((await series(`multinet_events_total{node="${NODE}"}`)).map((s) => s.metric.reason).sort()).toEqual(expect.arrayContaining(['HostInterfaceNotReady', 'HostInterfaceReady']));
  });

  it('SR-IOV VF use comes from the fixture node: allocated, enabled and supported per PF', async () => {
    const perPf = async (record: string): Promise<Record<string, number>> =>
      Object.fromEntries((await series(`${record}{node="${SRIOV_NODE}"}`)).map((s) => [s.metric.pf as string, Number(s.value[1])]));
    expect(await perPf('node_pf:multinet_sriov_pf_vfs:max')).toEqual({ ens1f0: 4, '0000:3b:00.1': 0, ens2f0: 2, ens2f1: 0, ens3f0np0: 2, ib0: 2 });
    expect(await perPf('node_pf:multinet_sriov_pf_max_vfs:max')).toEqual({ ens1f0: 128, '0000:3b:00.1': 128, ens2f0: 64, ens2f1: 64, ens3f0np0: 8, ib0: 16 });
    // No kubelet on the fixture node: no VF is held by a pod, and the rule says 0, not nothing.
    expect(await perPf('node_pf:multinet_sriov_vfs_allocated:count')).toEqual({ ens1f0: 0, '0000:3b:00.1': 0, ens2f0: 0, ens2f1: 0, ens3f0np0: 0, ib0: 0 });
  });

  /** A dashboard query by panel title and refId, as Grafana sends it with the defaults. */
  const panelQuery = (title: string, refId = 'A'): string => {
    const t = dashboard?.panels.find((p) => p.title === title)?.targets?.find((x) => x.refId === refId);
    if (!t) throw new Error(`no panel ${title} ${refId}`);
    return expand(t.expr);
  };
  const panelValue = async (title: string, refId = 'A'): Promise<number | undefined> => value(panelQuery(title, refId));
  /** Samples of the series the given alert's expression (as written, without `for`) returns. */
  const alerting = async (name: string): Promise<Record<string, string>[]> => {
    const r = rules.find((x) => x.alert === name);
    if (!r) throw new Error(`no alert ${name}`);
    return (await series(r.expr)).map((s) => s.metric);
  };

  it('the network policy and IPAM row on the correct seed: one policy, enforced, no violation, no route mismatch, no leak', async () => {
    expect(await panelValue('Network policies', 'A')).toBe(1);
    expect(await panelValue('Network policies', 'B')).toBe(1);
    expect(await panelValue('Policy violations now')).toBe(0);
    expect(await panelValue('Policy violations (24h)')).toBe(0);
    expect(await panelValue('Route mismatches')).toBe(0);
    // Judged (a number, not "no data"), and none.
    expect(await panelValue('Leaked IPAM addresses')).toBe(0);
    // Every storage attachment is checked against the policy; every secondary interface of a pod
    // with a process has its routes checked.
    const pods = await labPods(LAB);
    const policy = await series(panelQuery('Attachments against their network\'s policy'));
    expect(policy.map((s) => `${s.metric.pod} ${s.metric.interface} ${s.value[1]}`).sort()).toEqual(
      pods.flatMap((p) => p.status.filter((x) => x.name === 'default/storage-network').map((x) => `${p.name} ${x.interface} 0`)).sort(),
    );
    // (A pod whose namespace ran iperf3 for `lab traffic` had a process too, for a while.)
    const routes = await series(panelQuery('Routes of pod secondary interfaces'));
    expect(routes.map((s) => `${s.metric.pod} ${s.metric.interface} ${s.value[1]}`)).toEqual(
      expect.arrayContaining(pods.filter((p) => p.pid !== undefined).flatMap((p) => p.status.filter((x) => x.name !== 'cbr0').map((x) => `${p.name} ${x.interface} 0`))),
    );
    expect(routes.filter((s) => s.value[1] !== '0')).toEqual([]);
    const use = Object.fromEntries((await series(panelQuery('IPAM range use'))).filter((s) => s.metric.node === NODE).map((s) => [`${s.metric.network} ${s.metric.range}`, Math.round(Number(s.value[1]) * 1000)]));
    expect(use).toEqual({
      'mgmt-network 10.10.0.100-10.10.0.200': Math.round((1 / 101) * 1000),
      'data-network 10.20.0.100-10.20.0.200': Math.round((4 / 101) * 1000),
      'storage-network 10.30.0.100-10.30.0.200': Math.round((5 / 101) * 1000),
      'tiny-network 10.40.0.2-10.40.0.4': 0,
    });
    expect((await series(panelQuery('IPAM ranges', 'C'))).filter((s) => s.metric.node === NODE).map((s) => s.value[1])).toEqual(['0', '0', '0', '0']);
  });

  it('issue 7\'s faults on the lab reach the alerts and the panels: a pod against the policy, a route via eth0, leaked leases, a range filled', async () => {
    // A pod of the wrong layer on the storage network (the NAD allows database adapters only).
    const add = await lab('pod', 'add', '--pod', 'rogue', '--networks', 'storage-network@net2', '--labels', 'app=order-service');
    expect(add.code, add.out).toBe(0);
    // The tiny range filled by the real host-local: three pods, the fourth refused.
    for (const i of [0, 1, 2]) {
      const r = await lab('pod', 'add', '--pod', `tiny-${i}`, '--networks', 'tiny-network@net1', '--labels', 'app=tiny', '--process', 'no');
      expect(r.code, r.out).toBe(0);
    }
    expect((await lab('pod', 'add', '--pod', 'tiny-3', '--networks', 'tiny-network@net1', '--process', 'no')).out).toContain('no IP addresses available in range set');
    // A sandbox lost without CNI DEL: its leases stay, aged past the 2 minute leak grace.
    const victim = (await labPods(LAB)).find((p) => p.pid === undefined && p.name.startsWith('order-service-')) as LabPodState;
    const del = await lab('pod', 'del', '--pod', victim.name, '--cni-del', 'no');
    expect(del.code, del.out).toBe(0);
    server?.delete('pods', 'default', victim.name);
    const old = new Date(Date.now() - 10 * 60_000);
    for (const net of ['data-network', 'storage-network']) {
      for (const f of await readdir(path.join(LAB_DIR, 'ipam', net))) {
        const file = path.join(LAB_DIR, 'ipam', net, f);
        if ((await readFile(file, 'latin1')).startsWith(victim.containerId)) await utimes(file, old, old);
      }
    }
    const manifests = JSON.parse(await readFile(path.join(LAB_DIR, 'manifests', 'pods.json'), 'utf8')) as { items: KubeObject[] };
    for (const p of manifests.items) if (!server?.get('pods', 'default', String(p.metadata.name))) server?.create('pods', p);
    // The storage subnet routed out of eth0 inside hexagonal-app (whose net3 is on storage).
    const hex = (await labPods(LAB)).find((p) => p.name === 'hexagonal-app') as LabPodState;
    await ip('-n', hex.netns, 'route', 'replace', '10.30.0.0/24', 'dev', 'eth0');

    // Each alert's expression as Prometheus evaluates it, and the rule engine's pending alert.
    const pending = async (name: string, labels: Record<string, string>): Promise<true | undefined> => {
      const sel = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(', ');
      return (await series(`ALERTS{alertname="${name}", alertstate=~"pending|firing", ${sel}}`)).length > 0 ? true : undefined;
    };
    await until('policy violation pending', 30_000, () => pending('MultinetPodNetworkPolicyViolation', { pod: 'rogue' }));
    await until('route mismatch pending', 30_000, () => pending('MultinetPodRouteMismatch', { pod: 'hexagonal-app' }));
    await until('leak pending', 30_000, () => pending('MultinetIpamAddressesLeaked', { network: 'storage-network' }));
    await until('range exhausted pending', 30_000, () => pending('MultinetIpamRangeExhausted', { network: 'tiny-network' }));
    const pick = (m: Record<string, string>[], ...keys: string[]): string[] => m.map((x) => keys.map((k) => x[k]).join(' ')).sort();
    expect(pick(await alerting('MultinetPodNetworkPolicyViolation'), 'node', 'namespace', 'pod', 'network', 'interface')).toEqual([`${NODE} default rogue storage-network net2`]);
    expect(pick(await alerting('MultinetPodRouteMismatch'), 'node', 'pod', 'network', 'interface')).toEqual([`${NODE} hexagonal-app storage-network net3`]);
    expect(pick(await alerting('MultinetIpamAddressesLeaked'), 'node', 'network')).toEqual([`${NODE} data-network`, `${NODE} storage-network`]);
    expect(pick(await alerting('MultinetIpamRangeExhausted'), 'node', 'network', 'range')).toEqual([`${NODE} tiny-network 10.40.0.2-10.40.0.4`]);
    expect(pick(await alerting('MultinetIpamRangeNearlyFull'), 'node', 'network')).toEqual([`${NODE} tiny-network`]);

    // The panels count them.
    expect(await panelValue('Policy violations now')).toBe(1);
    expect(await panelValue('Policy violations (24h)')).toBe(1);
    expect(await panelValue('Route mismatches')).toBe(1);
    await until('leaks recorded', 10_000, async () => ((await panelValue('Leaked IPAM addresses')) === 2 ? true : undefined));
    const use = await series(panelQuery('IPAM range use'));
    expect(use.filter((s) => s.metric.network === 'tiny-network').map((s) => s.value[1])).toEqual(['1']);

    // Put the route back: the mismatch clears and the 24 h count still remembers the violation.
    const net3 = hex.status.find((x) => x.interface === 'net3')?.ips[0] as string;
    await ip('-n', hex.netns, 'route', 'replace', '10.30.0.0/24', 'dev', 'net3', 'proto', 'kernel', 'scope', 'link', 'src', net3);
    await until('route mismatch cleared', 30_000, async () => ((await panelValue('Route mismatches')) === 0 ? true : undefined));
  }, 180_000);

  it('a master down: Alertmanager notifies the host-interface alert, and inhibits the pod alerts it causes', async () => {
    const seen = notified.length;
    const amAlerts = async (): Promise<{ labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } }[]> =>
      (await (await fetch(`http://${bridge?.netnsAddress}:${AM_PORT}/api/v2/alerts?active=true&inhibited=true&silenced=true`)).json()) as { labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } }[];
    const firing = (name: string): Promise<Series[]> => series(`ALERTS{alertname="${name}", alertstate="firing", host_interface="eth2"}`);
    await ip('-n', NODE, 'link', 'set', 'eth2', 'down');
    try {
      // Prometheus fires both, with the chart's default `for` (1 m for the host, 2 m for the pods):
      // one pod alert per data-network interface on eth2.
      await until('host and pod alerts firing', 200_000, async () => ((await firing('MultinetHostInterfaceNotReady')).length === 1 && (await firing('MultinetPodSecondaryInterfaceDown')).length > 0 ? true : undefined));
      const podAlerts = await firing('MultinetPodSecondaryInterfaceDown');
      const pods = await labPods(LAB);
      expect(podAlerts.map((a) => `${a.metric.pod} ${a.metric.interface}`).sort()).toEqual(
        pods.flatMap((p) => p.status.filter((x) => x.name === 'default/data-network').map((x) => `${p.name} ${x.interface}`)).sort(),
      );
      // Alertmanager has received them all: the host alert active, every pod alert suppressed by it.
      const received = await until('Alertmanager has every pod alert', 30_000, async () => {
        const a = await amAlerts();
        return a.filter((x) => x.labels.alertname === 'MultinetPodSecondaryInterfaceDown' && x.labels.host_interface === 'eth2').length === podAlerts.length ? a : undefined;
      });
      const host = received.filter((x) => x.labels.alertname === 'MultinetHostInterfaceNotReady' && x.labels.host_interface === 'eth2');
      expect(host.map((x) => x.status.state)).toEqual(['active']);
      const inhibited = received.filter((x) => x.labels.alertname === 'MultinetPodSecondaryInterfaceDown' && x.labels.host_interface === 'eth2');
      expect(inhibited.map((x) => [x.status.state, x.status.inhibitedBy.length])).toEqual(inhibited.map(() => ['suppressed', 1]));
      // The webhook is notified of the host alert, and of no pod alert (group_wait and
      // group_interval are 1 s: give it several).
      await until('host alert notified', 30_000, () => (notified.slice(seen).some((n) => n.labels.alertname === 'MultinetHostInterfaceNotReady' && n.labels.host_interface === 'eth2') ? true : undefined));
      await new Promise((r) => setTimeout(r, 5000));
      expect([...new Set(notified.slice(seen).filter((n) => n.labels.host_interface === 'eth2').map((n) => n.labels.alertname))]).toEqual(['MultinetHostInterfaceNotReady']);
    } finally {
      await ip('-n', NODE, 'link', 'set', 'eth2', 'up');
    }
  }, 300_000);
});
