/**
 * The soak (issue 9): pod churn on the lab while the agent is scraped every second. Pods are
 * network namespaces with one macvlan per lab NAD, made and removed by the real CNI plugins
 * (lab/lab.ts labAddPod/labRemovePod); they have no manifest, so the agent sees them as unknown
 * namespaces, named by their bind mount in the `netns` label. Each scrape checks that every pod
 * deleted before it was sent has no series left, that every live pod has all of its interfaces,
 * and that the masters count exactly the live pods' macvlans. Start figures are taken after the
 * warm-up, end figures after the last cycle (both with the same number of live pods); then every
 * pod is removed and the leak checks run: fds back to baseline, cached NSIDs no more than the
 * namespaces on the machine, the kernel's NSIDs of the node namespace back to baseline.
 *
 * The agent runs in a PID namespace of its own with `--path.netns` a directory of links to the
 * soak's pods, so other labs on the machine stay out of its figures.
 *
 * `npm run soak -- [--cycles N] [--live N]` (root) runs it; test/integration/soak.test.ts runs a
 * short one. The lab is always torn down, on failure and on SIGINT/SIGTERM too.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { labAddPod, labDown, labNads, labRemovePod, labUp, type LabChurnPod, type LabOptions, type LabState } from '../../lab/lab.js';
import type { Random } from '../../lab/plan.js';
import { expositionComplaints } from '../support/exposition-invariant.js';

const run = promisify(execFile);

/** The repository root: the nearest directory upward with a package.json (source or dist). */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) || dir.endsWith('/dist')) dir = path.dirname(dir);
  return dir;
}
const ROOT = repoRoot();
const AGENT_BIN = path.join(ROOT, 'dist/agent/app/bin.js');
const SEED_MANIFESTS = path.join(ROOT, 'lab/manifests/seed');

const random: Random = {
  uuid: () => randomUUID(),
  hex: (bytes) => randomBytes(bytes).toString('hex'),
  suffix: (length) => Array.from(randomBytes(length), (b) => 'bcdfghjklmnpqrstvwxz2456789'[b % 27]).join(''),
};

/** What the soak is asked to do. */
export interface SoakOptions {
  readonly cycles: number;
  /** Pods alive at once; each cycle adds one and removes the oldest. */
  readonly live: number;
  /** Cycles before the start figures are taken. */
  readonly warmup: number;
  /** Lab name (namespaces `mnlab-<name>-*`). */
  readonly name: string;
  readonly stateRoot: string;
  readonly port: number;
  readonly log: (line: string) => void;
  /** Aborts the churn (SIGINT/SIGTERM); the lab is still torn down. */
  readonly signal?: AbortSignal;
}

/** One set of figures of the agent process. */
export interface SoakFigures {
  readonly cycles: number;
  readonly rssKiB: number;
  readonly heapUsedBytes: number;
  /** V8 heap committed, and memory outside it (Buffers: the netlink dumps). */
  readonly heapTotalBytes: number;
  readonly externalBytes: number;
  readonly fds: number;
  readonly nsidsCached: number;
  readonly netnsDiscovered: number;
  /** `ip -n <node> netns list-id`: NSIDs the kernel holds in the agent's namespace. */
  readonly kernelNsids: number;
  /** Series of the exposition (multinet_exported_series): the whole node, other labs' namespaces too. */
  readonly series: number;
  /** Series labelled with a soak pod's namespace: live pods × interfaces × 14. */
  readonly soakSeries: number;
}

/** What the soak saw. */
export interface SoakReport {
  readonly cycles: number;
  readonly scrapes: number;
  readonly scrapeErrors: number;
  /** Before any pod: cached and kernel NSIDs to come back to. */
  readonly baseline: SoakFigures;
  readonly start: SoakFigures;
  readonly end: SoakFigures;
  /** After every pod was removed and the kernel settled. */
  readonly drained: SoakFigures;
  /** Deleted pods that a scrape checked for absence. */
  readonly deletionsChecked: number;
  /** Every miss: series of a deleted pod, a missing interface, a wrong count, a leak. */
  readonly failures: readonly string[];
  readonly durationMs: number;
  /**
   * RSS and heap used at every scrape after the warm-up, over the first and the last fifth of the
   * run: median RSS (a single reading moves with V8's heap growing and shrinking) and the lowest
   * heap used (the floor after collections: garbage not yet collected is no leak).
   */
  readonly windows: { readonly first: MemoryWindow; readonly last: MemoryWindow };
}

