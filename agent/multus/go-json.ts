/**
 * Reads JSON the way Go's `encoding/json` fills a struct, because that is how Multus, the
 * net-attach-def client and the CNI plugins read the annotations and CNI configs we parse:
 * a key matches a field exactly or, failing that, case-insensitively (`json.Unmarshal` docs);
 * unknown keys are ignored; `null` leaves a field unset; a value of the wrong JSON type is an
 * error (`UnmarshalTypeError`), and Multus then refuses the whole annotation or config.
 */
import type { Parsed } from '../model/pods.js';

/** A parsed JSON object. */
export type JsonObject = Readonly<Record<string, unknown>>;

/** True for a JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `JSON.parse` as a {@link Parsed}: the error names what was being parsed. */
export function parseJson(text: string, what: string): Parsed<unknown> {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, error: `${what} is not valid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/**
 * The value of field `name` in `obj` as Go would see it: every key equal to `name` ignoring
 * ASCII case feeds the field and the last one wins; `null` and absence are both undefined.
 */
export function goField(obj: JsonObject, name: string): unknown {
  const folded = name.toLowerCase();
  let value: unknown;
  for (const [key, v] of Object.entries(obj)) {
    if (key === name || key.toLowerCase() === folded) value = v;
  }
  return value === null ? undefined : value;
}

/**
 * Reads typed fields of one JSON object and remembers the first field of the wrong type, so a
 * parser can read everything it needs and check once. Readers made with {@link FieldReader.at}
 * share that first problem.
 */
export class FieldReader {
  readonly #obj: JsonObject;
  readonly #where: string;
  readonly #problems: string[];

  constructor(obj: JsonObject, where: string, problems: string[] = []) {
    this.#obj = obj;
    this.#where = where;
    this.#problems = problems;
  }

  /** The first problem any reader of this family met, or undefined. */
  get problem(): string | undefined {
    return this.#problems[0];
  }

  /** A reader for a nested object, placed under this one, that reports into the same problem slot. */
  at(obj: JsonObject, where: string): FieldReader {
    return new FieldReader(obj, this.describe(where), this.#problems);
  }

  /** A message about this object, prefixed with where it is (`entry 2: <message>`). */
  describe(message: string): string {
    return this.#where === '' ? message : `${this.#where}: ${message}`;
  }

  /** Records a problem about this object. */
  fail(message: string): undefined {
    this.#problems.push(this.describe(message));
    return undefined;
  }

  /** The raw value of a field, as {@link goField} finds it. */
  raw(name: string): unknown {
    return goField(this.#obj, name);
  }

  /** A Go `string`: undefined when absent or null, a problem when of another JSON type. */
  string(name: string): string | undefined {
    const v = this.raw(name);
    if (v === undefined || typeof v === 'string') return v;
    return this.fail(`"${name}" is not a string`);
  }

  /** A Go `int`: a JSON number without a fraction. */
  int(name: string): number | undefined {
    const v = this.raw(name);
    if (v === undefined || (typeof v === 'number' && Number.isInteger(v))) return v;
    return this.fail(`"${name}" is not an integer`);
  }

  /** A Go `bool`. */
  bool(name: string): boolean | undefined {
    const v = this.raw(name);
    if (v === undefined || typeof v === 'boolean') return v;
    return this.fail(`"${name}" is not a boolean`);
  }

  /** A Go struct, pointer to struct or map. */
  object(name: string): JsonObject | undefined {
    const v = this.raw(name);
    if (v === undefined || isJsonObject(v)) return v;
    return this.fail(`"${name}" is not an object`);
  }

  /** A Go slice, its elements unchecked. */
  array(name: string): readonly unknown[] | undefined {
    const v = this.raw(name);
    if (v === undefined || Array.isArray(v)) return v;
    return this.fail(`"${name}" is not a list`);
  }

  /** A Go `[]string`; a `null` element is an empty string, as Go decodes it. */
  strings(name: string): readonly string[] | undefined {
    const v = this.array(name);
    if (v === undefined) return undefined;
    if (!v.every((s) => s === null || typeof s === 'string')) return this.fail(`"${name}" is not a list of strings`);
    return v.map((s) => (s === null ? '' : (s as string)));
  }
}
