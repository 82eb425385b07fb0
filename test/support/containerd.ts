/**
 * A real containerd (Debian's `containerd` with `runc` and its CRI plugin) for root suites, started
 * by the test with its own config, root, state and socket under a temporary directory, and driven
 * through the CRI the way the kubelet drives it (RunPodSandbox, StopPodSandbox, RemovePodSandbox,
 * the container calls) with @grpc/grpc-js.
 *
 * What this VM taught (see docs/testing.md): without CAP_SYS_RESOURCE runc cannot raise
 * oom_score_adj, hence `restrict_oom_score_adj`; no AppArmor; no hugetlb controller; cgroup v1
 * with cgroupfs. No registry is reachable: the sandbox image is a static `pause` built here with
 * gcc and imported with `ctr images import` from a one-layer OCI archive made here too.
 *
 * containerd runs in a network namespace of the test's (`node`, entered with nsenter, the mount
 * namespace stays the host's so its `/run/netns/cni-*` bind mounts are the host's): the primary
 * CNI network it sets up for each sandbox (a bridge) lives there, never in the host's namespace.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { credentials, loadPackageDefinition, type Client, type ServiceClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { IS_ROOT } from './netns.js';

const run = promisify(execFile);

export const CONTAINERD_BIN = '/usr/bin/containerd';
export const CTR_BIN = '/usr/bin/ctr';

/** The CNI plugins' directory (containernetworking-plugins). */
export const CNI_BIN_DIR = '/usr/lib/cni';

function which(name: string): string | undefined {
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin']) if (existsSync(path.join(dir, name))) return path.join(dir, name);
  return undefined;
}

/** What is missing for a real containerd here (empty: it can run). */
export function containerdMissing(): string[] {
  const missing: string[] = [];
  if (!IS_ROOT) missing.push('root');
  if (!existsSync(CONTAINERD_BIN) || !existsSync(CTR_BIN)) missing.push('containerd (apt-get install containerd)');
  if (!which('runc')) missing.push('runc');
  if (!which('gcc') || !existsSync('/usr/lib/x86_64-linux-gnu/libc.a')) missing.push('gcc and libc6-dev (a static pause)');
  if (!existsSync(path.join(CNI_BIN_DIR, 'macvlan'))) missing.push('containernetworking-plugins');
  return missing;
}

/** Says once why a containerd suite is skipped; in CI a missing prerequisite is an error. */
export function requireContainerd(suite: string): boolean {
  const missing = containerdMissing();
  if (missing.length === 0) return true;
  if (process.env.CI) throw new Error(`${suite} needs ${missing.join(', ')} in CI (.ci/run installs them)`);
  console.warn(`${suite} needs ${missing.join(', ')}: skipped`);
  return false;
}

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** The static pause process: sleeps until SIGINT/SIGTERM, reaps children (what a sandbox's infra process does). */
const PAUSE_C = `#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
static void quit(int s) { (void)s; _exit(0); }
static void reap(int s) { (void)s; while (waitpid(-1, NULL, WNOHANG) > 0) {} }
int main(void) {
  struct sigaction q = {0}, r = {0};
  q.sa_handler = quit; r.sa_handler = reap; r.sa_flags = SA_NOCLDSTOP;
  if (sigaction(SIGINT, &q, NULL) || sigaction(SIGTERM, &q, NULL) || sigaction(SIGCHLD, &r, NULL)) return 1;
  for (;;) pause();
}
`;

/**
 * Writes an OCI image layout archive (oci-layout, index.json, blobs/) of one uncompressed layer
 * holding `files` (name -> path on disk, put at /name, mode kept) to `out`, named `name` in the
 * index (`io.containerd.image.name`, what `ctr images import` tags it with).
 */
export async function writeOciArchive(workDir: string, out: string, name: string, files: Record<string, string>, config: Record<string, unknown>): Promise<void> {
  const layout = path.join(workDir, 'layout');
  const rootfs = path.join(workDir, 'rootfs');
  await rm(layout, { recursive: true, force: true });
  await mkdir(path.join(layout, 'blobs/sha256'), { recursive: true });
  await mkdir(rootfs, { recursive: true });
  for (const [file, from] of Object.entries(files)) await run('cp', ['-p', from, path.join(rootfs, file)]);
  const layerTar = path.join(workDir, 'layer.tar');
  await run('tar', ['--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', rootfs, '-cf', layerTar, ...Object.keys(files)]);
  const layer = await readFile(layerTar);
  const blob = async (b: Buffer | string): Promise<{ digest: string; size: number }> => {
    const digest = `sha256:${sha256(b)}`;
    await writeFile(path.join(layout, 'blobs/sha256', digest.slice(7)), b);
    return { digest, size: Buffer.byteLength(b) };
  };
  const layerDesc = await blob(layer);
  const cfg = await blob(JSON.stringify({ architecture: 'amd64', os: 'linux', config, rootfs: { type: 'layers', diff_ids: [layerDesc.digest] } }));
  const manifest = await blob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...cfg },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layerDesc }],
    }),
  );
  const tag = name.slice(name.lastIndexOf(':') + 1);
  await writeFile(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    path.join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': tag } }],
    }),
  );
  await run('tar', ['-C', layout, '-cf', out, 'oci-layout', 'index.json', 'blobs']);
}

