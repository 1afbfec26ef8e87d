#!/usr/bin/env node
// Frames per second forwarded between two veth ports by the ovsnl fallback
// datapath, beside OVS's own userspace datapath (ovs-vswitchd 3.1 with
// datapath_type=netdev, its ports AF_PACKET "system" ports), a Linux bridge,
// and the kernel's openvswitch datapath, on the same topology in the same run:
//
//   gen ──veth── pA [datapath under test] pB ──veth── sink
//
// The sender offers 64-byte UDP frames (60 bytes + FCS) on gen's veth peer as
// fast as the socket takes them, spread over K distinct flows (UDP
// destination ports); the receiver counts what reaches sink. The datapaths
// have N flows installed: N = 1 is one flow for all (in_port → output); for
// larger N, one exact flow per UDP destination port (1..N), the traffic
// hitting K of them. OVS gets the same as OpenFlow rules, and builds its
// megaflows from the first packets (a warm-up round precedes each
// measurement, for every peer).
//
//   node scripts/bench.mjs bench/fallback-forward.mjs      (needs dist/: npm run build:ts)
//   OVSNL_BENCH_SECONDS per measurement (default 2), OVSNL_BENCH_CASES
//   ("N:K,N:K...", default 1:1,1:100,1:10000,1000:1,1000:1000,100000:1,100000:10000),
//   OVSNL_BENCH_PEERS (default fallback,ovs-netdev,bridge, and kernel where the
//   module is), OVSNL_BENCH_TCP=0 (skip the TCP run), OVSNL_BENCH_OVS_TSO=1
//
// TCP: one connection from a namespace behind the first veth to one behind
// the second, for the same seconds, through flows forwarding both ways;
// the senders' veths keep their default offloads (TSO), so the datapath
// receives super-segments it must cut (the fallback) or pass on as such.
//
// Everything shares the VM's one emulated CPU: the sender, the receiver and
// the datapath process. The rates are what gets through under that load; the
// ratios compare the datapaths.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KernelDpif } from '../dist/dpif/kernel.js';
import { native } from '../dist/native.js';
import { AttrWriter } from '../dist/netlink/attr.js';
import { Connection } from '../dist/netlink/connection.js';
import { UnixTransport } from '../dist/netlink/unix-transport.js';
import { encodeActions } from '../dist/ovs/action-codec.js';
import { encodeKey } from '../dist/ovs/key-codec.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SECONDS = Number(process.env.OVSNL_BENCH_SECONDS ?? 2);
const CASES = (process.env.OVSNL_BENCH_CASES ?? '1:1,1:100,1:10000,1000:1,1000:1000,100000:1,100000:10000')
  .split(',')
  .map((c) => c.split(':').map(Number));
// The kernel datapath joins where the module is (the VM); the others run anywhere.
const PEERS = (process.env.OVSNL_BENCH_PEERS ?? `fallback,ovs-netdev,bridge${existsSync('/sys/module/openvswitch') ? ',kernel' : ''}`).split(',');

const sh = (cmd, args, env) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env }).toString();
const ip = (...a) => sh('ip', a);
const quiet = (dev) => {
  const knob = `/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`;
  if (existsSync(knob)) writeFileSync(knob, '1');
};
const ifindex = (dev) => Number(readFileSync(`/sys/class/net/${dev}/ifindex`, 'utf8'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- topology -------------------------------------------------------------

const GEN = 'fbgen';
const PA = 'fbpa';
const PB = 'fbpb';
const SINK = 'fbsink';

function topology() {
  for (const n of ['fbnsa', 'fbnsb']) {
    try {
      ip('netns', 'del', n);
    } catch {}
  }
  for (const d of [GEN, PA, PB, SINK]) {
    try {
      ip('link', 'del', d);
    } catch {}
  }
  ip('link', 'add', 'name', GEN, 'type', 'veth', 'peer', 'name', PA);
  ip('link', 'add', 'name', PB, 'type', 'veth', 'peer', 'name', SINK);
  for (const d of [GEN, PA, PB, SINK]) {
    quiet(d);
    ip('link', 'set', d, 'up');
  }
}

// ---- traffic --------------------------------------------------------------

/** K frames of 60 bytes: UDP 10.90.0.1:1000 → 10.90.0.2:(1..K). */
function frames(k) {
  const out = new Array(k);
  for (let i = 0; i < k; i++) {
    const f = new Uint8Array(60);
    f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00], 0);
    f.set([0x45, 0, 0, 46, 0, 0, 0, 0, 64, 17, 0, 0, 10, 90, 0, 1, 10, 90, 0, 2], 14);
    let sum = 0;
    for (let j = 14; j < 34; j += 2) sum += (f[j] << 8) | f[j + 1];
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    sum = ~sum & 0xffff;
    f[24] = sum >> 8;
    f[25] = sum & 0xff;
    const dport = 1 + i;
    f.set([0x03, 0xe8, dport >> 8, dport & 0xff, 0, 26, 0, 0], 34);
    out[i] = f;
  }
  return out;
}

