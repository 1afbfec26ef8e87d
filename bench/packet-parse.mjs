#!/usr/bin/env node
// Packets per second through src/packet's parser, the first step of the
// fallback datapath's key extraction: a 64-byte UDP/IPv4 frame and a TCP/IPv6
// frame (with timestamp options), in batches of 32 distinct buffers as they
// come from the addon. Side by side: one result object reused for the batch
// (how the datapath parses) and a new result per packet (the allocation a
// naive parser pays). Also the checksum work a set action or a built packet
// costs. Run after `npx tsc -p tsconfig.build.json`:
//   node bench/packet-parse.mjs            (OVSNL_BENCH_N packets per round, default 5e6)
import {
  buildFrame,
  crc32c,
  internetChecksum,
  parsePacket,
  ParsedPacket,
} from '../dist/packet/index.js';

const N = Number(process.env.OVSNL_BENCH_N ?? 5_000_000);
const ROUNDS = Number(process.env.OVSNL_BENCH_ROUNDS ?? 5);
const BATCH = 32;

const udp4 = (i) =>
  buildFrame({
    l3: { kind: 'ipv4', src: `10.0.${i >> 8}.${i & 255}`, dst: '10.1.0.1', id: i },
    l4: { kind: 'udp', src: 1024 + i, dst: 4789 },
    payload: 22, // 14 + 20 + 8 + 22 = 64 bytes
  });
const tcp6 = (i) =>
  buildFrame({
    l3: { kind: 'ipv6', src: `2001:db8::${i + 1}`, dst: '2001:db8::ffff', flowLabel: i },
    l4: { kind: 'tcp', src: 40000 + i, dst: 443, seq: i, ack: 1, flags: 0x018, options: Uint8Array.from([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]) },
    payload: 100,
  });

function batchOf(make) {
  return Array.from({ length: BATCH }, (_, i) => make(i));
}

function run(frames, reuse) {
  const out = new ParsedPacket();
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let n = 0; n < N; n += BATCH) {
    for (let i = 0; i < BATCH; i++) {
      const f = frames[i];
      const p = reuse ? parsePacket(f, f.length, out) : parsePacket(f, f.length);
      sink += p.tpDst + p.layers;
    }
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (sink === 42) console.log('');
  return N / s;
}

function best(f) {
  let b = 0;
  for (let r = 0; r < ROUNDS; r++) b = Math.max(b, f());
  return b;
}

function bytesPerSec(fn, buf, iters) {
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iters; i++) sink += fn(buf);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (sink === 42) console.log('');
  return (buf.length * iters) / s;
}

const fmt = (x) => Math.round(x).toLocaleString('en-US');
const cases = [
  ['UDP/IPv4, 64 bytes', batchOf(udp4)],
  ['TCP/IPv6, 186 bytes', batchOf(tcp6)],
];
console.log(`packet parse, node ${process.version}, ${fmt(N)} packets x best of ${ROUNDS}, batches of ${BATCH}`);
console.log('frame                     reused result (pkt/s)   new result (pkt/s)   ratio');
for (const [name, frames] of cases) {
  run(frames, true); // warm up both paths
  run(frames, false);
  const a = best(() => run(frames, true));
  const b = best(() => run(frames, false));
  console.log(`${name.padEnd(24)} ${fmt(a).padStart(22)} ${fmt(b).padStart(20)}   ${(a / b).toFixed(2)}x`);
}

const mtu = new Uint8Array(1500).map((_, i) => i * 7);
const gb = (x) => (x / 1e9).toFixed(2);
console.log(`internet checksum, 1500 bytes: ${gb(best(() => bytesPerSec((b) => internetChecksum(b, 0, b.length), mtu, 200_000)))} GB/s`);
console.log(`crc32c (SCTP), 1500 bytes:     ${gb(best(() => bytesPerSec((b) => crc32c(b), mtu, 50_000)))} GB/s`);
