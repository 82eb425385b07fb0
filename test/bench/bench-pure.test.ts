/** The bench's pure parts: statistics, exposition counting, flags, the ip batch. Nothing here times anything. */
import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from './bench-args.js';
import { macvlanBatch } from './cases.js';
import { parseNetnsList } from './netns.js';
import { expositionStats } from './scrape.js';
import { median, percentile } from './stats.js';

describe('median and percentile', () => {
  it('takes the middle, or the mean of the two middle samples', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('p95 of 20 samples is the 19th by nearest rank', () => {
    const samples = Array.from({ length: 20 }, (_, i) => 20 - i);
    expect(percentile(samples, 95)).toBe(19);
    expect(percentile([7], 95)).toBe(7);
  });

  it('refuses no samples', () => {
    expect(() => median([])).toThrow('no samples');
  });
});

describe('expositionStats', () => {
  const body = [
    '# HELP a_up Up.',
    '# TYPE a_up gauge',
    'a_up{interface="eth0"} 1',
    'a_up{interface="mv\\"0"} 0',
    'a_info{interface="eth0",kind=""} 1',
    'scrape_collector_duration_seconds{collector="netlink"} 0.0125',
    'scrape_collector_duration_seconds{collector="sysfs"} 0.001',
    'process_start_time_seconds 1700000000',
    '',
  ].join('\n');

  it('counts sample lines and distinct interfaces, and reads collector durations', () => {
    const s = expositionStats(body, 'interface', 'scrape_collector_duration_seconds');
    expect(s.series).toBe(6);
    expect(s.links).toBe(2);
    expect(Object.fromEntries(s.collectorSeconds)).toEqual({ netlink: 0.0125, sysfs: 0.001 });
  });
});

describe('parseBenchArgs', () => {
  const cases = ['macvlan', 'pods'];

  it('runs every case with the defaults', () => {
    expect(parseBenchArgs([], cases)).toEqual({ cases, links: undefined, scrapes: 20, nodeExporterBin: 'prometheus-node-exporter', help: false });
  });

  it('takes --flag=value and --flag value', () => {
    expect(parseBenchArgs(['--case=pods', '--links', '50', '--scrapes=30'], cases)).toMatchObject({ cases: ['pods'], links: 50, scrapes: 30 });
  });

  it('names the bad flag', () => {
    expect(() => parseBenchArgs(['--case', 'nope'], cases)).toThrow('--case: no case "nope"');
    expect(() => parseBenchArgs(['--links=0'], cases)).toThrow('--links');
    expect(() => parseBenchArgs(['--scrapes=19'], cases)).toThrow('--scrapes');
    expect(() => parseBenchArgs(['--links'], cases)).toThrow('--links needs a value');
    expect(() => parseBenchArgs(['--fast'], cases)).toThrow('unknown argument "--fast"');
  });
});

describe('macvlanBatch', () => {
  it('brings lo and the veth pair up, adds the macvlans, and brings every other one up', () => {
    const lines = macvlanBatch(3);
    expect(lines).toEqual([
      'link set lo up',
      'link add mnab-lower type veth peer name mnab-peer',
      'link set mnab-lower up',
      'link set mnab-peer up',
      'link add mv0 link mnab-lower type macvlan mode bridge',
      'link add mv1 link mnab-lower type macvlan mode bridge',
      'link add mv2 link mnab-lower type macvlan mode bridge',
      'link set mv0 up',
      'link set mv2 up',
    ]);
  });
});

describe('parseNetnsList', () => {
  it('takes the name before the id', () => {
    expect(parseNetnsList('mna-bench-12 (id: 3)\nprobe1\n\n')).toEqual(['mna-bench-12', 'probe1']);
  });
});
