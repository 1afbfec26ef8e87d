#!/usr/bin/env node
// ovsnl beside the real ovs-dpctl 3.1 on bulk flow work, in the same VM run,
// on the same file: add-flows of N flows (default 100k), dump-flows of them,
// del-flows FILE (one delete per line) and del-flows (flush). Each tool runs
// as a process, as an operator runs it; times include process start. The
// two tools alternate (who goes first swaps each round) and each step keeps
// the best of OVSNL_BENCH_ROUNDS rounds: the VM shares its host, and a
// neighbour's load shifts timings by minutes. Before every run the bench
// waits for the guest to be idle (the previous step's deferred kernel work).
//
//   npm run build:ts && node scripts/bench.mjs bench/cli-flows.mjs
//   OVSNL_BENCH_FLOWS=100000  OVSNL_BENCH_ROUNDS=1
//   OVSNL_DPCTL=/path/to/ovs-dpctl (scripts/ovs-peer.sh prints its directory)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const N = Number(process.env.OVSNL_BENCH_FLOWS ?? 100_000);
const ROUNDS = Number(process.env.OVSNL_BENCH_ROUNDS ?? 1);
const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin', 'ovsnl.js');
const dpctl = process.env.OVSNL_DPCTL;

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}
if (!existsSync(join(root, 'dist', 'cli', 'main.js')) || newest(join(root, 'dist', 'cli')) < newest(join(root, 'src', 'cli'))) {
  console.error('bench/cli-flows: dist/ is missing or older than src/cli: run `npm run build:ts` first');
  process.exit(2);
}
if (!dpctl || !existsSync(dpctl)) {
  console.error('bench/cli-flows: set OVSNL_DPCTL to the real ovs-dpctl (`bash scripts/ovs-peer.sh` prints its directory)');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'ovsnl-bench-'));
const flowsFile = join(dir, 'flows.txt');
const keysFile = join(dir, 'keys.txt');

// N distinct exact UDP flows, as ovs-vswitchd would install for N connections.
const keys = [];
for (let i = 0; i < N; i++) {
  const ip = `10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}`;
  keys.push(`in_port(1),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0800),ipv4(src=${ip},dst=172.16.0.1,proto=17,tos=0,ttl=64,frag=no),udp(src=${1024 + (i % 50000)},dst=53)`);
}
writeFileSync(flowsFile, keys.map((k) => `${k} 2\n`).join(''));
writeFileSync(keysFile, keys.join('\n') + '\n');

/** CPU time of the whole machine (guest), busy and total, from /proc/stat. */
function cpuTimes() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - (f[4] ?? 0), total };
}

/**
 * Waits until the machine has been nearly idle for half a second (at most
 * 30 s): the kernel frees a big flow table's memory after the command that
 * emptied it has exited (RCU callbacks), and under emulation that work
 * slowed whichever process came next. Every step of both tools waits the same.
 */
function settle() {
  const until = Date.now() + 30_000;
  let prev = cpuTimes();
  while (Date.now() < until) {
    spawnSync('sleep', ['0.5']);
    const now = cpuTimes();
    const busy = (now.busy - prev.busy) / Math.max(1, now.total - prev.total);
    prev = now;
    if (busy < 0.05) return;
  }
}

function run(tool, args, outFile) {
  settle();
  const cmd = tool === 'ovsnl' ? process.execPath : dpctl;
  const argv = tool === 'ovsnl' ? [bin, ...args] : args;
  const out = outFile ? openSync(outFile, 'w') : 'ignore';
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { stdio: ['ignore', out, 'pipe'], encoding: 'utf8', maxBuffer: 1 << 28 });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (outFile) closeSync(out);
  if (r.status !== 0 || (r.stderr && r.stderr.trim() && !/\|INFO\|/.test(r.stderr))) {
    throw new Error(`${tool} ${args.join(' ')}: status ${r.status}: ${r.stderr?.slice(0, 500)}`);
  }
  return secs;
}

function lines(file) {
  const s = spawnSync('wc', ['-l', file], { encoding: 'utf8' });
  return Number(s.stdout.trim().split(/\s+/)[0]);
}

const best = new Map();
function record(step, tool, secs) {
  const b = best.get(step) ?? { ovsnl: Infinity, dpctl: Infinity };
  b[tool === 'ovsnl' ? 'ovsnl' : 'dpctl'] = Math.min(b[tool === 'ovsnl' ? 'ovsnl' : 'dpctl'], secs);
  best.set(step, b);
}

const dps = { ovsnl: `bencha${process.pid % 1000}`, 'ovs-dpctl': `benchb${process.pid % 1000}` };
let identical = true;
try {
  for (const dp of Object.values(dps)) spawnSync(dpctl, ['del-dp', dp]);
  for (const dp of Object.values(dps)) run('ovsnl', ['add-dp', dp]);
  console.log(`${N} flows, best of ${ROUNDS} round(s); kernel ${spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim()}; node ${process.version}`);
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 ? ['ovs-dpctl', 'ovsnl'] : ['ovsnl', 'ovs-dpctl'];
    // Each tool fills its own datapath from the same file.
    for (const t of order) record('add-flows FILE', t, run(t, ['add-flows', dps[t], flowsFile]));
    // Each tool dumps the same datapath, to a file; the two outputs must be the same bytes.
    const outs = {};
    for (const t of order) {
      outs[t] = join(dir, `dump-${t}.txt`);
      record('dump-flows', t, run(t, ['dump-flows', dps.ovsnl], outs[t]));
      if (lines(outs[t]) !== N) throw new Error(`${t} dump-flows: ${lines(outs[t])} lines, expected ${N}`);
    }
    identical &&= spawnSync('cmp', ['-s', outs.ovsnl, outs['ovs-dpctl']]).status === 0;
    for (const t of order) record('dump-flows -m', t, run(t, ['dump-flows', '-m', dps['ovs-dpctl']], outs[t]));
    identical &&= spawnSync('cmp', ['-s', outs.ovsnl, outs['ovs-dpctl']]).status === 0;
    for (const t of order) record('del-flows FILE', t, run(t, ['del-flows', dps[t], keysFile]));
    // Refill each with its own tool, then flush.
    for (const t of order) run(t, ['add-flows', dps[t], flowsFile]);
    for (const t of order) record('del-flows (flush)', t, run(t, ['del-flows', dps[t]]));
  }
  const results = [];
  for (const [step, b] of best) {
    results.push({ step, ovsnl: b.ovsnl, dpctl: b.dpctl });
    console.log(`${step.padEnd(22)} ovsnl ${b.ovsnl.toFixed(2).padStart(7)} s   ovs-dpctl ${b.dpctl.toFixed(2).padStart(7)} s   ovs-dpctl/ovsnl ${(b.dpctl / b.ovsnl).toFixed(2)}x`);
  }
  console.log(`dump-flows output of the two tools for the same datapath: ${identical ? 'identical' : 'DIFFERENT'}`);
  console.log(`BENCH-RESULT ${JSON.stringify({ flows: N, rounds: ROUNDS, identicalDump: identical, results })}`);
} finally {
  for (const dp of Object.values(dps)) spawnSync(dpctl, ['del-dp', dp]);
  rmSync(dir, { recursive: true, force: true });
}
