#!/usr/bin/env node
'use strict';
// The compiled CLI (npm run build); see cli/main.ts.
require('../dist/cli/main.js')
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
