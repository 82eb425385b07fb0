import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('../../dist/agent/app/main.js', import.meta.url));

/**
 * The `netlink` package's index loads its generic rtnetlink, nl80211, genl and WireGuard modules
 * (about 500 KB of JavaScript) that the agent never uses: it needs only the raw socket and the
 * multicast socket. Checked in a fresh process on the build, so that no other test's imports count.
 */
describe('the netlink package in the agent', () => {
  it('loads only its raw and multicast sockets (on the build: npm test builds first)', () => {
    const script = `
      await import(${JSON.stringify(main)});
      const { createRequire } = await import('node:module');
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('/node_modules/netlink/'));
      process.stdout.write(JSON.stringify(loaded.map((k) => k.slice(k.indexOf('/node_modules/netlink/') + '/node_modules/netlink/'.length)).sort()));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    const loaded = JSON.parse(r.stdout) as string[];
    expect(loaded).toContain('dist/raw.js');
    expect(loaded).toContain('dist/netlink.js');
    expect(loaded.filter((f) => f.endsWith('.js') && !['dist/raw.js', 'dist/netlink.js', 'dist/constants.js', 'dist/structs.js'].includes(f))).toEqual([]);
  });
});
