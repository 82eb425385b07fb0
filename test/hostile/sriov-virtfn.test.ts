/**
 * Hostile sysfs: `virtfn01` (or `virtfn007`, `virtfn1x`) planted beside the kernel's `virtfn1`.
 * The PCI core names VF links `virtfn%u`; anything else must not make a second VF, nor a second
 * set of series for the same VF.
 */
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sriovFamilies } from '../../exporters/prometheus/sriov-families.js';
import { SriovSysfsSource } from '../../collectors/sriov/sriov-sysfs.js';
import { SRIOV_SYSFS, sriovFixtureFs } from '../../collectors/sriov/testdata/sriov-fixture.js';
import { recordingLogger } from '../support/links.js';
import { duplicatesIn } from './series.js';

const root = mkdtempSync(path.join(tmpdir(), 'multinet-virtfn-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('virtfn links that are not the kernel\'s', () => {
  it('read one VF per PCI address: virtfn01, virtfn003, virtfn2x and a 20-digit index add nothing', async () => {
    cpSync(SRIOV_SYSFS, root, { recursive: true, verbatimSymlinks: true });
    const pfDir = path.join(root, 'devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0');
    symlinkSync('../0000:3b:01.1', path.join(pfDir, 'virtfn01'));
    symlinkSync('../0000:3b:01.3', path.join(pfDir, 'virtfn003'));
    symlinkSync('../0000:3b:01.2', path.join(pfDir, 'virtfn2x'));
    symlinkSync('../0000:3b:01.0', path.join(pfDir, 'virtfn99999999999999999999'));
    const { log } = recordingLogger();
    const source = new SriovSysfsSource({ root, log, fs: sriovFixtureFs });
    const pfs = await source.listPfs(new AbortController().signal);
    const pf = pfs.find((p) => p.pciAddress === '0000:3b:00.0');
    expect(pf?.vfs.map((v) => [v.index, v.pciAddress])).toEqual([
      [0, '0000:3b:01.0'],
      [1, '0000:3b:01.1'],
      [2, '0000:3b:01.2'],
      [3, '0000:3b:01.3'],
    ]);
    expect(duplicatesIn(sriovFamilies({ pfs }))).toEqual([]);
  });
});
