#!/usr/bin/env node
import { existsSync, readFileSync, statSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

/**
 * The CLI from its bundle with V8's code cache (scripts/bundle.mjs): under
 * emulation it starts in half the time of the module tree. A bundle older
 * than the compiled tree would run stale code: then, or without a bundle,
 * the tree. A cache V8 rejects (another Node, other V8 flags) costs only the
 * compile it would have saved.
 */
function loadCli() {
  const bundle = fileURLToPath(new URL('../dist/bundle/ovsnl.cjs', import.meta.url));
  const tree = new URL('../dist/cli/main.js', import.meta.url);
  if (!existsSync(bundle) || statSync(bundle).mtimeMs < statSync(tree).mtimeMs) return import(tree.href);
  let cachedData;
  try {
    cachedData = readFileSync(bundle.replace(/\.cjs$/, '.cache'));
  } catch {
    cachedData = undefined;
  }
  const source = readFileSync(bundle, 'utf8');
  // Node's own CommonJS wrapper, as scripts/bundle.mjs compiled it: V8 checks the source against the cache.
  const script = new Script(Module.wrap(source), { filename: bundle, cachedData });
  const mod = { exports: {} };
  script.runInThisContext().call(mod.exports, mod.exports, createRequire(bundle), mod, bundle, dirname(bundle));
  return mod.exports;
}

const { main, TIMEOUT_STATUS } = await loadCli();

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
