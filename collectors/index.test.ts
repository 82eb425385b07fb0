import { describe, expect, it } from 'vitest';
import { FLAGS, parseArgs, type RunConfig } from '../agent/app/cli.js';
import { COLLECTOR, type PartName } from '../agent/model/collector.js';
import { collectorFlags, COLLECTORS } from './index.js';

describe('the collector registry', () => {
  it('names each collector once, with the names of multinet_scrape_collector_*{collector}', () => {
    const names = COLLECTORS.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(Object.values(COLLECTOR));
  });

  it('lists an entry after the entries that fill what it waits for (a DAG in topological order)', () => {
    const filled = new Set<PartName>();
    for (const c of COLLECTORS) {
      expect(filled.has(c.fills), `${c.name} fills ${c.fills} twice`).toBe(false);
      for (const d of c.dependsOn) expect(filled.has(d), `${c.name} waits for ${d}`).toBe(true);
      filled.add(c.fills);
    }
  });

  it("puts every collector's switch and options into the agent's FLAGS, and every collector switch of FLAGS comes from it", () => {
    const registry = collectorFlags();
    for (const f of registry) expect(FLAGS).toContainEqual(f);
    const switches = FLAGS.filter((f) => /^collector\.[a-z]+$/.test(f.name) && f.arg === undefined).map((f) => f.name);
    expect(switches).toEqual(registry.filter((f) => /^collector\.[a-z]+$/.test(f.name)).map((f) => f.name));
  });

  it('turns each switchable collector on by default and off with --no-collector.X', () => {
    const config = (args: string[]): RunConfig => (parseArgs(args, {}) as { config: RunConfig }).config;
    for (const c of COLLECTORS) {
      if (!c.switch) continue;
      expect(c.enabled(config([])), c.name).toBe(c.switch.default);
      expect(c.enabled(config([`--no-collector.${c.name}`])), c.name).toBe(false);
    }
    expect(COLLECTORS.find((c) => c.name === 'cri')?.enabled(config(['--cri.endpoint=/run/containerd/containerd.sock']))).toBe(true);
    expect(COLLECTORS.find((c) => c.name === 'cri')?.enabled(config([]))).toBe(false);
  });
});
