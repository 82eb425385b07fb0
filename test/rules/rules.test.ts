/**
 * The alert and recording rules under chart/rules: the real `promtool check rules` and
 * `promtool test rules` on them, and the house conventions promtool cannot see — every alert
 * has a severity, summary, description and a section in docs/runbooks.md (the chart links it
 * from prometheusRule.runbookUrl), is unit-tested both firing and silent, and is in the alert table of
 * docs/alerts-and-dashboard.md; every
 * recording rule is named level:metric:operations and has a promql_expr_test.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { catalogueMetricNames } from '../support/metric-catalogue.js';
import { requirePrometheusTools } from '../support/promtool.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const RULES_DIR = path.join(ROOT, 'chart/rules');
const TESTS_DIR = path.join(ROOT, 'test/rules');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleTest {
  alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[];
  promql_expr_test?: { expr: string }[];
}

const ruleFiles = readdirSync(RULES_DIR).filter((f) => f.endsWith('.yaml')).map((f) => path.join(RULES_DIR, f));
const testFiles = readdirSync(TESTS_DIR).filter((f) => f.endsWith('.test.yaml')).map((f) => path.join(TESTS_DIR, f));
const rulesByFile = new Map(ruleFiles.map((f) => [f, (parse(readFileSync(f, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules)]));
const rules: Rule[] = [...rulesByFile.values()].flat();
const alerts = rules.filter((r) => r.alert !== undefined);
const records = rules.filter((r) => r.record !== undefined);
const tests: RuleTest[] = testFiles.flatMap((f) => (parse(readFileSync(f, 'utf8')) as { tests: RuleTest[] }).tests);

/** GitHub's anchor for a Markdown heading: lower case, punctuation but '-' dropped, spaces to '-'. */
function anchor(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
}

describe('chart/rules with promtool', () => {
  const havePromtool = requirePrometheusTools('test/rules/rules.test.ts');

  it.skipIf(!havePromtool)('promtool check rules passes on every rule file', () => {
    const out = spawnSync('promtool', ['check', 'rules', ...ruleFiles], { encoding: 'utf8' });
    expect(`${out.stdout}${out.stderr}`).not.toMatch(/FAILED|error/i);
    expect(out.status).toBe(0);
    expect(out.stdout.match(/SUCCESS: (\d+) rules found/g)).toEqual(ruleFiles.map((f) => `SUCCESS: ${rulesByFile.get(f)?.length} rules found`));
  });

  it.skipIf(!havePromtool)('promtool test rules passes on every test file', () => {
    const out = spawnSync('promtool', ['test', 'rules', ...testFiles], { encoding: 'utf8', cwd: TESTS_DIR });
    expect(`${out.stdout}${out.stderr}`).not.toContain('FAILED');
    expect(out.status).toBe(0);
    expect(out.stdout.match(/SUCCESS/g)?.length).toBe(testFiles.length);
  });
});

describe('chart/rules conventions', () => {
  const runbooks = readFileSync(path.join(ROOT, 'docs/runbooks.md'), 'utf8');
  const anchors = new Set([...runbooks.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchor(m[1] as string)));
  const alertDoc = readFileSync(path.join(ROOT, 'docs/alerts-and-dashboard.md'), 'utf8');

  it('has the alerts of issues 6, 7 and 15', () => {
    expect(alerts.map((a) => a.alert).sort()).toEqual(
      [
        'MultinetAgentAbsent',
        'MultinetAgentDown',
        'MultinetCollectorFailing',
        'MultinetHostInterfaceDrops',
        'MultinetHostInterfaceErrors',
        'MultinetHostInterfaceNotReady',
        'MultinetHostInterfaceSaturated',
        'MultinetKubeCacheNotSynced',
        'MultinetKubeWatchRestarting',
        'MultinetPodInterfaceDrops',
        'MultinetPodInterfaceErrors',
        'MultinetPodNetworkAttachmentMissing',
        'MultinetPodSecondaryInterfaceDown',
        'MultinetSriovPfWithoutVfs',
        // issue 7
        'MultinetIpamAddressesLeaked',
        'MultinetIpamRangeExhausted',
        'MultinetIpamRangeNearlyFull',
        'MultinetPodNetworkPolicyViolation',
        'MultinetPodRouteMismatch',
        // issue 15
        'MultinetEventsDropped',
        'MultinetHostInterfaceFlapping',
        'MultinetNetworkAttachmentDefinitionInvalid',
        'MultinetPodNetworkAnnotationInvalid',
        'MultinetSeriesLimitReached',
        'MultinetServingCertificateExpiring',
        'MultinetServingCertificateExpiringCritical',
      ].sort(),
    );
  });

  it.each(alerts.map((a) => [a.alert as string, a] as const))('%s: severity, summary, description, a runbook that exists', (name, a) => {
    expect(['critical', 'warning', 'info']).toContain(a.labels?.severity);
    expect(a.annotations?.summary?.length).toBeGreaterThan(10);
    expect(a.annotations?.description?.length).toBeGreaterThan(10);
    // The chart adds runbook_url from prometheusRule.runbookUrl (test/chart); the file has none,
    // so promtool and a hand-loaded rule file never carry a relative, dead link. The anchor the
    // chart links to exists.
    expect(a.annotations?.runbook_url).toBeUndefined();
    expect(anchors.has(name.toLowerCase()), `docs/runbooks.md has no section ${name}`).toBe(true);
    expect(alertDoc, `${name} has no row in the alert table of docs/alerts-and-dashboard.md`).toContain(`| \`${name}\` |`);
  });

  it.each(alerts.map((a) => [a.alert as string] as const))('%s: a unit test where it fires and one where it does not', (name) => {
    const cases = tests.flatMap((t) => t.alert_rule_test ?? []).filter((c) => c.alertname === name);
    expect(cases.some((c) => (c.exp_alerts ?? []).length > 0)).toBe(true);
    expect(cases.some((c) => (c.exp_alerts ?? []).length === 0)).toBe(true);
  });

  it.each(records.map((r) => [r.record as string] as const))('%s: named level:metric:operations and tested', (name) => {
    expect(name).toMatch(/^[a-z_]+:multinet_[a-z_]+:[a-z0-9_]+$/);
    const tested = tests.flatMap((t) => t.promql_expr_test ?? []).some((e) => new RegExp(`(^|[^a-z_:])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^a-z0-9_:]|$)`).test(e.expr));
    expect(tested).toBe(true);
  });

  it('every series the rules name is in the metric catalogue, a recording rule or up', async () => {
    const known = await catalogueMetricNames();
    const recorded = new Set(records.map((r) => r.record));
    const unknown = new Set<string>();
    for (const r of rules) {
      for (const m of r.expr.matchAll(/\b([a-z_]+:multinet_[a-z_]+:[a-z0-9_]+|multinet_[a-z_]+)\b/g)) {
        const name = m[1] as string;
        if (!(name.includes(':') ? recorded.has(name) : known.has(name))) unknown.add(name);
      }
    }
    expect([...unknown]).toEqual([]);
  });
});
