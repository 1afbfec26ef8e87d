#!/usr/bin/env node
import { existsSync, statSync } from 'node:fs';

// The bundle (scripts/bundle.mjs) starts in half the time under emulation;
// one older than the compiled tree would run stale code, so it is skipped.
const bundle = new URL('../dist/bundle/ovsnl.js', import.meta.url);
const tree = new URL('../dist/cli/main.js', import.meta.url);
const useBundle = existsSync(bundle) && statSync(bundle).mtimeMs >= statSync(tree).mtimeMs;
const { main, TIMEOUT_STATUS } = await import(useBundle ? bundle.href : tree.href);

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
