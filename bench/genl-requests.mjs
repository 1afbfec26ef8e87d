#!/usr/bin/env node
// Generic netlink requests per second on one socket against the real
// openvswitch module: one request at a time (await each) vs pipelined (many in
// flight, coalesced into batched sendmsg). Two request kinds: an nlctrl family
// lookup (ovs_flow) and an ovs_datapath GET of a datapath that does not exist,
// which the OVS module itself answers (ENOENT).
import { Connection, genlRequest, resolveFamily } from '../dist/index.js';

const N = Number(process.env.OVSNL_BENCH_N ?? 20000);
const ROUNDS = Number(process.env.OVSNL_BENCH_ROUNDS ?? 3);

const conn = new Connection({ maxInFlight: 256 });
const dp = await resolveFamily(conn, 'ovs_datapath');

function dpGet() {
  const { w, end } = genlRequest(dp.id, 3 /* OVS_DP_CMD_GET */, dp.version);
  w.rawS32(0); // struct ovs_header: dp_ifindex 0, identify by name
  w.string(1 /* OVS_DP_ATTR_NAME */, 'ovsnl-nodp');
  return conn.request(end()).then(
    () => {
      throw new Error('datapath unexpectedly exists');
    },
    (e) => {
      if (e.code !== 'ENODEV' && e.code !== 'ENOENT') throw e;
    },
  );
}
const lookup = () => resolveFamily(conn, 'ovs_flow');

async function serial(fn, n) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}
async function pipelined(fn, n) {
  const t0 = process.hrtime.bigint();
  const all = new Array(n);
  for (let i = 0; i < n; i++) all[i] = fn();
  await Promise.all(all);
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}
const best = async (f) => {
  let b = 0;
  for (let r = 0; r < ROUNDS; r++) b = Math.max(b, await f());
  return b;
};

const fmt = (x) => Math.round(x).toLocaleString('en-US');
const kernel = (await import('node:fs')).readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
console.log(`genl requests/s on one socket, kernel ${kernel}, ${N} requests x best of ${ROUNDS}`);
console.log('request                      one-at-a-time    pipelined   ratio');
for (const [name, fn] of [
  ['nlctrl getfamily ovs_flow', lookup],
  ['ovs_datapath get (ENODEV)', dpGet],
]) {
  await serial(fn, 500); // warm up
  const s = await best(() => serial(fn, N));
  const p = await best(() => pipelined(fn, N));
  console.log(`${name.padEnd(28)} ${fmt(s).padStart(13)} ${fmt(p).padStart(12)}   ${(p / s).toFixed(2)}x`);
}
console.log(`send calls: ${conn.stats.sendCalls} for ${conn.stats.sent} requests`);
conn.close();
