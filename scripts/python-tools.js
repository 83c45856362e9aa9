/**
 * What the installers of .tools/ share: a python3 with pip, and `pip install --target`. Plain
 * JavaScript so it runs before anything is built.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');

function findPython() {
  for (const cmd of ['python3', 'python']) {
    const probe = spawnSync(cmd, ['-m', 'pip', '--version'], { encoding: 'utf8' });
    if (probe.status === 0) return cmd;
  }
  return null;
}

/** Installs the pinned requirements into `target` (emptied first, so no older version lingers). */
function pipInstallTarget({ what, target, requirements, quiet = false }) {
  const python = findPython();
  if (!python) throw new Error(`cannot install ${what}: no python3 with pip on PATH (install python3-pip)`);
  fs.rmSync(target, { recursive: true, force: true });
  const pip = spawnSync(
    python,
    ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-warn-script-location', '--quiet',
      '--target', target, ...requirements],
    { stdio: quiet ? 'pipe' : 'inherit', encoding: 'utf8' },
  );
  if (pip.status !== 0) {
    throw new Error(`pip install ${requirements.join(' ')} failed (exit ${pip.status}): ${pip.stderr || ''}`.trim());
  }
  return python;
}

module.exports = { findPython, pipInstallTarget };
