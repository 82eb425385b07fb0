/**
 * The built agent as a process on the host's loopback, for the hostile-input suites: started with
 * only the collectors a test needs, stopped by PID. A scrape is checked as a whole exposition
 * (parsed, and by promtool where it is installed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { expect } from 'vitest';
import { AGENT_BIN } from '../support/agent-process.js';
import { parseExposition, type ParsedSample } from '../support/exposition.js';
import { promtoolCheck } from '../support/promtool.js';

/** Collectors that need a kubelet, namespaces or hardware: off unless a test turns them on. */
export const QUIET = ['--no-collector.podresources', '--no-collector.netns', '--no-collector.sriov', '--no-collector.ipam'];

/** A port free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Runs the agent to its end (a bad flag, doctor); killed after `timeoutMs`. */
export async function runAgent(args: readonly string[], timeoutMs = 20_000, wrap: readonly string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [cmd, ...pre] = wrap.length > 0 ? [...wrap, process.execPath] : [process.execPath];
  const child = spawn(cmd as string, [...pre, AGENT_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** A running agent. */
export interface HostileAgent {
  readonly child: ChildProcess;
  readonly url: string;
  readonly port: number;
  stderr(): string;
  /** Resident memory now, MiB. */
  rssMiB(): number;
  /** GET /metrics: 200, a valid exposition; its samples. */
  scrape(): Promise<ParsedSample[]>;
  /** SIGTERM, then the exit code (SIGKILL after 10 s: a hang is the test's failure, with code null). */
  stop(): Promise<number | null>;
}

/** Starts the agent on 127.0.0.1 and waits until /healthz answers (at most `timeoutMs`). */
export async function startAgent(args: readonly string[], timeoutMs = 15_000): Promise<HostileAgent> {
  const port = await freePort();
  const child = spawn(process.execPath, [AGENT_BIN, `--web.listen-address=127.0.0.1:${port}`, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (log += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const url = `http://127.0.0.1:${port}`;
  const agent: HostileAgent = {
    child,
    url,
    port,
    stderr: () => log,
    rssMiB: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]) / 1024,
    async scrape() {
      const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
      const text = await res.text();
      expect(res.status, text).toBe(200);
      const lint = promtoolCheck(text);
      if (lint !== undefined) expect(lint).toBe('');
      return parseExposition(text);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode}: ${log}`);
    try {
      if ((await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) })).status === 200) return agent;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await agent.stop();
      throw new Error(`agent not listening after ${timeoutMs} ms: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The value of one sample, or undefined. */
export function sample(samples: readonly ParsedSample[], name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}
