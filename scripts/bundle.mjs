// Bundles the CLI (dist/cli/main.js and everything it imports, commander
// included) into one file, dist/bundle/ovsnl.js, which bin/ovsnl.js prefers.
// Why: under emulation (the test VM) resolving and compiling some 180 ES
// modules cost a short command about a second, more than Node's own start.
// One file keeps the commands' lazy loading (esbuild defers a dynamically
// imported module's body until the import runs) without the per-file cost.
// Without esbuild (an install without dev dependencies) there is no bundle
// and bin/ovsnl.js runs dist/cli/main.js: same code, slower start.
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/bundle/ovsnl.js`;

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  rmSync(out, { force: true });
  console.error('bundle: esbuild not installed; bin/ovsnl.js will run dist/cli/main.js');
  process.exit(0);
}

await esbuild.build({
  entryPoints: [`${root}dist/cli/main.js`],
  outfile: out,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  // commander is CommonJS and requires Node's modules: give the ESM bundle a require.
  banner: { js: 'import { createRequire as __ovsnlRequire } from "node:module"; const require = __ovsnlRequire(import.meta.url);' },
});
