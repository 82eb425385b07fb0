import { describe, expect, it } from 'vitest';
import { DEFAULT_PORT, parseArgs, parseDuration, parseListenAddress, usage } from './cli.js';

function run(argv: string[], env: Record<string, string> = {}) {
  const c = parseArgs(argv, env);
  if (c.kind !== 'run') throw new Error(`expected run, got ${c.kind}`);
  return c.config;
}

describe('parseArgs', () => {
  it('defaults', () => {
    expect(run([])).toEqual({
      listenHost: '::',
      listenPort: DEFAULT_PORT,
      sysfsRoot: '/sys',
      procfsRoot: '/proc',
      logLevel: 'info',
      sysfsEnabled: true,
      netnsDir: '/run/netns',
      netnsEnabled: true,
      sriovEnabled: true,
      podResourcesEnabled: true,
      podResourcesDir: '/var/lib/kubelet/pod-resources',
      manifests: [],
      nodeName: undefined,
      kubeconfig: undefined,
      nodeCondition: false,
      collectorTimeoutMs: 2000,
      webAuth: 'none',
      webAuthCacheTtlMs: 120_000,
      webAuthDeniedCacheTtlMs: 10_000,
      webTls: undefined,
      criSocket: undefined,
      ipamDir: '/var/lib/cni/networks',
      ipamEnabled: true,
      ipamLeakGraceMs: 120_000,
      exportFilter: {
        hostInterfaces: 'default',
        hostInterface: { include: undefined, exclude: undefined },
        network: { include: undefined, exclude: undefined },
        trafficClass: { include: undefined, exclude: undefined },
        namespace: { include: undefined, exclude: undefined },
        podSeries: 'per-pod',
        seriesLimit: 50_000,
      },
      webLimits: { headerTimeoutMs: 10_000, requestTimeoutMs: 30_000, writeTimeoutMs: 60_000, maxConnections: 64, maxBufferedBytes: 64 * 1024 ** 2 },
      manifestLimits: { maxFileBytes: 4 * 1024 ** 2, maxTotalBytes: 64 * 1024 ** 2, maxFiles: 10_000 },
    });
  });

  it('IPAM: the host-local data directory, the switch and the leak grace period', () => {
    expect(run(['--path.ipam=/host/var/lib/cni/networks', '--no-collector.ipam', '--collector.ipam.leak-grace=30s'])).toMatchObject({
      ipamDir: '/host/var/lib/cni/networks',
      ipamEnabled: false,
      ipamLeakGraceMs: 30_000,
    });
    expect(() => run(['--path.ipam='])).toThrow('--path.ipam: must not be empty');
    expect(() => run(['--collector.ipam.leak-grace=soon'])).toThrow('--collector.ipam.leak-grace: "soon" is not a duration');
  });

  it('takes `run`, --flag=value and --flag value', () => {
    expect(run(['run', '--web.listen-address=127.0.0.1:9100', '--path.sysfs', '/host/sys', '--log.level=debug', '--no-collector.sysfs', '--collector.timeout=250ms'])).toMatchObject({
      listenHost: '127.0.0.1',
      listenPort: 9100,
      sysfsRoot: '/host/sys',
      logLevel: 'debug',
      sysfsEnabled: false,
      collectorTimeoutMs: 250,
    });
  });

  it('keeps every --manifests', () => {
    expect(run(['--manifests=a.yaml', '--manifests', 'dir/', '--path.netns=/var/run/netns', '--no-collector.netns'])).toMatchObject({
      manifests: ['a.yaml', 'dir/'],
      netnsDir: '/var/run/netns',
      netnsEnabled: false,
    });
  });

  it('takes the node name from --node-name, else $NODE_NAME', () => {
    expect(run([], { NODE_NAME: 'worker-3' }).nodeName).toBe('worker-3');
    expect(run(['--node-name=worker-4'], { NODE_NAME: 'worker-3' }).nodeName).toBe('worker-4');
  });

  it('answers --help and --version', () => {
    expect(parseArgs(['--help']).kind).toBe('help');
    expect(parseArgs(['--version']).kind).toBe('version');
    expect(usage()).toContain('--web.listen-address');
  });

  it.each([
    [['--bogus'], 'unknown flag --bogus'],
    [['frobnicate'], 'unknown command "frobnicate"'],
    [['--log.level=loud'], '--log.level: "loud" is not one of debug, info, warn, error'],
    [['--web.listen-address=9100'], '--web.listen-address: "9100" is not HOST:PORT'],
    [['--web.listen-address=:99999'], '--web.listen-address: ":99999" is not HOST:PORT'],
    [['--path.sysfs'], '--path.sysfs needs a value'],
    [['--path.sysfs='], '--path.sysfs: must not be empty'],
    [['--version=yes'], '--version takes no value'],
    [['--no-path.sysfs'], '--no-path.sysfs: --path.sysfs is not a switch'],
    [['--collector.timeout=soon'], '--collector.timeout: "soon" is not a duration'],
    [['stray'], 'unknown command "stray"'],
    [['lab', 'up'], 'lab is not part of the agent: from a source checkout, run npm run lab -- up'],
    [['run', 'stray'], 'unexpected argument "stray"'],
  ])('refuses %j naming the flag', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(message);
  });
});

