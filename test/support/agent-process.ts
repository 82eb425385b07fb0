/** Runs the built agent (dist/agent/app/bin.js) as a real process inside a network namespace. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fetchInNetns } from './netns.js';

/** The built executable; `npm test` builds it first. */
export const AGENT_BIN = new URL('../../dist/agent/app/bin.js', import.meta.url).pathname;

/** A running agent process and the log it wrote. */
export interface AgentProcess {
  readonly child: ChildProcess;
  readonly url: string;
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts the agent in `ns` and waits until /readyz answers 200 (at most `timeoutMs`). */
export async function startAgentIn(ns: string, port: number, extraArgs: string[] = [], timeoutMs = 15_000, env: Record<string, string> = {}): Promise<AgentProcess> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, AGENT_BIN, `--web.listen-address=127.0.0.1:${port}`, '--log.level=debug', ...extraArgs], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  // With --web.tls.* the agent serves https only.
  const tls = extraArgs.some((a) => a.startsWith('--web.tls.cert-file='));
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (log += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const agent: AgentProcess = {
    child,
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    stderr: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode}: ${log}`);
    try {
      if ((await fetchInNetns(ns, `${agent.url}/readyz`, { insecureTls: tls })).status === 200) return agent;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await agent.stop();
      throw new Error(`agent not ready after ${timeoutMs} ms: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One pod row of `doctor --output=json`. */
export interface DoctorPod {
  namespace: string;
  pod: string;
  netns: string;
  mappedBy: string;
  sandboxId: string;
}

/**
 * `multinet-agent doctor --output=json <args>` run in `ns`: its pod rows by netns. Exit 1 (a
 * problem found) still prints the report, so it is read either way.
 */
export async function doctorPodsIn(ns: string, args: readonly string[]): Promise<Map<string, DoctorPod>> {
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile('ip', ['netns', 'exec', ns, process.execPath, AGENT_BIN, 'doctor', '--output=json', ...args, '--log.level=error'], { encoding: 'utf8', maxBuffer: 16 << 20 }, (err, out) => {
      if (err && (err as { code?: unknown }).code !== 1) reject(err);
      else resolve(out);
    });
  });
  const report = JSON.parse(stdout) as { pods: DoctorPod[] };
  return new Map(report.pods.map((p) => [p.netns, p]));
}
