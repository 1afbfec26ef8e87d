// VXLAN and Geneve on the userspace datapath, as an operator drives it on a
// host without the openvswitch module: two datapaths, each with one
// namespace on a veth port and one tunnel port, joined by tunnels over the
// loopback (vxlan 4789 <-> 4790, geneve 6081 <-> 6082, vxlan with the group
// policy extension 4791 <-> 4792). Ping goes across both ways through
// set(tunnel(...)) flows; the receiving side's flows match on tun_id (and on
// the policy); show, dump-flows and a daemon restart keep the tunnel ports.
// Needs `npm run build:ts` first (bin/ovsnl.js runs dist/).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeNsPairs, quiet, readDaemonPid, removeNsPairs, requireBuiltDist, requireRoot, sh, type NsPair } from './helpers.js';

const BIN = fileURLToPath(new URL('../../bin/ovsnl.js', import.meta.url));
const [DPA, DPB] = ['ovsnltun1', 'ovsnltun2'];
const PAIRS: NsPair[] = [
  { ns: 'ovsnl-tun1', host: 'ovstun1a', peer: 'eth0', addr: '10.79.0.1' },
  { ns: 'ovsnl-tun2', host: 'ovstun2a', peer: 'eth0', addr: '10.79.0.2' },
];
const moduleLoaded = existsSync('/sys/module/openvswitch');
let dir: string;

const env = () => ({ ...process.env, OVSNL_DPD_DIR: dir, OVSNL_DATAPATH: moduleLoaded ? 'userspace' : 'auto' });

function ovsnl(...args: string[]): { out: string; err: string; status: number } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000, env: env() });
  return { out: r.stdout, err: r.stderr, status: r.status ?? -1 };
}

function stopDaemon(): void {
  spawnSync(process.execPath, [BIN, 'dpd', 'stop'], { env: env(), timeout: 30_000 });
  const pid = readDaemonPid(join(dir, 'dpd.pid'));
  if (pid) quiet('kill', '-9', String(pid));
}

