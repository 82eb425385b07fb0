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
  | { readonly t: '!' | '=' | '==' | '!=' | '(' | ')' | ',' | '>' | '<' | 'in' | 'notin' | 'end' };

const SPECIAL = new Set(['!', '=', '(', ')', ',', '>', '<']);

/** apimachinery's lexer: identifiers are runs of anything but whitespace and the special characters. */
function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
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
      while (j < text.length && !/\s/.test(text[j] as string) && !SPECIAL.has(text[j] as string)) j++;
      const word = text.slice(i, j);
      out.push(word === 'in' || word === 'notin' ? { t: word } : { t: 'id', v: word });
      i = j;
    }
  }
  out.push({ t: 'end' });
  return out;
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
    } else if (op.t === 'in' || op.t === 'notin') {
      next();
      if (next().t !== '(') return fail(`expected "(" after "${key} ${op.t}"`);
      const values: string[] = [];
      for (;;) {
        const v = next();
        if (v.t === ')' && values.length === 0) return fail(`"${key} ${op.t} ()": the set of values must not be empty`);
        if (v.t === 'id') {
          const vp = valueProblem(v.v);
          if (vp) return fail(vp);
          values.push(v.v);
        } else if (v.t === ',' || v.t === ')') {
          // `(a,,b)` and `(a,)` hold an empty value, as apimachinery reads them.
          values.push('');
          pos--;
        } else {
          return fail(`expected a value in "${key} ${op.t} (...)", found ${describe(v)}`);
        }
        const sep = next();
        if (sep.t === ')') break;
        if (sep.t !== ',') return fail(`expected "," or ")" in "${key} ${op.t} (...)", found ${describe(sep)}`);
      }
      requirements.push({ key, op: op.t, values });
    } else if (op.t === '>' || op.t === '<') {
      next();
      const v = next();
      if (v.t !== 'id' || !/^-?\d+$/.test(v.v)) return fail(`"${key} ${op.t}" needs an integer, found ${describe(v)}`);
      requirements.push({ key, op: op.t, value: Number(v.v) });
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
      if (!has || !/^-?\d+$/.test(v as string)) return false;
      const n = Number(v);
      return r.op === '>' ? n > r.value : n < r.value;
    }
  }
}

/** Whether every requirement of the selector holds for these labels. */
export function selectorMatches(s: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  return s.requirements.every((r) => holds(r, labels));
}
