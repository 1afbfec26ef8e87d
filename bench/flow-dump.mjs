#!/usr/bin/env node
// Flow dump speed from the real openvswitch module, for 10k and 100k flows:
// ovsnl dumpFlows (every flow decoded to its Flow object; and terse, UFIDs
// only) beside the real `ovs-dpctl dump-flows DP > /dev/null`, in the same
// run. ovs-dpctl also formats each flow as text: that is what a user of
// either tool waits for.
//   node scripts/bench.mjs bench/flow-dump.mjs           (in the test VM)
//   OVSNL_BENCH_SIZES="10000 100000" OVSNL_BENCH_ROUNDS=3
// Needs the compiled library (npm run build:ts).
import { KernelDpif, OVS_UFID_F_OMIT_ACTIONS, OVS_UFID_F_OMIT_KEY, OVS_UFID_F_OMIT_MASK } from '../dist/index.js';
import { dpctlPath, kernelRelease, makeFlows, rate, seconds, timeDpctl } from './flow-common.mjs';
import { spawnSync } from 'node:child_process';

const SIZES = (process.env.OVSNL_BENCH_SIZES ?? '10000 100000').split(/[\s,]+/).map(Number);
const ROUNDS = Number(process.env.OVSNL_BENCH_ROUNDS ?? 3);
const DP = 'ovsnlbench1';
const TERSE = OVS_UFID_F_OMIT_KEY | OVS_UFID_F_OMIT_MASK | OVS_UFID_F_OMIT_ACTIONS;

const dpif = await KernelDpif.open({ hostWarnings: { disabled: true } });
await dpif.deleteDatapath(DP).catch(() => undefined);
await dpif.createDatapath({ name: DP });

async function ovsnlDump(n, opts) {
  let count = 0;
  const s = await seconds(async () => {
    for await (const f of dpif.dumpFlows(DP, opts)) if (f.ufid) count++;
  });
  if (count !== n) throw new Error(`ovsnl dump saw ${count} flows, expected ${n}`);
  return s;
}

console.log(`flow dumps, kernel ${kernelRelease()}, exact-match UDP flows, best of ${ROUNDS}`);
console.log('flows    method                            seconds     flows/s   vs ovs-dpctl');
for (const n of SIZES) {
  const { puts } = makeFlows(n, 0xd0);
  const results = await dpif.putFlows(DP, puts);
  if (results.some((r) => !r.ok)) throw new Error('installing the flows failed');
  // ovs-dpctl prints one line per flow: count them once, outside the timing.
  const lines = spawnSync(dpctlPath(), ['dump-flows', DP], { encoding: 'utf8', maxBuffer: 1 << 30 }).stdout.split('\n').filter(Boolean).length;
  if (lines !== n) throw new Error(`ovs-dpctl dump-flows printed ${lines} lines, expected ${n}`);
  const runs = {
    'ovs-dpctl dump-flows > /dev/null': async () => timeDpctl(['dump-flows', DP]),
    'ovsnl dumpFlows': () => ovsnlDump(n, {}),
    'ovsnl dumpFlows, terse (UFIDs)': () => ovsnlDump(n, { ufidFlags: TERSE }),
  };
  await ovsnlDump(n, {}); // warm up
  const best = {};
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, run] of Object.entries(runs)) best[name] = Math.min(best[name] ?? Infinity, await run());
  }
  const base = best['ovs-dpctl dump-flows > /dev/null'];
  for (const [name, s] of Object.entries(best)) {
    console.log(`${String(n).padEnd(8)} ${name.padEnd(33)} ${s.toFixed(3).padStart(8)} ${rate(n, s).padStart(11)}   ${(base / s).toFixed(2)}x`);
  }
  await dpif.flushFlows(DP);
}

await dpif.deleteDatapath(DP);
dpif.close();