/** Memory over one window of scrapes. */
export interface MemoryWindow {
  readonly scrapes: number;
  readonly rssMedianKiB: number;
  readonly heapFloorBytes: number;
}

function memoryWindow(points: readonly { rssKiB: number; heap: number }[]): MemoryWindow {
  const rss = points.map((p) => p.rssKiB).sort((a, b) => a - b);
  return { scrapes: points.length, rssMedianKiB: rss[Math.floor(rss.length / 2)] ?? NaN, heapFloorBytes: Math.min(...points.map((p) => p.heap)) };
}

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A small exposition parser: name, labels (no escapes in what the soak reads), value. */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = l[2] as string;
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs tasks one at a time: a scrape never overlaps a pod being added or removed, so its view is exact. */
class Serial {
  #tail: Promise<unknown> = Promise.resolve();
  run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(task, task);
    this.#tail = next.catch(() => undefined);
    return next;
  }
}

/** GET /metrics from inside the node namespace (nsenter + curl: no remount, a few ms). */
async function scrape(node: string, port: number): Promise<{ status: number; body: string; bytes: Buffer }> {
  const { stdout } = await run('nsenter', [`--net=/run/netns/${node}`, 'curl', '-sS', '--max-time', '10', '-w', '\n%{http_code}', `http://127.0.0.1:${port}/metrics`], { encoding: 'buffer', maxBuffer: 64 << 20 });
  const nl = stdout.lastIndexOf('\n');
  const bytes = stdout.subarray(0, nl);
  return { status: Number(stdout.subarray(nl + 1).toString('latin1')), body: bytes.toString('utf8'), bytes };
}

async function kernelNsids(node: string): Promise<number> {
  const { stdout } = await run('ip', ['-n', node, 'netns', 'list-id'], { encoding: 'utf8' });
  return stdout.split('\n').filter((l) => l.startsWith('nsid ')).length;
}

function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

const fdCount = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

/**
 * Starts the agent in the node namespace (as the executable would run: V8 young generation
 * capped) and in a PID namespace of its own, with `--path.netns` a directory of the soak's pods
 * only: other labs on the machine (other processes' namespaces, other bind mounts) stay out of
 * its figures. `--propagation slave` keeps new /run/netns bind mounts visible to it.
 */
async function startAgent(state: LabState, port: number, netnsDir: string): Promise<{ child: ChildProcess; pid: number; stderr: () => string }> {
  const child = spawn(
    'ip',
    [
      'netns', 'exec', state.node,
      'unshare', '--pid', '--fork', '--kill-child=SIGTERM', '--mount-proc', '--propagation', 'slave',
      process.execPath, '--max-semi-space-size=4', '--max-old-space-size=128', AGENT_BIN,
      `--web.listen-address=127.0.0.1:${port}`, `--manifests=${state.manifestsDir}`, `--path.netns=${netnsDir}`, '--log.level=info', '--no-collector.podresources',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-20_000)));
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) throw new Error(`agent exited ${child.exitCode}: ${log}`);
    try {
      if ((await scrape(state.node, port)).status === 200) {
        // `ip netns exec` execs unshare (the child's pid); unshare forks the agent.
        const pid = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(' ')[0]);
        return { child, pid, stderr: () => log };
      }
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  child.kill('SIGTERM');
  throw new Error(`agent not serving after 15 s: ${log}`);
}

