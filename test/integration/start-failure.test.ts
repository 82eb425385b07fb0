/**
 * The built agent exits when start-up fails half-way: with its kubelet client and other sources
 * already started, a port already taken must end the process with exit 2 and one line (a configuration error, issue 14), not leave it running
 * on the timers of what was started (a DaemonSet pod must crash-loop visibly, not hang unready).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_BIN } from '../support/agent-process.js';

describe('start-up failure', () => {
  let taken: Server | undefined;
  let port = 0;
  let dir = '';

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mna-start-'));
    const server = createServer();
    taken = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => (taken ? taken.close(() => resolve()) : resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  it('exits 2 with one line when the port is taken, after the kubelet client had started', async () => {
    // An empty pod-resources directory: the PodResources client starts and keeps retrying.
    const child = spawn(process.execPath, [AGENT_BIN, `--web.listen-address=127.0.0.1:${port}`, `--path.podresources=${dir}`, '--no-collector.netns', '--log.level=warn'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (log += d));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // Bounded by the test's timeout; a process that hangs is killed and fails the test.
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await exit;
    clearTimeout(timer);
    expect(code, log).toBe(2);
    expect(log).toContain('EADDRINUSE');
    // The error is one plain line (the other lines are the agent's JSON log of what it started), no stack trace.
    expect(log.trim().split('\n').filter((l) => !l.startsWith('{')), log).toEqual([`multinet-agent: --web.listen-address: cannot listen on 127.0.0.1:${port}: the port is in use (EADDRINUSE)`]);
    expect(log).not.toContain('start failed');
  }, 30_000);
});
