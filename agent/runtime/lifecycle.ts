/**
 * One undo stack for what the agent starts: sockets, timers, clients. `defer` records how to undo
 * each thing as it is started; `close` undoes them in reverse order, once, whether start-up failed
 * half-way or the agent is stopping, so that no timer or socket outlives it.
 */
import type { Logger } from '../model/ports.js';

export class Lifecycle {
  readonly #log: Logger;
  readonly #undo: (() => unknown)[] = [];

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Records how to undo something just started. */
  defer(undo: () => unknown): void {
    this.#undo.push(undo);
  }

  /** Undoes everything deferred so far, newest first; an undo that fails is logged at debug and the rest still run. */
  async close(): Promise<void> {
    for (const undo of this.#undo.splice(0).reverse()) {
      try {
        await undo();
      } catch (err) {
        this.#log.debug({ err }, 'not stopped cleanly');
      }
    }
  }

  /** Runs `start`; when it throws, undoes everything deferred so far and rethrows. */
  async starting<T>(start: () => Promise<T>): Promise<T> {
    try {
      return await start();
    } catch (err) {
      await this.close();
      throw err;
    }
  }
}
