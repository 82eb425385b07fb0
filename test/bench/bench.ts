/**
 * `npm run bench` (as root): for each case, builds its links in a throwaway network namespace,
 * runs measure.js inside it to time full /metrics scrapes and read the RSS of the agent and of
 * node_exporter, prints the figures, and removes the namespace again on every path (normal end,
 * error, SIGINT/SIGTERM, process exit). It reports; it asserts nothing: a missed target still
 * exits 0, an error exits 1.
 *
 * measure.js runs as PID 1 of a new PID namespace with its own /proc: the agent's netns
 * discovery then sees only the bench's processes, not the host's, and when measure.js ends the
 * kernel kills whatever it started.
 */
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os, { constants } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgentError } from '../../agent/errors.js';
import { benchUsage, parseBenchArgs, type BenchOptions } from './bench-args.js';
import { CASES, type BenchCase, type CaseContext, type PreparedCase } from './cases.js';
import { NetnsRegistry, removeNetns, staleBenchNetns } from './netns.js';
import { ChildProcesses, describeError } from './processes.js';
import type { MeasureConfig, MeasureResult } from './protocol.js';
import { formatCase, summaryJson, type CaseReport } from './report.js';

/** Just over the agent's SNAPSHOT_MAX_AGE_MS (agent/main.ts), so each timed scrape builds a new snapshot. */
const SCRAPE_GAP_MS = 1100;
const WARMUPS = 2;
const DUMP_RUNS = 20;

const AGENT_BIN = fileURLToPath(new URL('../../agent/bin.js', import.meta.url));
const MEASURE_JS = fileURLToPath(new URL('./measure.js', import.meta.url));

const children = new ChildProcesses();
const netns = new NetnsRegistry(children);
/** Private directories of running cases. */
const workDirs = new Set<string>();
const interrupted = new AbortController();

function progress(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

/** Runs measure.js inside `ns` and returns the result line it prints. */
async function measureIn(ns: string, config: MeasureConfig): Promise<MeasureResult> {
  interrupted.signal.throwIfAborted();
  const unshare = ['unshare', '--pid', '--mount-proc', '--kill-child=SIGTERM', '--'];
  const child = children.spawn('ip', ['netns', 'exec', ns, ...unshare, process.execPath, MEASURE_JS, JSON.stringify(config)], {
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

/** Sets up one case, measures it and tears it down, whatever happens in between. */
async function runCase(benchCase: BenchCase, options: BenchOptions): Promise<CaseReport> {
  const links = options.links ?? benchCase.defaultLinks;
  const workDir = await mkdtemp(path.join(os.tmpdir(), `mna-bench-${benchCase.name}-`));
  workDirs.add(workDir);
  const ctx: CaseContext = { links, netns, workDir, progress };
  let prepared: PreparedCase | undefined;
  try {
    progress(`case ${benchCase.name}: ${benchCase.summary}`);
    prepared = await benchCase.setup(ctx);
    progress(prepared.description);
    const config: MeasureConfig = {
      agentBin: AGENT_BIN,
      agentArgs: prepared.agentArgs,
      nodeExporterBin: options.nodeExporterBin,
      warmups: WARMUPS,
      scrapes: options.scrapes,
      gapMs: SCRAPE_GAP_MS,
      dumpRuns: DUMP_RUNS,
    };
    const result = await measureIn(prepared.netns, config);
    return { name: benchCase.name, links, prepared, config, result };
  } finally {
    const names = [...netns.names];
    try {
      await prepared?.teardown();
    } finally {
      await netns.removeAll();
      await rm(workDir, { recursive: true, force: true });
      workDirs.delete(workDir);
    }
    if (names.length > 0) progress(`removed netns ${names.join(', ')}`);
  }
}

/** Removes namespaces a killed bench run left behind. */
async function removeStale(): Promise<void> {
  for (const name of await staleBenchNetns(children)) {
    progress(`removing netns ${name}, left by a bench run that no longer runs`);
    await removeNetns(children, name);
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
  for (const bin of ['ip', 'unshare', options.nodeExporterBin]) {
    if (!onPath(bin)) throw new Error(`${bin} not found (install iproute2, util-linux and prometheus-node-exporter, or pass --node-exporter BIN)`);
  }
}

/** First SIGINT/SIGTERM: stop the children, so the awaited step fails and teardown runs. Second: clean up now. */
function onSignal(signal: NodeJS.Signals): void {
  if (interrupted.signal.aborted) {
    children.killAllSync();
    netns.removeAllSync();
    process.exit(128 + constants.signals[signal]);
  }
  progress(`${signal}: stopping and removing the namespace`);
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
    process.stdout.write(benchUsage(caseNames));
    return 0;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench: needs root (it creates network namespaces and macvlan links): run it as root, e.g. sudo npm run bench\n');
    return 1;
  }
  checkPrerequisites(options);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Last resort for a throw that escapes every finally: nothing of ours may outlive the bench.
  process.on('exit', () => {
    children.killAllSync();
    netns.removeAllSync();
    for (const dir of workDirs) rmSync(dir, { recursive: true, force: true });
  });
  await removeStale();
  const reports: CaseReport[] = [];
  for (const name of options.cases) {
    interrupted.signal.throwIfAborted();
    const benchCase = CASES.find((c) => c.name === name) as BenchCase;
    const report = await runCase(benchCase, options);
    reports.push(report);
    process.stdout.write(`\n${formatCase(report)}\n\n`);
  }
  process.stdout.write(`${summaryJson(reports)}\n`);
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
