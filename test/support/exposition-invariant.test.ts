/** The exposition invariant itself: it accepts what Prometheus accepts and names each way a body can break it. */
import { describe, expect, it } from 'vitest';
import { assertExposition, ExpositionError, expositionComplaints, expositionViolations } from './exposition-invariant.js';

const GOOD = [
  '# HELP a_total Things, with a \\\\ and a \\n.',
  '# TYPE a_total counter',
  'a_total{x="1",y="q\\"uote\\\\back\\nline é"} 3',
  'a_total{y="2",x="1"} 4',
  '',
  '# HELP h_seconds Durations.',
  '# TYPE h_seconds histogram',
  'h_seconds_bucket{le="0.5"} 1',
  'h_seconds_bucket{le="+Inf"} 2',
  'h_seconds_sum 0.7',
  'h_seconds_count 2',
  '# HELP s Quantiles.',
  '# TYPE s summary',
  's{quantile="0.5"} NaN',
  's_sum 1e+06',
  's_count 7',
  '# HELP g A gauge.',
  '# TYPE g gauge',
  'g -Inf',
  '# HELP n prom-client writes NaN so; Go reads it.',
  '# TYPE n gauge',
  'n Nan',
  '',
].join('\n');

const bad = (text: string): string[] => expositionViolations(text);

describe('the exposition invariant', () => {
  it('accepts a body with every family type, escapes and blank lines, and promtool agrees', () => {
    expect(expositionViolations(GOOD)).toEqual([]);
    expect(expositionComplaints(Buffer.from(GOOD))).toBe('');
    expect(assertExposition(Buffer.from(GOOD))).toBe(GOOD);
  });

  it('reads the raw bytes: invalid UTF-8 is named with its offset, a lone surrogate in a string too', () => {
    const bytes = Buffer.concat([Buffer.from('# HELP g x\n# TYPE g gauge\ng{i="'), Buffer.from([0xc3, 0x28]), Buffer.from('"} 1\n')]);
    expect(expositionViolations(bytes)).toEqual(['not valid UTF-8: invalid byte sequence at offset 31']);
    // The same body decoded leniently would hide it: U+FFFD is valid UTF-8.
    expect(expositionViolations(bytes.toString('utf8'))).toEqual([]);
    expect(expositionViolations('# HELP g x\n# TYPE g gauge\ng{i="\uD800"} 1\n')).toEqual(['not valid UTF-8: the text holds a lone surrogate (written as U+FFFD)']);
  });

  it('finds duplicate series whatever the label order', () => {
    expect(bad('# HELP g x\n# TYPE g gauge\ng{a="1",b="2"} 1\ng{b="2",a="1"} 1\n')).toEqual(['line 4: duplicate series g{a="1",b="2"}']);
    // promtool itself does not: the invariant's own check is what catches issue 14's row 3.
    expect(expositionComplaints('# HELP g x\n# TYPE g gauge\ng{a="1",b="2"} 1\ng{b="2",a="1"} 1\n')).toMatch(/duplicate series/);
  });

  it('wants HELP and TYPE once per family, before its samples, and a family in one group', () => {
    expect(bad('# HELP g x\n# HELP g y\n# TYPE g gauge\ng 1\n')).toEqual(['line 2: second HELP for g']);
    expect(bad('# HELP g x\n# TYPE g gauge\n# TYPE g counter\ng 1\n')).toEqual(['line 3: second TYPE for g']);
    expect(bad('# HELP g x\ng 1\n# TYPE g gauge\n')).toEqual(['line 3: TYPE for g after its samples']);
    expect(bad('# HELP g x\n# TYPE g gauge\ng{a="1"} 1\n# HELP f x\n# TYPE f gauge\nf 1\ng{a="2"} 1\n')).toEqual(['line 7: family g appears again after other families: g{a="2"} 1']);
  });

  it('puts each sample in its declared family: histogram, summary and counter suffixes', () => {
    expect(bad('# HELP h x\n# TYPE h histogram\nh 1\n')).toEqual(['line 3: histogram h sample without _bucket/_sum/_count: h 1']);
    expect(bad('# HELP h x\n# TYPE h histogram\nh_bucket 1\n')).toEqual(['line 3: histogram h: "le" belongs on _bucket only: h_bucket 1']);
    expect(bad('# HELP h x\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\n')).toEqual(['histogram h{}: buckets not cumulative']);
    expect(bad('# HELP h x\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_count 2\n')).toEqual(['histogram h{} has no +Inf bucket']);
    expect(bad('# HELP s x\n# TYPE s summary\ns 1\n')).toEqual(['line 3: summary s: "quantile" belongs on the quantile samples only: s 1']);
    expect(bad('# HELP g x\n# TYPE g gauge\ng_sum 1\n')).toEqual([]); // an untyped family of its own, after g: allowed
    expect(bad('# HELP c counter\n# TYPE c counter\nc_total 1\n')).toEqual([]);
  });

  it('wants label names well-formed and not reserved, values escaped, values and timestamps numbers', () => {
    expect(bad('g{1a="x"} 1\n')).toEqual(['line 1: malformed label name "1a": g{1a="x"} 1']);
    expect(bad('g{__x="x"} 1\n')).toEqual(['line 1: reserved label name __x: g{__x="x"} 1']);
    expect(bad('g{a="x",a="y"} 1\n')).toEqual(['line 1: a label name repeated: g{a="x",a="y"} 1']);
    expect(bad('g{a="x\\t"} 1\n')).toEqual(['line 1: label a: invalid escape \\t: g{a="x\\t"} 1']);
    expect(bad('g{a="x} 1\n')).toEqual(['line 1: label a: unterminated value: g{a="x} 1']);
    expect(bad('g{a=x} 1\n')).toEqual(['line 1: label a: value not quoted: g{a=x} 1']);
    expect(bad('g 1.2.3\n')).toEqual(['line 1: value "1.2.3" is not a float: g 1.2.3']);
    expect(bad('g 1 12.5\n')).toEqual(['line 1: timestamp "12.5" is not an integer: g 1 12.5']);
    expect(bad('g  1\n')).toEqual(['line 1: expected one space, a value and an optional timestamp: g  1']);
    expect(bad('# HELP g bad \\t escape\n')).toEqual(['line 1: HELP for g has an invalid escape']);
    expect(bad('g 1')).toEqual(['the body does not end with a line feed']);
  });

  it('runs promtool check metrics: its lint fails what the structure allows', () => {
    // A counter without _total: well-formed, but promtool's lint refuses it.
    const text = '# HELP c x\n# TYPE c counter\nc 1\n';
    expect(expositionViolations(text)).toEqual([]);
    expect(() => assertExposition(text, 'lint')).toThrow(ExpositionError);
    expect(expositionComplaints(text)).toMatch(/^promtool check metrics \(exit 3\): .*_total/);
  });
});
