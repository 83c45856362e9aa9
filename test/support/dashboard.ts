/** The shipped Grafana dashboards (deploy/grafana/*.json) and their panels, for the tests that check their queries. */
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../platform/project-root';

export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { expr: string; datasource: { uid: string } }[];
  panels?: Panel[];
}

export const GRAFANA_DIR = path.join(projectRoot(), 'deploy', 'grafana');

/** Panels with queries (rows' nested panels included) of one dashboard JSON. */
export function queryPanels(dashboard: { panels: Panel[] }): Panel[] {
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
}

/** Every panel query of every dashboard in deploy/grafana, with the panel it belongs to. */
export function dashboardQueries(): { dashboard: string; panel: string; expr: string }[] {
  return fs
    .readdirSync(GRAFANA_DIR)
    .filter((f) => f.endsWith('.json'))
    .flatMap((file) =>
      queryPanels(JSON.parse(fs.readFileSync(path.join(GRAFANA_DIR, file), 'utf8'))).flatMap((p) =>
        (p.targets ?? []).map((t) => ({ dashboard: file, panel: p.title, expr: t.expr })),
      ),
    );
}
