/**
 * Issue 14, row 11: a netns bind mount whose file name is not valid UTF-8. Read as a string, the
 * name turned into U+FFFD, a path that does not exist, and the namespace went missing without a
 * word. Names are now read as bytes: the namespace is found, opened by its bytes and sampled,
 * shown with `\xNN` for the bytes that are not UTF-8, and said once in the log. (Root: a real
 * namespace bind-mounted under such a name.)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetlinkPodLinkSource } from '../../collectors/netlink/netns-links.js';
import { NetnsDiscovery } from '../../collectors/procfs/netns-discovery.js';
import { recordingLogger } from '../support/links.js';
import { createNetns, deleteNetns, netnsName } from '../support/netns.js';

const NS = netnsName('bytes');
/** `cni-` then bytes that are no UTF-8 sequence, then `-é` (valid UTF-8, kept as it is). */
const RAW = Buffer.concat([Buffer.from('cni-'), Buffer.from([0xff, 0xc3, 0x28]), Buffer.from('-é')]);

describe('netns bind mounts named by bytes that are not UTF-8', () => {
  let dir = '';
  let mounted: Buffer | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'mna-hostile-netns-'));
    await createNetns(NS);
    const target = Buffer.concat([Buffer.from(`${dir}/`), RAW]);
    writeFileSync(target, '');
    // mount(8) takes the name as bytes from the shell's printf.
    execFileSync('sh', ['-c', `mount --bind /run/netns/${NS} "${dir}/$(printf 'cni-\\377\\303\\050-\\303\\251')"`]);
    mounted = target;
  });
  afterAll(() => {
    if (mounted) execFileSync('sh', ['-c', `umount "${dir}/$(printf 'cni-\\377\\303\\050-\\303\\251')"`]);
    deleteNetns(NS);
    rmSync(dir, { recursive: true, force: true });
  });

  it('is discovered, opened by its bytes, sampled, and said once', async () => {
    const { log, lines } = recordingLogger();
    const discovery = new NetnsDiscovery({ procRoot: '/proc', netnsDir: dir, log });
    const inode = statSync(`/run/netns/${NS}`).ino;
    const ref = discovery.discover().netns.find((n) => n.inode === inode);
    expect(ref).toBeDefined();
    expect(ref?.bindPath).toBe(`${dir}/cni-\\xff\\xc3(-é`);
    expect(ref?.pathBytes?.equals(Buffer.concat([Buffer.from(`${dir}/`), RAW]))).toBe(true);
    discovery.discover();
    expect(lines.filter((l) => l.msg.startsWith('netns bind mount name is not valid UTF-8'))).toEqual([
      { level: 'info', obj: { path: `${dir}/cni-\\xff\\xc3(-é` }, msg: expect.stringContaining('not valid UTF-8') as string },
    ]);
    const links = new NetlinkPodLinkSource({ log, procRoot: '/proc' });
    try {
      await links.selfNsid(AbortSignal.timeout(5000));
      const dumped = await links.listIn(ref as NonNullable<typeof ref>, AbortSignal.timeout(5000));
      expect(dumped?.links.map((l) => l.name)).toContain('lo');
    } finally {
      links.close();
    }
  });
});
