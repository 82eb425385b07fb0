import { describe, expect, it } from 'vitest';
import { parseLabelSelector, selectorMatches } from './label-selector.js';

const parse = (text: string) => {
  const p = parseLabelSelector(text);
  if (!p.ok) throw new Error(p.error);
  return p.value;
};
const matches = (text: string, labels: Record<string, string>): boolean => selectorMatches(parse(text), labels);

describe('parseLabelSelector', () => {
  it('reads every operator of the string form', () => {
    expect(parse('app=db, tier in (database,cache),!canary,env!=prod,version notin (v1), release, replicas>2, shard<10, x==y').requirements).toEqual([
      { key: 'app', op: '=', value: 'db' },
      { key: 'tier', op: 'in', values: ['database', 'cache'] },
      { key: 'canary', op: '!exists' },
      { key: 'env', op: '!=', value: 'prod' },
      { key: 'version', op: 'notin', values: ['v1'] },
      { key: 'release', op: 'exists' },
      { key: 'replicas', op: '>', value: 2n },
      { key: 'shard', op: '<', value: 10n },
      { key: 'x', op: '=', value: 'y' },
    ]);
  });

  it('accepts prefixed keys, empty values and free whitespace', () => {
    expect(parse('  hexagonal.io/layer  in ( outbound , infrastructure )').requirements).toEqual([{ key: 'hexagonal.io/layer', op: 'in', values: ['outbound', 'infrastructure'] }]);
    expect(parse('a=').requirements).toEqual([{ key: 'a', op: '=', value: '' }]);
    expect(parse('a in (x,)').requirements).toEqual([{ key: 'a', op: 'in', values: ['x', ''] }]);
  });

  it('refuses what Kubernetes refuses, and the empty selector', () => {
    for (const [text, why] of [
      ['', 'empty selector'],
      ['   ', 'empty selector'],
      ['app=db,', 'expected a label key, found end of selector'],
      ['app in ()', ''],
      ['app in (a b)', 'expected "," or ")"'],
      ['app in a', 'expected "(" after "app in"'],
      ['app = a b', 'expected "," between requirements, found "b"'],
      ['!app=x', '"!app" takes no operator'],
      ['-app=x', 'key "-app": name must be'],
      ['a/b/c=x', 'more than one "/"'],
      ['Bad_Prefix/x=1', 'prefix must be a DNS subdomain'],
      ['app=-x', 'value "-x"'],
      ['replicas>two', 'integer'],
      ['app==', ''],
      [`k=${'v'.repeat(64)}`, 'must be at most 63'],
    ] as const) {
      const p = parseLabelSelector(text);
      if (why === '') {
        expect(p.ok, text).toBe(true);
        continue;
      }
      expect(p.ok, text).toBe(false);
      if (!p.ok) expect(p.error, text).toContain(why);
    }
  });
});

describe('selectorMatches', () => {
  const db = { app: 'order-db', 'hexagonal.io/adapter': 'database', replicas: '3' };
  const svc = { app: 'order-service' };
  it('equality, set and existence requirements as Kubernetes evaluates them', () => {
    expect(matches('hexagonal.io/adapter=database', db)).toBe(true);
    expect(matches('hexagonal.io/adapter=database', svc)).toBe(false);
    expect(matches('hexagonal.io/adapter in (database,cache)', db)).toBe(true);
    expect(matches('hexagonal.io/adapter in (cache)', db)).toBe(false);
    // Absent keys satisfy != and notin, not = and in.
    expect(matches('hexagonal.io/adapter!=database', svc)).toBe(true);
    expect(matches('hexagonal.io/adapter notin (database)', svc)).toBe(true);
    expect(matches('hexagonal.io/adapter notin (database)', db)).toBe(false);
    expect(matches('!hexagonal.io/adapter', svc)).toBe(true);
    expect(matches('!hexagonal.io/adapter', db)).toBe(false);
    expect(matches('app', svc)).toBe(true);
    expect(matches('app,hexagonal.io/adapter', svc)).toBe(false);
    expect(matches('replicas>2,replicas<4', db)).toBe(true);
    expect(matches('replicas>3', db)).toBe(false);
    expect(matches('app>1', db)).toBe(false);
    expect(matches('a=', { a: '' })).toBe(true);
    expect(matches('a=', {})).toBe(false);
  });
});
