// ODP text speed: parse + format of flow lines, 100k per run.
// Needs the compiled library: `npx tsc -p tsconfig.build.json` first, then
//   node bench/odp-bench.mjs [lines]
// The lines are the masked-key and action vectors of test/fixtures/odp,
// paired into dump-flows lines ("KEY, packets:.., actions:ACTIONS").
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatFlowDump, formatOdpActions, formatOdpFlow, parseFlowDump, parseOdpActions, parseOdpFlow } from '../dist/odp/index.js';

const N = Number(process.argv[2] ?? 100_000);
const here = dirname(fileURLToPath(import.meta.url));
const vectors = (f) =>
  readFileSync(join(here, '../test/fixtures/odp', f), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split('\t').pop())
    .filter((l) => l.length < 4000);

const keys = vectors('odp-keys-masked.txt');
// What a kernel dump looks like: ovs-dpctl 3.1's own output (test/fixtures/odp/dpctl).
const dpctl = ['ovs-dpctl_dump-flows.txt', 'ovs-dpctl_dump-flows_of_py_flows.txt', 'bulk_exact_dump-flows_head.txt', 'bulk_masked_dump-flows_head.txt']
  .flatMap((f) => readFileSync(join(here, '../test/fixtures/odp/dpctl', f), 'utf8').split('\n'))
  .filter((l) => l.trim());
const actions = vectors('odp-actions.txt');
const lines = keys.map((k, i) => `${k}, packets:${i}, bytes:${i * 64}, used:never, actions:${actions[i % actions.length]}`);

function run(name, inputs, fn) {
  for (let i = 0; i < Math.min(N, 20_000); i++) fn(inputs[i % inputs.length]); // warm up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) fn(inputs[i % inputs.length]);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`${name.padEnd(44)} ${String(N).padStart(7)} in ${s.toFixed(3)} s = ${Math.round(N / s).toLocaleString('en-US').padStart(9)} /s`);
}

console.log(`ovsnl ODP text, node ${process.version}, ${keys.length} distinct keys, ${actions.length} distinct action lists`);
run('flow key+mask: parse + format (terse)', keys, (s) => {
  const f = parseOdpFlow(s);
  formatOdpFlow(f.key, f.mask);
});
run('flow key+mask: parse + format (-m verbose)', keys, (s) => {
  const f = parseOdpFlow(s);
  formatOdpFlow(f.key, f.mask, { verbose: true });
});
run('actions: parse + format', actions, (s) => formatOdpActions(parseOdpActions(s)));
run('kernel dump-flows line: parse + format', dpctl, (s) => {
  const p = parseFlowDump(s);
  formatFlowDump({ key: p.key, mask: p.mask, packets: p.packets, bytes: p.bytes, actions: p.actions });
});
run('vector dump-flows line: parse + format', lines, (s) => {
  const p = parseFlowDump(s);
  formatFlowDump({ key: p.key, mask: p.mask, packets: p.packets, bytes: p.bytes, actions: p.actions });
});
