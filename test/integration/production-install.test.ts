/**
 * What the image relies on, without a Docker engine: what ships is package.json's `files`, packed
 * by `npm pack` and unpacked into a fresh directory (as the Dockerfile does), plus the production
 * dependencies alone (`npm ci --omit=dev --ignore-scripts`); the agent runs from there. The lab
 * and the tests are not in it. It is started from that copy against the kube API test server
 * (so the agent's kube client and yaml, for the kubeconfig, are loaded; @kubernetes/client-node,
 * a devDependency, must not be installed) and a kubelet PodResources test server in its
 * pod-resources directory (so the agent's own gRPC client and codecs run; @grpc/grpc-js and
 * @grpc/proto-loader, devDependencies for the test servers, must not be installed), and scraped
 * once: a runtime dependency that is only a devDependency, or a file the image would lack, fails here.
 *
 * Needs the npm registry (or npm's cache, --prefer-offline). Unreachable: a failure in CI
 * (CI=true), otherwise skipped with one warning line. No root needed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_AGENT_ENV, DEFAULT_AGENT_NODE_FLAGS } from '../bench/exporters.js';
import { KubeApiServer } from '../support/kube-api-server.js';
import { PodResourcesServer } from '../support/podresources-server.js';
import { scrapeUrl } from '../support/scrape.js';

const ROOT = new URL('../../', import.meta.url).pathname;
/** What package.json says ships: the one list the Dockerfile (npm pack) and this test use. */
const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
const NODE_NAME = 'prod-install-node';
/** npm's words for a registry it cannot reach. */
const NETWORK_ERROR = /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH)\b|network (request|connectivity)/;