/** Runs the soak; always tears the lab down. Resolves to the report (failures listed, not thrown). */
export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const lab: LabOptions = { name: opts.name, stateRoot: opts.stateRoot, cniPath: process.env.CNI_PATH ?? '/usr/lib/cni', log: () => undefined };
  const started = Date.now();
  await labDown(lab); // a crashed earlier run
  let agent: { child: ChildProcess; pid: number; stderr: () => string } | undefined;
  const netnsDir = mkdtempSync(path.join(tmpdir(), 'mna-soak-netns-'));
  try {
    const state = await labUp({ ...lab, manifests: SEED_MANIFESTS, pods: 0, random });
    const nads = await labNads(state);
    agent = await startAgent(state, opts.port, netnsDir);
    const pid = agent.pid;
    if (!readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(AGENT_BIN)) throw new Error(`pid ${pid} is not the agent`);
    const failures: string[] = [];
    const fail = (what: string): void => {
      if (failures.length < 50) failures.push(what);
      if (failures.length <= 5) opts.log(`soak: MISS ${what}`);
    };

    let cycles = 0;
    let scrapes = 0;
    let scrapeErrors = 0;
    let deletionsChecked = 0;
    /** Pods whose ADDs are all done and whose removal has not started. */
    const live = new Map<string, LabChurnPod>();
    /** Pods removed (CNI DEL and netns del done) and not yet checked by a scrape. */
    const removed = new Set<string>();

    const figures = async (body: Sample[]): Promise<SoakFigures> => ({
      cycles,
      rssKiB: rssKiB(pid),
      heapUsedBytes: body.find((s) => s.name === 'nodejs_heap_size_used_bytes')?.value ?? NaN,
      heapTotalBytes: body.find((s) => s.name === 'nodejs_heap_size_total_bytes')?.value ?? NaN,
      externalBytes: body.find((s) => s.name === 'nodejs_external_memory_bytes')?.value ?? NaN,
      fds: fdCount(pid),
      nsidsCached: body.find((s) => s.name === 'multinet_netns_nsids_cached')?.value ?? NaN,
      netnsDiscovered: body.find((s) => s.name === 'multinet_netns_discovered')?.value ?? NaN,
      kernelNsids: await kernelNsids(state.node),
      series: body.find((s) => s.name === 'multinet_exported_series')?.value ?? NaN,
      soakSeries: body.filter((s) => s.labels.netns?.startsWith(`mnlab-${opts.name}-c`)).length,
    });

    /** One fresh scrape and its checks, between pod operations. */
    const serial = new Serial();
    let lastScrapeDone = 0;
    const checkedScrape = async (): Promise<Sample[] | undefined> => {
      // Past the agent's 1 s snapshot reuse: this scrape reads the kernel anew.
      const wait = lastScrapeDone + 1050 - Date.now();
      if (wait > 0) await sleep(wait);
      return serial.run(scrapeAndCheck);
    };
    const scrapeAndCheck = async (): Promise<Sample[] | undefined> => {
      const gone = [...removed];
      const present = [...live.values()];
      let res: { status: number; body: string; bytes: Buffer };
      try {
        res = await scrape(state.node, opts.port);
      } catch (err) {
        scrapeErrors++;
        fail(`scrape failed: ${err instanceof Error ? err.message : String(err)}`);
        return undefined;
      } finally {
        lastScrapeDone = Date.now();
        scrapes++;
      }
      if (res.status !== 200) {
        scrapeErrors++;
        fail(`scrape answered ${res.status}`);
        return undefined;
      }
      // Every scrape holds the exposition invariant (test/support/exposition-invariant.ts).
      const complaints = expositionComplaints(res.bytes);
      if (complaints !== '') fail(`invalid exposition: ${complaints.split('\n').slice(0, 5).join('; ')}`);
      const samples = parse(res.body);
      const byNetns = new Map<string, Sample[]>();
      for (const s of samples) {
        const ns = s.labels.netns;
        if (ns) byNetns.set(ns, [...(byNetns.get(ns) ?? []), s]);
      }
      for (const name of gone) {
        const netns = `mnlab-${opts.name}-${name}`;
        if (byNetns.has(netns)) fail(`${byNetns.get(netns)?.length} series of deleted pod ${netns} in the next scrape`);
        removed.delete(name);
        deletionsChecked++;
      }
      const perMaster = new Map<string, number>();
      for (const p of present) {
        const series = byNetns.get(p.netns) ?? [];
        for (const i of p.interfaces) {
          perMaster.set(i.master, (perMaster.get(i.master) ?? 0) + 1);
          const info = series.find((s) => s.name === 'multinet_pod_interface_info' && s.labels.interface === i.ifname);
          if (!info || info.labels.kind !== 'macvlan' || info.labels.master !== i.master) fail(`live pod ${p.netns} ${i.ifname}: info ${JSON.stringify(info?.labels)}`);
          if (series.filter((s) => s.labels.interface === i.ifname).length !== 14) fail(`live pod ${p.netns} ${i.ifname}: ${series.filter((s) => s.labels.interface === i.ifname).length} series, not 14`);
        }
      }
      for (const master of new Set(nads.map((n) => String(n.config.master)))) {
        const n = samples.find((s) => s.name === 'multinet_host_interface_attachments' && s.labels.interface === master)?.value;
        if (n !== (perMaster.get(master) ?? 0)) fail(`multinet_host_interface_attachments{interface="${master}"} ${n}, live macvlans ${perMaster.get(master) ?? 0}`);
      }
      const cached = samples.find((s) => s.name === 'multinet_netns_nsids_cached')?.value ?? NaN;
      const discovered = samples.find((s) => s.name === 'multinet_netns_discovered')?.value ?? NaN;
      if (!(cached <= discovered)) fail(`nsids cached ${cached} > namespaces discovered ${discovered}`);
      return samples;
    };

    // Baseline: no soak pod yet.
    const first = await checkedScrape();
    if (!first) throw new Error('first scrape failed');
    const baseline = await figures(first);
    opts.log(`soak: ${opts.cycles} cycles, ${opts.live} pods live, ${nads.length} macvlans each (${nads.map((n) => `${n.name} on ${String(n.config.master)}`).join(', ')}); warm-up ${opts.warmup} cycles`);

    let start: SoakFigures | undefined;
    const memory: { rssKiB: number; heap: number }[] = [];
    let churnDone = false;
    let churnError: unknown;
    let seq = 0;
    let last: Sample[] | undefined;
    const mb = (name: string): string => ((last?.find((x) => x.name === name)?.value ?? NaN) / 2 ** 20).toFixed(1);
    const churn = (async () => {
      try {
        while (cycles < opts.cycles && !opts.signal?.aborted) {
          const name = `c${++seq}`;
          await serial.run(async () => {
            const pod = await labAddPod({ ...lab, state, nads, pod: name, random });
            // The agent's netns directory: a link to the pod's bind mount, named like it.
            symlinkSync(`/run/netns/${pod.netns}`, path.join(netnsDir, pod.netns));
            live.set(name, pod);
          });
          if (live.size > opts.live) {
            const oldest = live.keys().next().value as string;
            await serial.run(async () => {
              live.delete(oldest);
              await labRemovePod({ ...lab, state, pod: oldest });
              // The namespace is gone (its bind mount too); the dangling link goes after it.
              unlinkSync(path.join(netnsDir, `mnlab-${opts.name}-${oldest}`));
              removed.add(oldest);
            });
            cycles++;
            if (cycles % 100 === 0) {
              opts.log(
                `soak: ${cycles} cycles, ${scrapes} scrapes, ${failures.length} misses; RSS ${(rssKiB(pid) / 1024).toFixed(1)} MB, ` +
                  `heap used ${mb('nodejs_heap_size_used_bytes')} MB, heap total ${mb('nodejs_heap_size_total_bytes')} MB, external ${mb('nodejs_external_memory_bytes')} MB (last scrape)`,
              );
            }
          }
        }
      } catch (err) {
        churnError = err;
      } finally {
        churnDone = true;
      }
    })();
    while (!churnDone) {
      const s = await checkedScrape();
      if (s) last = s;
      if (s && !start && cycles >= opts.warmup) start = await figures(s);
      if (s && start) memory.push({ rssKiB: rssKiB(pid), heap: s.find((x) => x.name === 'nodejs_heap_size_used_bytes')?.value ?? NaN });
    }
    await churn;
    if (churnError) throw churnError;
    const final = (await checkedScrape()) ?? last ?? first;
    start ??= await figures(final);
    const end = await figures(final);

    // Drain: every pod goes; then no series of theirs, fds back, NSIDs released.
    for (const name of [...live.keys()]) {
      live.delete(name);
      await labRemovePod({ ...lab, state, pod: name });
      unlinkSync(path.join(netnsDir, `mnlab-${opts.name}-${name}`));
      removed.add(name);
    }
    let drained = await figures((await checkedScrape()) ?? final);
    // The kernel frees a dead namespace's NSIDs in cleanup_net, from a workqueue: give it time.
    for (let i = 0; i < 20 && drained.kernelNsids - baseline.kernelNsids > drained.netnsDiscovered - baseline.netnsDiscovered; i++) {
      await sleep(500);
      drained = await figures((await checkedScrape()) ?? final);
    }
    // fds against the warmed-up start: the agent opens its pool of 4 netlink sockets as pods appear.
    // One count can catch a transient fd (a /proc file the 10 s route refresh has open, a socket
    // the scrape just closed): a leak is one that stays, so look again for up to 5 s.
    for (let i = 0; i < 10 && drained.fds > start.fds; i++) {
      await sleep(500);
      drained = { ...drained, fds: fdCount(pid) };
    }
    if (drained.fds > start.fds) fail(`open fds ${drained.fds} after the drain, ${start.fds} after the warm-up`);
    if (drained.nsidsCached > drained.netnsDiscovered) fail(`cached nsids ${drained.nsidsCached} > namespaces ${drained.netnsDiscovered}`);
    if (drained.nsidsCached - baseline.nsidsCached > drained.netnsDiscovered - baseline.netnsDiscovered) fail(`cached nsids grew ${baseline.nsidsCached} -> ${drained.nsidsCached} with namespaces ${baseline.netnsDiscovered} -> ${drained.netnsDiscovered}`);
    if (drained.kernelNsids - baseline.kernelNsids > drained.netnsDiscovered - baseline.netnsDiscovered) fail(`kernel nsids of ${state.node} grew ${baseline.kernelNsids} -> ${drained.kernelNsids} with namespaces ${baseline.netnsDiscovered} -> ${drained.netnsDiscovered}`);
    if (scrapeErrors > 0) fail(`${scrapeErrors} scrape errors`);
    if (/"level":50|"level":60/.test(agent.stderr())) fail(`agent logged errors: ${agent.stderr().split('\n').filter((l) => /"level":(50|60)/.test(l)).slice(0, 3).join(' | ')}`);
    const fifth = Math.max(1, Math.floor(memory.length / 5));
    const windows = { first: memoryWindow(memory.slice(0, fifth)), last: memoryWindow(memory.slice(-fifth)) };
    return { cycles, scrapes, scrapeErrors, baseline, start, end, drained, deletionsChecked, failures, durationMs: Date.now() - started, windows };
  } finally {
    if (agent && agent.child.exitCode === null) {
      const exited = new Promise((r) => agent?.child.once('exit', r));
      // The agent first (PID 1 of its namespace, it handles SIGTERM), then unshare, which waits for it.
      try {
        process.kill(agent.pid, 'SIGTERM');
      } catch (err) {
        opts.log(`soak: agent ${agent.pid} already gone (${String(err)})`);
      }
      agent.child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
    }
    await labDown(lab);
    rmSync(netnsDir, { recursive: true, force: true });
  }
}

