/**
 * Kubernetes label selectors in their string form, as apimachinery `pkg/labels` `Parse` reads
 * them: comma-separated requirements that must all hold — `key`, `!key`, `key=value`,
 * `key==value`, `key!=value`, `key in (a,b)`, `key notin (a,b)`, `key>N`, `key<N`. Keys are
 * qualified names (`[prefix/]name`), values label values. Pure.
 */
import { LabelSelector, Requirement } from '../model/label-selector.js';
import type { Parsed } from '../model/pods.js';
type Token =
  | { readonly t: 'id'; readonly v: string }
  | { readonly t: '!' | '=' | '==' | '!=' | '(' | ')' | ',' | '>' | '<' | 'end' };

const SPECIAL = new Set(['!', '=', '(', ')', ',', '>', '<']);
/** apimachinery's `isWhitespace`: only these four. A no-break space or a form feed is part of a word (and then fails validation). */
const isWhitespace = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';

/**
 * apimachinery's lexer: identifiers are runs of anything but whitespace and the special
 * characters. `in` and `notin` are kept as words: the parser reads them as operators only where
 * an operator goes (`in in (in)` is key "in", operator in, value "in"). A NUL is refused: Go's
 * lexer takes it for the end of the string and would silently drop what follows.
 */
function tokenize(text: string): Token[] | string {
  if (text.includes('\0')) return 'contains a NUL character';
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (isWhitespace(c)) {
      i++;
    } else if (c === '=' || c === '!') {
      const two = text.slice(i, i + 2);
      if (two === '==' || two === '!=') {
        out.push({ t: two });
        i += 2;
      } else {
        out.push({ t: c });
        i++;
      }
    } else if (SPECIAL.has(c)) {
      out.push({ t: c as '(' | ')' | ',' | '>' | '<' });
      i++;
    } else {
      let j = i;
      while (j < text.length && !isWhitespace(text[j] as string) && !SPECIAL.has(text[j] as string)) j++;
      out.push({ t: 'id', v: text.slice(i, j) });
      i = j;
    }
  }
  out.push({ t: 'end' });
  return out;
}

/** The operator a word stands for where an operator goes. */
const wordOp = (tok: Token): 'in' | 'notin' | undefined => (tok.t === 'id' && (tok.v === 'in' || tok.v === 'notin') ? tok.v : undefined);

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** Go `strconv.ParseInt(s, 10, 64)`: an optional sign and decimal digits, within int64; undefined otherwise. */
export function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = BigInt(s);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why `key` is not a qualified name (`[prefix/]name`), or undefined when it is one. */
export function keyProblem(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return `key "${key}" has more than one "/"`;
  const name = parts[parts.length - 1] as string;
  if (parts.length === 2) {
    const prefix = parts[0] as string;
    if (prefix === '' || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) return `key "${key}": prefix must be a DNS subdomain`;
  }
  if (name === '' || name.length > 63 || !NAME.test(name)) return `key "${key}": name must be 1-63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric`;
  return undefined;
}

/** Why `value` is not a label value, or undefined when it is one ('' is a value). */
export function valueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63 || !NAME.test(value)) return `value "${value}": must be at most 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric`;
  return undefined;
}

/**
 * Parses a selector string. Unlike Kubernetes, an empty selector is an error, not "everything":
 * an attachment policy that says nothing must not read as "every pod may attach".
 */
