/**
 * Root-only: the rtnetlink multicast adapter against the real kernel, in a namespace of its own —
 * a link set down and up is announced, within milliseconds, with the state the readiness rules read.
 */
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { createNetns, deleteNetns, ip, IS_ROOT, netnsName } from '../support/netns.js';

const NS = netnsName('linkev');
const MODULE = new URL('../../dist/collectors/netlink/link-events.js', import.meta.url).href;

if (!IS_ROOT) {
  if (process.env.CI) throw new Error('the link-events suite must run as root in CI');
  console.warn('test/integration/link-events.test.ts needs root (network namespaces): skipped');
}

describe.skipIf(!IS_ROOT)('NetlinkLinkEvents in a namespace', () => {
  afterAll(() => deleteNetns(NS));

  it('announces down and up with admin state and carrier', async () => {
    await createNetns(NS);
    await ip('-n', NS, 'link', 'add', 'eth2', 'type', 'veth', 'peer', 'name', 'eth2p');
    await ip('-n', NS, 'link', 'set', 'eth2p', 'up');
    const script = `
      const { NetlinkLinkEvents } = await import(${JSON.stringify(MODULE)});
      const log = { debug() {}, info() {}, warn() {}, error() {} };
      new NetlinkLinkEvents({ log }).start(
        (c) => process.stdout.write(JSON.stringify({ t: performance.timeOrigin + performance.now(), removed: c.removed, name: c.link.name, adminUp: c.link.adminUp, carrier: c.link.carrier, operstate: c.link.operstate }) + '\\n'),
        () => process.stdout.write('{"resync":true}\\n'),
      );
      process.stdout.write('{"ready":true}\\n');
      setTimeout(() => process.exit(0), 10000);`;
    const child = spawn('ip', ['netns', 'exec', NS, process.execPath, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: Record<string, unknown>[] = [];
    let buf = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        lines.push(JSON.parse(buf.slice(0, i)) as Record<string, unknown>);
        buf = buf.slice(i + 1);
      }
    });
    const waitFor = async (pred: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
      for (let i = 0; i < 200; i++) {
        const hit = lines.find(pred);
        if (hit) return hit;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`no such announcement; got ${JSON.stringify(lines)}`);
    };
    try {
      await waitFor((l) => l.ready === true);
      await ip('-n', NS, 'link', 'set', 'eth2', 'up');
      // The kernel may announce the admin change before the operstate settles: wait for 'up'.
      const up = await waitFor((l) => l.name === 'eth2' && l.operstate === 'up');
      expect([up.adminUp, up.carrier]).toEqual([true, true]);
      const before = Date.now();
      await ip('-n', NS, 'link', 'set', 'eth2', 'down');
      const down = await waitFor((l) => l.name === 'eth2' && l.adminUp === false);
      expect(down.operstate).toBe('down');
      // ip's own exit comes after the kernel's announcement; a second is the budget for an Event.
      expect(Number(down.t) - before).toBeLessThan(1000);
      await ip('-n', NS, 'link', 'del', 'eth2');
      expect((await waitFor((l) => l.name === 'eth2' && l.removed === true)).removed).toBe(true);
    } finally {
      child.kill();
    }
  });
});