const SLOT = 2048;
const BATCH = 64;

/** Offers frames for `seconds`, counting what arrives at the sink; both sockets non-blocking, one loop. */
async function measure(tx, rx, fr, seconds) {
  const buf = new Uint8Array(BATCH * SLOT);
  const lens = new Int32Array(BATCH);
  const drain = () => {
    let got = 0;
    for (;;) {
      const n = rx.recv(buf, SLOT, lens);
      got += n;
      if (n < BATCH) return got;
    }
  };
  drain();
  let sent = 0;
  let received = 0;
  let at = 0;
  const batch = new Array(BATCH);
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let now = t0;
  while (now < end) {
    for (let i = 0; i < BATCH; i++) batch[i] = fr[(at + i) % fr.length];
    const n = tx.send(batch);
    at = (at + n) % fr.length;
    sent += n;
    received += drain();
    // Let the other processes run when the socket pushes back.
    if (n < BATCH) await sleep(0);
    now = performance.now();
  }
  const t1 = performance.now();
  // What is still in flight arrives within a moment.
  await sleep(200);
  received += drain();
  const s = (t1 - t0) / 1000;
  return { sent, received, pps: received / s, offered: sent / s };
}

// ---- flows ----------------------------------------------------------------

const ZERO_MAC = '00:00:00:00:00:00';
const keyBytes = (k) => {
  const w = new AttrWriter(256);
  encodeKey(w, k);
  return w.finish().slice();
};
const actBytes = (a) => {
  const w = new AttrWriter(64);
  encodeActions(w, a);
  return w.finish().slice();
};

/** The N flows as Dpif puts (in port 1 → port 2). */
function dpFlows(n, inPort, outPort) {
  const actions = actBytes([{ type: 'output', port: outPort }]);
  if (n === 1) {
    return [{ key: keyBytes({ inPort, ethernet: { src: ZERO_MAC, dst: ZERO_MAC } }), mask: keyBytes({ inPort: 0xffffffff, ethernet: { src: ZERO_MAC, dst: ZERO_MAC } }), actions }];
  }
  const mask = keyBytes({
    inPort: 0xffffffff,
    ethernet: { src: ZERO_MAC, dst: ZERO_MAC },
    ethertype: 0xffff,
    ipv4: { src: '0.0.0.0', dst: '0.0.0.0', proto: 0xff, tos: 0, ttl: 0, frag: 0xff },
    udp: { src: 0, dst: 0xffff },
  });
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = {
      key: keyBytes({
        inPort,
        ethernet: { src: ZERO_MAC, dst: ZERO_MAC },
        ethertype: 0x0800,
        ipv4: { src: '0.0.0.0', dst: '0.0.0.0', proto: 17, tos: 0, ttl: 0, frag: 0 },
        udp: { src: 0, dst: (i + 1) & 0xffff },
      }),
      mask,
      actions,
    };
  }
  return out;
}

/** Ports above 65535 do not exist: beyond that, flows differ by in_port-less... keep N within the port space. */
function checkCases() {
  for (const [n, k] of CASES) {
    if (n > 1 && k > n) throw new Error(`case ${n}:${k}: the traffic must hit installed flows (K <= N)`);
    if (n > 65535 && n !== 100000) throw new Error(`case ${n}: at most 65535 exact flows, or 100000`);
  }
}

