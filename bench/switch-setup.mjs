#!/usr/bin/env node
// New flows set up per second: `ovsnl run --learning` beside ovs-vswitchd 3.1
// (Debian's, a bridge with the default NORMAL flow, one handler thread), on
// the same topology in the same run, with the ratio.
//
//   node scripts/bench.mjs bench/switch-setup.mjs   (needs dist/: npm run build:ts)
//   OVSNL_BENCH_N=flows per run (default 3000), OVSNL_BENCH_ROUNDS (default 1),
//   OVSNL_BENCH_WINDOW=frames sent ahead of the flows set up (default 256),
//   OVSNL_BENCH_WARM=flows set up before the measured ones (default 3000; both
//   switches get them: V8 compiles its hot code in the first ones, and under
//   the VM's emulation 500 were not enough: ovsnl measured 661-886 flows/s
//   after 500, 1,635 after 3000). They are flushed before the measured ones.
//   OVSNL_BENCH_NODE_FLAGS=node options for the ovsnl process (e.g. --single-threaded)
//   OVSNL_BENCH_SWITCHES=ovsnl,ovs (default both; one alone has no ratio)
//   OVSNL_BENCH_OVSNL=another tree's bin/ovsnl.js (A/B runs of two builds)
//
// Topology: a sender namespace whose eth0 is the peer of datapath port p1, a
// sink namespace on p2. Every frame is a distinct UDP flow with its own source
// MAC, so each is a miss for both switches (their megaflows match in_port and
// the MACs) and installs one flow; the destination MAC is never learned, so
// each is flooded. The sender keeps WINDOW frames ahead of the flows the
// datapath holds (closed loop: neither switch is pushed into dropping
// upcalls); the rate is flows installed / time from the first frame to the
// last new flow. Lost upcalls (the datapath's n_lost) are printed as well.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { KernelDpif } from '../dist/dpif/kernel.js';

const N = Number(process.env.OVSNL_BENCH_N ?? 3000);
const ROUNDS = Number(process.env.OVSNL_BENCH_ROUNDS ?? 1);
const WINDOW = Number(process.env.OVSNL_BENCH_WINDOW ?? 256);
const WARM = Number(process.env.OVSNL_BENCH_WARM ?? 3000);
const SWITCHES = (process.env.OVSNL_BENCH_SWITCHES ?? 'ovsnl,ovs').split(',');
const defaultBin = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'ovsnl.js');
const OVSNL_BIN = process.env.OVSNL_BENCH_OVSNL ?? defaultBin;
/** After the warm-up's flows are flushed: two revalidator passes of either switch. */
const FLUSH_SETTLE_MS = 2500;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addon = ['Release', 'Debug'].map((b) => join(root, 'build', b, 'ovsnl.node')).find(existsSync);
if (!addon) throw new Error('the addon is not built (npm run build)');
const vswitchd = process.env.OVSNL_VSWITCHD;
if (!vswitchd || !existsSync(vswitchd)) throw new Error('OVSNL_VSWITCHD must name Debian\'s ovs-vswitchd (scripts/bench.mjs sets it from scripts/ovs-peer.sh)');
// OVSNL_VSWITCHD is ROOT/usr/lib/openvswitch-switch/ovs-vswitchd in the unpacked package.
const peerRoot = join(dirname(vswitchd), '..', '..', '..');
const vsctl = join(peerRoot, 'usr', 'bin', 'ovs-vsctl');
const schema = join(peerRoot, 'usr', 'share', 'openvswitch', 'vswitch.ovsschema');
const sh = (cmd) => execFileSync('bash', ['-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'] });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const NS_TX = 'swbtx';
const NS_RX = 'swbrx';
const P1 = 'swbp1';
const P2 = 'swbp2';
const SINK_MAC = '02:00:00:00:0b:0b';

