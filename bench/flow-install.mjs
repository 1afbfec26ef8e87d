#!/usr/bin/env node
// Flow installs per second into the real openvswitch module: ovsnl one at a
// time (await each putFlow), ovsnl batched (putFlows: many requests in
// flight, several per sendmsg), and the real `ovs-dpctl add-flows FILE` of
// the same N flows (same UFIDs, same exact keys), in the same run.
//   node scripts/bench.mjs bench/flow-install.mjs        (in the test VM)
//   OVSNL_BENCH_N=50000 OVSNL_BENCH_ROUNDS=3
// Needs the compiled library (npm run build:ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KernelDpif } from '../dist/index.js';
import { kernelRelease, makeFlows, rate, seconds, timeDpctl } from './flow-common.mjs';

const N = Number(process.env.OVSNL_BENCH_N ?? 20000);
const ROUNDS = Number(process.env.OVSNL_BENCH_ROUNDS ?? 3);
const DP = 'ovsnlbench0';

const dpif = await KernelDpif.open({ hostWarnings: { disabled: true } });
await dpif.deleteDatapath(DP).catch(() => undefined);
await dpif.createDatapath({ name: DP });

const { puts, lines } = makeFlows(N);
const dir = mkdtempSync(join(tmpdir(), 'ovsnl-bench-'));
const file = join(dir, 'flows.txt');
writeFileSync(file, lines.join('\n') + '\n');

async function flowCount() {
  return Number((await dpif.getDatapath(DP)).stats?.flows ?? -1n);
}

async function check(what) {
  const n = await flowCount();
  if (n !== N) throw new Error(`${what}: ${n} flows in the datapath, expected ${N}`);
  await dpif.flushFlows(DP);
}

const runs = {
  'ovs-dpctl add-flows FILE': async () => {
    const s = timeDpctl(['add-flows', DP, file]);
    await check('ovs-dpctl add-flows');
    return s;
  },
  'ovsnl putFlow, one at a time': async () => {
    const s = await seconds(async () => {
      for (const f of puts) await dpif.putFlow(DP, f);
    });
    await check('ovsnl one at a time');
    return s;
  },
  'ovsnl putFlows, batched': async () => {
    let failed = 0;
    const s = await seconds(async () => {
      for (const r of await dpif.putFlows(DP, puts)) if (!r.ok) failed++;
    });
    if (failed) throw new Error(`ovsnl batched: ${failed} flows failed`);
    await check('ovsnl batched');
    return s;
  },
};

// Warm up the JIT and the kernel's allocators with a small batch.
await dpif.putFlows(DP, puts.slice(0, 2000));
await dpif.flushFlows(DP);

const best = {};
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, run] of Object.entries(runs)) best[name] = Math.min(best[name] ?? Infinity, await run());
}

const dpctlRate = N / best['ovs-dpctl add-flows FILE'];
console.log(`flow installs/s, kernel ${kernelRelease()}, ${N.toLocaleString('en-US')} exact-match UDP flows with UFIDs, best of ${ROUNDS}`);
console.log('method                          seconds     flows/s   vs ovs-dpctl');
for (const [name, s] of Object.entries(best)) {
  console.log(`${name.padEnd(30)} ${s.toFixed(3).padStart(8)} ${rate(N, s).padStart(11)}   ${(N / s / dpctlRate).toFixed(2)}x`);
}
console.log(`send calls: ${dpif.conn.stats.sendCalls} for ${dpif.conn.stats.sent} requests`);

await dpif.deleteDatapath(DP);
dpif.close();
rmSync(dir, { recursive: true, force: true });
