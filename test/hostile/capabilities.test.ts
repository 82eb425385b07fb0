/**
 * Issue 14, row 16: a refused namespace read is explained by its likely cause, from the agent's
 * own CapEff, not always blamed on CAP_SYS_PTRACE. The refusal is made real: the built agent
 * runs (as root) without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (setpriv), against a procfs
 * whose process directory it may not search, so readlink of <pid>/ns/net gets EACCES — with
 * CAP_SYS_PTRACE held, and then without it.
 */
import { chmod, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { effectiveCapabilities, holds, refusalCause } from '../../collectors/procfs/capabilities.js';
import { runAgent } from './agent.js';

interface LogLine {
  readonly msg: string;
  readonly pid?: number;
  readonly path?: string;
  readonly errno?: string;
  readonly cause?: string;
}

const warnings = (stderr: string): LogLine[] =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine & { level: number })
    .filter((l) => l.level === 40);

describe('capability warnings', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mna-hostile-caps-'));
    await mkdir(path.join(dir, 'proc/4242/ns'), { recursive: true });
    await symlink('net:[1]', path.join(dir, 'proc/4242/ns/net'));
    await chmod(path.join(dir, 'proc/4242'), 0o000);
    await symlink('/proc/self', path.join(dir, 'proc/self'));
    await mkdir(path.join(dir, 'netns'));
  });
  afterAll(async () => {
    await chmod(path.join(dir, 'proc/4242'), 0o755);
    await rm(dir, { recursive: true, force: true });
  });

  const doctor = (drop: string) =>
    runAgent(['doctor', `--path.procfs=${dir}/proc`, `--path.netns=${dir}/netns`, '--no-collector.podresources', '--no-collector.sriov', '--no-collector.ipam'], 30_000, ['setpriv', `--bounding-set=${drop}`, '--']);

  it('with CAP_SYS_PTRACE held, EACCES is an LSM or the VM refusing; the warning names the process, the path and the errno', async () => {
    const r = await doctor('-dac_override,-dac_read_search');
    const w = warnings(r.stderr).filter((l) => l.msg.startsWith('cannot read the network namespace'));
    expect(w, r.stderr).toHaveLength(1);
    expect(w[0]).toMatchObject({ pid: 4242, path: `${dir}/proc/4242/ns/net`, errno: 'EACCES' });
    expect(w[0]?.cause).toBe('refused by an LSM (AppArmor, SELinux, Yama) or the VM although the agent holds CAP_SYS_PTRACE (EACCES)');
    expect(r.stderr).not.toMatch(/lacks CAP_SYS_PTRACE|missing CAP_SYS_PTRACE|"capability":"CAP_SYS_PTRACE"/);
  }, 40_000);

  it('without CAP_SYS_PTRACE, the warning says it is missing', async () => {
    const r = await doctor('-dac_override,-dac_read_search,-sys_ptrace');
    const w = warnings(r.stderr).filter((l) => l.msg.startsWith('cannot read the network namespace'));
    expect(w, r.stderr).toHaveLength(1);
    expect(w[0]?.cause).toBe("the agent lacks CAP_SYS_PTRACE (EACCES): add it to the container's securityContext.capabilities");
  }, 40_000);

  it('reads its own effective set', () => {
    const eff = effectiveCapabilities();
    expect(eff).toBeDefined();
    // This suite runs as root with the full set.
    expect(holds(eff, 'CAP_SYS_PTRACE')).toBe(true);
    expect(holds(0n, 'CAP_SYS_PTRACE')).toBe(false);
    expect(holds(undefined, 'CAP_NET_ADMIN')).toBeUndefined();
    expect(refusalCause('CAP_NET_ADMIN', 'EPERM', undefined)).toBe('the agent may lack CAP_NET_ADMIN, or an LSM or the VM refused (EPERM)');
  });
});
