/** Label values of one sample; every label of a family is present ('' when it does not apply). */
export type Labels = Readonly<Record<string, string>>;

/** One sample of a family. */
export interface Sample {
  readonly labels: Labels;
  readonly value: number;
  /** `labels` already rendered (`{a="x"}`), when several families share one label set. */
  readonly labelText?: string;
  /** Written after the family's name: a histogram's `_bucket`, `_sum` and `_count`. */
  readonly suffix?: string;
}

/** One metric family: what `# HELP` / `# TYPE` announce and the samples under them. */
export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter' | 'histogram';
  readonly samples: readonly Sample[];
  /**
   * Rows that several families share, one label set per link, rendered once: `values[i]` goes
   * with `rows.labelTexts[i]`, undefined for no sample. Written after `samples`. Avoids one object
   * per series: at 21,000 series those objects were most of the scrape's garbage.
   */
  readonly rows?: { readonly labelTexts: readonly string[]; readonly values: readonly (number | undefined)[] };
  /**
   * Families of one group have row-aligned `rows` (row i is the same interface in each): the
   * series limit keeps or drops a row in all of them at once.
   */
  readonly group?: string;
}

/** Values of a spec over rows of items: numbers, booleans as 0/1, absent as undefined. */
export function columnOf<T>(items: readonly T[], value: (item: T) => number | bigint | boolean | undefined): (number | undefined)[] {
  const out = new Array<number | undefined>(items.length);
  for (let i = 0; i < items.length; i++) {
    const v = value(items[i] as T);
    out[i] = v === undefined ? undefined : typeof v === 'boolean' ? (v ? 1 : 0) : Number(v);
  }
  return out;
}
