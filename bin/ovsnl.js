#!/usr/bin/env node
import { main, TIMEOUT_STATUS } from '../dist/cli/main.js';

// `ovsnl dump-flows | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

main(process.argv).then(
  (code) => {
    process.exitCode = code;
    // A timed-out command may still wait on the kernel or on stdin.
    if (code === TIMEOUT_STATUS) process.exit(code);
  },
  (err) => {
    process.stderr.write(`ovsnl: internal error: ${err?.stack ?? err}\n`);
    process.exitCode = 2;
  },
);