// ---- the datapaths --------------------------------------------------------

/** A Dpif datapath (kernel or fallback) with pA and pB as netdev ports. */
async function dpifPeer(label, dpif, close) {
  const dp = `fb${label.slice(0, 4)}`;
  await dpif.deleteDatapath(dp).catch(() => {});
  await dpif.createDatapath({ name: dp });
  quiet(dp);
  const a = await dpif.createVport(dp, { name: PA, type: 'netdev' });
  const b = await dpif.createVport(dp, { name: PB, type: 'netdev' });
  return {
    label,
    async setFlows(n) {
      await dpif.flushFlows(dp);
      let flows = dpFlows(Math.min(n, 65535), a.portNo, b.portNo);
      // 100000: the 65535 port flows plus flows for other source ports the traffic never hits.
      if (n > 65535) flows = flows.concat(extraFlows(n - 65535, a.portNo, b.portNo));
      for (let i = 0; i < flows.length; i += 5000) await dpif.putFlows(dp, flows.slice(i, i + 5000));
    },
    /** Both directions, any traffic: for the TCP run. */
    async setTcpFlows() {
      await dpif.flushFlows(dp);
      await dpif.putFlows(dp, [...dpFlows(1, a.portNo, b.portNo), ...dpFlows(1, b.portNo, a.portNo)]);
    },
    async close() {
      await dpif.deleteDatapath(dp).catch(() => {});
      await close();
    },
  };
}

function extraFlows(n, inPort, outPort) {
  const actions = actBytes([{ type: 'output', port: outPort }]);
  const mask = keyBytes({
    inPort: 0xffffffff,
    ethernet: { src: ZERO_MAC, dst: ZERO_MAC },
    ethertype: 0xffff,
    ipv4: { src: '0.0.0.0', dst: '0.0.0.0', proto: 0xff, tos: 0, ttl: 0, frag: 0xff },
    udp: { src: 0xffff, dst: 0xffff },
  });
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = {
      key: keyBytes({
        inPort,
        ethernet: { src: ZERO_MAC, dst: ZERO_MAC },
        ethertype: 0x0800,
        ipv4: { src: '0.0.0.0', dst: '0.0.0.0', proto: 17, tos: 0, ttl: 0, frag: 0 },
        udp: { src: 2000 + (i >> 16), dst: (i & 0xffff) + 1 },
      }),
      mask,
      actions,
    };
  }
  return out;
}