export function parseLabelSelector(text: string): Parsed<LabelSelector> {
  if (text.trim() === '') return { ok: false, error: 'empty selector' };
  const tokens = tokenize(text);
  if (typeof tokens === 'string') return { ok: false, error: `selector: ${tokens}` };
  let pos = 0;
  const peek = (): Token => tokens[pos] as Token;
  const next = (): Token => tokens[pos++] as Token;
  const fail = (msg: string): { ok: false; error: string } => ({ ok: false, error: `selector "${text}": ${msg}` });
  const describe = (tok: Token): string => (tok.t === 'id' ? `"${tok.v}"` : tok.t === 'end' ? 'end of selector' : `"${tok.t}"`);
  const requirements: Requirement[] = [];
  for (;;) {
    let tok = next();
    let negated = false;
    if (tok.t === '!') {
      negated = true;
      tok = next();
    }
    if (tok.t !== 'id') return fail(`expected a label key, found ${describe(tok)}`);
    const key = tok.v;
    const bad = keyProblem(key);
    if (bad) return fail(bad);
    const op = peek();
    if (negated) {
      if (op.t !== ',' && op.t !== 'end') return fail(`"!${key}" takes no operator, found ${describe(op)}`);
      requirements.push({ key, op: '!exists' });
    } else if (op.t === ',' || op.t === 'end') {
      requirements.push({ key, op: 'exists' });
    } else if (op.t === '=' || op.t === '==' || op.t === '!=') {
      next();
      // `key=` (an empty value) is allowed: it matches the label set to ''.
      const v = peek();
      let value = '';
      if (v.t === 'id') {
        value = v.v;
        next();
      } else if (v.t !== ',' && v.t !== 'end') {
        return fail(`expected a value after "${key}${op.t}", found ${describe(v)}`);
      }
      const vp = valueProblem(value);
      if (vp) return fail(vp);
      requirements.push({ key, op: op.t === '!=' ? '!=' : '=', value });
    } else if (wordOp(op) !== undefined) {
      const setOp = wordOp(op) as 'in' | 'notin';
      next();
      if (next().t !== '(') return fail(`expected "(" after "${key} ${setOp}"`);
      const values: string[] = [];
      if (peek().t === ')') {
        // `()` is the set holding the empty value, as apimachinery reads it (`z notin ()`).
        next();
        requirements.push({ key, op: setOp, values: [''] });
        const sep = next();
        if (sep.t === 'end') break;
        if (sep.t !== ',') return fail(`expected "," between requirements, found ${describe(sep)}`);
        continue;
      }
      for (;;) {
        const v = next();
        if (v.t === 'id') {
          const vp = valueProblem(v.v);
          if (vp) return fail(vp);
          values.push(v.v);
        } else if (v.t === ',' || v.t === ')') {
          // `(a,,b)` and `(a,)` hold an empty value, as apimachinery reads them.
          values.push('');
          pos--;
        } else {
          return fail(`expected a value in "${key} ${setOp} (...)", found ${describe(v)}`);
        }
        const sep = next();
        if (sep.t === ')') break;
        if (sep.t !== ',') return fail(`expected "," or ")" in "${key} ${setOp} (...)", found ${describe(sep)}`);
      }
      requirements.push({ key, op: setOp, values });
    } else if (op.t === '>' || op.t === '<') {
      next();
      // apimachinery: the value is a label value (so no sign) that strconv.ParseInt reads as an int64.
      const v = next();
      const n = v.t === 'id' && valueProblem(v.v) === undefined ? parseInt64(v.v) : undefined;
      if (n === undefined) return fail(`"${key} ${op.t}" needs a non-negative 64-bit integer, found ${describe(v)}`);
      requirements.push({ key, op: op.t, value: n });
    } else {
      return fail(`expected an operator after "${key}", found ${describe(op)}`);
    }
    const sep = next();
    if (sep.t === 'end') break;
    if (sep.t !== ',') return fail(`expected "," between requirements, found ${describe(sep)}`);
  }
  return { ok: true, value: { text, requirements } };
}

function holds(r: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const v = has ? labels[r.key] : undefined;
  switch (r.op) {
    case 'exists':
      return has;
    case '!exists':
      return !has;
    case '=':
      return has && v === r.value;
    case '!=':
      return !has || v !== r.value;
    case 'in':
      return has && r.values.includes(v as string);
    case 'notin':
      return !has || !r.values.includes(v as string);
    case '>':
    case '<': {
      const n = has ? parseInt64(v as string) : undefined;
      if (n === undefined) return false;
      return r.op === '>' ? n > r.value : n < r.value;
    }
  }
}

/** Whether every requirement of the selector holds for these labels. */
export function selectorMatches(s: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  return s.requirements.every((r) => holds(r, labels));
}