/** The figures as a table, and the targets met or missed. */
export function soakSummary(r: SoakReport): { text: string; ok: boolean } {
  const row = (label: string, f: SoakFigures): string =>
    `${label.padEnd(9)} ${String(f.cycles).padStart(6)} ${(f.rssKiB / 1024).toFixed(1).padStart(8)} ${(f.heapUsedBytes / 2 ** 20).toFixed(1).padStart(9)} ${(f.heapTotalBytes / 2 ** 20).toFixed(1).padStart(8)} ${(f.externalBytes / 2 ** 20).toFixed(1).padStart(8)} ${String(f.fds).padStart(5)} ${String(f.nsidsCached).padStart(7)} ${String(f.netnsDiscovered).padStart(6)} ${String(f.kernelNsids).padStart(7)} ${String(f.series).padStart(7)} ${String(f.soakSeries).padStart(6)}`;
  const { first, last } = r.windows;
  const rssGrowth = last.rssMedianKiB / first.rssMedianKiB - 1;
  const lines = [
    `${'figures'.padEnd(9)} ${'cycles'.padStart(6)} ${'RSS MB'.padStart(8)} ${'heap MB'.padStart(9)} ${'total MB'.padStart(8)} ${'ext MB'.padStart(8)} ${'fds'.padStart(5)} ${'nsids'.padStart(7)} ${'netns'.padStart(6)} ${'k-nsids'.padStart(7)} ${'series'.padStart(7)} ${'soak'.padStart(6)}`,
    row('baseline', r.baseline),
    row('start', r.start),
    row('end', r.end),
    row('drained', r.drained),
    `${r.cycles} cycles in ${(r.durationMs / 1000).toFixed(0)} s, ${r.scrapes} scrapes (${r.scrapeErrors} errors), ${r.deletionsChecked} deleted pods checked absent in the next fresh scrape`,
    `median RSS, first fifth after warm-up -> last fifth (${first.scrapes} scrapes each): ${(first.rssMedianKiB / 1024).toFixed(1)} -> ${(last.rssMedianKiB / 1024).toFixed(1)} MB, ${rssGrowth >= 0 ? '+' : ''}${(rssGrowth * 100).toFixed(1)}% (target within 10%): ${Math.abs(rssGrowth) <= 0.1 ? 'met' : 'MISSED'}`,
    `heap floor (lowest heap used), first fifth -> last fifth: ${(first.heapFloorBytes / 2 ** 20).toFixed(1)} -> ${(last.heapFloorBytes / 2 ** 20).toFixed(1)} MB; single readings start -> end: RSS ${(r.start.rssKiB / 1024).toFixed(1)} -> ${(r.end.rssKiB / 1024).toFixed(1)} MB, heap used ${((r.end.heapUsedBytes / r.start.heapUsedBytes - 1) * 100).toFixed(1)}%; node series start ${r.start.series}, end ${r.end.series}; soak pods' series start ${r.start.soakSeries}, end ${r.end.soakSeries}, drained ${r.drained.soakSeries}`,
    `misses: ${r.failures.length === 0 ? 'none' : r.failures.join('; ')}`,
  ];
  return { text: lines.join('\n'), ok: r.failures.length === 0 && Math.abs(rssGrowth) <= 0.1 };
}