function topologyUp() {
  topologyDown();
  for (const [ns, port] of [[NS_TX, P1], [NS_RX, P2]]) {
    sh(
      [
        `ip netns add ${ns}`,
        `ip link add name ${port} type veth peer name eth0 netns ${ns}`,
        `sysctl -qw net.ipv6.conf.${port}.disable_ipv6=1`,
        `ip link set ${port} up`,
        `ip netns exec ${ns} sysctl -qw net.ipv6.conf.all.disable_ipv6=1`,
        `ip netns exec ${ns} ip link set eth0 up`,
      ].join(' && '),
    );
  }
  sh(`ip netns exec ${NS_RX} ip link set eth0 address ${SINK_MAC}`);
}

function topologyDown() {
  for (const l of [P1, P2]) spawnSync('ip', ['link', 'del', l]);
  for (const n of [NS_TX, NS_RX]) spawnSync('ip', ['netns', 'del', n]);
}

// The sender, in the sender namespace: on "send A B" it sends frames A..B-1
// (flow i: source MAC 02:a0:i, UDP source port from i) and answers "sent B".
const senderCode = `
const addon = require(${JSON.stringify(addon)});
const fs = require('node:fs');
const ifindex = Number(fs.readFileSync('/sys/class/net/eth0/ifindex', 'utf8'));
const ps = new addon.PacketSocket(ifindex, { qdiscBypass: true });
const dst = ${JSON.stringify(SINK_MAC)}.split(':').map((x) => parseInt(x, 16));
function frame(i) {
  const f = new Uint8Array(60);
  f.set(dst, 0);
  f.set([0x02, 0xa0, (i >>> 24) & 0xff, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff], 6);
  f.set([0x08, 0x00], 12);
  f.set([0x45, 0, 0, 46, 0, 0, 0, 0, 64, 17, 0, 0, 10, 92, 0, 1, 10, 92, 0, 2], 14);
  let sum = 0;
  for (let k = 14; k < 34; k += 2) sum += (f[k] << 8) | f[k + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  sum = ~sum & 0xffff;
  f[24] = sum >> 8; f[25] = sum & 0xff;
  const sport = 1024 + (i % 60000);
  f.set([sport >> 8, sport & 0xff, 0x1b, 0x59, 0, 26, 0, 0], 34);
  return f;
}
require('node:readline').createInterface({ input: process.stdin }).on('line', async (line) => {
  const [, a, b] = line.split(' ').map(Number);
  const frames = [];
  for (let i = a; i < b; i++) frames.push(frame(i));
  let at = 0;
  while (at < frames.length) {
    const n = ps.send(frames.slice(at, at + 64));
    at += n;
    if (n === 0) await new Promise((r) => setTimeout(r, 1));
  }
  process.stdout.write('sent ' + b + '\\n');
});
`;