function run(cmd: string, args: readonly string[], cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out }));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe('production-only install', () => {
  let dir: string | undefined;
  let server: KubeApiServer | undefined;
  let kubelet: PodResourcesServer | undefined;
  let agent: ChildProcess | undefined;
  let log = '';
  let unreachable: string | undefined;
  let shipped: string[] = [];

  beforeAll(async () => {
    if (!existsSync(path.join(ROOT, 'dist/agent/app/bin.js'))) throw new Error('dist/agent/app/bin.js missing: build first (npm test does)');
    dir = await mkdtemp(path.join(tmpdir(), 'mna-prod-'));
    // As the Dockerfile: npm pack (the built tree is there already: no prepare), unpacked, plus the lock npm ci needs.
    const pack = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], ROOT);
    if (pack.code !== 0) throw new Error(`npm pack failed (${pack.code}):\n${pack.out}`);
    const packed = (JSON.parse(pack.out.slice(pack.out.indexOf('['))) as { filename: string; files: { path: string }[] }[])[0];
    if (!packed) throw new Error(`npm pack said nothing:\n${pack.out}`);
    shipped = packed.files.map((f) => f.path);
    const tar = await run('tar', ['-xzf', path.join(dir, packed.filename), '--strip-components=1', '-C', dir], dir);
    if (tar.code !== 0) throw new Error(`tar failed (${tar.code}):\n${tar.out}`);
    await copyFile(path.join(ROOT, 'package-lock.json'), path.join(dir, 'package-lock.json'));
    const npm = await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], dir);
    if (npm.code !== 0) {
      if (NETWORK_ERROR.test(npm.out)) {
        unreachable = npm.out.trim().split('\n').find((l) => NETWORK_ERROR.test(l)) ?? 'npm registry unreachable';
        return;
      }
      throw new Error(`npm ci --omit=dev failed (${npm.code}):\n${npm.out}`);
    }
  }, 300_000);

  afterAll(async () => {
    if (agent && agent.exitCode === null && agent.signalCode === null) {
      const exited = new Promise((r) => agent?.once('exit', r));
      agent.kill('SIGTERM');
      await exited;
    }
    await server?.close();
    await kubelet?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("ships exactly package.json's files: the agent, its collectors and exporters; not the lab, not tests, no .proto (the codecs are compiled in)", () => {
    const under = (p: string): boolean => pkg.files.some((f) => p === f || p.startsWith(`${f}/`));
    // npm adds package.json and the README to every package.
    expect(shipped.filter((p) => !under(p))).toEqual(['README.md', 'package.json']);
    for (const f of pkg.files) expect(shipped.some((p) => p === f || p.startsWith(`${f}/`)), f).toBe(true);
    expect(shipped.filter((p) => p.endsWith('.proto'))).toEqual([]);
    expect(shipped).toContain('dist/agent/app/bin.js');
    expect(shipped.filter((p) => p.startsWith('dist/lab/') || p.startsWith('lab/') || /\.test\.js$/.test(p) || p.startsWith('dist/test/'))).toEqual([]);
    expect(existsSync(path.join(dir as string, 'dist/lab')), 'dist/lab unpacked').toBe(false);
  });

  it('runs the agent from the copy and serves /metrics', async (ctx) => {
    if (unreachable !== undefined) {
      if (process.env.CI === 'true') throw new Error(`npm registry unreachable in CI: ${unreachable}`);
      process.stderr.write(`production-install: skipped, npm registry unreachable (${unreachable})\n`);
      ctx.skip();
    }
    const copy = dir as string;
    expect(existsSync(path.join(copy, 'node_modules/typescript')), 'a devDependency was installed').toBe(false);
    expect(existsSync(path.join(copy, 'node_modules/vitest')), 'a devDependency was installed').toBe(false);
    expect(existsSync(path.join(copy, 'node_modules/@kubernetes/client-node')), 'client-node is a devDependency: the product has its own kube client').toBe(false);
    expect(existsSync(path.join(copy, 'node_modules/@grpc')), 'grpc-js and proto-loader are devDependencies: the product has its own gRPC client').toBe(false);
    expect(existsSync(path.join(copy, 'node_modules/netlink/prebuilds/linux-x64')), 'netlink prebuilt N-API binary').toBe(true);

    server = await KubeApiServer.start({ host: '127.0.0.1' });
    const kubeconfig = path.join(copy, 'kubeconfig');
    await server.writeKubeconfig(kubeconfig);
    const podResources = path.join(copy, 'pod-resources');
    await mkdir(podResources);
    kubelet = await PodResourcesServer.start(podResources);
    kubelet.pods = [{ name: 'cnf-a', namespace: 'telco', containers: [{ name: 'app', devices: [{ resource_name: 'intel.com/intel_sriov_netdevice', device_ids: ['0000:3b:02.1'] }] }] }];
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        ...DEFAULT_AGENT_NODE_FLAGS,
        path.join(copy, 'dist/agent/app/bin.js'),
        `--web.listen-address=127.0.0.1:${port}`,
        `--kubeconfig=${kubeconfig}`,
        `--path.podresources=${podResources}`,
        '--no-collector.netns',
        '--host.interfaces=all',
        '--log.level=debug',
      ],
      { cwd: copy, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...DEFAULT_AGENT_ENV, NODE_NAME, NODE_ENV: 'production' } },
    );
    agent = child;
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (log += d));

    // Ready: a snapshot was taken and the kube caches synced. Bounded wait (20 s); the agent
    // exiting ends it at once with its log. (A failed start with the PodResources client already
    // running logs "start failed" but does not exit: then the log says why it never got ready.)
    let ready = false;
    for (let i = 0; i < 200 && !ready; i++) {
      if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode}:\n${log}`);
      ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (!ready) await new Promise((r) => setTimeout(r, 100));
    }
    expect(ready, `agent never ready:\n${log}`).toBe(true);

    const res = await scrapeUrl(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    const body = res.text;
    expect(body).toMatch(/^multinet_build_info\{[^}]*version="0\.1\.0"[^}]*\} 1$/m);
    expect(body).toMatch(/^multinet_host_interface_up\{interface="lo"\} [01]$/m);
    expect(body).toMatch(/^multinet_kube_cache_synced\{resource="pods"\} 1$/m);
    // The kubelet answered List over the agent's own HTTP/2 gRPC client.
    expect(body).toMatch(/^multinet_scrape_collector_success\{collector="podresources"\} 1$/m);
    expect(kubelet.calls.list).toBeGreaterThan(0);
    expect(log).toMatch(/kubelet pod resources connected/);
    expect(log).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find (module|package)/);
  }, 60_000);
});
