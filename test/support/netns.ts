/**
 * Throwaway network namespaces for root-only tests: created with iproute2, always removed,
 * named with a prefix and the test process id so parallel runs cannot collide.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** True when the tests run as root and can create namespaces. */
export const IS_ROOT = process.getuid?.() === 0;

/** Runs `ip ARGS...` and returns stdout. */
export async function ip(...args: string[]): Promise<string> {
  return (await run('ip', args, { encoding: 'utf8' })).stdout;
}

/** Runs a command inside a namespace (`ip netns exec`), returning stdout. */
export async function inNetns(ns: string, cmd: string, ...args: string[]): Promise<string> {
  return (await run('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 })).stdout;
}

/** A unique namespace name for this test process. */
export function netnsName(tag: string): string {
  return `mna-${tag}-${process.pid}`;
}

/** Creates a namespace with lo up and IPv6 off (no spontaneous ND/MLD traffic to upset counters). */
export async function createNetns(name: string): Promise<void> {
  await ip('netns', 'add', name);
  await ip('-n', name, 'link', 'set', 'lo', 'up');
  for (const key of ['all', 'default']) await inNetns(name, 'sysctl', '-q', '-w', `net.ipv6.conf.${key}.disable_ipv6=1`);
}

/** Deletes namespaces, ignoring ones already gone; synchronous so it also works from exit paths. */
export function deleteNetns(...names: string[]): void {
  for (const n of names) {
    try {
      execFileSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
    } catch {
      // Already gone (or never made): nothing to remove.
    }
  }
}

/** GETs a URL from inside a namespace (its loopback is not reachable from the test's own). */
export async function fetchInNetns(ns: string, url: string, opts: { insecureTls?: boolean } = {}): Promise<{ status: number; body: string }> {
  const script = `fetch(${JSON.stringify(url)}).then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() })), (e) => { process.stderr.write(String(e)); process.exit(3); })`;
  // A test's self-signed serving certificate: no verification (node warns about it on stderr).
  const node = opts.insecureTls ? ['env', 'NODE_TLS_REJECT_UNAUTHORIZED=0', process.execPath] : [process.execPath];
  return JSON.parse(await inNetns(ns, node[0] as string, ...node.slice(1), '-e', script)) as { status: number; body: string };
}
