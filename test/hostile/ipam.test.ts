/**
 * Issue 14, rows 5 and 6: one network's lease directory can be anything a NAD author points
 * `dataDir` at, and anything can sit among its leases. A dataDir that is a regular file failed
 * the whole ipam collector (every multinet_ipam_* series of the node went); an IP-named
 * directory or a symlink loop among the leases stopped the background refresh at the same place
 * every time, so the leases after it (other networks) were never described. Now that network
 * alone is marked (multinet_ipam_directory_error) and the refresh goes on.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HostLocalIpamSource } from '../../collectors/ipam/host-local.js';
import { recordingLogger } from '../support/links.js';
import { sample, startAgent } from './agent.js';

const lease = (cid: string): string => `${cid}\r\nnet1`;

const nad = (name: string, subnet: string, dataDir: string): string => `apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: ${name}
  namespace: default
spec:
  config: '{"cniVersion":"0.3.1","name":"${name}","type":"macvlan","master":"eth1","ipam":{"type":"host-local","subnet":"${subnet}","dataDir":"${dataDir}"}}'
---
`;

describe('host-local lease directories a NAD author controls', () => {
  let root = '';
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'mna-hostile-ipam-'));
    // good-a: two leases. file: dataDir is a regular file. odd: an IP-named directory, a symlink
    // loop and a FIFO named as addresses, beside a real lease. good-z: read after odd.
    await mkdir(path.join(root, 'a/good-a'), { recursive: true });
    await writeFile(path.join(root, 'a/good-a/10.1.0.2'), lease('cid-a2'));
    await writeFile(path.join(root, 'a/good-a/10.1.0.3'), lease('cid-a3'));
    await writeFile(path.join(root, 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
    await mkdir(path.join(root, 'o/odd/10.3.0.2'), { recursive: true });
    await symlink('10.3.0.3', path.join(root, 'o/odd/10.3.0.3'));
    await symlink('10.3.0.3', path.join(root, 'o/odd/10.3.0.4')).catch(() => undefined);
    await rm(path.join(root, 'o/odd/10.3.0.3'));
    await symlink('10.3.0.4', path.join(root, 'o/odd/10.3.0.3'));
    execFileSync('mkfifo', [path.join(root, 'o/odd/10.3.0.5')]);
    await writeFile(path.join(root, 'o/odd/10.3.0.6'), lease('cid-o6'));
    await mkdir(path.join(root, 'z/good-z'), { recursive: true });
    await writeFile(path.join(root, 'z/good-z/10.4.0.2'), lease('cid-z2'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('marks only the network whose directory cannot be listed, and describes every lease past the odd ones', async () => {
    const { log, lines } = recordingLogger();
    const source = new HostLocalIpamSource({ log, waitForDetails: true });
    const dirs = [
      { network: 'good-a', dir: path.join(root, 'a/good-a') },
      { network: 'file', dir: path.join(root, 'passwd/file') },
      { network: 'odd', dir: path.join(root, 'o/odd') },
      { network: 'good-z', dir: path.join(root, 'z/good-z') },
    ];
    const read = await source.read(dirs, AbortSignal.timeout(5000));
    const by = new Map(read.map((d) => [d.network, d]));
    expect(by.get('file')).toMatchObject({ exists: false, error: 'ENOTDIR', allocations: [] });
    expect(by.get('good-a')?.error).toBeUndefined();
    expect(by.get('good-a')?.allocations.map((a) => [a.ip, a.containerId])).toEqual([['10.1.0.2', 'cid-a2'], ['10.1.0.3', 'cid-a3']]);
    // What blocks an address for host-local counts as allocated; only the real lease has a holder.
    expect(new Map(by.get('odd')?.allocations.map((a) => [a.ip, a.containerId]))).toEqual(new Map([['10.3.0.2', ''], ['10.3.0.3', ''], ['10.3.0.4', ''], ['10.3.0.5', ''], ['10.3.0.6', 'cid-o6']]));
    expect(by.get('good-z')?.allocations.map((a) => [a.ip, a.containerId])).toEqual([['10.4.0.2', 'cid-z2']]);
    // Said once each, also when read again.
    await source.read(dirs, AbortSignal.timeout(5000));
    await source.idle();
    const warned = lines.filter((l) => l.level === 'warn');
    expect(warned.filter((l) => l.msg.startsWith('ipam lease directory unreadable'))).toHaveLength(1);
    expect(warned.filter((l) => l.msg.startsWith('ipam lease is not a regular file'))).toHaveLength(4);
  });

  it('the agent exports every other network and multinet_ipam_directory_error for the broken one', async () => {
    const manifests = path.join(root, 'manifests');
    await mkdir(manifests);
    await writeFile(
      path.join(manifests, 'nads.yaml'),
      nad('good-a', '10.1.0.0/24', path.join(root, 'a')) + nad('file', '10.2.0.0/24', path.join(root, 'passwd')) + nad('odd', '10.3.0.0/24', path.join(root, 'o')) + nad('good-z', '10.4.0.0/24', path.join(root, 'z')),
    );
    const agent = await startAgent([`--manifests=${manifests}`, '--no-collector.podresources', '--no-collector.netns', '--no-collector.sriov']);
    try {
      const samples = await agent.scrape();
      const allocated = (network: string): number | undefined => sample(samples, 'multinet_ipam_addresses_allocated', { network });
      expect([allocated('good-a'), allocated('odd'), allocated('good-z'), allocated('file')]).toEqual([2, 5, 1, undefined]);
      expect(sample(samples, 'multinet_ipam_directory_error', { network: 'file' })).toBe(1);
      expect(sample(samples, 'multinet_ipam_directory_error', { network: 'good-a' })).toBe(0);
      expect(sample(samples, 'multinet_scrape_collector_success', { collector: 'ipam' })).toBe(1);
    } finally {
      await agent.stop();
    }
  }, 30_000);
});
