// ODP text speed: parse + format of flow lines, 100k per run.
// Needs the compiled library: `npx tsc -p tsconfig.build.json` first, then
//   node bench/odp-bench.mjs [lines]
// The lines are the masked-key and action vectors of test/fixtures/odp,
// paired into dump-flows lines ("KEY, packets:.., actions:ACTIONS").
//
// Beside the peer: `ovs-dpctl parse-actions A B ...` parses each argument and
// prints it formatted, OVS's own parse + format of actions with no datapath.
// The action vectors OVS 3.1 accepts are fed to it N at a time (argument
// batches of ~1 MiB, so process start is a few milliseconds in seconds), and
// ovsnl parses and formats the same strings; both outputs must be equal line
// for line before the rates are printed. The peer is Debian's ovs-dpctl
// (scripts/ovs-peer.sh, or OVSNL_DPCTL); OVSNL_BENCH_NO_PEER=1 skips it.
import { execFileSync, spawnSync } from 'node:child_process';
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

function peerDpctl() {
  if (process.env.OVSNL_DPCTL) return process.env.OVSNL_DPCTL;
  const r = spawnSync('bash', [join(here, '../scripts/ovs-peer.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error('ovs-dpctl not found (scripts/ovs-peer.sh failed); OVSNL_BENCH_NO_PEER=1 runs without the peer');
  return join(r.stdout.trim(), 'ovs-dpctl');
}

if (!process.env.OVSNL_BENCH_NO_PEER) {
  const dpctlBin = peerDpctl();
  const dpctlRun = (args) => execFileSync(dpctlBin, ['parse-actions', ...args], { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'] });
  // The vectors follow the newest OVS; 3.1 lacks some actions (it stops at the
  // first it cannot read), so only those it accepts take part.
  const accepted = actions.filter((a) => spawnSync(dpctlBin, ['parse-actions', a], { stdio: 'ignore' }).status === 0);
  const batches = [];
  for (let i = 0, batch = [], size = 0; i < N; i++) {
    const a = accepted[i % accepted.length];
    batch.push(a);
    size += a.length + 1;
    if (size > 1 << 20 || i === N - 1) {
      batches.push(batch);
      batch = [];
      size = 0;
    }
  }
  let t0 = process.hrtime.bigint();
  const theirs = batches.map(dpctlRun).join('');
  const theirSecs = Number(process.hrtime.bigint() - t0) / 1e9;
  t0 = process.hrtime.bigint();
  let ours = '';
  for (const batch of batches) for (const a of batch) ours += formatOdpActions(parseOdpActions(a)) + '\n';
  const ourSecs = Number(process.hrtime.bigint() - t0) / 1e9;
  const theirLines = theirs.split('\n');
  const ourLines = ours.split('\n');
  const diff = ourLines.findIndex((l, i) => l !== theirLines[i]);
  if (diff >= 0 || ourLines.length !== theirLines.length) {
    throw new Error(`ovsnl and ovs-dpctl format differently at line ${diff}:\n  ovs-dpctl: ${theirLines[diff]}\n  ovsnl:     ${ourLines[diff]}`);
  }
  const rate = (s) => Math.round(N / s).toLocaleString('en-US');
  console.log(`\nactions parse + format beside ovs-dpctl parse-actions (${accepted.length} of ${actions.length} vectors accepted by ${'ovs-dpctl ' + dpctlBin.split('/').slice(-4, -3)[0]}), ${N} lines, outputs identical:`);
  console.log(`  ovs-dpctl parse-actions: ${theirSecs.toFixed(3)} s = ${rate(theirSecs).padStart(9)} /s (${batches.length} processes)`);
  console.log(`  ovsnl:                   ${ourSecs.toFixed(3)} s = ${rate(ourSecs).padStart(9)} /s   ratio ${(theirSecs / ourSecs).toFixed(2)}x`);
}
