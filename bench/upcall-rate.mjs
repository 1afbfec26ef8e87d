#!/usr/bin/env node
// MISS upcalls per second through openUpcalls, on the real openvswitch module.
// A datapath with one veth port and no flows: every frame misses. A worker
// thread offers N crafted UDP frames, each a distinct flow (source address and
// port vary), on the veth's peer through the addon's PacketSocket as fast as
// the socket takes them; the main thread receives the upcalls. Per-vport and
// per-CPU dispatch, batch callback (views) and iterator (copies); 'stream'
// runs measure the whole path while frames are offered, 'drain' runs the
// receiving side alone (upcalls queued in the kernel first, then read).
//
//   node scripts/bench.mjs bench/upcall-rate.mjs     (needs dist/: npm run build:ts)
//   OVSNL_BENCH_N=frames per stream run (default 100000), OVSNL_BENCH_DRAIN_N
//   (default 40000), OVSNL_BENCH_HANDLERS (default 2)
//
// Received/s is counted from the first upcall to the last; lost is the
// datapath's n_lost (upcalls the kernel could not queue: the receiver fell
// behind and the socket buffers filled).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { KernelDpif } from '../dist/dpif/kernel.js';
import { openUpcalls } from '../dist/dpif/upcalls.js';

const N = Number(process.env.OVSNL_BENCH_N ?? 100000);
const HANDLERS = Number(process.env.OVSNL_BENCH_HANDLERS ?? 2);
/** Frames queued in the kernel for a drain run: within the sockets' buffers. */
const DRAIN_N = Number(process.env.OVSNL_BENCH_DRAIN_N ?? 40000);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addon = ['Release', 'Debug'].map((b) => join(root, 'build', b, 'ovsnl.node')).find(existsSync);
if (!addon) throw new Error('the addon is not built (npm run build)');

const ip = (...a) => execFileSync('ip', a, { stdio: ['ignore', 'ignore', 'pipe'] });
const quiet = (dev) => {
  const knob = `/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`;
  if (existsSync(knob)) writeFileSync(knob, '1');
};

// The sender: frames built up front, then sendmmsg in batches of 64.
const senderCode = `
const { workerData, parentPort } = require('node:worker_threads');
const addon = require(workerData.addon);
const { ifindex, n } = workerData;
const frames = new Array(n);
for (let i = 0; i < n; i++) {
  const f = new Uint8Array(60);
  f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00], 0);
  f.set([0x45, 0, 0, 46, 0, 0, 0, 0, 64, 17, 0, 0, 10, 90, (i >> 16) & 0xff, 1 + ((i >> 8) & 0x7f), 10, 91, 0, 1], 14);
  let sum = 0;
  for (let k = 14; k < 34; k += 2) sum += (f[k] << 8) | f[k + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  sum = ~sum & 0xffff;
  f[24] = sum >> 8; f[25] = sum & 0xff;
  const sport = 1024 + (i & 0x7fff);
  f.set([sport >> 8, sport & 0xff, 0x1b, 0x58, 0, 26, 0, 0], 34);
  frames[i] = f;
}
const ps = new addon.PacketSocket(ifindex, { qdiscBypass: true });
const wait = new Int32Array(new SharedArrayBuffer(4));
parentPort.once('message', () => {
  const t0 = process.hrtime.bigint();
  let sent = 0;
  while (sent < n) {
    const k = ps.send(frames.slice(sent, sent + 64));
    sent += k;
    if (k === 0) Atomics.wait(wait, 0, 0, 1);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  ps.close();
  parentPort.postMessage({ sent, seconds });
});
`;

const dpif = await KernelDpif.open();
const dp = `ovsnlbench${process.pid % 1000}`;
const [a, b] = [`ubra${process.pid % 1000}`, `ubrb${process.pid % 1000}`];
await dpif.deleteDatapath(dp).catch(() => undefined);
await dpif.createDatapath({ name: dp });
quiet(dp);
ip('link', 'add', 'name', a, 'type', 'veth', 'peer', 'name', b);
for (const d of [a, b]) {
  quiet(d);
  ip('link', 'set', d, 'up');
}
await dpif.createVport(dp, { name: a, type: 'netdev' });
const ifindex = Number(readFileSync(`/sys/class/net/${b}/ifindex`, 'utf8'));

