/**
 * Label texts kept from one render to the next. An interface whose label values did not change
 * gets the very same strings, so nothing is formatted or escaped again and the exposition writer
 * finds their bytes (TextBytes) by a hash V8 has already computed: at 1,000 pod interfaces and
 * 750 host links, formatting them afresh was about a quarter of a render's garbage. Entries a
 * render does not use are dropped at its end, so the cache holds the node's current interfaces.
 */

import { formatLabels } from './exposition.js';
import { type Labels, type Sample } from './family.js';

/** The two label sets of an interface: the one its series share and its `_info` series'. */
export interface LabelTexts {
  readonly labels: string;
  readonly info: string;
}

function sameValues(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class LabelTextCache {
  #gen = 0;
  readonly #entries = new Map<string, { gen: number; values: readonly unknown[]; texts: LabelTexts }>();

  /** Starts a render. */
  begin(): void {
    this.#gen++;
  }

  /**
   * The texts of interface `key`: kept while every one of `values` is the same (===), else
   * `render(a, b)`ed (a function of the module and its arguments, not a closure made per call).
   */
  texts<A, B>(key: string, values: readonly unknown[], render: (a: A, b: B) => LabelTexts, a: A, b: B): LabelTexts {
    let e = this.#entries.get(key);
    if (e === undefined || !sameValues(e.values, values)) {
      e = { gen: this.#gen, values, texts: render(a, b) };
      this.#entries.set(key, e);
    }
    e.gen = this.#gen;
    return e.texts;
  }

  /** Ends a render: forgets the interfaces it did not use. */
  end(): void {
    // forEach, not for-of: the entries iterator made a [key, entry] array per interface.
    const gen = this.#gen;
    this.#entries.forEach((e, key, entries) => {
      if (e.gen !== gen) entries.delete(key);
    });
  }
}

/**
 * Samples made once per source object and kept while it lives, their label text rendered: for
 * families over objects that stay the same from one scrape to the next (a pod's attachments, kept
 * by the join while the pod and its links stay; the rules' verdicts, while the assessment is
 * reused). A sample must be a function of its object alone (`context` only adds what that object
 * already implies, such as the pod an attachment belongs to), so a kept one is always right.
 */
export class SampleCache<T extends object, C = undefined> {
  readonly #samples = new WeakMap<T, Sample>();
  readonly #make: (item: T, context: C) => { labels: Labels; value: number };

  constructor(make: (item: T, context: C) => { labels: Labels; value: number }) {
    this.#make = make;
  }

  of(item: T, context: C): Sample {
    let s = this.#samples.get(item);
    if (s === undefined) {
      const { labels, value } = this.#make(item, context);
      s = { labels, value, labelText: formatLabels(labels) };
      this.#samples.set(item, s);
    }
    return s;
  }
}
