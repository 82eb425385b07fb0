/**
 * A small renderer for the subset of Go text/template + Sprig + Helm that chart/templates uses,
 * so the chart's tests can look at real manifests without a `helm` binary. It is not Helm:
 *
 * - actions: `{{ }}` with `{{-`/`-}}` trimming and `{{/* comments *\/}}`; `if`/`else if`/`else`,
 *   `with`/`else`, `range` over lists and maps (keys sorted, as Go does) with `$k, $v :=` or
 *   `$v :=`, `define` + `include`, variables (`$x :=`, `$x =`), pipelines, parentheses,
 *   field chains on `.`, `$` and variables, string/number/bool/nil literals;
 * - functions: the ones in FUNCTIONS below, with Sprig's semantics as far as this chart uses them;
 *   `.Files.Glob` (only `*` wildcards) and `.Files.Get` as methods;
 * - `strict` mirrors `helm template --strict`: a missing map key is an error. A field of nil is
 *   an error either way, as in Go.
 * - numbers: a number of the values is a float64, as Helm reads values files, and prints as Go's
 *   `%v` does (`1000000` as `1e+06`); an integer literal in a template and the result of `int`
 *   are ints (BigInt here). `eq`/`ne` of an int and a float64 (or of a number and a string) is an
 *   error, as in Go: compare `(int .Values.n)` with an int literal.
 *
 * Anything else (`template`, `block`, `break`, `tpl`, `lookup`, `.Capabilities`, ...) is an
 * error, never silently wrong output. What it renders is checked by tests; real `helm lint`
 * and `helm template` remain the final word where a helm binary exists.
 */
import { stringify } from 'yaml';
import { parse as parseYaml } from 'yaml';

type Value = unknown;

/** A node of the parsed template. */
type Node =
  | { readonly t: 'text'; readonly text: string }
  | { readonly t: 'action'; readonly pipe: Pipeline }
  | { readonly t: 'if'; readonly branches: readonly { readonly cond: Pipeline; readonly body: readonly Node[] }[]; readonly otherwise: readonly Node[] }
  | { readonly t: 'with'; readonly pipe: Pipeline; readonly body: readonly Node[]; readonly otherwise: readonly Node[] }
  | { readonly t: 'range'; readonly pipe: Pipeline; readonly body: readonly Node[]; readonly otherwise: readonly Node[] };

interface Pipeline {
  readonly decl: readonly string[];
  /** `:=` declares, `=` assigns to an existing variable. */
  readonly assign: ':=' | '=' | undefined;
  readonly cmds: readonly (readonly Operand[])[];
}

type Operand =
  | { readonly k: 'lit'; readonly v: Value }
  | { readonly k: 'field'; readonly base: '.' | string; readonly path: readonly string[] }
  | { readonly k: 'ident'; readonly name: string }
  | { readonly k: 'paren'; readonly pipe: Pipeline };

/** Error in a template: names the template and what went wrong. */
export class TemplateError extends Error {}

interface Action {
  readonly body: string;
  readonly trimLeft: boolean;
  readonly trimRight: boolean;
}

/** Splits a template into text and actions, applying the trim markers. */
function lex(name: string, src: string): (string | Action)[] {
  const out: (string | Action)[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      out.push(src.slice(i));
      break;
    }
    out.push(src.slice(i, open));
    let j = open + 2;
    let quote: string | undefined;
    for (; j < src.length; j++) {
      const c = src[j];
      if (quote !== undefined) {
        if (c === '\\' && quote === '"') j++;
        else if (c === quote) quote = undefined;
      } else if (c === '"' || c === '`') quote = c;
      else if (c === '}' && src[j + 1] === '}') break;
    }
    if (j >= src.length) throw new TemplateError(`${name}: unclosed action at offset ${open}`);
    let body = src.slice(open + 2, j);
    const trimLeft = /^-\s/.test(body);
    const trimRight = /\s-$/.test(body);
    if (trimLeft) body = body.slice(1);
    if (trimRight) body = body.slice(0, -1);
    out.push({ body: body.trim(), trimLeft, trimRight });
    i = j + 2;
  }
  for (let k = 0; k < out.length; k++) {
    const a = out[k];
    if (a === undefined || typeof a === 'string') continue;
    if (a.trimLeft && typeof out[k - 1] === 'string') out[k - 1] = (out[k - 1] as string).replace(/\s+$/, '');
    if (a.trimRight && typeof out[k + 1] === 'string') out[k + 1] = (out[k + 1] as string).replace(/^\s+/, '');
  }
  return out;
}

