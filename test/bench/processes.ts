/**
 * Child processes of the bench, tracked so that every one of them is ended on every path:
 * normal completion, an error, SIGINT/SIGTERM, and process exit (synchronously, as a last resort).
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/** What a finished command printed. */
export interface CommandOutput {
  readonly stdout: string;
  readonly stderr: string;
}

/** Keeps the last `max` characters of a stream, for error messages. */
export class OutputTail {
  #text = '';
  readonly #max: number;

  constructor(max = 4000) {
    this.#max = max;
  }

  /** Appends a chunk, dropping the oldest text beyond the limit. */
  push(chunk: Buffer | string): void {
    this.#text = (this.#text + chunk.toString()).slice(-this.#max);
  }

  /** The kept text, trimmed. */
  get text(): string {
    return this.#text.trim();
  }
}

/** A word as a POSIX shell reads it back: bare when it is safe, else in single quotes. */
function shellWord(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/**
 * A command line as one readable string, the environment it adds first; a value is quoted on its
 * own (`NAME='a b'`), so that a shell still reads the word as an assignment.
 */
export function commandLine(file: string, args: readonly string[], env: Readonly<Record<string, string>> = {}): string {
  return [...Object.entries(env).map(([k, v]) => `${k}=${shellWord(v)}`), ...[file, ...args].map(shellWord)].join(' ');
}

/** The children this process started and has not yet seen exit. */
export class ChildProcesses {
  readonly #live = new Map<ChildProcess, Promise<void>>();

  /** Starts a tracked child; it is forgotten once it exits (or fails to start). */
  spawn(file: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
    const child = spawn(file, args, options);
    const gone = new Promise<void>((resolve) => {
      const forget = (): void => {
        this.#live.delete(child);
        resolve();
      };
      child.once('exit', forget);
      child.once('error', forget);
    });
    this.#live.set(child, gone);
    return child;
  }

  /** Runs a command to completion, `input` on its stdin; rejects with its stderr on a non-zero exit or a signal. */
  run(file: string, args: readonly string[], input?: string): Promise<CommandOutput> {
    const child = this.spawn(file, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err = new OutputTail();
    // EPIPE when the child exits before reading all of it: its exit status and stderr say why.
    child.stdin?.on('error', (e) => err.push(`(stdin: ${e.message})\n`));
    child.stdin?.end(input);
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    return new Promise((resolve, reject) => {
      child.once('error', (e) => reject(new Error(`${commandLine(file, args)}: ${e.message}`, { cause: e })));
      child.once('close', (code, signal) => {
        if (code === 0) resolve({ stdout: Buffer.concat(out).toString(), stderr: err.text });
        else reject(new Error(`${commandLine(file, args)} ${signal ? `killed by ${signal}` : `exited ${code}`}: ${err.text}`));
      });
    });
  }

  /** Resolves when `child` has exited (at once if it already has). */
  exited(child: ChildProcess): Promise<void> {
    return this.#live.get(child) ?? Promise.resolve();
  }

  /** Sends `signal` to one child and waits up to `graceMs` for it to exit, then SIGKILLs it. */
  async stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 3000): Promise<void> {
    const gone = this.#live.get(child);
    if (!gone) return;
    child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), graceMs);
    });
    const late = await Promise.race([gone.then(() => false), timedOut]);
    clearTimeout(timer);
    if (late) {
      child.kill('SIGKILL');
      await gone;
    }
  }

  /** Stops every live child (SIGTERM, then SIGKILL after the grace period). */
  async stopAll(graceMs = 3000): Promise<void> {
    await Promise.all([...this.#live.keys()].map((c) => this.stop(c, 'SIGTERM', graceMs)));
  }

  /** SIGKILLs every live child without waiting: for `process.on('exit')`. */
  killAllSync(): void {
    for (const child of this.#live.keys()) child.kill('SIGKILL');
  }

  /** How many children are still running. */
  get size(): number {
    return this.#live.size;
  }
}

/** Whether a process with this id exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** SIGKILLs `pid`; a process that exited in the meantime is fine. */
export function killGone(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** An error for the terminal: the message of the bench's own errors, the stack of anything unexpected. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.constructor === Error ? err.message : (err.stack ?? err.message);
}