/** Builds the static pause binary and its one-layer OCI archive in `workDir`; returns the archive's path. */
export async function buildPauseArchive(workDir: string, name: string): Promise<string> {
  await mkdir(workDir, { recursive: true });
  const src = path.join(workDir, 'pause.c');
  const bin = path.join(workDir, 'pause');
  await writeFile(src, PAUSE_C);
  await run('gcc', ['-static', '-Os', '-s', '-o', bin, src]);
  const out = path.join(workDir, 'pause.oci.tar');
  await writeOciArchive(workDir, out, name, { pause: bin }, { Entrypoint: ['/pause'] });
  return out;
}

/** The CRI `RuntimeService` client (test/support/cri/runtime-client.proto). */
export type CriRuntimeClient = Client & Record<string, (req: object, opts: { deadline: number }, cb: (err: ServiceError | null, res: Record<string, unknown>) => void) => unknown>;

const RUNTIME_PROTO = new URL('./cri/runtime-client.proto', import.meta.url).pathname.replace('/dist/test/support/', '/test/support/');

/** Dials the CRI on `socket`. */
export function criRuntimeClient(socket: string): CriRuntimeClient {
  const def = loadSync(RUNTIME_PROTO, { keepCase: true, longs: String, enums: String, defaults: true });
  const pkg = loadPackageDefinition(def) as unknown as { runtime: { v1: { RuntimeService: ServiceClientConstructor } } };
  return new pkg.runtime.v1.RuntimeService(`unix://${socket}`, credentials.createInsecure()) as unknown as CriRuntimeClient;
}

/** One unary CRI call with a deadline (default 60 s: a sandbox start pulls nothing but runs CNI). */
export function criCall<T = Record<string, unknown>>(client: CriRuntimeClient, method: string, req: object, timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const fn = client[method];
    if (!fn) return reject(new Error(`no CRI method ${method}`));
    fn.call(client, req, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(new Error(`${method}: ${err.message}`)) : resolve(res as T)));
  });
}

/** Options of {@link Containerd.start}. */
export interface ContainerdOptions {
  /** Everything containerd writes goes under here (config, root, state, socket, CNI config, IPAM). */
  readonly dir: string;
  /** The network namespace (a name under /run/netns) containerd and its CNI calls run in. */
  readonly netns: string;
  /** The CRI `sandbox_image`, already importable from {@link ContainerdOptions.pauseArchive}. */
  readonly sandboxImage: string;
  readonly pauseArchive: string;
  /** The primary network's bridge and subnet in `netns` (containerd sets up eth0 of each sandbox with it). */
  readonly bridge: string;
  readonly subnet: string;
}

/** A containerd process of the test's, restartable; every process and mount it leaves is found by its unique socket/dir. */
export class Containerd {
  readonly socket: string;
  readonly #o: ContainerdOptions;
  readonly #config: string;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #log = '';

  private constructor(o: ContainerdOptions) {
    this.#o = o;
    this.socket = path.join(o.dir, 'containerd.sock');
    this.#config = path.join(o.dir, 'config.toml');
  }

