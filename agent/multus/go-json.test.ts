import { describe, expect, it } from 'vitest';
import { FieldReader, goField, type JsonObject } from './go-json.js';

describe('goField', () => {
  it.each<[string, JsonObject, unknown]>([
    ['exact key', { name: 'a' }, 'a'],
    ['another case', { NAME: 'a' }, 'a'],
    ['absent', { other: 'a' }, undefined],
    ['null is unset', { name: null }, undefined],
    // encoding/json assigns every matching key in turn, so the last one stays.
    ['the last matching key wins', { name: 'a', Name: 'b' }, 'b'],
    ['a key that only contains the name', { names: 'a' }, undefined],
  ])('%s', (_, obj, expected) => {
    expect(goField(obj, 'name')).toEqual(expected);
  });
});

describe('FieldReader', () => {
  it('keeps the first problem of a family of readers, each placed under its parent', () => {
    const r = new FieldReader({ a: 1, nested: { b: 'x', c: 'y' } }, 'entry 1');
    expect(r.string('a')).toBeUndefined();
    const n = r.at({ b: 'x', c: 'y' }, '"nested"');
    expect(n.int('b')).toBeUndefined();
    expect(n.string('c')).toBe('y');
    expect(r.problem).toBe('entry 1: "a" is not a string');
    expect(n.problem).toBe('entry 1: "a" is not a string');
  });

  it.each<[string, JsonObject, readonly string[] | undefined, string | undefined]>([
    ['strings', { s: ['a', 'b'] }, ['a', 'b'], undefined],
    ['null elements are empty strings', { s: ['a', null] }, ['a', ''], undefined],
    ['a number element', { s: ['a', 1] }, undefined, '"s" is not a list of strings'],
    ['not a list', { s: 'a' }, undefined, '"s" is not a list'],
    ['absent', {}, undefined, undefined],
  ])('strings: %s', (_, obj, value, problem) => {
    const r = new FieldReader(obj, '');
    expect(r.strings('s')).toEqual(value);
    expect(r.problem).toBe(problem);
  });
});
