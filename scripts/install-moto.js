#!/usr/bin/env node
/**
 * `npm run setup:moto`: installs the pinned moto S3 server (what the tests and `plandb dev` use as
 * S3-compatible storage) from the Python package index into .tools/moto. Plain JavaScript so it runs
 * before anything is built; runtime/moto.ts reuses it.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { findPython, pipInstallTarget } = require('./python-tools');

const MOTO_VERSION = '5.2.1';
// moto's server extra, pinned with the Flask it was tested with.
const REQUIREMENTS = [`moto[s3]==${MOTO_VERSION}`, 'flask==3.1.3', 'flask-cors==6.0.2'];
const ROOT = path.resolve(__dirname, '..');
const MOTO_DIR = path.join(ROOT, '.tools', 'moto');

function installedVersion(dir = MOTO_DIR) {
  if (!fs.existsSync(dir)) return null;
  const info = fs.readdirSync(dir).find((f) => /^moto-.+\.dist-info$/.test(f));
  return info ? info.slice('moto-'.length, -'.dist-info'.length) : null;
}

/**
 * Installs moto into .tools/moto unless the pinned version is there. Returns how to run its server:
 * `python -m moto.server` with .tools/moto on PYTHONPATH (the same python, as its wheels are built for it).
 */
function installMoto({ quiet = false } = {}) {
  if (installedVersion() === MOTO_VERSION) {
    const python = findPython();
    if (!python) throw new Error('cannot run moto: no python3 with pip on PATH (install python3-pip)');
    return { python, pythonPath: MOTO_DIR };
  }
  const python = pipInstallTarget({ what: 'moto', target: MOTO_DIR, requirements: REQUIREMENTS, quiet });
  return { python, pythonPath: MOTO_DIR };
}

module.exports = { MOTO_VERSION, MOTO_DIR, installMoto, installedVersion };

if (require.main === module) {
  try {
    installMoto();
    console.log(`moto ${installedVersion()} in ${path.relative(process.cwd(), MOTO_DIR)}`);
  } catch (err) {
    console.error(`setup:moto: ${err.message}`);
    process.exit(1);
  }
}
