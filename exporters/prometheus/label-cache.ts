/**
 * Label texts kept from one render to the next. An interface whose label values did not change
 * gets the very same strings, so nothing is formatted or escaped again and the exposition writer
 * finds their bytes (TextBytes) by a hash V8 has already computed: at 1,000 pod interfaces and
 * 750 host links, formatting them afresh was about a quarter of a render's garbage. Entries a
 * render does not use are dropped at its end, so the cache holds the node's current interfaces.
 */

/** The two label sets of an interface: the one its series share and its `_info` series'. */
export interface LabelTexts {
  readonly labels: string;
  readonly info: string;
}

export class LabelTextCache {
  #gen = 0;
  readonly #entries = new Map<string, { gen: number; values: readonly unknown[]; texts: LabelTexts }>();

  /** Starts a render. */
  begin(): void {
    this.#gen++;
  }

  /** The texts of interface `key`: kept while every one of `values` is the same (===), else `render()`ed. */
  texts(key: string, values: readonly unknown[], render: () => LabelTexts): LabelTexts {
    let e = this.#entries.get(key);
    if (e === undefined || e.values.length !== values.length || e.values.some((v, i) => v !== values[i])) {
      e = { gen: this.#gen, values, texts: render() };
      this.#entries.set(key, e);
    }
    e.gen = this.#gen;
    return e.texts;
  }

  /** Ends a render: forgets the interfaces it did not use. */
  end(): void {
    for (const [key, e] of this.#entries) if (e.gen !== this.#gen) this.#entries.delete(key);
  }
}