function startSender() {
  const child = spawn('ip', ['netns', 'exec', NS_TX, process.execPath, '-e', senderCode], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const waiters = [];
  lines.on('line', () => waiters.shift()?.());
  return {
    send: (a, b) =>
      new Promise((resolve) => {
        waiters.push(resolve);
        child.stdin.write(`send ${a} ${b}\n`);
      }),
    close: () => child.kill(),
  };
}

/** A warm-up of WARM flows (unmeasured: JIT compilation under emulation), then N new flows measured. */
async function measure(dpif, dp, base, pid) {
  const sender = startSender();
  // Let the sender's node start before the clock does.
  await sender.send(0, 0);
  try {
    if (WARM) {
      await offer(dpif, dp, sender, base, WARM);
      // The measured flows start from an empty table on both sides: ovs-vswitchd
      // lowers its flow limit when its dumps grow slow, and the warm-up's flows
      // would weigh on both revalidators. Each gets time to notice the flush.
      await dpif.flushFlows(dp);
      await sleep(FLUSH_SETTLE_MS);
    }
    return await offer(dpif, dp, sender, base + WARM, N, pid);
  } finally {
    sender.close();
  }
}

// CPU time per installed flow, from /proc (clock ticks): the switch
// process's own user and system time (all its threads), and the whole VM's
// busy time split into user, system and softirq (the datapath's packet work
// runs in softirq, charged to no process). Under emulation the VM has one
// host core's worth of CPU, so these say where a switch's rate goes.
const HZ = 100;
function cpuNow(pid) {
  const all = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  let proc = [0, 0];
  if (pid) {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    proc = [Number(f[11]), Number(f[12])];
  }
  return { user: all[0] + all[1], system: all[2], idle: all[3] + all[4], irq: all[5], softirq: all[6], procUser: proc[0], procSystem: proc[1] };
}
function cpuSince(a, b, flows) {
  const us = (k) => ((b[k] - a[k]) * 1e6) / HZ / Math.max(1, flows);
  return { procUser: us('procUser'), procSystem: us('procSystem'), user: us('user'), system: us('system'), softirq: us('softirq') + us('irq'), idle: us('idle') };
}

/** Offers `count` new flows, WINDOW ahead of the datapath's flow count; resolves with the measurement. */
async function offer(dpif, dp, sender, base, N, pid) {
  const stats0 = (await dpif.getDatapath(dp)).stats;
  const cpu0 = cpuNow(pid);
  const flowsOf = async () => Number((await dpif.getDatapath(dp)).stats?.flows ?? 0n);
  const t0 = performance.now();
  let sent = 0;
  let flows = await flowsOf();
  const startFlows = flows;
  let lastGrowth = t0;
  let lastFlows = flows;
  let lastForced = t0;
  while (flows - startFlows < N) {
    const installed = flows - startFlows;
    const now = performance.now();
    // Frames the veth backlog dropped under load never become flows: after a
    // quiet 300 ms the window moves on without them.
    const stalled = now - Math.max(lastGrowth, lastForced) > 300;
    if (sent < N && (sent - installed < WINDOW || stalled)) {
      if (sent - installed >= WINDOW) lastForced = now;
      const to = Math.min(N, Math.max(installed + WINDOW, sent + 64), sent + 64);
      await sender.send(base + sent, base + to);
      sent = to;
    } else if (sent >= N && now - lastGrowth > 3000) {
      break;
    } else {
      // Polling costs the switch under test CPU time (the VM emulates one CPU): not too often.
      await sleep(20);
    }
    flows = await flowsOf();
    if (flows > lastFlows) {
      lastFlows = flows;
      lastGrowth = performance.now();
    }
  }
  const stats1 = (await dpif.getDatapath(dp)).stats;
  const installed = lastFlows - startFlows;
  const cpu = cpuSince(cpu0, cpuNow(pid), installed);
  return {
    cpu,
    offered: sent,
    installed,
    seconds: (lastGrowth - t0) / 1000,
    rate: installed / ((lastGrowth - t0) / 1000),
    lost: Number((stats1?.lost ?? 0n) - (stats0?.lost ?? 0n)),
    missed: Number((stats1?.missed ?? 0n) - (stats0?.missed ?? 0n)),
  };
}

async function runOvsnl(dpif, base) {
  const dp = 'swbench';
  await dpif.deleteDatapath(dp).catch(() => undefined);
  await dpif.createDatapath({ name: dp });
  for (const p of [P1, P2]) await dpif.createVport(dp, { name: p, type: 'netdev' });
  const prof = process.env.OVSNL_BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/ovsnl-bench-prof'] : [];
  // Node/V8 options for the ovsnl process only (experiments: --single-threaded, --max-semi-space-size=N).
  const flags = (process.env.OVSNL_BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...flags, ...prof, OVSNL_BIN, 'run', dp, '--learning', '--handlers', '1', '--idle-timeout', '60'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const t = Date.now();
  while (!/switching/.test(err)) {
    if (child.exitCode !== null || Date.now() - t > 60_000) throw new Error(`ovsnl run did not start: ${err}`);
    await sleep(50);
  }
  try {
    return await measure(dpif, dp, base, child.pid);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await dpif.deleteDatapath(dp).catch(() => undefined);
    if (prof.length) printProfile('/tmp/ovsnl-bench-prof');
    // Its own counters (printed when it stops), for where the time went.
    if (process.env.OVSNL_BENCH_VERBOSE) console.log(err.split('\n').filter((l) => !/^ovsnl run: action/.test(l)).slice(0, 40).join('\n'));
  }
}

/** OVSNL_BENCH_PROFILE=1: the ovsnl process's functions by self and by inclusive time while it switched (the guest's /tmp goes with the VM). */
function printProfile(dir) {
  for (const f of readdirSync(dir)) {
    const p = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const name = (n) => `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;
    const self = new Map();
    const incl = new Map();
    let total = 0;
    // Only the switching: from the first sample inside a batch of upcalls to
    // the last (start-up and the flow deletions at stop are left out).
    const inBatch = (id) => {
      for (; id !== undefined; id = parent.get(id)) if (byId.get(id).callFrame.functionName === 'runBatch') return true;
      return false;
    };
    let first = p.samples.findIndex(inBatch);
    let last = p.samples.length - 1;
    while (last > 0 && !inBatch(p.samples[last])) last--;
    if (first < 0) [first, last] = [0, p.samples.length - 1];
    // With a warm-up, only the measured flows: batches resume after the
    // longest pause (the flush and its settling time).
    if (WARM && first >= 0) {
      let t = 0;
      let prev = -1;
      let gap = 0;
      let after = first;
      for (let i = 0; i <= last; i++) {
        t += p.timeDeltas[i] ?? 0;
        if (i < first || !inBatch(p.samples[i])) continue;
        if (prev >= 0 && t - prev > gap) [gap, after] = [t - prev, i];
        prev = t;
      }
      first = after;
    }
    for (let i = first; i <= last; i++) {
      const n = byId.get(p.samples[i]);
      const k = name(n);
      const dt = p.timeDeltas[i] ?? 0;
      self.set(k, (self.get(k) ?? 0) + dt);
      // Each function once per sample, however deep it recurses.
      const seen = new Set();
      for (let id = n.id; id !== undefined; id = parent.get(id)) seen.add(name(byId.get(id)));
      for (const s of seen) incl.set(s, (incl.get(s) ?? 0) + dt);
      total += dt;
    }
    console.log(`profile ${f}: ${(total / 1e6).toFixed(2)} s sampled from the first batch of upcalls to the last (after the warm-up, if any); by self time:`);
    for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`  ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
    console.log('by inclusive time:');
    for (const [k, v] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, 45)) console.log(`  ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
  }
}

async function runVswitchd(dpif, base) {
  const dir = '/tmp/ovsnl-bench-ovs';
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const env = { ...process.env, OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVS_DBDIR: dir, OVS_SYSCONFDIR: dir, OVS_PKGDATADIR: join(peerRoot, 'usr', 'share', 'openvswitch') };
  const db = `unix:${dir}/db.sock`;
  const run = (cmd, args) => execFileSync(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const vs = (...args) => run(vsctl, [`--db=${db}`, '--timeout=120', ...args]);
  run('ovsdb-tool', ['create', `${dir}/conf.db`, schema]);
  run('ovsdb-server', [`${dir}/conf.db`, `--remote=punix:${dir}/db.sock`, `--pidfile=${dir}/ovsdb-server.pid`, `--unixctl=${dir}/ovsdb-server.ctl`, `--log-file=${dir}/ovsdb-server.log`, '--detach']);
  vs('--no-wait', 'init');
  vs('--no-wait', 'set', 'Open_vSwitch', '.', 'other_config:n-handler-threads=1', 'other_config:n-revalidator-threads=1');
  run(vswitchd, [db, `--pidfile=${dir}/ovs-vswitchd.pid`, `--unixctl=${dir}/ovs-vswitchd.ctl`, `--log-file=${dir}/ovs-vswitchd.log`, '--detach']);
  try {
    // A bridge's default flow is NORMAL.
    vs('add-br', 'br0', '--', 'add-port', 'br0', P1, '--', 'add-port', 'br0', P2);
    const dp = 'ovs-system';
    const t = Date.now();
    while ((await dpif.listVports(dp).catch(() => [])).filter((v) => v.name === P1 || v.name === P2).length < 2) {
      if (Date.now() - t > 60_000) throw new Error('ovs-vswitchd did not add the ports');
      await sleep(100);
    }
    await sleep(2000);
    return await measure(dpif, dp, base, Number(readFileSync(`${dir}/ovs-vswitchd.pid`, 'utf8')));
  } finally {
    for (const [name, ctl] of [['ovs-vswitchd', 'ovs-vswitchd.pid'], ['ovsdb-server', 'ovsdb-server.pid']]) {
      try {
        const pid = Number(execFileSync('cat', [`${dir}/${ctl}`]).toString());
        process.kill(pid, 'SIGTERM');
        for (let i = 0; i < 100 && existsPid(pid); i++) await sleep(100);
      } catch {
        console.error(`could not stop ${name}`);
      }
    }
    await dpif.deleteDatapath('ovs-system').catch(() => undefined);
  }
}

function existsPid(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const fmt = (x) => Math.round(x).toLocaleString('en-US');

function report(r, name, m) {
  console.log(`${String(r + 1).padEnd(6)} ${name.padEnd(30)} ${String(m.offered).padStart(6)} ${String(m.installed).padStart(6)} ${m.seconds.toFixed(2).padStart(10)} ${fmt(m.rate).padStart(10)} ${String(m.lost).padStart(7)} ${String(m.missed).padStart(8)}`);
  const c = m.cpu;
  console.log(`       CPU µs/flow: switch user ${fmt(c.procUser)} system ${fmt(c.procSystem)}; whole VM user ${fmt(c.user)} system ${fmt(c.system)} irq ${fmt(c.softirq)} idle ${fmt(c.idle)}`);
}

topologyUp();
const dpif = await KernelDpif.open();
const kernel = execFileSync('uname', ['-r']).toString().trim();
console.log(`new flows set up per second, kernel ${kernel}, ${N} distinct UDP flows (each its own source MAC) per run after ${WARM} unmeasured, window ${WINDOW}`);
console.log('round  switch                        offered   flows     seconds    flows/s    lost   missed');
const rates = { ovsnl: [], ovs: [] };
try {
  for (let r = 0; r < ROUNDS; r++) {
    // Each run offers new MACs: nothing learned or installed before helps.
    if (SWITCHES.includes('ovsnl')) {
      const a = await runOvsnl(dpif, 2 * r * (N + WARM));
      rates.ovsnl.push(a.rate);
      report(r, OVSNL_BIN === defaultBin ? 'ovsnl run --learning' : `ovsnl run (${OVSNL_BIN.split('/').slice(-3, -2)[0]})`, a);
    }
    if (SWITCHES.includes('ovs')) {
      const b = await runVswitchd(dpif, (2 * r + 1) * (N + WARM));
      rates.ovs.push(b.rate);
      report(r, 'ovs-vswitchd 3.1 (NORMAL)', b);
    }
  }
} finally {
  dpif.close();
  topologyDown();
}
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
if (!rates.ovsnl.length || !rates.ovs.length) process.exit(0);
const ours = median(rates.ovsnl);
const theirs = median(rates.ovs);
console.log(`median: ovsnl ${fmt(ours)} flows/s, ovs-vswitchd ${fmt(theirs)} flows/s, ratio ${(ours / theirs).toFixed(2)}x`);
