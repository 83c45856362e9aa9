/**
 * The Grafana dashboard and the alert rules name metrics by string: these tests tie them to registry.ts,
 * so a renamed or removed metric fails here instead of leaving an empty panel or a silent alert.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createMetrics } from '../../metrics/registry';
import { queryPanels, type Panel } from '../support/dashboard';

const root = path.join(__dirname, '..', '..');
const dashboard = JSON.parse(fs.readFileSync(path.join(root, 'deploy', 'grafana', 'plandb-dashboard.json'), 'utf8'));
const rulesText = fs.readFileSync(path.join(root, 'deploy', 'prometheus', 'plandb-alerts.yml'), 'utf8');

const panels: Panel[] = (dashboard.panels as Panel[]).flatMap((p) => [p, ...(p.panels ?? [])]);
const dashboardQueryPanels = queryPanels(dashboard);

/** The plandb metric families (histogram series names reduced to their family). */
function metricNames(promql: string): string[] {
  return [...promql.matchAll(/\bplan_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''));
}

/** Every `plan_…{…}` selector's label matchers. */
function selectors(promql: string): string[] {
  return [...promql.matchAll(/\bplan_[a-z0-9_]+(\{[^}]*\})?/g)].map((m) => m[1] ?? '');
}

/** The `expr:` of each rule: one line, or a `|` block of deeper-indented lines. */
function ruleExpressions(text: string): string[] {
  const exprs: string[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const m = /^(\s*)expr:\s*(.*)$/.exec(line);
    if (!m) return;
    if (m[2] !== '|') return void exprs.push(m[2]);
    const block: string[] = [];
    for (let j = i + 1; j < lines.length && (lines[j].trim() === '' || lines[j].search(/\S/) > m[1].length); j++) block.push(lines[j]);
    exprs.push(block.join('\n'));
  });
  return exprs;
}

describe('deploy/ files use only the metrics registry.ts defines', () => {
  let defined: Set<string>;

  beforeAll(async () => {
    defined = new Set((await createMetrics().registry.getMetricsAsJSON()).map((m) => m.name));
  });

  test('every dashboard query and variable names only defined metrics', () => {
    const queries = [
      ...dashboardQueryPanels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
      ...(dashboard.templating.list as { query: unknown }[]).map((v) => (typeof v.query === 'string' ? v.query : JSON.stringify(v.query))),
    ];
    const used = new Set(queries.flatMap(metricNames));
    expect([...used].filter((n) => !defined.has(n))).toEqual([]);
    // The panels the issue asks for are there.
    for (const name of [
      'plan_db_write_total',
      'plan_db_write_latency_seconds',
      'plan_db_write_error_total',
      'plan_backfill_artifacts_total',
      'plan_backfill_runs_total',
      'plan_backfill_last_success_timestamp_seconds',
      'plan_backfill_batch_size',
      'plan_repository_rows',
      'plan_db_capacity_trim_total',
      'plan_db_last_trim_timestamp',
      'plan_db_capacity_trim_alerts_total',
      'plan_migration_step_duration_seconds',
    ]) {
      expect([name, used.has(name)]).toEqual([name, true]);
    }
  });

  test('every dashboard panel queries ${DS_PROMETHEUS}, filtered by $environment', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    const variables = (dashboard.templating.list as { name: string; type: string; query: unknown }[]).map((v) => [v.name, v.type]);
    expect(variables).toEqual([
      ['DS_PROMETHEUS', 'datasource'],
      ['environment', 'query'],
    ]);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    expect(dashboardQueryPanels.length).toBeGreaterThanOrEqual(10);
    for (const panel of dashboardQueryPanels) {
      expect([panel.title, panel.datasource?.uid]).toEqual([panel.title, '${DS_PROMETHEUS}']);
      expect([panel.title, (panel.targets ?? []).length > 0]).toEqual([panel.title, true]);
      for (const target of panel.targets ?? []) {
        expect([panel.title, target.datasource.uid]).toEqual([panel.title, '${DS_PROMETHEUS}']);
        for (const selector of selectors(target.expr))
          expect([panel.title, selector]).toEqual([panel.title, expect.stringContaining('environment=~"$environment"')]);
      }
    }
  });

  test('every alert rule names only defined metrics', () => {
    const exprs = ruleExpressions(rulesText);
    expect(exprs).toHaveLength((rulesText.match(/^\s*- alert:/gm) ?? []).length);
    const used = new Set(exprs.flatMap(metricNames));
    expect(used.size).toBeGreaterThanOrEqual(5);
    expect([...used].filter((n) => !defined.has(n))).toEqual([]);
  });
});