/** Offers N frames from the worker; resolves with what it sent and the offered rate. */
async function offer(n) {
  const worker = new Worker(senderCode, { eval: true, workerData: { addon, ifindex, n } });
  await new Promise((r) => worker.once('online', r));
  const done = new Promise((r) => worker.once('message', r));
  worker.postMessage('go');
  const { sent, seconds } = await done;
  await worker.terminate();
  return { sent, offered: sent / seconds };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * stream: frames offered while the channel reads; the rate is the whole
 * path's (sender, kernel, receiver). drain: the channel paused while the
 * kernel queues the upcalls (buffers large enough for all of them), then
 * resumed: the rate is the receiving side's alone.
 */
async function run(dispatch, consumer, how) {
  let received = 0;
  let first = 0n;
  let last = 0n;
  const onUpcalls = (n) => {
    const now = process.hrtime.bigint();
    if (received === 0) first = now;
    last = now;
    received += n;
  };
  const up = await openUpcalls(dpif, dp, {
    dispatch,
    handlers: HANDLERS,
    receiveBufferBytes: how === 'drain' ? 256 << 20 : undefined,
    queueLimit: how === 'drain' ? 1 << 20 : undefined,
    onBatch: consumer === 'callback' ? (batch) => onUpcalls(batch.length) : undefined,
  });
  if (consumer === 'iterator') {
    void (async () => {
      for await (const u of up) if (u.packet.length) onUpcalls(1);
    })();
  }
  const before = await up.kernelStats();
  if (how === 'drain') up.pause();
  const { sent, offered } = await offer(how === 'drain' ? DRAIN_N : N);
  if (how === 'drain') {
    // All of them through the kernel, then go.
    while ((await up.kernelStats()).missed - before.missed < BigInt(sent)) await sleep(100);
    first = process.hrtime.bigint();
    received = 0;
    up.resume();
  }
  let seen = -1;
  while (seen !== received) {
    seen = received;
    await sleep(300);
  }
  const k = await up.kernelStats();
  const stats = up.stats;
  await up.close();
  const span = Number(last - first) / 1e9;
  return {
    label: `${dispatch} ${consumer} ${how}`,
    offered,
    received,
    rate: span > 0 ? received / span : 0,
    missed: Number(k.missed - before.missed),
    lost: Number(k.lost - before.lost),
    enobufs: stats.lost,
  };
}

const fmt = (x) => Math.round(x).toLocaleString('en-US');
const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
const cpus = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
console.log(`MISS upcalls through openUpcalls, kernel ${kernel}, CPUs ${cpus}, ${HANDLERS} handler sockets, ${N} frames per run (distinct UDP flows, no flows installed)`);
console.log('run                           offered/s   received/s   received     missed       lost  ENOBUFS');
try {
  // A warm-up run, not printed: the first pass pays for JIT and page faults.
  await run('per-cpu', 'callback', 'stream');
  for (const how of ['stream', 'drain']) {
    for (const [dispatch, consumer] of [
      ['per-vport', 'callback'],
      ['per-cpu', 'callback'],
      ['per-vport', 'iterator'],
      ['per-cpu', 'iterator'],
    ]) {
      const r = await run(dispatch, consumer, how);
      console.log(
        `${r.label.padEnd(28)} ${fmt(r.offered).padStart(10)} ${fmt(r.rate).padStart(12)} ${fmt(r.received).padStart(10)} ${fmt(r.missed).padStart(10)} ${fmt(r.lost).padStart(10)} ${String(r.enobufs).padStart(8)}`,
      );
    }
  }
} finally {
  await dpif.deleteDatapath(dp).catch(() => undefined);
  try {
    ip('link', 'del', a);
  } catch {}
  dpif.close();
}
