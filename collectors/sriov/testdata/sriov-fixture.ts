/** Test support: the SR-IOV sysfs fixture tree (README.md) and the fs that reads it as the kernel would. */
import { readdir } from 'node:fs/promises';
import { fixtureFs } from '../../../test/support/fixture-fs.js';
import type { SriovFs } from '../sriov-sysfs.js';

/** Root of the fixture tree: pass as `root` to SriovSysfsSource. */
export const SRIOV_SYSFS = new URL('./sys', import.meta.url).pathname;

/** The fixture tree read through test/support's fixtureFs (`!EINVAL` files raise EINVAL), plus readdir. */
export const sriovFixtureFs: SriovFs = { ...fixtureFs, readdir: (dir) => readdir(dir) };