/** Tokens of one action's expression. */
function tokenize(src: string): string[] {
  const tokens: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|:=|[|(),=]|\$?[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+|\.|\$[A-Za-z0-9_]*|-?[0-9]+(?:\.[0-9]+)?|[A-Za-z_][A-Za-z0-9_]*)\s*/y;
  let pos = 0;
  while (pos < src.length) {
    re.lastIndex = pos;
    const m = re.exec(src);
    if (!m) throw new TemplateError(`cannot parse "${src.slice(pos)}"`);
    tokens.push(m[1] as string);
    pos = re.lastIndex;
  }
  return tokens;
}

function parsePipeline(tokens: string[]): Pipeline {
  let decl: string[] = [];
  let assign: ':=' | '=' | undefined;
  const at = tokens.findIndex((t) => t === ':=' || t === '=');
  if (at > 0 && tokens.slice(0, at).every((t) => t === ',' || /^\$[A-Za-z0-9_]*$/.test(t))) {
    decl = tokens.slice(0, at).filter((t) => t !== ',');
    assign = tokens[at] as ':=' | '=';
    tokens = tokens.slice(at + 1);
  }
  const cmds: Operand[][] = [[]];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as string;
    if (t === '|') {
      cmds.push([]);
      continue;
    }
    let op: Operand;
    if (t === '(') {
      let depth = 1;
      let j = i + 1;
      for (; j < tokens.length && depth > 0; j++) depth += tokens[j] === '(' ? 1 : tokens[j] === ')' ? -1 : 0;
      if (depth !== 0) throw new TemplateError('unbalanced parentheses');
      op = { k: 'paren', pipe: parsePipeline(tokens.slice(i + 1, j - 1)) };
      i = j - 1;
    } else if (t.startsWith('"')) op = { k: 'lit', v: JSON.parse(t) };
    else if (t.startsWith('`')) op = { k: 'lit', v: t.slice(1, -1) };
    else if (/^-?[0-9]+$/.test(t)) op = { k: 'lit', v: BigInt(t) };
    else if (/^-?[0-9]/.test(t)) op = { k: 'lit', v: Number(t) };
    else if (t === 'true' || t === 'false') op = { k: 'lit', v: t === 'true' };
    else if (t === 'nil') op = { k: 'lit', v: undefined };
    else if (t === '.') op = { k: 'field', base: '.', path: [] };
    else if (t.startsWith('.')) op = { k: 'field', base: '.', path: t.slice(1).split('.') };
    else if (t.startsWith('$')) {
      const [base, ...path] = t.split('.');
      op = { k: 'field', base: base as string, path };
    } else if (/^[A-Za-z_]/.test(t)) op = { k: 'ident', name: t };
    else throw new TemplateError(`unexpected "${t}"`);
    (cmds[cmds.length - 1] as Operand[]).push(op);
  }
  if (cmds.some((c) => c.length === 0)) throw new TemplateError('empty command in pipeline');
  return { decl, assign, cmds };
}

const KEYWORD = /^(if|else|end|with|range|define|template|block|break|continue)\b\s*(.*)$/s;