const ping = (from: number, count = 3): boolean => {
  const r = spawnSync('ip', ['netns', 'exec', PAIRS[from].ns, 'ping', '-c', String(count), '-i', '0.2', '-W', '2', PAIRS[1 - from].addr], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0;
};

/** Flows of one side: its namespace port (1) into the tunnel port (2) towards the other side's UDP port, and back by tun_id. */
function flows(kind: 'vxlan' | 'geneve', sendId: number, recvId: number, toPort: number, ownPort: number, gbp = false): string {
  // With the policy extension, the policy goes out with every datagram and the flows back match on it.
  const policy = gbp ? ',vxlan(gbp(id=0x77,flags=0x40))' : '';
  const opts = kind === 'geneve' ? ',geneve({class=0x102,type=0x1,len=4,0xcafe0001})' : policy;
  const tunnel = `set(tunnel(tun_id=0x${sendId.toString(16)},dst=127.0.0.1,ttl=64,tp_dst=${toPort}${opts},flags(key)))`;
  const back = `tunnel(tun_id=0x${recvId.toString(16)},dst=127.0.0.1,ttl=64/0,tp_dst=${ownPort}${policy},flags(+key))`;
  return [
    `in_port(1),eth(),eth_type(0x0806),arp() ${tunnel},2`,
    `in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) ${tunnel},2`,
    `${back},in_port(2),eth(),eth_type(0x0806),arp() 1`,
    `${back},in_port(2),eth(),eth_type(0x0800),ipv4(frag=no) 1`,
    '',
  ].join('\n');
}

function cleanup(): void {
  if (dir) stopDaemon();
  removeNsPairs(PAIRS);
  quiet('ip', 'link', 'del', DPA);
  quiet('ip', 'link', 'del', DPB);
}

beforeAll(() => {
  requireRoot('tunnels on the userspace datapath');
  requireBuiltDist();
  dir = mkdtempSync(join(tmpdir(), 'ovsnl-tun-'));
  cleanup();
  makeNsPairs(PAIRS);
  for (const p of PAIRS) {
    sh('sysctl', '-qw', `net.ipv6.conf.${p.host}.disable_ipv6=1`);
    sh('ip', 'netns', 'exec', p.ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1');
  }
}, 60_000);

afterAll(() => {
  cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.each([
  ['vxlan', 4789, 4790, false],
  ['geneve', 6081, 6082, false],
  ['vxlan', 4791, 4792, true],
] as const)('%s ports on the userspace datapath (%i, %i; group policy: %s)', (kind, portA, portB, gbp) => {
  const dev = kind === 'vxlan' ? 'vxlan_sys' : 'genev_sys';
  const exts = gbp ? ',exts=gbp' : '';

  it('adds tunnel ports that show as the kernel devices would', () => {
    expect(ovsnl('add-dp', DPA, PAIRS[0].host, `t0,type=${kind},remote_ip=flow${portA === (kind === 'vxlan' ? 4789 : 6081) ? '' : `,dst_port=${portA}`}${exts}`).status).toBe(0);
    expect(ovsnl('add-dp', DPB, PAIRS[1].host, `t1,type=${kind},remote_ip=flow,dst_port=${portB}${exts}`)).toMatchObject({ status: 0 });
    const a = ovsnl('show', DPA).out;
    const b = ovsnl('show', DPB).out;
    expect(a).toContain(`port 2: ${dev}_${portA} (${kind}: ${portA === 4789 || portA === 6081 ? '' : `dst_port=${portA}, `}packet_type=ptap)\n`);
    expect(b).toContain(`port 2: ${dev}_${portB} (${kind}: dst_port=${portB}, packet_type=ptap)\n`);
    // One UDP port, one tunnel port.
    const again = ovsnl('add-if', DPB, `t2,type=${kind},remote_ip=flow,dst_port=${portA}`);
    expect(again.status).toBe(1);
    expect(again.err).toMatch(/UDP port|Address already in use|busy/);
  });

  it('pings across the tunnel both ways, and the flows count it', () => {
    writeFileSync(join(dir, 'a.txt'), flows(kind, 0x51, 0x52, portB, portA, gbp));
    writeFileSync(join(dir, 'b.txt'), flows(kind, 0x52, 0x51, portA, portB, gbp));
    expect(ovsnl('add-flows', DPA, join(dir, 'a.txt'))).toMatchObject({ status: 0, err: '' });
    expect(ovsnl('add-flows', DPB, join(dir, 'b.txt'))).toMatchObject({ status: 0, err: '' });
    expect(ping(0)).toBe(true);
    expect(ping(1)).toBe(true);
    const dump = ovsnl('dump-flows', DPB).out;
    // The flows back by tun_id 0x51 (sent by DPA) carried the pings.
    const back = dump.split('\n').filter((l) => l.includes('tun_id=0x51') && l.includes('eth_type(0x0800)'));
    expect(back).toHaveLength(1);
    expect(Number(/packets:(\d+)/.exec(back[0])![1])).toBeGreaterThanOrEqual(6);
  }, 60_000);

  it('a datagram with another tun_id misses and goes up, nothing else takes it', () => {
    // DPA sends with tun_id 0x53 now: DPB has no flow for it.
    writeFileSync(join(dir, 'a2.txt'), flows(kind, 0x53, 0x52, portB, portA, gbp).split('\n').slice(0, 2).join('\n'));
    expect(ovsnl('mod-flows', DPA, join(dir, 'a2.txt'))).toMatchObject({ status: 0 });
    const before = /lookups: hit:(\d+) missed:(\d+)/.exec(ovsnl('show', DPB).out)!;
    expect(ping(0, 1)).toBe(false);
    const after = /lookups: hit:(\d+) missed:(\d+)/.exec(ovsnl('show', DPB).out)!;
    expect(Number(after[2])).toBeGreaterThan(Number(before[2]));
  }, 60_000);

  it('keeps the tunnel ports across a daemon restart, then deletes them', () => {
    stopDaemon();
    expect(ovsnl('show', DPB).out).toContain(`port 2: ${dev}_${portB} (${kind}: dst_port=${portB}, packet_type=ptap)\n`);
    if (gbp) {
      // Restored with the extension: the policy still goes out and is still read (a plain port would drop it).
      expect(ovsnl('add-flows', DPA, join(dir, 'a.txt'))).toMatchObject({ status: 0, err: '' });
      expect(ovsnl('add-flows', DPB, join(dir, 'b.txt'))).toMatchObject({ status: 0, err: '' });
      expect(ping(0)).toBe(true);
    }
    expect(ovsnl('del-if', DPB, `${dev}_${portB}`)).toMatchObject({ status: 0, err: '' });
    expect(ovsnl('show', DPB).out).not.toContain(dev);
    expect(ovsnl('del-dp', DPA).status).toBe(0);
    expect(ovsnl('del-dp', DPB).status).toBe(0);
  }, 60_000);
});
