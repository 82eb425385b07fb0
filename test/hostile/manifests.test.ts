/**
 * Issue 14, rows 1 and 7 and two minor items: what the --manifests directory may hold. A FIFO,
 * a device or a socket is never opened to be read (a FIFO stopped the old agent for good: its
 * readFile held a libuv thread forever); files are capped one by one and together; a load reads
 * only the files that changed and never overlaps another; a warning is said once per file
 * version (the deep-nesting one was repeated every 5 s); a link to /dev/zero is not read.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManifestSource } from '../../collectors/manifests/manifest-source.js';
import { recordingLogger } from '../support/links.js';
import { sample, startAgent } from './agent.js';

const pod = (name: string): string => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: apps
  uid: 00000000-0000-4000-8000-${name.padStart(12, '0').slice(-12)}
spec:
  nodeName: worker-1
`;

/** Settles `p`, or fails after `ms`: a load that blocks must fail the test, not hang it. */
async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} still running after ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('manifest files from a hostile directory', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mna-hostile-manifests-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('skips a FIFO and a link to /dev/zero without opening them to read; the other files load', async () => {
    execFileSync('mkfifo', [path.join(dir, 'x.yaml')]);
    await symlink('/dev/zero', path.join(dir, 'zero.yaml'));
    await writeFile(path.join(dir, 'pods.yaml'), pod('web-0'));
    const { log, lines } = recordingLogger();
    const source = new ManifestSource({ paths: [dir], log });
    await within(5000, 'the load', source.reload());
    expect(source.pods().map((p) => p.name)).toEqual(['web-0']);
    const skipped = lines.filter((l) => l.level === 'warn' && l.msg === 'manifest file skipped');
    expect(skipped.map((l) => l.obj)).toEqual([
      { file: path.join(dir, 'x.yaml'), reason: 'not_regular_file', type: 'fifo' },
      { file: path.join(dir, 'zero.yaml'), reason: 'not_regular_file', type: 'character device' },
    ]);
    expect(source.stats().skipped.get('not_regular_file')).toBe(2);
    // Said once: a second load of the same directory repeats nothing.
    await within(5000, 'the second load', source.reload());
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(2);
  });

  it('caps one file and all files together; the rest is loaded and the skipped ones are counted', async () => {
    await writeFile(path.join(dir, 'a.yaml'), pod('a'));
    await writeFile(path.join(dir, 'b-big.yaml'), `${pod('big')}# ${'x'.repeat(5000)}\n`);
    await writeFile(path.join(dir, 'c.yaml'), pod('c'));
    await writeFile(path.join(dir, 'd.yaml'), pod('d'));
    const { log, lines } = recordingLogger();
    const source = new ManifestSource({ paths: [dir], log, limits: { maxFileBytes: 4096, maxTotalBytes: pod('a').length + pod('c').length, maxFiles: 100 } });
    await source.reload();
    expect(source.pods().map((p) => p.name).sort()).toEqual(['a', 'c']);
    expect(Object.fromEntries([...source.stats().skipped].filter(([, n]) => n > 0))).toEqual({ too_large: 1, total_bytes_limit: 1 });
    expect(lines.filter((l) => l.msg === 'manifest file skipped').map((l) => (l.obj as { file: string }).file)).toEqual([path.join(dir, 'b-big.yaml'), path.join(dir, 'd.yaml')]);
    const few = new ManifestSource({ paths: [dir], log, limits: { maxFileBytes: 1 << 20, maxTotalBytes: 1 << 20, maxFiles: 2 } });
    await few.reload();
    expect(few.pods().map((p) => p.name)).toEqual(['a', 'big']);
    expect(few.stats().skipped.get('file_count_limit')).toBe(2);
  });

  it('reads again only the files that changed, and two loads asked at once are one', async () => {
    for (const n of ['a', 'b', 'c']) await writeFile(path.join(dir, `${n}.yaml`), pod(n));
    const source = new ManifestSource({ paths: [dir], log: recordingLogger().log });
    await source.reload();
    expect(source.stats()).toMatchObject({ files: 3, parsed: 3, reloads: 1 });
    await source.reload();
    expect(source.stats()).toMatchObject({ files: 3, parsed: 0, reloads: 2 });
    await writeFile(path.join(dir, 'b.yaml'), pod('b2'));
    // Same size, and an mtime that could match within the filesystem's granularity: the inode change time still tells.
    await utimes(path.join(dir, 'b.yaml'), new Date(0), new Date(0));
    await Promise.all([source.reload(), source.reload(), source.reload()]);
    expect(source.stats()).toMatchObject({ files: 3, parsed: 1, reloads: 3 });
    expect(source.pods().map((p) => p.name).sort()).toEqual(['a', 'b2', 'c']);
  });

  it('says a deep-nesting parse failure once, not at every load', async () => {
    await writeFile(path.join(dir, 'deep.yaml'), `kind: Pod\nx: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`);
    const { log, lines } = recordingLogger();
    const source = new ManifestSource({ paths: [dir], log });
    for (let i = 0; i < 4; i++) await source.reload();
    const warned = lines.filter((l) => l.level === 'warn');
    expect(warned).toEqual([{ level: 'warn', obj: { file: path.join(dir, 'deep.yaml'), reason: 'nested too deeply' }, msg: 'manifest file does not parse' }]);
  });

  it('the agent with a FIFO among its manifests listens, serves /metrics naming the skip, and stops on SIGTERM', async () => {
    execFileSync('mkfifo', [path.join(dir, 'x.yaml')]);
    await writeFile(path.join(dir, 'pods.yaml'), pod('web-0'));
    const agent = await startAgent([`--manifests=${dir}`, '--no-collector.podresources', '--no-collector.netns', '--no-collector.sriov', '--no-collector.ipam']);
    try {
      // Past a reload (every 5 s): the FIFO is still skipped, the agent still answers.
      await new Promise((r) => setTimeout(r, 6000));
      const samples = await agent.scrape();
      expect(sample(samples, 'multinet_manifest_files_skipped', { reason: 'not_regular_file' })).toBe(1);
      expect(sample(samples, 'multinet_manifest_files')).toBe(1);
      expect(agent.stderr()).toContain('"reason":"not_regular_file"');
    } finally {
      expect(await agent.stop()).toBe(0);
    }
  }, 30_000);
});
