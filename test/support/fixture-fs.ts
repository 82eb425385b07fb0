/** Reads a sysfs fixture tree, raising the errno a real kernel would where a file says so. */
import { readFile, realpath } from 'node:fs/promises';
import type { SysfsFs } from '../../collectors/sysfs/sysfs-net.js';

/** The fixture tree of collectors/sysfs/testdata (see its README). */
export const SYSFS_FIXTURE = new URL('../../collectors/sysfs/testdata/sys', import.meta.url).pathname;

/** A file whose whole content is `!ECODE` raises ECODE on read, as sysfs does for `speed` of a virtual device. */
export const fixtureFs: SysfsFs = {
  async readFile(file) {
    const text = await readFile(file, 'latin1');
    const m = /^!(E[A-Z]+)\n?$/.exec(text);
    if (m) {
      const err: NodeJS.ErrnoException = new Error(`${m[1]}: read ${file}`);
      err.code = m[1];
      throw err;
    }
    return text;
  },
  realpath: (file) => realpath(file),
};