/** Parses one template file; `define`d templates go into `defines`. */
function parse(name: string, src: string, defines: Map<string, readonly Node[]>): Node[] {
  const items = lex(name, src);
  let pos = 0;
  /** Parses nodes until one of `stops` (a keyword action); returns them and the stop's action. */
  const block = (stops: readonly string[]): { nodes: Node[]; stop: { kw: string; rest: string } | undefined } => {
    const nodes: Node[] = [];
    while (pos < items.length) {
      const it = items[pos++] as string | Action;
      if (typeof it === 'string') {
        if (it !== '') nodes.push({ t: 'text', text: it });
        continue;
      }
      if (it.body.startsWith('/*')) {
        if (!it.body.endsWith('*/')) throw new TemplateError(`${name}: unclosed comment`);
        continue;
      }
      const m = KEYWORD.exec(it.body);
      if (!m) {
        nodes.push({ t: 'action', pipe: parsePipeline(tokenize(it.body)) });
        continue;
      }
      const kw = m[1] as string;
      const rest = (m[2] as string).trim();
      if (stops.includes(kw)) return { nodes, stop: { kw, rest } };
      if (kw === 'if') {
        const branches: { cond: Pipeline; body: Node[] }[] = [];
        let cond = rest;
        let otherwise: Node[] = [];
        for (;;) {
          const b = block(['else', 'end']);
          branches.push({ cond: parsePipeline(tokenize(cond)), body: b.nodes });
          if (b.stop?.kw === 'else' && b.stop.rest.startsWith('if ')) {
            cond = b.stop.rest.slice(3);
            continue;
          }
          if (b.stop?.kw === 'else') {
            if (b.stop.rest !== '') throw new TemplateError(`${name}: unsupported "else ${b.stop.rest}"`);
            const e = block(['end']);
            if (!e.stop) throw new TemplateError(`${name}: "if" without "end"`);
            otherwise = e.nodes;
          } else if (!b.stop) throw new TemplateError(`${name}: "if" without "end"`);
          break;
        }
        nodes.push({ t: 'if', branches, otherwise });
      } else if (kw === 'with' || kw === 'range') {
        const b = block(['else', 'end']);
        let otherwise: Node[] = [];
        if (b.stop?.kw === 'else') {
          if (b.stop.rest !== '') throw new TemplateError(`${name}: unsupported "else ${b.stop.rest}"`);
          otherwise = block(['end']).nodes;
        } else if (!b.stop) throw new TemplateError(`${name}: "${kw}" without "end"`);
        nodes.push({ t: kw, pipe: parsePipeline(tokenize(rest)), body: b.nodes, otherwise });
      } else if (kw === 'define') {
        const b = block(['end']);
        if (!b.stop) throw new TemplateError(`${name}: "define" without "end"`);
        defines.set(JSON.parse(rest) as string, b.nodes);
      } else {
        throw new TemplateError(`${name}: "${kw}" is not supported by this renderer`);
      }
    }
    return { nodes, stop: undefined };
  };
  const top = block([]);
  return top.nodes;
}

/** Go's truth: false, 0, nil, "" and empty lists and maps are false. */
export function truthy(v: Value): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === 0n || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

function isMap(v: Value): v is Record<string, Value> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Go's `%v` of a float64 (strconv 'g', shortest): an exponent from 1e+06 up and below 1e-04. */
export function goFloat(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'NaN' : n > 0 ? '+Inf' : '-Inf';
  if (n === 0) return '0';
  const [mant, e] = n.toExponential().split('e') as [string, string];
  const exp = Number(e);
  if (exp < -4 || exp >= 6) return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(n);
}

function print(v: Value): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return goFloat(v);
  if (typeof v === 'string' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  throw new TemplateError(`printing a ${Array.isArray(v) ? 'list' : 'map'} directly (use toYaml)`);
}

/** Sprig's indent: every line, also empty ones, gets the pad. */
function indent(n: number, s: string): string {
  const pad = ' '.repeat(n);
  return pad + s.replaceAll('\n', `\n${pad}`);
}

function toYaml(v: Value): string {
  if (v === undefined || v === null) return 'null';
  return stringify(v, { sortMapEntries: true, lineWidth: 0 }).replace(/\n$/, '');
}

type Fn = (...args: Value[]) => Value;

/** Chart files outside templates/, path relative to the chart → content. */
export type ChartFiles = ReadonlyMap<string, string>;

interface Scope {
  readonly vars: Map<string, Value>;
  readonly parent: Scope | undefined;
}