describe('parseArgs: /metrics protection (--web.auth, --web.tls.*)', () => {
  const inPod = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

  it('takes --web.auth=kube in a pod or with --kubeconfig, and the cache TTLs', () => {
    expect(run(['--web.auth=kube'], inPod)).toMatchObject({ webAuth: 'kube', webAuthCacheTtlMs: 120_000, webAuthDeniedCacheTtlMs: 10_000 });
    expect(run(['--web.auth', 'kube', '--kubeconfig=/etc/kube.conf', '--web.auth.cache-ttl=30s', '--web.auth.denied-cache-ttl=500ms'], {})).toMatchObject({
      webAuth: 'kube',
      kubeconfig: '/etc/kube.conf',
      webAuthCacheTtlMs: 30_000,
      webAuthDeniedCacheTtlMs: 500,
    });
  });

  it('takes a certificate and key together', () => {
    expect(run(['--web.tls.cert-file=/tls/tls.crt', '--web.tls.key-file=/tls/tls.key']).webTls).toEqual({ certFile: '/tls/tls.crt', keyFile: '/tls/tls.key' });
  });

  it.each([
    [['--web.auth=oidc'], '--web.auth: "oidc" is not one of none, kube'],
    [['--web.auth=kube'], '--web.auth=kube needs the kube API: give --kubeconfig=FILE, or run in a pod (KUBERNETES_SERVICE_HOST is unset)'],
    [['--web.auth=kube', '--kubeconfig='], '--web.auth=kube needs the kube API'],
    [['--web.auth.cache-ttl=forever'], '--web.auth.cache-ttl: "forever" is not a duration'],
    [['--web.auth.denied-cache-ttl=0s'], '--web.auth.denied-cache-ttl: must be greater than zero'],
    [['--web.tls.cert-file=/tls/tls.crt'], '--web.tls.cert-file needs --web.tls.key-file too'],
    [['--web.tls.key-file=/tls/tls.key'], '--web.tls.key-file needs --web.tls.cert-file too'],
    [['--web.tls.cert-file=', '--web.tls.key-file=/k'], '--web.tls.cert-file: must not be empty'],
  ])('refuses %j naming the flag', (argv, message) => {
    expect(() => parseArgs(argv, {})).toThrow(message);
  });
});

describe('--cri.endpoint', () => {
  it.each([
    ['unix:///run/containerd/containerd.sock', '/run/containerd/containerd.sock'],
    ['unix:///var/run/crio/crio.sock', '/var/run/crio/crio.sock'],
    ['/run/k3s/containerd/containerd.sock', '/run/k3s/containerd/containerd.sock'],
  ])('takes %s as the socket %s', (value, socket) => {
    expect(run([`--cri.endpoint=${value}`]).criSocket).toBe(socket);
    expect(run(['--cri.endpoint', value]).criSocket).toBe(socket);
  });

  it.each(['tcp://127.0.0.1:10010', 'unix://run/containerd.sock', 'containerd.sock', 'npipe:////./pipe/containerd-containerd', '', 'unix://'])('refuses %j as a usage error naming the flag', (value) => {
    expect(() => parseArgs([`--cri.endpoint=${value}`])).toThrow(`--cri.endpoint: "${value}" is not a unix socket`);
  });

  it('is listed in --help with its off-by-default reason', () => {
    expect(usage()).toMatch(/--cri\.endpoint=unix:\/\/\/PATH\s+Ask the container runtime \(CRI\).*a runtime socket is root on the host/);
  });
});

