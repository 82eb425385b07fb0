/**
 * Hostile `multinet.io/allowed-pods` selectors: what Kubernetes' own parser
 * (apimachinery pkg/labels/selector.go, `Parse`) refuses must be refused here, and what it
 * accepts must mean the same. A policy the agent reads differently from the API server would
 * let pods attach that the NAD author meant to keep out (or the reverse).
 */
import { describe, expect, it } from 'vitest';
import { parseLabelSelector, selectorMatches } from '../../agent/rules/label-selector.js';
import { type LabelSelector } from '../../agent/model/label-selector.js';

const parse = (text: string): LabelSelector => {
  const p = parseLabelSelector(text);
  if (!p.ok) throw new Error(p.error);
  return p.value;
};

describe('label selectors Kubernetes refuses', () => {
  it.each([
    ['a trailing no-break space in a value', 'app=x\u00a0'],
    ['a no-break space between requirements', 'app=x,\u00a0tier=y'],
    ['a vertical tab', 'app=x\u000b'],
    ['a form feed', 'app\u000c=x'],
    ['a line separator', 'app=x\u2028'],
    ['an integer beyond int64', 'app>99999999999999999999'],
    ['int64 max + 1', 'app<9223372036854775808'],
    ['a negative bound (not a label value)', 'app>-1'],
    ['a signed bound', 'app>+1'],
    ['a NUL (Go would stop reading there)', 'app=x\u0000,evil'],
    ['a value of 64 characters', `app=${'a'.repeat(64)}`],
    ['a prefix that is not a DNS subdomain', 'Example.com/app=x'],
  ])('refuses %s', (_what, text) => {
    expect(parseLabelSelector(text).ok).toBe(false);
  });
});

describe('label selectors Kubernetes accepts', () => {
  it('reads int64 bounds exactly, beyond a double\'s 53 bits', () => {
    const s = parse('n>9007199254740992');
    expect(selectorMatches(s, { n: '9007199254740993' })).toBe(true);
    expect(selectorMatches(s, { n: '9007199254740992' })).toBe(false);
    expect(selectorMatches(parse('n<9223372036854775807'), { n: '9223372036854775806' })).toBe(true);
    // A label value that is no int64 matches neither bound.
    expect(selectorMatches(parse('n<5'), { n: '99999999999999999999' })).toBe(false);
  });

  it('reads "in" and "notin" as words where a key or value goes', () => {
    expect(parse('in in (in,notin)').requirements).toEqual([{ key: 'in', op: 'in', values: ['in', 'notin'] }]);
    expect(parse('notin=in').requirements).toEqual([{ key: 'notin', op: '=', value: 'in' }]);
  });

  it('reads "()" as the set holding the empty value', () => {
    const s = parse('z notin (),app=db');
    expect(s.requirements[0]).toEqual({ key: 'z', op: 'notin', values: [''] });
    expect(selectorMatches(s, { app: 'db', z: '' })).toBe(false);
    expect(selectorMatches(s, { app: 'db', z: 'a' })).toBe(true);
  });

  it('takes tab, CR and LF as separators, as apimachinery does', () => {
    expect(parse('app=db,\t\r\ntier=x').requirements).toHaveLength(2);
  });
});
