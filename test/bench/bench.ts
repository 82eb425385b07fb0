/**
 * `npm run bench` (as root): for each case, builds its links in throwaway network namespaces,
 * runs measure.js inside the one the exporters run in to time full /metrics scrapes and read the
 * RSS and CPU time of the agent and of node_exporter, prints the figures, and removes the bind
 * mounts and namespaces again on every path (normal end, error, SIGINT/SIGTERM, process exit),
 * then checks that none is left. A missed target still exits 0; an exposition without the case's
 * pod interfaces (fast but wrong) exits 1 after the report, and so does an error.
 *
 * measure.js runs as PID 1 of a new PID namespace with its own /proc: the agent's netns
 * discovery then sees only the bench's processes, not the host's, and when measure.js ends the
 * kernel kills whatever it started.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import os, { constants } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgentError } from '../../agent/model/errors.js';
import { benchUsage, parseBenchArgs, type BenchOptions } from './bench-args.js';
import { BindMounts, mountsLeftUnder, staleBenchMounts, unmount } from './bind-mounts.js';
import { cniCase, cniKubeCase } from './cni-cases.js';
import { CASES as BASE_CASES, DEFAULT_LINKS, DEFAULT_PODS, POD_NETWORKS, type BenchCase, type CaseContext, type PreparedCase } from './cases.js';
import { NetnsRegistry, parseNetnsList, removeNetns, staleBenchNetns } from './netns.js';
import { alive, ChildProcesses, describeError } from './processes.js';
import type { MeasureConfig, MeasureResult } from './protocol.js';
import { formatCase, podCheckOf, shortList, summaryJson, summaryTable, type CaseReport, type Runtime } from './report.js';

/** Just over the agent's SNAPSHOT_MAX_AGE_MS (agent/app/main.ts), so each timed scrape builds a new snapshot. */
const SCRAPE_GAP_MS = 1100;
const WARMUPS = 2;
const DUMP_RUNS = 20;

const AGENT_BIN = fileURLToPath(new URL('../../agent/app/bin.js', import.meta.url));
const MEASURE_JS = fileURLToPath(new URL('./measure.js', import.meta.url));

/** Every case, in the order `npm run bench` runs them: the bare ones, then the realistic ones. */
const CASES: readonly BenchCase[] = [...BASE_CASES, cniCase, cniKubeCase];

const children = new ChildProcesses();
const netns = new NetnsRegistry(children);
const mounts = new BindMounts(children);
/** Private directories of running cases. */
const workDirs = new Set<string>();
const interrupted = new AbortController();

function progress(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

/** Runs measure.js inside `ns` on the Node.js executable `nodeBin` (the agent runs on the same) and returns the result line it prints. */
async function measureIn(ns: string, nodeBin: string, config: MeasureConfig): Promise<MeasureResult> {
  interrupted.signal.throwIfAborted();
  const unshare = ['unshare', '--pid', '--mount-proc', '--kill-child=SIGTERM', '--'];
  const child = children.spawn('ip', ['netns', 'exec', ns, ...unshare, nodeBin, MEASURE_JS, JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const out: Buffer[] = [];
  child.stdout?.on('data', (c: Buffer) => out.push(c));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, s) => resolve([c, s]));
  });
  if (code !== 0) throw new Error(`measure.js in netns ${ns} ${signal ? `killed by ${signal}` : `exited ${code}`}`);
  const line = Buffer.concat(out).toString().trim().split('\n').pop() ?? '';
  return JSON.parse(line) as MeasureResult;
}

/** Runs every step even if one fails; rethrows the first failure. */
async function allSteps(steps: readonly (() => Promise<void>)[]): Promise<void> {
  let first: unknown;
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      first ??= err;
    }
  }
  if (first !== undefined) throw first;
}

/** Fails if a namespace or a bind mount of this case outlived its teardown. */
async function checkNothingLeft(names: readonly string[], workDir: string): Promise<void> {
  const listed = new Set(parseNetnsList((await children.run('ip', ['netns', 'list'])).stdout));
  const netnsLeft = names.filter((n) => listed.has(n));
  const mountsLeft = mountsLeftUnder(workDir);
  if (netnsLeft.length > 0 || mountsLeft.length > 0) {
    throw new Error(`teardown left netns [${shortList(netnsLeft)}] and mounts [${shortList(mountsLeft)}]`);
  }
}

