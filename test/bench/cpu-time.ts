/**
 * CPU time of a process from /proc/<pid>/stat (proc(5)): utime + stime of all its threads, in
 * clock ticks (`getconf CLK_TCK`), and what it comes to as a share of one core.
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/** utime + stime (fields 14 and 15) of a /proc/<pid>/stat line, clock ticks. */
export function cpuTicksOfStat(stat: string): number {
  // The command name (field 2) is in parentheses and may itself hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so field n is fields[n - 3].
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isInteger(utime) || !Number.isInteger(stime)) throw new Error(`no utime/stime in /proc/<pid>/stat line "${stat.slice(0, 120)}"`);
  return utime + stime;
}

/** utime + stime of a live process, clock ticks. */
export async function cpuTicks(pid: number): Promise<number> {
  return cpuTicksOfStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
}

/** Clock ticks per second, as the kernel counts utime and stime. */
export function clockTicksPerSecond(): number {
  const hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  if (!Number.isInteger(hz) || hz <= 0) throw new Error(`getconf CLK_TCK printed "${hz}"`);
  return hz;
}

/**
 * Percent of one core a process uses when scraped every `intervalS` seconds: one scrape's CPU
 * plus `intervalS` seconds of idle CPU, over the interval.
 */
export function coreSharePercent(perScrapeMs: number, idleMsPerS: number, intervalS: number): number {
  return ((perScrapeMs + intervalS * idleMsPerS) / (intervalS * 1000)) * 100;
}