/** Renders the chart's templates with `values`; returns each rendered template by file name. */
export function renderTemplates(options: {
  readonly templates: ReadonlyMap<string, string>;
  readonly values: Value;
  readonly chart: { readonly Name: string; readonly Version: string; readonly AppVersion: string };
  readonly release: { readonly Name: string; readonly Namespace: string };
  readonly files: ChartFiles;
  readonly strict?: boolean;
}): Map<string, string> {
  const strict = options.strict ?? true;
  const defines = new Map<string, readonly Node[]>();
  const parsed = new Map<string, Node[]>();
  for (const [name, src] of [...options.templates].sort(([a], [b]) => a.localeCompare(b))) parsed.set(name, parse(name, src, defines));

  const files = {
    Glob(pattern: Value): Record<string, string> {
      const re = new RegExp(`^${String(pattern).replace(/[.+^${}()|[\]\\?]/g, '\\$&').replaceAll('*', '[^/]*')}$`);
      return Object.fromEntries([...options.files].filter(([p]) => re.test(p)).sort(([a], [b]) => a.localeCompare(b)));
    },
    Get(path: Value): string {
      return options.files.get(String(path)) ?? '';
    },
  };
  const root = {
    Values: options.values,
    Chart: options.chart,
    Release: { ...options.release, Service: 'Helm', IsInstall: true, IsUpgrade: false },
    Files: files,
  };

  const FUNCTIONS: Record<string, Fn> = {
    include: (name, dot) => {
      const body = defines.get(String(name));
      if (!body) throw new TemplateError(`no template "${String(name)}"`);
      return exec(body, dot, { vars: new Map([['$', dot]]), parent: undefined });
    },
    toYaml: (v) => toYaml(v),
    fromYaml: (s) => {
      try {
        const v = parseYaml(String(s)) as Value;
        return isMap(v) ? v : {};
      } catch (err) {
        return { Error: (err as Error).message };
      }
    },
    indent: (n, s) => indent(Number(n), print(s)),
    nindent: (n, s) => `\n${indent(Number(n), print(s))}`,
    quote: (...xs) => xs.filter((x) => x !== undefined && x !== null).map((x) => JSON.stringify(print(x))).join(' '),
    default: (d, ...given) => (given.length > 0 && truthy(given[0]) ? given[0] : d),
    printf: (fmt, ...args) => {
      let i = 0;
      return String(fmt).replace(/%([sdvq%])/g, (_, c: string) => (c === '%' ? '%' : c === 'q' ? JSON.stringify(print(args[i++])) : print(args[i++])));
    },
    eq: (a, ...bs) => bs.some((b) => comparable(a, b) && a === b),
    ne: (a, b) => comparable(a, b) && a !== b,
    // Sprig's int (cast.ToInt): a float64 truncated, a string parsed (0 when it is not a number).
    int: (v) => (typeof v === 'bigint' ? v : typeof v === 'number' ? BigInt(Math.trunc(v)) : typeof v === 'string' && /^-?[0-9]+$/.test(v) ? BigInt(v) : 0n),
    not: (a) => !truthy(a),
    list: (...xs) => xs,
    concat: (...ls) => ls.flatMap((l) => (Array.isArray(l) ? l : l === undefined || l === null ? [] : fail(`concat of a ${typeof l}`))),
    hasKey: (m, k) => isMap(m) && Object.hasOwn(m, String(k)),
    // Sprig's dict/set/get and append, Go's index (a missing map key is the zero value, nil).
    dict: (...kv) => {
      if (kv.length % 2 !== 0) fail('dict needs key/value pairs');
      const out: Record<string, Value> = {};
      for (let i = 0; i < kv.length; i += 2) out[String(kv[i])] = kv[i + 1];
      return out;
    },
    set: (m, k, v) => (isMap(m) ? ((m[String(k)] = v), m) : fail(`set on a ${typeof m}`)),
    get: (m, k) => (isMap(m) && Object.hasOwn(m, String(k)) ? m[String(k)] : ''),
    index: (m, ...keys) =>
      keys.reduce<Value>((cur, k) => {
        if (cur === undefined || cur === null) return undefined;
        if (Array.isArray(cur)) return typeof k === 'bigint' && k >= 0n && k < BigInt(cur.length) ? cur[Number(k)] : fail(`index out of range: ${String(k)}`);
        if (!isMap(cur)) fail(`can't index item of type ${typeof cur}`);
        return Object.hasOwn(cur, String(k)) ? cur[String(k)] : undefined;
      }, m),
    append: (l, v) => (Array.isArray(l) ? [...l, v] : l === undefined || l === null ? [v] : fail(`append to a ${typeof l}`)),
    fail: (msg) => {
      throw new TemplateError(`fail: ${String(msg)}`);
    },
    required: (msg, v) => (truthy(v) || v === false || v === 0 ? v : fail(`required: ${String(msg)}`)),
    trunc: (n, s) => print(s).slice(0, Number(n)),
    trimSuffix: (suf, s) => (print(s).endsWith(String(suf)) ? print(s).slice(0, -String(suf).length || undefined) : print(s)),
    trimPrefix: (pre, s) => (print(s).startsWith(String(pre)) ? print(s).slice(String(pre).length) : print(s)),
    replace: (a, b, s) => print(s).replaceAll(String(a), String(b)),
    contains: (sub, s) => print(s).includes(String(sub)),
    lower: (s) => print(s).toLowerCase(),
    // Go's path.Dir and path.Base for the slash-separated paths the chart uses.
    dir: (p) => {
      const s = print(p).replace(/\/+$/, '');
      const i = s.lastIndexOf('/');
      return i < 0 ? '.' : i === 0 ? '/' : s.slice(0, i);
    },
    base: (p) => print(p).replace(/\/+$/, '').split('/').pop() ?? '',
  };
  /** Go's eq refuses operands of different basic kinds (int against float64, number against string). */
  function comparable(a: Value, b: Value): true {
    const kind = (v: Value): string => (typeof v === 'bigint' ? 'int' : typeof v === 'number' ? 'float64' : typeof v);
    const basic = (k: string): boolean => ['int', 'float64', 'string', 'boolean'].includes(k);
    if (basic(kind(a)) && basic(kind(b)) && kind(a) !== kind(b)) throw new TemplateError(`incompatible types for comparison (${kind(a)} and ${kind(b)})`);
    return true;
  }
  function fail(msg: string): never {
    throw new TemplateError(msg);
  }

  function lookup(scope: Scope, name: string): Value {
    for (let s: Scope | undefined = scope; s; s = s.parent) if (s.vars.has(name)) return s.vars.get(name);
    throw new TemplateError(`undefined variable ${name}`);
  }

  function field(v: Value, path: readonly string[], what: string): Value {
    let cur = v;
    for (const [i, key] of path.entries()) {
      if (cur === undefined || cur === null) throw new TemplateError(`nil pointer evaluating ${what}.${path.slice(0, i + 1).join('.')}`);
      if (!isMap(cur)) throw new TemplateError(`can't evaluate field ${key} in ${what}.${path.slice(0, i).join('.')}`);
      if (!Object.hasOwn(cur, key)) {
        if (strict) throw new TemplateError(`map has no entry for key "${key}" (${what}.${path.slice(0, i + 1).join('.')})`);
        cur = undefined;
      } else cur = cur[key];
    }
    return cur;
  }

  function operand(op: Operand, dot: Value, scope: Scope): Value {
    switch (op.k) {
      case 'lit':
        return op.v;
      case 'paren':
        return pipeline(op.pipe, dot, scope);
      case 'ident':
        return call(op.name, [], dot, scope);
      case 'field':
        return field(op.base === '.' ? dot : lookup(scope, op.base), op.path, op.base === '.' ? '' : op.base);
    }
  }

  function call(name: string, args: readonly Operand[], dot: Value, scope: Scope, piped?: { v: Value }): Value {
    if (name === 'and' || name === 'or') {
      const all = [...args.map((a) => () => operand(a, dot, scope)), ...(piped ? [() => piped.v] : [])];
      let last: Value;
      for (const get of all) {
        last = get();
        if (truthy(last) !== (name === 'and')) return last;
      }
      return last;
    }
    const fn = FUNCTIONS[name];
    if (!fn) throw new TemplateError(`function "${name}" is not supported by this renderer`);
    const values = args.map((a) => operand(a, dot, scope));
    if (piped) values.push(piped.v);
    return fn(...values);
  }

  function command(cmd: readonly Operand[], dot: Value, scope: Scope, piped?: { v: Value }): Value {
    const [first, ...rest] = cmd as [Operand, ...Operand[]];
    if (first.k === 'ident') return call(first.name, rest, dot, scope, piped);
    if (first.k === 'field' && (rest.length > 0 || piped)) {
      // A method call: .Files.Glob "pattern".
      const path = first.path;
      const obj = field(first.base === '.' ? dot : lookup(scope, first.base), path.slice(0, -1), '');
      const m = isMap(obj) ? obj[path[path.length - 1] as string] : undefined;
      if (typeof m !== 'function') throw new TemplateError(`${path.join('.')} is not a method`);
      const values = rest.map((a) => operand(a, dot, scope));
      if (piped) values.push(piped.v);
      return (m as Fn)(...values);
    }
    if (rest.length > 0 || piped) throw new TemplateError('arguments to a non-function');
    return operand(first, dot, scope);
  }

  function pipeline(p: Pipeline, dot: Value, scope: Scope): Value {
    let v: Value;
    p.cmds.forEach((cmd, i) => {
      v = command(cmd, dot, scope, i === 0 ? undefined : { v });
    });
    if (p.assign === ':=') for (const name of p.decl) scope.vars.set(name, v);
    else if (p.assign === '=') {
      const name = p.decl[0] as string;
      let s: Scope | undefined = scope;
      while (s && !s.vars.has(name)) s = s.parent;
      if (!s) throw new TemplateError(`undefined variable ${name}`);
      s.vars.set(name, v);
    }
    return v;
  }

  function exec(nodes: readonly Node[], dot: Value, scope: Scope): string {
    let out = '';
    for (const n of nodes) {
      const inner: Scope = { vars: new Map(), parent: scope };
      if (n.t === 'text') out += n.text;
      else if (n.t === 'action') {
        const v = pipeline(n.pipe, dot, scope);
        if (n.pipe.assign === undefined) out += print(v);
      } else if (n.t === 'if') {
        const hit = n.branches.find((b) => truthy(pipeline(b.cond, dot, inner)));
        out += exec(hit ? hit.body : n.otherwise, dot, inner);
      } else if (n.t === 'with') {
        const v = pipeline(n.pipe, dot, inner);
        out += truthy(v) ? exec(n.body, v, inner) : exec(n.otherwise, dot, inner);
      } else {
        const v = pipeline({ ...n.pipe, assign: undefined, decl: [] }, dot, inner);
        const entries: [Value, Value][] = Array.isArray(v)
          ? v.map((x, i) => [i, x])
          : isMap(v)
            ? Object.keys(v)
                .sort()
                .map((k) => [k, v[k]])
            : v === undefined || v === null
              ? []
              : fail(`range over a ${typeof v}`);
        if (entries.length === 0) out += exec(n.otherwise, dot, inner);
        for (const [k, x] of entries) {
          const each: Scope = { vars: new Map(), parent: scope };
          if (n.pipe.decl.length === 1) each.vars.set(n.pipe.decl[0] as string, x);
          if (n.pipe.decl.length === 2) {
            each.vars.set(n.pipe.decl[0] as string, k);
            each.vars.set(n.pipe.decl[1] as string, x);
          }
          out += exec(n.body, x, each);
        }
      }
    }
    return out;
  }

  const rendered = new Map<string, string>();
  for (const [name, nodes] of parsed) {
    if (name.split('/').pop()?.startsWith('_')) continue;
    try {
      rendered.set(name, exec(nodes, root, { vars: new Map([['$', root]]), parent: undefined }));
    } catch (err) {
      if (err instanceof TemplateError) throw new TemplateError(`${name}: ${err.message}`);
      throw err;
    }
  }
  return rendered;
}
