#!/usr/bin/env node
// The ODP text format's speed beside ovs-dpctl's, on the same flow table in
// the real module: `ovs-dpctl dump-flows` (kernel dump + OVS's formatter) vs
// ovsnl's dump + decode + format of every flow; and ovsnl's parse of the
// dumped text (line -> typed key/mask/actions -> netlink bytes). ovsnl's dump
// is timed twice: through the typed model (decodeKey, formatFlowDump: the
// library's general path) and through the formatter `ovsnl dump-flows` uses
// (odp/dump-format.js, also the library's DumpFormatter; straight from the attribute bytes, with repeated
// attributes remembered). Both must print ovs-dpctl's text. Run with
//   node scripts/bench.mjs bench/odp-dpctl.mjs      (OVSNL_BENCH_N=100000)
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { DumpFormatter } from '../dist/odp/dump-format.js';
import { eachFlow } from '../dist/cli/flow-walk.js';
import { monotonicMs } from '../dist/cli/flow-out.js';
import { AttrWriter, KernelDpif, decodeActions, decodeKey, decodeMask, encodeActions, encodeKey, encodeMask, formatFlowDump, parseFlowDump, parseOdpActions, parseOdpFlow } from '../dist/index.js';

const N = Number(process.env.OVSNL_BENCH_N ?? 100000);
const DP = 'ovsnlbodp';
const dpctlPath = process.env.OVSNL_DPCTL;
if (!dpctlPath) throw new Error('OVSNL_DPCTL is not set: run through scripts/bench.mjs');
const dpctl = (...a) => execFileSync(dpctlPath, a, { encoding: 'utf8', maxBuffer: 1 << 30 });
const bytes = (f) => {
  const w = new AttrWriter();
  f(w);
  return w.finish().slice();
};
const secs = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

try {
  dpctl('del-dp', DP);
} catch {}
dpctl('add-dp', DP);
const dpif = await KernelDpif.open();
try {
  // N distinct megaflows: masked IPv4 source, a UDP port, the shapes real dumps carry.
  const flows = [];
  for (let i = 0; i < N; i++) {
    const a = (i >> 16) & 255, b = (i >> 8) & 255, c = i & 255;
    const { key, mask } = parseOdpFlow(`in_port(1),eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.${a}.${b}.${c},dst=10.200.0.0/255.255.0.0,proto=17,tos=0/0,ttl=0/0,frag=no),udp(src=${1024 + (i % 50000)},dst=53)`);
    flows.push({ key: bytes((w) => encodeKey(w, key)), mask: bytes((w) => encodeMask(w, mask)), actions: bytes((w) => encodeActions(w, parseOdpActions('2'))) });
  }
  const failed = (await dpif.putFlows(DP, flows)).filter((r) => r.error).length;
  if (failed) throw new Error(`${failed} flow installs failed`);

  let t0 = process.hrtime.bigint();
  const theirs = dpctl('dump-flows', DP);
  const dpctlSecs = secs(t0);

  t0 = process.hrtime.bigint();
  const lines = [];
  for await (const f of dpif.dumpFlows(DP)) {
    lines.push(
      formatFlowDump({
        key: decodeKey(f.key),
        mask: f.mask ? decodeMask(f.mask) : undefined,
        packets: f.stats?.packets ?? 0n,
        bytes: f.stats?.bytes ?? 0n,
        used: f.used,
        tcpFlags: f.tcpFlags,
        actions: decodeActions(f.actions ?? new Uint8Array(0)),
      }),
    );
  }
  const oursSecs = secs(t0);
  const theirSorted = theirs.trim().split('\n').sort().join('\n');
  const same = lines.sort().join('\n') === theirSorted;

  t0 = process.hrtime.bigint();
  const cliLines = [];
  const fmt = new DumpFormatter(false);
  const dpIfindex = (await dpif.getDatapath(DP)).dpIfindex;
  const now = monotonicMs();
  await eachFlow(dpif, dpIfindex, (f) => void cliLines.push(fmt.line(f, now)));
  const cliSecs = secs(t0);
  const cliSame = cliLines.sort().join('\n') === theirSorted;

  t0 = process.hrtime.bigint();
  for (const line of lines) {
    const p = parseFlowDump(line);
    bytes((w) => encodeKey(w, p.key));
    bytes((w) => encodeMask(w, p.mask));
    bytes((w) => encodeActions(w, p.actions));
  }
  const parseSecs = secs(t0);

  const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  const rate = (s) => Math.round(N / s).toLocaleString('en-US');
  console.log(`ODP text vs ovs-dpctl, ${N} masked flows, kernel ${kernel}`);
  console.log(`dump + format   ovs-dpctl dump-flows: ${dpctlSecs.toFixed(2)} s (${rate(dpctlSecs)} flows/s)`);
  console.log(`dump + format   ovsnl, typed model:   ${oursSecs.toFixed(2)} s (${rate(oursSecs)} flows/s)   ratio ${(dpctlSecs / oursSecs).toFixed(2)}x   identical text: ${same}`);
  console.log(`dump + format   ovsnl, CLI formatter: ${cliSecs.toFixed(2)} s (${rate(cliSecs)} flows/s)   ratio ${(dpctlSecs / cliSecs).toFixed(2)}x   identical text: ${cliSame}`);
  console.log(`parse + encode  ovsnl:                ${parseSecs.toFixed(2)} s (${rate(parseSecs)} lines/s)`);
} finally {
  await dpif.close();
  dpctl('del-dp', DP);
}