/** Sets up one case, measures it and tears it down, whatever happens in between. */
async function runCase(benchCase: BenchCase, options: BenchOptions, nodeBin: string): Promise<CaseReport> {
  // The pid in the name lets a later run find this directory if this process is killed.
  const workDir = await realpath(await mkdtemp(path.join(os.tmpdir(), `mna-bench-${process.pid}-${benchCase.name}-`)));
  workDirs.add(workDir);
  const ctx: CaseContext = {
    links: options.links ?? DEFAULT_LINKS,
    pods: options.pods ?? DEFAULT_PODS,
    netns,
    mounts,
    workDir,
    signal: interrupted.signal,
    progress,
  };
  let prepared: PreparedCase | undefined;
  let failed = true;
  try {
    progress(`case ${benchCase.name}: ${benchCase.summary}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(', ')}`);
    prepared = await benchCase.setup(ctx);
    const setupS = Object.values(prepared.setupMs).reduce((a, b) => a + b, 0) / 1000;
    progress(`${prepared.description}; set up in ${setupS.toFixed(1)} s`);
    const config: MeasureConfig = {
      agentBin: AGENT_BIN,
      agentArgs: prepared.agentArgs,
      nodeExporterBin: options.nodeExporterBin,
      warmups: WARMUPS,
      scrapes: options.scrapes,
      gapMs: SCRAPE_GAP_MS,
      dumpRuns: DUMP_RUNS,
      // The CPU target's interval, scraped as Prometheus would, for several of the agent's 10 s
      // route refreshes rather than one or two of them.
      scrapeInterval: benchCase.targets.cpu ? { ms: benchCase.targets.cpu.scrapeIntervalS * 1000, count: options.cpuIntervals } : undefined,
      podNetnsDir: prepared.pods > 0 ? prepared.podNetnsDir : undefined,
      podInterfaceNames: prepared.podInterfaceNames,
      podProcesses: prepared.podProcesses ?? [],
      cgroupController: prepared.cgroupController,
      cgroupMountDir: path.join(workDir, 'cgroup'),
      readinessFlap: prepared.readinessFlap,
    };
    const result = await measureIn(prepared.netns, nodeBin, config);
    failed = false;
    return { name: benchCase.name, prepared, targets: benchCase.targets, config, result };
  } finally {
    const names = [...netns.names];
    try {
      // Bind mounts first: a mounted namespace outlives `ip netns del`.
      await allSteps([
        async () => prepared?.teardown(),
        () => mounts.unmountAll(),
        () => netns.removeAll(),
        () => checkNothingLeft(names, workDir),
        async () => {
          if (mountsLeftUnder(workDir).length > 0) return; // never remove through a mount; checkNothingLeft said so
          await rm(workDir, { recursive: true, force: true });
          workDirs.delete(workDir);
        },
      ]);
      if (names.length > 0) progress(`removed netns ${shortList(names)}; none left in ip netns list, no mount left under ${workDir}`);
    } catch (err) {
      // After a failure, its error is the one to report; the exit handler tries the cleanup again.
      if (!failed) throw err;
      progress(`cleanup failed too: ${describeError(err)}`);
    }
  }
}

/** Removes what a killed bench run left behind: its bind mounts, then its namespaces, then its private directories. */
async function removeStale(): Promise<void> {
  const tmp = realpathSync(os.tmpdir());
  const stale = staleBenchMounts(tmp);
  if (stale.targets.length > 0) {
    progress(`unmounting ${shortList(stale.targets)}, left by a bench run that no longer runs`);
    await unmount(children, stale.targets);
  }
  const names = (await staleBenchNetns(children)).sort();
  if (names.length > 0) {
    progress(`removing netns ${shortList(names)}, left by a bench run that no longer runs`);
    await removeNetns(children, names);
  }
  for (const entry of readdirSync(tmp)) {
    const m = /^mna-bench-(\d+)-/.exec(entry);
    const dir = path.join(tmp, entry);
    if (!m || Number(m[1]) === process.pid || alive(Number(m[1])) || mountsLeftUnder(dir).length > 0) continue;
    await rm(dir, { recursive: true, force: true });
  }
}

/** Whether `bin` names an existing file, directly or through PATH. */
function onPath(bin: string): boolean {
  if (bin.includes('/')) return existsSync(bin);
  return (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(path.join(dir, bin)));
}