function usage(): string {
  return [
    'usage: npm run soak -- [--cycles N] [--live N] [--warmup N] [--port N]   (as root)',
    '',
    'Creates and deletes lab pods (netns + one macvlan per lab NAD via the real CNI plugins) while',
    'scraping the agent every second; prints RSS, heap, fds, cached NSIDs, kernel NSIDs and series',
    'at start (after warm-up) and end; exits 1 on a miss (leak, stale or missing series, RSS > 10%).',
    '',
  ].join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--help') {
      process.stdout.write(usage());
      return 0;
    }
    const m = /^--(cycles|live|warmup|port)(?:=(.*))?$/.exec(a);
    const value = m ? (m[2] ?? argv[++i]) : undefined;
    if (!m || value === undefined || !/^\d+$/.test(value)) {
      process.stderr.write(`soak: bad argument "${a}"\n${usage()}`);
      return 2;
    }
    flags.set(m[1] as string, value);
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('soak: needs root (network namespaces, CNI plugins)\n');
    return 2;
  }
  const cycles = Number(flags.get('cycles') ?? 1000);
  const ac = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      process.stderr.write(`soak: ${sig}: stopping the churn and tearing the lab down\n`);
      ac.abort();
    });
  }
  const report = await runSoak({
    cycles,
    live: Number(flags.get('live') ?? 8),
    warmup: Number(flags.get('warmup') ?? Math.min(100, Math.floor(cycles / 10))),
    name: 'soak',
    stateRoot: '/run/multinet-lab-soak',
    port: Number(flags.get('port') ?? 19839),
    log: (l) => process.stdout.write(`${l}\n`),
    signal: ac.signal,
  });
  const { text, ok } = soakSummary(report);
  process.stdout.write(`${text}\n${JSON.stringify(report)}\n`);
  if (ac.signal.aborted) return 130;
  return ok ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`soak: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
