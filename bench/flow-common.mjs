// Shared by the flow benchmarks: N distinct exact-match UDP flows, both as
// attribute bytes for ovsnl and as ODP text lines for the real ovs-dpctl
// (same UFIDs, same keys, same mask: every field exact), the peer binary,
// and timing helpers.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AttrWriter, formatUfid, ufidFromWords } from '../dist/index.js';

// linux/openvswitch.h enum ovs_key_attr
const KEY_IN_PORT = 3;
const KEY_ETHERNET = 4;
const KEY_ETHERTYPE = 6;
const KEY_IPV4 = 7;
const KEY_UDP = 10;
const ACTION_OUTPUT = 1;

const MAC_SRC = [0x02, 0, 0, 0, 0, 0x01];
const MAC_DST = [0x02, 0, 0, 0, 0, 0x02];

/** Flow i's IPv4 source: 10.0.0.1 upwards, distinct for i below 2^24. */
const srcOf = (i) => [10, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff];

/** ovsnl FlowPuts and the matching `ovs-dpctl add-flows` lines. */
export function makeFlows(n, tag = 0xbe) {
  const puts = new Array(n);
  const lines = new Array(n);
  const udp = new Uint8Array([0x03, 0xe8, 0x00, 0x35]); // src 1000, dst 53
  // output:2 (ovs-dpctl 3.1 writes 'drop' as the explicit drop action, which 6.1 lacks).
  const aw = new AttrWriter(8);
  aw.u32(ACTION_OUTPUT, 2);
  const actions = aw.finish().slice();
  for (let i = 0; i < n; i++) {
    const src = srcOf(i + 1);
    const w = new AttrWriter(96);
    w.u32(KEY_IN_PORT, 1);
    w.bytes(KEY_ETHERNET, new Uint8Array([...MAC_SRC, ...MAC_DST]));
    w.be16(KEY_ETHERTYPE, 0x0800);
    w.bytes(KEY_IPV4, new Uint8Array([...src, 10, 255, 0, 1, 17, 0, 64, 0]));
    w.bytes(KEY_UDP, udp);
    const ufid = ufidFromWords([tag, i, 0, 0]);
    puts[i] = { key: w.finish().slice(), ufid, actions };
    lines[i] =
      `${formatUfid(ufid)},in_port(1),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0800),` +
      `ipv4(src=${src.join('.')},dst=10.255.0.1,proto=17,tos=0,ttl=64,frag=no),udp(src=1000,dst=53) 2`;
  }
  return { puts, lines };
}

/** The real ovs-dpctl (Debian's OVS 3.1), from OVSNL_DPCTL or scripts/ovs-peer.sh. */
export function dpctlPath() {
  if (process.env.OVSNL_DPCTL && existsSync(process.env.OVSNL_DPCTL)) return process.env.OVSNL_DPCTL;
  const r = spawnSync('bash', ['scripts/ovs-peer.sh'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const p = join(r.stdout.trim(), 'ovs-dpctl');
  if (r.status !== 0 || !existsSync(p)) throw new Error('the real ovs-dpctl is not available: set OVSNL_DPCTL (scripts/ovs-peer.sh unpacks it)');
  return p;
}

/** Runs ovs-dpctl with stdout to `out` ('ignore' is /dev/null); returns seconds. Throws on failure. */
export function timeDpctl(args, out = 'ignore') {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(dpctlPath(), args, { stdio: ['ignore', out, 'pipe'], encoding: 'utf8', maxBuffer: 1 << 30 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`ovs-dpctl ${args[0]} failed (${r.status}): ${r.stderr}`);
  if (r.stderr && r.stderr.trim()) throw new Error(`ovs-dpctl ${args[0]} complained: ${r.stderr.trim().split('\n')[0]}`);
  return s;
}

export async function seconds(fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export const rate = (n, s) => Math.round(n / s).toLocaleString('en-US');
export const kernelRelease = () => readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