/** Fails with one clear line if something the bench needs is missing. */
function checkPrerequisites(options: BenchOptions): void {
  if (!existsSync(AGENT_BIN)) throw new Error(`${AGENT_BIN} is missing: run npm run build first (npm run bench does)`);
  for (const bin of ['ip', 'unshare', 'mount', 'umount', 'getconf', options.nodeExporterBin]) {
    if (!onPath(bin)) throw new Error(`${bin} not found (install iproute2, util-linux and prometheus-node-exporter, or pass --node-exporter BIN)`);
  }
  if (options.nodeBin !== undefined && !onPath(options.nodeBin)) throw new Error(`--node: ${options.nodeBin} not found`);
}

/** Last resort when nothing asynchronous can run any more: kill, unmount, remove, delete what is no longer mounted. */
function cleanUpSync(): void {
  const steps = [
    () => children.killAllSync(),
    () => mounts.unmountAllSync(),
    () => netns.removeAllSync(),
    () => {
      for (const dir of workDirs) if (mountsLeftUnder(dir).length === 0) rmSync(dir, { recursive: true, force: true });
    },
  ];
  // Each step runs even if one before it threw: an exception here would end the exit handler.
  for (const step of steps) {
    try {
      step();
    } catch (err) {
      process.stderr.write(`bench: cleanup at exit: ${describeError(err)}\n`);
    }
  }
}

/** First SIGINT/SIGTERM: stop the children, so the awaited step fails and teardown runs. Second: clean up now. */
function onSignal(signal: NodeJS.Signals): void {
  if (interrupted.signal.aborted) {
    cleanUpSync();
    process.exit(128 + constants.signals[signal]);
  }
  progress(`${signal}: stopping, then unmounting and removing the namespaces`);
  interrupted.abort(signal);
  void children.stopAll(2000);
}

async function main(argv: readonly string[]): Promise<number> {
  const caseNames = CASES.map((c) => c.name);
  let options: BenchOptions;
  try {
    options = parseBenchArgs(argv, caseNames);
  } catch (err) {
    if (err instanceof AgentError && err.code === 'E_USAGE') {
      process.stderr.write(`bench: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (options.help) {
    process.stdout.write(benchUsage(caseNames, { links: DEFAULT_LINKS, pods: DEFAULT_PODS, podNetworks: POD_NETWORKS }));
    return 0;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench: needs root (it creates network namespaces and macvlan links): run it as root, e.g. sudo npm run bench\n');
    return 1;
  }
  checkPrerequisites(options);
  const nodeBin = options.nodeBin ?? process.execPath;
  const runtime: Runtime = { bin: nodeBin, version: execFileSync(nodeBin, ['--version'], { encoding: 'utf8' }).trim() };
  progress(`the agent and the kernel floor run on Node.js ${runtime.version} (${runtime.bin})`);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Last resort for a throw that escapes every finally: nothing of ours may outlive the bench.
  process.on('exit', cleanUpSync);
  await removeStale();
  const reports: CaseReport[] = [];
  for (const name of options.cases) {
    interrupted.signal.throwIfAborted();
    const benchCase = CASES.find((c) => c.name === name) as BenchCase;
    const report = await runCase(benchCase, options, runtime.bin);
    reports.push(report);
    process.stdout.write(`\n${formatCase(report)}\n\n`);
  }
  process.stdout.write(`${summaryTable(reports, runtime)}\nload average at the end (uptime): ${os.loadavg().map((l) => l.toFixed(2)).join(', ')}\n\n`);
  process.stdout.write(`${summaryJson(reports, runtime)}\n`);
  const wrong = reports.filter((r) => !podCheckOf(r.prepared, r.result).ok).map((r) => r.name);
  if (wrong.length > 0) {
    process.stderr.write(`bench: the agent did not export the pod interfaces the case built (case ${wrong.join(', ')}): its figures are worthless\n`);
    return 1;
  }
  return 0;
}

void main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = interrupted.signal.aborted ? 128 + constants.signals[interrupted.signal.reason as NodeJS.Signals] : code;
  },
  (err: unknown) => {
    const reason = interrupted.signal.reason as NodeJS.Signals | undefined;
    if (reason !== undefined) {
      process.exitCode = 128 + constants.signals[reason];
      return;
    }
    process.stderr.write(`bench: error: ${describeError(err)}\n`);
    process.exitCode = 1;
  },
);
