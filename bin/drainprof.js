#!/usr/bin/env node
'use strict';
// Launcher for the compiled CLI (lib/cli/ -> dist/cli/). Kept tiny and in plain CommonJS so it
// runs on any supported node without a build step of its own.

let cli;
try {
  cli = require('../dist/cli/index.js');
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && /dist[\\/]cli[\\/]index\.js/.test(String(err.message))) {
    process.stderr.write(
      'drainprof: the compiled CLI (dist/cli/index.js) is missing; build it with `npm run build` in the drainprof package.\n',
    );
    process.exit(1);
  }
  throw err;
}

cli.main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`drainprof: ${err && err.stack ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