async function fallbackPeer() {
  const dir = mkdtempSync(join(tmpdir(), 'ovsnl-fb-'));
  const sock = join(dir, 'dpd.sock');
  const daemonCode = `import { startDaemon } from ${JSON.stringify(join(root, 'dist/userspace/daemon.js'))};
const d = await startDaemon({ path: ${JSON.stringify(sock)}, log: () => {} });
process.on('SIGINT', () => d.close().then(() => process.exit(0)));`;
  // OVSNL_BENCH_PROF=DIR: a CPU profile of the daemon, for finding its hot path.
  const prof = process.env.OVSNL_BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.OVSNL_BENCH_PROF}`] : [];
  const child = spawn(process.execPath, [...prof, '--input-type=module', '-e', daemonCode], { stdio: ['ignore', 'inherit', 'inherit'] });
  for (let i = 0; i < 200 && !existsSync(sock); i++) await sleep(50);
  const dpif = await KernelDpif.open({ connection: new Connection({ socket: await UnixTransport.connect(sock) }), kernelLog: false });
  return dpifPeer('fallback', dpif, async () => {
    dpif.close();
    // SIGINT: a profiled daemon writes its profile on the way out.
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  });
}

async function kernelPeer() {
  const dpif = await KernelDpif.open({ kernelLog: false });
  return dpifPeer('kernel', dpif, async () => dpif.close());
}

/** ovs-vswitchd 3.1 with a netdev bridge over pA and pB, flows as OpenFlow rules. */
async function ovsNetdevPeer() {
  if (!process.env.OVSNL_DPCTL) {
    // Run directly (not through scripts/bench.mjs): find the peer the same way.
    const bin = sh('bash', [join(root, 'scripts', 'ovs-peer.sh')]).trim();
    process.env.OVSNL_DPCTL = join(bin, 'ovs-dpctl');
    process.env.OVSNL_VSWITCHD = join(bin, '..', 'lib', 'openvswitch-switch', 'ovs-vswitchd');
  }
  const vswitchd = process.env.OVSNL_VSWITCHD;
  const dpctl = process.env.OVSNL_DPCTL;
  if (!vswitchd || !existsSync(vswitchd) || !dpctl) throw new Error('ovs-vswitchd not found: run through scripts/bench.mjs (scripts/ovs-peer.sh)');
  const bin = dirname(dpctl);
  const schema = join(bin, '..', 'share', 'openvswitch', 'vswitch.ovsschema');
  const dir = mkdtempSync(join(tmpdir(), 'ovsnl-ovs-'));
  const env = { ...process.env, OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir, OVS_SYSCONFDIR: dir, OVS_PKGDATADIR: join(bin, '..', 'share', 'openvswitch') };
  const db = `unix:${join(dir, 'db.sock')}`;
  sh('ovsdb-tool', ['create', join(dir, 'conf.db'), schema], env);
  sh('ovsdb-server', [join(dir, 'conf.db'), `--remote=punix:${join(dir, 'db.sock')}`, `--pidfile=${join(dir, 'ovsdb-server.pid')}`, '--detach', '--no-chdir', `--log-file=${join(dir, 'ovsdb-server.log')}`, `--unixctl=${join(dir, 'ovsdb-server.ctl')}`], env);
  const vsctl = (...a) => sh(join(bin, 'ovs-vsctl'), [`--db=${db}`, ...a], env);
  vsctl('--no-wait', 'init');
  // OVSNL_BENCH_OVS_TSO=1: OVS's userspace TSO (vnet headers on its AF_PACKET
  // ports), which 3.1 needs to forward a TSO sender's frames at all; off by
  // default, as Debian ships it.
  if (process.env.OVSNL_BENCH_OVS_TSO === '1') vsctl('--no-wait', 'set', 'Open_vSwitch', '.', 'other_config:userspace-tso-enable=true');
  sh(vswitchd, [db, `--pidfile=${join(dir, 'ovs-vswitchd.pid')}`, '--detach', '--no-chdir', `--log-file=${join(dir, 'ovs-vswitchd.log')}`, `--unixctl=${join(dir, 'ovs-vswitchd.ctl')}`], env);
  vsctl('--timeout=60', 'add-br', 'fbbr', '--', 'set', 'bridge', 'fbbr', 'datapath_type=netdev');
  vsctl('--timeout=60', 'add-port', 'fbbr', PA, '--', 'set', 'interface', PA, 'ofport_request=1', '--', 'add-port', 'fbbr', PB, '--', 'set', 'interface', PB, 'ofport_request=2');
  const ofctl = (...a) => sh('ovs-ofctl', a, env);
  const stop = (name) => {
    try {
      process.kill(Number(readFileSync(join(dir, `${name}.pid`), 'utf8')), 'SIGTERM');
    } catch {}
  };
  return {
    label: 'ovs-netdev',
    async setFlows(n) {
      ofctl('del-flows', 'fbbr');
      const lines = [];
      if (n === 1) lines.push('in_port=1,actions=output:2');
      else {
        for (let i = 0; i < Math.min(n, 65535); i++) lines.push(`udp,in_port=1,tp_dst=${i + 1},actions=output:2`);
        for (let i = 0; i < n - 65535; i++) lines.push(`udp,in_port=1,tp_src=${2000 + (i >> 16)},tp_dst=${(i & 0xffff) + 1},actions=output:2`);
      }
      const file = join(dir, 'flows.txt');
      writeFileSync(file, lines.join('\n') + '\n');
      ofctl('add-flows', 'fbbr', file);
      // Old megaflows would keep forwarding the previous rules' way for a while.
      sh('ovs-appctl', [`--target=${join(dir, 'ovs-vswitchd.ctl')}`, 'dpctl/del-flows'], env);
    },
    async setTcpFlows() {
      ofctl('del-flows', 'fbbr');
      ofctl('add-flow', 'fbbr', 'in_port=1,actions=output:2');
      ofctl('add-flow', 'fbbr', 'in_port=2,actions=output:1');
      sh('ovs-appctl', [`--target=${join(dir, 'ovs-vswitchd.ctl')}`, 'dpctl/del-flows'], env);
    },
    async close() {
      try {
        vsctl('--timeout=20', 'del-br', 'fbbr');
      } catch {}
      stop('ovs-vswitchd');
      stop('ovsdb-server');
      await sleep(500);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function bridgePeer() {
  try {
    ip('link', 'del', 'fbbr0');
  } catch {}
  ip('link', 'add', 'fbbr0', 'type', 'bridge');
  quiet('fbbr0');
  ip('link', 'set', PA, 'master', 'fbbr0');
  ip('link', 'set', PB, 'master', 'fbbr0');
  ip('link', 'set', 'fbbr0', 'up');
  return {
    label: 'bridge',
    // A bridge has no flows: it floods the unknown destination to the other port.
    async setFlows() {},
    async setTcpFlows() {},
    async close() {
      ip('link', 'del', 'fbbr0');
    },
  };
}

// ---- TCP ------------------------------------------------------------------

const NS = ['fbnsa', 'fbnsb'];
const TCP_ADDR = ['10.92.0.1', '10.92.0.2'];

/** Puts the outer veth ends into namespaces with addresses (their sockets must be closed first). */
function tcpTopology() {
  for (const n of NS) {
    try {
      ip('netns', 'del', n);
    } catch {}
    ip('netns', 'add', n);
    ip('-n', n, 'link', 'set', 'lo', 'up');
  }
  [GEN, SINK].forEach((dev, i) => {
    ip('link', 'set', dev, 'netns', NS[i]);
    ip('-n', NS[i], 'addr', 'add', `${TCP_ADDR[i]}/24`, 'dev', dev);
    ip('-n', NS[i], 'link', 'set', dev, 'up');
  });
}

const SERVER = `const net = require('node:net');
let bytes = 0, t0 = 0;
const srv = net.createServer((s) => {
  s.on('data', (d) => { if (!t0) t0 = performance.now(); bytes += d.length; });
  s.on('end', () => { console.log(JSON.stringify({ bytes, s: (performance.now() - t0) / 1000 })); srv.close(); });
});
srv.listen(5201, '${TCP_ADDR[1]}', () => console.log('listening'));`;
const client = (seconds) => `const net = require('node:net');
const buf = Buffer.alloc(65536, 7);
const s = net.connect(5201, '${TCP_ADDR[1]}', () => {
  const end = performance.now() + ${seconds * 1000};
  const pump = () => { while (performance.now() < end) { if (!s.write(buf)) return s.once('drain', pump); } s.end(); };
  pump();
});
s.on('error', (e) => { console.error(e.message); process.exit(1); });
setTimeout(() => { console.error('client timeout'); process.exit(1); }, ${(seconds + 30) * 1000}).unref();`;

/** Bytes per second one TCP connection moves from namespace A to B through the datapath. */
async function tcpRun(seconds) {
  const srv = spawn('ip', ['netns', 'exec', NS[1], process.execPath, '-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  srv.stdout.on('data', (d) => (out += d));
  for (let i = 0; i < 400 && !out.includes('listening'); i++) await sleep(25);
  const cli = spawn('ip', ['netns', 'exec', NS[0], process.execPath, '-e', client(seconds)], { stdio: ['ignore', 'inherit', 'inherit'] });
  const ok = await new Promise((r) => cli.once('exit', (code) => r(code === 0)));
  for (let i = 0; i < 200 && !out.includes('bytes'); i++) await sleep(25);
  srv.kill();
  const line = out.split('\n').find((l) => l.startsWith('{'));
  if (!ok || !line) return { bps: 0 };
  const { bytes, s } = JSON.parse(line);
  return { bps: bytes / s, bytes };
}

const MAKERS = { fallback: fallbackPeer, 'ovs-netdev': ovsNetdevPeer, bridge: bridgePeer, kernel: kernelPeer };

// ---- run ------------------------------------------------------------------

checkCases();
const TCP = process.env.OVSNL_BENCH_TCP !== '0';
const results = new Map();
for (const name of PEERS) {
  const make = MAKERS[name];
  if (!make) throw new Error(`unknown peer ${name}`);
  // A fresh topology for each peer: the TCP run moves the outer ends into namespaces.
  topology();
  const tx = new (native().PacketSocket)(ifindex(GEN), { qdiscBypass: true });
  const rx = new (native().PacketSocket)(ifindex(SINK), {});
  const t = performance.now();
  const peer = await make();
  let warm = false;
  process.stdout.write(`${name}: ready in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
  let lastN = -1;
  for (const [n, k] of CASES) {
    if (name === 'bridge' && results.has(`bridge 1:${k}`)) {
      results.set(`${name} ${n}:${k}`, results.get(`bridge 1:${k}`));
      continue;
    }
    if (n !== lastN) {
      const ti = performance.now();
      await peer.setFlows(n);
      lastN = n;
      process.stdout.write(`  ${n} flows installed in ${((performance.now() - ti) / 1000).toFixed(1)} s\n`);
    }
    const fr = frames(k);
    // The first warm-up is long: under emulation V8 takes seconds to optimise the path.
    await measure(tx, rx, fr, warm ? Math.min(1, SECONDS / 2) : SECONDS * 2);
    warm = true;
    const r = await measure(tx, rx, fr, SECONDS);
    results.set(`${name} ${n}:${k}`, r);
    process.stdout.write(`  N=${n} K=${k}: ${Math.round(r.pps)} pps forwarded (${Math.round(r.offered)} offered, ${r.received}/${r.sent})\n`);
  }
  tx.close();
  rx.close();
  if (TCP) {
    await peer.setTcpFlows();
    tcpTopology();
    const r = await tcpRun(SECONDS);
    results.set(`${name} tcp`, r);
    process.stdout.write(`  TCP: ${(r.bps * 8 / 1e6).toFixed(1)} Mbit/s\n`);
  }
  await peer.close();
}
for (const d of [PA, PB]) {
  try {
    ip('link', 'del', d);
  } catch {}
}
for (const n of NS) {
  try {
    ip('netns', 'del', n);
  } catch {}
}

