/**
 * The snapshot cache: concurrent callers share one build, a snapshot younger than `maxAgeMs` is
 * handed out again, and each snapshot is assessed once, as it is built, so that every scrape,
 * /readyz and the problem Events read the same verdicts without judging again.
 */
import { type AssessedSnapshot, type Assessment } from '../model/assessment.js';
import { type NetnsNetworking } from '../model/problems.js';
import { type Snapshot } from '../model/snapshot.js';
import { assess } from '../rules/assess.js';

/** Shares snapshots, with their assessment, between concurrent callers. */
export class SnapshotCache {
  readonly #build: () => Promise<Snapshot>;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  #inFlight: Promise<AssessedSnapshot> | undefined;
  #last: { assessed: AssessedSnapshot; doneAtMs: number } | undefined;

  constructor(build: () => Promise<Snapshot>, opts: { maxAgeMs: number; now?: () => number }) {
    this.#build = build;
    this.#maxAgeMs = opts.maxAgeMs;
    this.#now = opts.now ?? Date.now;
  }

  /** The most recent completed snapshot and its assessment, if any (for readiness). */
  get last(): AssessedSnapshot | undefined {
    return this.#last?.assessed;
  }

  /** A fresh-enough snapshot and its assessment, building (and assessing) one if needed. */
  get(): Promise<AssessedSnapshot> {
    if (this.#last && this.#now() - this.#last.doneAtMs < this.#maxAgeMs) return Promise.resolve(this.#last.assessed);
    this.#inFlight ??= this.#build()
      .then((snapshot) => {
        // Judged with the addresses and routes the snapshot carries (the networking cache's value when it was taken).
        const assessed = { snapshot, assessment: assess(snapshot) };
        this.#last = { assessed, doneAtMs: this.#now() };
        return assessed;
      })
      .finally(() => {
        this.#inFlight = undefined;
      });
    return this.#inFlight;
  }

  /**
   * The latest snapshot with addresses and routes read since it was taken (the networking
   * refresh off the scrape path), assessed again, and kept in its place for the rest of its age:
   * the problem Events and the scrapes that follow read the same verdicts. The same snapshot
   * when it already carries `networking`; undefined before the first snapshot.
   */
  withNetworking(networking: ReadonlyMap<number, NetnsNetworking>): AssessedSnapshot | undefined {
    const last = this.#last;
    if (!last) return undefined;
    if (last.assessed.snapshot.networking === networking) return last.assessed;
    const snapshot: Snapshot = { ...last.assessed.snapshot, networking };
    const assessment: Assessment = assess(snapshot);
    this.#last = { assessed: { snapshot, assessment }, doneAtMs: last.doneAtMs };
    return this.#last.assessed;
  }
}
