/**
 * Issue 14, rows 9, 10 and 14: a value-taking flag never swallows the next flag, a duration a
 * Node timer cannot hold is refused, and a listen that cannot work (port in use, a host that does
 * not resolve) is one line on stderr and exit 2, as the README promises for configuration errors.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_DURATION_MS, parseArgs } from '../../agent/app/cli.js';
import { AgentError } from '../../agent/model/errors.js';
import { freePort, QUIET, runAgent } from './agent.js';

const usageError = (argv: string[]): string => {
  try {
    parseArgs(argv, {});
  } catch (err) {
    expect(err).toBeInstanceOf(AgentError);
    expect((err as AgentError).code).toBe('E_USAGE');
    return (err as Error).message;
  }
  throw new Error(`accepted: ${argv.join(' ')}`);
};

/** Exit 2 and exactly one line on stderr, naming what is wrong. */
function oneLineExit2(r: { code: number | null; stderr: string }, mentions: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^multinet-agent: /);
  expect(lines[0]).toMatch(mentions);
}

describe('flags that take a value', () => {
  it('never take the next flag as their value', () => {
    expect(usageError(['--manifests', '--web.listen-address=127.0.0.1:9999'])).toMatch(/--manifests needs a value.*--web\.listen-address/);
    expect(usageError(['--node-name', '--log.level=debug'])).toMatch(/--node-name needs a value.*--log\.level/);
    expect(usageError(['run', '--kubeconfig', '--no-collector.ipam'])).toMatch(/--kubeconfig needs a value/);
    // The value is still given either way when it is not a flag, or with = when it starts with --.
    expect(parseArgs(['--manifests', '/tmp/m', '--node-name=--odd'], {})).toMatchObject({ kind: 'run', config: { manifests: ['/tmp/m'], nodeName: '--odd' } });
  });

  it('the agent refuses it in one line with exit 2 and never listens', async () => {
    const port = await freePort();
    oneLineExit2(await runAgent(['--manifests', `--web.listen-address=127.0.0.1:${port}`, ...QUIET]), /--manifests needs a value/);
  });
});

describe('durations', () => {
  it('at most what a Node timer holds (2^31-1 ms); longer is refused, not turned into 1 ms', () => {
    expect(usageError(['--collector.timeout=99999999m'])).toMatch(/--collector\.timeout: "99999999m" is longer than a timer can hold \(at most 2147483647ms/);
    expect(usageError(['--web.auth.cache-ttl=2147483648ms'])).toMatch(/web\.auth\.cache-ttl.*longer than a timer/);
    expect(usageError(['--collector.ipam.leak-grace=35792m'])).toMatch(/leak-grace.*longer than a timer/);
    expect(parseArgs([`--collector.timeout=${MAX_DURATION_MS}ms`], {})).toMatchObject({ config: { collectorTimeoutMs: MAX_DURATION_MS } });
  });

  it('the agent refuses an overflowing duration in one line with exit 2', async () => {
    oneLineExit2(await runAgent(['--collector.timeout=99999999m', ...QUIET]), /timer/);
  });
});

describe('listen errors', () => {
  let taken: Server | undefined;
  let port = 0;

  beforeAll(async () => {
    const s = createServer();
    taken = s;
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    port = (s.address() as { port: number }).port;
  });

  afterAll(async () => {
    await new Promise<void>((r) => (taken ? taken.close(() => r()) : r()));
  });

  it('port in use: one line naming the address and EADDRINUSE, exit 2', async () => {
    oneLineExit2(await runAgent([`--web.listen-address=127.0.0.1:${port}`, ...QUIET]), new RegExp(`--web\\.listen-address: cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use \\(EADDRINUSE\\)`));
  });

  it('a host that does not resolve: one line, exit 2', async () => {
    // .invalid never resolves (RFC 6761).
    oneLineExit2(await runAgent(['--web.listen-address=no-such-host.invalid:9739', ...QUIET]), /cannot listen on no-such-host\.invalid:9739: the host name does not resolve \((ENOTFOUND|EAI_AGAIN|EAI_FAIL|EAI_NONAME)\)/);
  });
});
