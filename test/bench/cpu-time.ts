/**
 * CPU time of a process: the run time of each of its threads as the scheduler counts it
 * (`/proc/<pid>/task/<tid>/schedstat`, first field, nanoseconds), summed. utime + stime of
 * /proc/<pid>/stat come in clock ticks (10 ms here): a 15 s idle window of a few milliseconds a
 * second is then 2-10 ticks, and one tick more or less moved the share of a core by 0.07%
 * between runs (issue 17, sixth round).
 */
import { readdir, readFile } from 'node:fs/promises';

/** The run time on a CPU (first field) of a schedstat line, nanoseconds. */
export function runNanosOfSchedstat(line: string): number {
  const m = /^(\d+) /.exec(line);
  const ns = m ? Number(m[1]) : NaN;
  if (!Number.isSafeInteger(ns)) throw new Error(`no run time in schedstat line "${line.slice(0, 120)}"`);
  return ns;
}

/**
 * Run time of all threads of a live process, nanoseconds. A thread that has exited is not
 * counted: node's threads (V8's, libuv's pool) live as long as the process.
 */
export async function cpuNanos(pid: number): Promise<number> {
  const dir = `/proc/${pid}/task`;
  let sum = 0;
  for (const tid of await readdir(dir)) {
    try {
      sum += runNanosOfSchedstat(await readFile(`${dir}/${tid}/schedstat`, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
  return sum;
}
