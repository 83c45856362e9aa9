/** temporal-dev.yml runs the Temporal CLI release and the Web UI release that `plandb dev` runs. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { projectRoot } from '../../platform/project-root';
import { findTemporalCli } from '../../runtime/temporal-cli';

test("the compose file's Temporal and UI images are the versions of the CLI the tests' dev server runs", () => {
  const compose = parse(fs.readFileSync(path.join(projectRoot(), 'temporal-dev.yml'), 'utf8')) as {
    services: Record<string, { image?: string }>;
  };
  const images = Object.values(compose.services).map((s) => s.image ?? '');
  // The global setup has started the dev server, so the CLI is on this machine.
  const cli = findTemporalCli()!;
  // e.g. "temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)"
  const version = /version (\S+) \(Server \S+, UI (\S+)\)/.exec(execFileSync(cli.path, ['--version'], { encoding: 'utf8' }))!;
  expect(version).not.toBeNull();
  expect(images).toContain(`temporalio/temporal:${version[1]}`);
  expect(images).toContain(`temporalio/ui:${version[2]}`);
});
