/**
 * The lab's kubepods parent cgroups (`kubepods`, `kubepods/besteffort`): made when missing,
 * recorded, and removed at `down` once empty. Before, `lab down` removed only the pods' own
 * directories and left the two parents behind after every lab. Plain directories stand in for
 * the cgroup hierarchy: mkdir and rmdir behave the same on an empty one.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeCgroupParents, removeCgroupParents } from '../../lab/lab.js';

describe('lab cgroup parents', () => {
  let root = '';
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'mna-cgroup-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('records the parents it makes and removes them at down', async () => {
    const state: { cgroupParents?: string[] } = {};
    const pod = path.join(root, 'kubepods/besteffort/pod1234');
    expect(await makeCgroupParents(state, pod, root)).toBe(true);
    expect(state.cgroupParents).toEqual([path.join(root, 'kubepods'), path.join(root, 'kubepods/besteffort')]);
    await mkdir(pod);
    // A second pod finds them there and records nothing.
    const other: { cgroupParents?: string[] } = {};
    expect(await makeCgroupParents(other, path.join(root, 'kubepods/besteffort/pod5678'), root)).toBe(false);
    expect(other.cgroupParents).toBeUndefined();
    await rmdir(pod);
    await removeCgroupParents(state);
    expect(existsSync(path.join(root, 'kubepods'))).toBe(false);
  });

  it('leaves parents that existed, and a parent still holding another pod', async () => {
    await mkdir(path.join(root, 'kubepods'));
    const state: { cgroupParents?: string[] } = {};
    await makeCgroupParents(state, path.join(root, 'kubepods/besteffort/pod1'), root);
    expect(state.cgroupParents).toEqual([path.join(root, 'kubepods/besteffort')]);
    await mkdir(path.join(root, 'kubepods/besteffort/pod2'));
    await removeCgroupParents(state);
    expect(existsSync(path.join(root, 'kubepods/besteffort/pod2'))).toBe(true);
    await rmdir(path.join(root, 'kubepods/besteffort/pod2'));
    await removeCgroupParents(state);
    expect(existsSync(path.join(root, 'kubepods/besteffort'))).toBe(false);
    expect(existsSync(path.join(root, 'kubepods'))).toBe(true);
  });
});
