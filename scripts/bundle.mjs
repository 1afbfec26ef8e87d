// Bundles the CLI (dist/cli/main.js and everything it imports, commander
// included) into one CommonJS file, dist/bundle/ovsnl.cjs, with a V8 code
// cache beside it (ovsnl.cache), both of which bin/ovsnl.js prefers.
// Why: under emulation (the test VM) resolving and compiling some 180 ES
// modules cost a short command about a second, more than Node's own start;
// one file halves that, and the code cache saves compiling it (V8 must at
// least pre-parse all of a script it has no cache for). Node 20 has no code
// cache for ES modules, hence CommonJS. The commands stay lazily loaded
// (esbuild defers a dynamically imported module's body until the import
// runs). Without esbuild (an install without dev dependencies) there is no
// bundle and bin/ovsnl.js runs dist/cli/main.js: same code, slower start.
import { rmSync, readFileSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/bundle/ovsnl.cjs`;
const cacheFile = `${root}dist/bundle/ovsnl.cache`;

rmSync(`${root}dist/bundle`, { recursive: true, force: true });
let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.error('bundle: esbuild not installed; bin/ovsnl.js will run dist/cli/main.js');
  process.exit(0);
}

await esbuild.build({
  entryPoints: [`${root}dist/cli/main.js`],
  outfile: out,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  // The modules find package.json, bin/ and the addon from their own URL.
  define: { 'import.meta.url': '__ovsnlUrl' },
  banner: { js: 'var __ovsnlUrl = require("node:url").pathToFileURL(__filename).href;' },
});

// Compiled as bin/ovsnl.js compiles it (Node's CommonJS wrapper, same file
// name: V8 checks the source against the cache). The cache holds what V8
// compiled by the time it is made: run the start of every command
// (commander's setup, --help) first, so that code is in it.
const script = new Script(Module.wrap(readFileSync(out, 'utf8')), { filename: out });
const mod = { exports: {} };
script.runInThisContext().call(mod.exports, mod.exports, createRequire(out), mod, out, dirname(out));
const sink = { write: () => true };
await mod.exports.runCli(['--help'], { stdout: sink, stderr: sink });
writeFileSync(cacheFile, script.createCachedData());