describe('parseListenAddress', () => {
  it.each([
    [':9739', { host: '::', port: 9739 }],
    ['0.0.0.0:1', { host: '0.0.0.0', port: 1 }],
    ['[::1]:9739', { host: '::1', port: 9739 }],
    ['localhost:80', { host: 'localhost', port: 80 }],
  ])('%s', (value, want) => {
    expect(parseListenAddress(value)).toEqual(want);
  });
});

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['2s', 2000],
    ['1.5s', 1500],
    ['1m', 60_000],
  ])('%s', (value, ms) => {
    expect(parseDuration('x', value)).toBe(ms);
  });

  it('refuses zero', () => {
    expect(() => parseDuration('x', '0s')).toThrow('greater than zero');
  });
});

describe('filter flags', () => {
  it('compile anchored regexes and read the modes and the limit', () => {
    const f = run([
      '--host.interfaces=all',
      '--host.interface-include=eth[0-9]+|bond.*',
      '--host.interface-exclude=eth9',
      '--network.include=prod/.*',
      '--network.exclude=prod/legacy',
      '--network.traffic-class-include=data|storage',
      '--namespace.exclude=kube-system|',
      '--pod.series=per-network',
      '--metrics.series-limit=0',
    ]).exportFilter;
    expect([f.hostInterfaces, f.podSeries, f.seriesLimit]).toEqual(['all', 'per-network', 0]);
    expect(['eth1', 'eth12', 'bond0.100', 'veth1', 'xeth1'].map((n) => f.hostInterface.include?.test(n))).toEqual([true, true, true, false, false]);
    expect(f.hostInterface.exclude?.test('eth9')).toBe(true);
    expect(['prod/data', 'prod/legacy', 'dev/data'].map((n) => f.network.include?.test(n))).toEqual([true, true, false]);
    expect(f.trafficClass.include?.test('storage')).toBe(true);
    expect(f.trafficClass.exclude).toBeUndefined();
    expect(['kube-system', '', 'default'].map((n) => f.namespace.exclude?.test(n))).toEqual([true, true, false]);
  });

  it.each([
    [['--host.interface-include=eth[0-'], /^--host\.interface-include: "eth\[0-" is not a regular expression \(.+\)$/],
    [['--network.exclude=(a'], /^--network\.exclude: "\(a" is not a regular expression/],
    [['--namespace.include', '*'], /^--namespace\.include: "\*" is not a regular expression/],
    [['--host.interfaces=some'], /^--host\.interfaces: "some" is not one of default, all$/],
    [['--pod.series=per-node'], /^--pod\.series: "per-node" is not one of per-pod, per-network$/],
    [['--metrics.series-limit=-1'], /^--metrics\.series-limit: "-1" is not a whole number \(0 for no limit\)$/],
    [['--metrics.series-limit=lots'], /^--metrics\.series-limit: "lots" is not a whole number/],
  ])('%j is refused with one line naming the flag', (argv, message) => {
    expect(() => parseArgs(argv, {})).toThrow(message);
    try {
      parseArgs(argv, {});
    } catch (err) {
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('are listed in --help', () => {
    for (const flag of ['host.interfaces', 'host.interface-include', 'host.interface-exclude', 'network.include', 'network.exclude', 'network.traffic-class-include', 'network.traffic-class-exclude', 'namespace.include', 'namespace.exclude', 'pod.series', 'metrics.series-limit']) {
      expect(usage()).toContain(`--${flag}=`);
    }
  });
});

describe('the built executable', () => {
  it('exits 2 with one line on a bad filter regex', async () => {
    const { spawnSync } = await import('node:child_process');
    const { AGENT_BIN } = await import('../../test/support/agent-process.js');
    const r = spawnSync(process.execPath, [AGENT_BIN, '--network.include=(data'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^multinet-agent: --network\.include: "\(data" is not a regular expression \([^\n]+\)\n$/);
  });
});