const pad = (s, n) => String(s).padStart(n);
const where = `${existsSync('/sys/module/openvswitch') ? 'test VM' : 'host'}, kernel ${release()}, ${cpus().length} CPU(s)`;
process.stdout.write(`\n64-byte UDP frames per second forwarded, ${SECONDS} s per case (${where})\n`);
process.stdout.write(`${'flows:traffic'.padEnd(14)}${PEERS.map((p) => pad(p, 12)).join('')}${PEERS.includes('ovs-netdev') ? pad('fb/ovs', 9) : ''}${PEERS.includes('bridge') ? pad('fb/br', 9) : ''}${PEERS.includes('kernel') ? pad('fb/kern', 9) : ''}\n`);
for (const [n, k] of CASES) {
  const get = (p) => results.get(`${p} ${n}:${k}`)?.pps;
  const ratio = (p) => (PEERS.includes(p) && PEERS.includes('fallback') ? pad(`${(get('fallback') / get(p)).toFixed(2)}x`, 9) : '');
  process.stdout.write(`${`${n}:${k}`.padEnd(14)}${PEERS.map((p) => pad(Math.round(get(p) ?? 0), 12)).join('')}${ratio('ovs-netdev')}${ratio('bridge')}${ratio('kernel')}\n`);
}
if (TCP) {
  const get = (p) => results.get(`${p} tcp`)?.bps ?? 0;
  const ratio = (p) => (PEERS.includes(p) && PEERS.includes('fallback') && get(p) ? pad(`${(get('fallback') / get(p)).toFixed(2)}x`, 9) : PEERS.includes(p) ? pad('-', 9) : '');
  process.stdout.write(`${'TCP Mbit/s'.padEnd(14)}${PEERS.map((p) => pad((get(p) * 8 / 1e6).toFixed(1), 12)).join('')}${ratio('ovs-netdev')}${ratio('bridge')}${ratio('kernel')}\n`);
}
process.exit(0);