  /** Writes the config and the primary CNI network, starts containerd, waits for the CRI, imports the pause image. */
  static async start(o: ContainerdOptions): Promise<Containerd> {
    const c = new Containerd(o);
    await mkdir(path.join(o.dir, 'cni-conf'), { recursive: true });
    await writeFile(
      path.join(o.dir, 'cni-conf', '10-primary.conflist'),
      JSON.stringify({
        cniVersion: '0.4.0',
        name: 'primary',
        plugins: [{ type: 'bridge', bridge: o.bridge, isGateway: true, ipMasq: false, ipam: { type: 'host-local', subnet: o.subnet, dataDir: path.join(o.dir, 'ipam') } }],
      }),
    );
    const q = JSON.stringify;
    await writeFile(
      c.#config,
      `version = 2
root = ${q(path.join(o.dir, 'root'))}
state = ${q(path.join(o.dir, 'state'))}
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = ${q(c.socket)}
[ttrpc]
  address = ${q(`${c.socket}.ttrpc`)}
[debug]
  address = ""
  level = "info"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = ${q(path.join(o.dir, 'opt'))}
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${q(o.sandboxImage)}
  # This VM lacks CAP_SYS_RESOURCE: runc may not raise oom_score_adj above the caller's.
  restrict_oom_score_adj = true
  disable_apparmor = true
  tolerate_missing_hugetlb_controller = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = ${q(CNI_BIN_DIR)}
    conf_dir = ${q(path.join(o.dir, 'cni-conf'))}
    max_conf_num = 1
`,
    );
    await c.launch();
    // ctr unpacks into the default snapshotter (overlayfs) as it imports: the CRI finds it ready.
    await run(CTR_BIN, ['--address', c.socket, '-n', 'k8s.io', 'images', 'import', o.pauseArchive], { encoding: 'utf8' });
    return c;
  }

  /** containerd's pid (the nsenter process execs it), undefined when not running. */
  get pid(): number | undefined {
    return this.#child && this.#child.exitCode === null && this.#child.signalCode === null ? this.#child.pid : undefined;
  }

  log(): string {
    return this.#log;
  }

  /** Starts containerd and waits until its CRI answers Version. */
  async launch(timeoutMs = 30_000): Promise<void> {
    const child = spawn('nsenter', [`--net=/run/netns/${this.#o.netns}`, CONTAINERD_BIN, '--config', this.#config], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.#child = child;
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.#log = (this.#log + d).slice(-200_000);
    });
    this.#exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const client = criRuntimeClient(this.socket);
    try {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (child.exitCode !== null) throw new Error(`containerd exited with ${child.exitCode}: ${this.#log.slice(-4000)}`);
        try {
          await criCall(client, 'Version', { version: 'v1' }, 1000);
          return;
        } catch {
          if (Date.now() > deadline) throw new Error(`containerd's CRI not answering after ${timeoutMs} ms: ${this.#log.slice(-4000)}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    } finally {
      client.close();
    }
  }

  /** Stops containerd by its pid with `signal` (SIGKILL after 15 s of SIGTERM) and waits for it to exit. */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.#child;
    if (!child || this.pid === undefined) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await this.#exited;
    clearTimeout(timer);
  }

  /** The runc shims this containerd started (found by their `-address` being this socket), by pid. */
  async shimPids(): Promise<number[]> {
    const pids: number[] = [];
    for (const e of await readdir('/proc')) {
      if (!/^\d+$/.test(e)) continue;
      const cmd = await readFile(`/proc/${e}/cmdline`, 'utf8').catch(() => '');
      const argv = cmd.split('\0');
      if (argv[0]?.endsWith('containerd-shim-runc-v2') && argv.includes(this.socket)) pids.push(Number(e));
    }
    return pids;
  }

  /**
   * Stops containerd, then removes what a failed test could leave: shims (by pid), mounts under
   * the directory (rootfs, shm), the cgroup parent's directories, the directory.
   */
  async destroy(cgroupParent: string): Promise<string[]> {
    const leftovers: string[] = [];
    await this.kill('SIGTERM');
    for (const pid of await this.shimPids()) {
      leftovers.push(`shim ${pid}`);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
    }
    const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((m) => m.startsWith(`${this.#o.dir}/`))
      .reverse();
    for (const m of mounts) {
      leftovers.push(`mount ${m}`);
      await run('umount', ['-l', m]).catch(() => undefined);
    }
    for (const ctl of await readdir('/sys/fs/cgroup').catch(() => [] as string[])) {
      const dir = path.join('/sys/fs/cgroup', ctl, cgroupParent);
      if (!(await stat(dir).catch(() => undefined))) continue;
      for (const sub of await readdir(dir, { withFileTypes: true })) if (sub.isDirectory()) await rmdir(path.join(dir, sub.name)).catch(() => leftovers.push(`cgroup ${dir}/${sub.name}`));
      await rmdir(dir).catch(() => leftovers.push(`cgroup ${dir}`));
    }
    await rm(this.#o.dir, { recursive: true, force: true });
    return leftovers;
  }
}
