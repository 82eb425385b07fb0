/**
 * Judging a snapshot that differs from the last one judged only in what no rule reads (counters,
 * timings, the processes in a namespace) gives the same verdicts: the last assessment is handed
 * out again instead of running every rule over every pod, interface and lease once more. Between
 * two scrapes of a settled node that is the usual case, and the rules were a tenth of a scrape's
 * CPU and a fifth of what it allocated at 250 pods (issue 17).
 *
 * "What no rule reads" is a list of keys ({@link NOT_JUDGED}), each with the shape of value it
 * has in the model (a counter set, a number), so that a pod label or an annotation that happens
 * to have one of those names is still compared. test/rules/assess-reuse.test.ts holds assess() to
 * it: the rules run over snapshots whose counters and timings throw when read.
 */
import { type Assessment } from '../model/assessment.js';
import { type Snapshot } from '../model/snapshot.js';
import { assess } from './assess.js';

/** True for a set of counters as the model keeps them: an object whose every field is a bigint (or absent). */
function isCounterSet(v: unknown): boolean {
  if (v === undefined) return true;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  for (const k in v) {
    const f = (v as Record<string, unknown>)[k];
    if (f !== undefined && typeof f !== 'bigint') return false;
  }
  return true;
}

const isTiming = (v: unknown): boolean => typeof v === 'number' || v === undefined;

/** True for a list of process ids as the model keeps them (`NetnsRef.pids`). */
function isPidList(v: unknown): boolean {
  if (!Array.isArray(v)) return false;
  for (const p of v) if (typeof p !== 'number') return false;
  return true;
}

/**
 * The keys no rule reads, with the shape their value has in the model: link counters
 * (`NetLink.counters`), VF counters (`stats`, `sysfsStats`), the processes in a network namespace
 * (`NetnsRef.pids`: an exec probe or a forked worker changes them, and with a few hundred pods
 * some pod's do between most scrapes), how long a collector took, and when the snapshot was
 * taken (read by the rules only for the lease grace period, which {@link AssessmentReuse} checks
 * on its own).
 */
export const NOT_JUDGED: ReadonlyMap<string, (v: unknown) => boolean> = new Map([
  ['counters', isCounterSet],
  ['stats', isCounterSet],
  ['sysfsStats', isCounterSet],
  ['pids', isPidList],
  ['durationSeconds', isTiming],
  ['takenAtMs', isTiming],
]);

/** Whether `key` of an object holds, on both sides, something no rule reads. */
export function notJudged(key: string, a: unknown, b: unknown): boolean {
  const shape = NOT_JUDGED.get(key);
  return shape !== undefined && shape(a) && shape(b);
}

/**
 * Deep equality of two snapshots' values except what no rule reads. Only a "same" may be wrong in
 * a harmful way, so every doubt answers "not the same": Maps and Sets are compared in insertion
 * order, objects of different prototypes differ, NaN differs from itself.
 */
export function sameForRules(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameForRules(a[i], b[i])) return false;
    return true;
  }
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Map || a instanceof Set) {
    const other = b as Map<unknown, unknown> | Set<unknown>;
    if (a.size !== other.size) return false;
    const ai = a.entries();
    const bi = other.entries();
    for (let x = ai.next(), y = bi.next(); !x.done; x = ai.next(), y = bi.next()) {
      if (y.done || !sameForRules(x.value[0], y.value[0]) || !sameForRules(x.value[1], y.value[1])) return false;
    }
    return true;
  }
  if (ArrayBuffer.isView(a)) {
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = b as ArrayBufferView;
    return Buffer.compare(x, new Uint8Array(y.buffer, y.byteOffset, y.byteLength)) === 0;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  let keys = 0;
  for (const k in ao) {
    keys++;
    if (!(k in bo)) return false;
    const x = ao[k];
    const y = bo[k];
    if (x !== y && !notJudged(k, x, y) && !sameForRules(x, y)) return false;
  }
  for (const k in bo) {
    void k;
    keys--;
  }
  return keys === 0;
}

/**
 * Whether every lease-grace judgment made at `judgedAtMs` still stands at `nowMs`: no allocation
 * of `snapshot` became old enough to count as leaked in between. The grace period is the only use
 * of the time in the rules.
 */
export function leakGraceUnchanged(snapshot: Snapshot, judgedAtMs: number, nowMs: number): boolean {
  const ipam = snapshot.ipam;
  if (!ipam) return true;
  for (const dir of ipam.dirs) {
    for (const a of dir.allocations) if (judgedAtMs - a.mtimeMs >= ipam.leakGraceMs !== nowMs - a.mtimeMs >= ipam.leakGraceMs) return false;
  }
  return true;
}

/** assess(), handing the last assessment out again for a snapshot that differs from the last one judged only in counters and timings. */
export class AssessmentReuse {
  #last: { readonly snapshot: Snapshot; readonly assessment: Assessment; readonly judgedAtMs: number } | undefined;
  #reused = 0;
  #judged = 0;

  /** The verdicts on `snapshot` with its own addresses and routes (snapshot.networking), as {@link assess} gives them. */
  assess(snapshot: Snapshot): Assessment {
    const last = this.#last;
    if (last && leakGraceUnchanged(snapshot, last.judgedAtMs, snapshot.takenAtMs) && sameForRules(last.snapshot, snapshot)) {
      this.#reused++;
      // The newest snapshot is the one compared next (the older can go); the judgment keeps its time.
      this.#last = { snapshot, assessment: last.assessment, judgedAtMs: last.judgedAtMs };
      return last.assessment;
    }
    this.#judged++;
    const assessment = assess(snapshot);
    this.#last = { snapshot, assessment, judgedAtMs: snapshot.takenAtMs };
    return assessment;
  }

  /** How many snapshots were judged and how many reused the last judgment. */
  get stats(): { readonly judged: number; readonly reused: number } {
    return { judged: this.#judged, reused: this.#reused };
  }
}
