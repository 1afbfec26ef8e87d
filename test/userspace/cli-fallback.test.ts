// The ovs-dpctl command set on this host, which has no openvswitch module:
// every `ovsnl` command below is a process of its own, as an operator runs
// it, and the first one starts the userspace daemon on demand. Datapath, two
// veth ports whose other ends live in two namespaces, flows from a file, ping
// across, dump with statistics, errors, deletes. Expected text and exit
// statuses are the kernel's with ovs-dpctl 3.1 (peer-behaviour.md and
// ovs-dpctl-samples/ in /work/shared/reference); what ovsnl adds after
// ovs-dpctl's error line (the reason) is checked separately.
// Needs `npm run build:ts` first (bin/ovsnl.js runs dist/).
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeNsPairs, quiet, readDaemonPid, removeNsPairs, requireBuiltDist, requireRoot, sh, type NsPair } from './helpers.js';

const BIN = fileURLToPath(new URL('../../bin/ovsnl.js', import.meta.url));
// Names no other test uses (frameio.test.ts has ovsnlfb0): tests run in parallel.
const DP = 'ovsnlcfb0';
const PAIRS: NsPair[] = [
  { ns: 'ovsnl-fb1', host: 'ovsfb1a', peer: 'eth0', addr: '10.78.0.1' },
  { ns: 'ovsnl-fb2', host: 'ovsfb2a', peer: 'eth0', addr: '10.78.0.2' },
];
const [P1, P2] = PAIRS.map((p) => p.host);
const moduleLoaded = existsSync('/sys/module/openvswitch');

let dir: string;

interface Run {
  out: string;
  err: string;
  status: number;
}

// On a host with the module, ask for the daemon explicitly; here, 'auto' finds no module.
const env = () => ({ ...process.env, OVSNL_DPD_DIR: dir, OVSNL_DATAPATH: moduleLoaded ? 'userspace' : 'auto' });

function ovsnl(...args: string[]): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000, env: env() });
  return { out: r.stdout, err: r.stderr, status: r.status ?? -1 };
}

/** ovs-dpctl's part of an error line: what ovsnl adds after the closing parenthesis goes. */
const dpctlPart = (err: string): string => err.replace(/^(ovsnl: .*?\([A-Za-z ]+\)):.*$/gm, '$1');

function cleanup(): void {
  if (dir) {
    spawnSync(process.execPath, [BIN, 'dpd', 'stop'], { env: { ...process.env, OVSNL_DPD_DIR: dir }, timeout: 30_000 });
    // If stop could not, the pid file still names the daemon: it must not outlive the test.
    const pid = readDaemonPid(join(dir, 'dpd.pid'));
    if (pid) quiet('kill', '-9', String(pid));
  }
  removeNsPairs(PAIRS);
  quiet('ip', 'link', 'del', DP);
}

beforeAll(() => {
  requireRoot('the CLI on the userspace datapath');
  requireBuiltDist();
  dir = mkdtempSync(join(tmpdir(), 'ovsnl-fb-'));
  cleanup();
  makeNsPairs(PAIRS);
  // No IPv6 chatter (router solicitations) in the counters.
  for (const p of PAIRS) {
    sh('sysctl', '-qw', `net.ipv6.conf.${p.host}.disable_ipv6=1`);
    sh('ip', 'netns', 'exec', p.ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1');
  }
  writeFileSync(
    join(dir, 'flows.txt'),
    `# ARP and IPv4 between the two namespaces (ports 1 and 2)
in_port(1),eth(),eth_type(0x0806),arp() 2
in_port(2),eth(),eth_type(0x0806),arp() 1
in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) 2
in_port(2),eth(),eth_type(0x0800),ipv4(frag=no) 1
in_port(2),eth(),eth_type(0x0800),ipv4(frag=no) 1
garbage(1) 2
`,
  );
}, 60_000);

afterAll(() => {
  cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('ovsnl without the kernel module: the userspace daemon, started on demand', () => {
  it('add-dp starts the daemon and says so once on stderr', () => {
    const r = ovsnl('add-dp', DP);
    expect(r.status).toBe(0);
    expect(r.out).toBe('');
    expect(r.err).toMatch(
      moduleLoaded
        ? /^ovsnl: started the userspace datapath daemon \(ovsnl dpd, pid \d+\)\n$/
        : /^ovsnl: no openvswitch kernel module; using the userspace datapath \(ovsnl dpd, pid \d+\)\n$/,
    );
    expect(ovsnl('dpd', 'status').out).toMatch(/^ovsnl dpd: running, pid \d+/);
  });

  it('add-if adds both veths; later commands say nothing about the daemon', () => {
    expect(ovsnl('add-if', DP, P1, P2)).toEqual({ out: '', err: '', status: 0 });
    expect(ovsnl('dump-dps')).toEqual({ out: `system@${DP}\n`, err: '', status: 0 });
    const show = ovsnl('show', DP);
    expect(show.status).toBe(0);
    expect(show.out.replace(/hit:\d+ missed:\d+ lost:\d+/, 'hit:H missed:M lost:L')).toBe(
      `system@${DP}:\n` +
        '  lookups: hit:H missed:M lost:L\n' +
        '  flows: 0\n' +
        '  masks: hit:0 total:0 hit/pkt:0.00\n' +
        '  caches:\n' +
        '    masks-cache: size:256\n' +
        `  port 0: ${DP} (internal)\n` +
        `  port 1: ${P1}\n` +
        `  port 2: ${P2}\n`,
    );
    expect(ovsnl('dump-flows', DP)).toEqual({ out: '', err: '', status: 0 });
  });

  it('upcall-monitor takes the MISS upcalls of a ping while no flow matches', async () => {
    // Three: other chatter (the local port's own) may come first.
    const mon = spawn(process.execPath, [BIN, 'upcall-monitor', DP, '--count', '3'], { env: env() });
    let out = '';
    mon.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const done = new Promise<number>((resolve) => mon.on('close', (code) => resolve(code ?? -1)));
    // Pings until the monitor has its upcall (it needs a moment to take over the dispatch).
    let exited = false;
    void done.then(() => (exited = true));
    for (let i = 0; i < 20 && !exited; i++) {
      await new Promise((r) => execFile('ip', ['netns', 'exec', PAIRS[0].ns, 'ping', '-c', '1', '-W', '1', PAIRS[1].addr], r));
    }
    expect(await done).toBe(0);
    // The unanswered ARP goes on in the kernel, with the ping queued behind it: drop both, or they
    // would pass through the flows added next.
    for (const p of PAIRS) sh('ip', '-n', p.ns, 'neigh', 'flush', 'all');
    expect(out.split('\n').filter(Boolean)).toHaveLength(3);
    expect(out).toMatch(/^miss: .*in_port\(1\).*eth_type\(0x0806\),arp\(sip=10\.78\.0\.1,tip=10\.78\.0\.2,op=1,/m);
  });

  it('gives the kernel errors for datapaths and ports', () => {
    expect(ovsnl('add-dp', DP)).toMatchObject({ out: '', status: 1 });
    expect(dpctlPart(ovsnl('add-dp', DP).err)).toBe('ovsnl: add_dp (File exists)\n');
    expect(dpctlPart(ovsnl('show', 'nosuchdp').err)).toBe('ovsnl: opening datapath nosuchdp failed (No such device)\n');
    expect(dpctlPart(ovsnl('del-dp', 'nosuchdp').err)).toMatch(/^ovsnl: opening datapath \(No such device\)\n$/);
    expect(ovsnl('add-if', DP, 'nosuchdev')).toEqual({ out: '', err: 'ovsnl: nosuchdev: failed to open network device (No such device)\n', status: 1 });
    // A device already in a datapath is busy, as for the kernel's rx handler.
    const again = ovsnl('add-if', DP, `${P1},port_no=9`);
    expect(again.status).toBe(1);
    expect(dpctlPart(again.err)).toBe(`ovsnl: adding ${P1} to ${DP} failed (Device or resource busy)\n`);
  });

  it('add-flows from a file: bad lines reported, exit 0 as ovs-dpctl', () => {
    const r = ovsnl('add-flows', DP, join(dir, 'flows.txt'));
    expect(r.status).toBe(0);
    expect(dpctlPart(r.err)).toBe('ovsnl: updating flow table (File exists)\novsnl: parsing flow key (syntax error at garbage(1)) (Invalid argument)\n');
    const dump = ovsnl('dump-flows', DP);
    expect(dump.out.split('\n').filter(Boolean).sort()).toEqual([
      'in_port(1),eth(),eth_type(0x0800),ipv4(frag=no), packets:0, bytes:0, used:never, actions:2',
      'in_port(1),eth(),eth_type(0x0806), packets:0, bytes:0, used:never, actions:2',
      'in_port(2),eth(),eth_type(0x0800),ipv4(frag=no), packets:0, bytes:0, used:never, actions:1',
      'in_port(2),eth(),eth_type(0x0806), packets:0, bytes:0, used:never, actions:1',
    ]);
  });

  it('refuses keys without the attributes the kernel requires, with its reason', () => {
    const r = ovsnl('add-flow', DP, 'in_port(1),eth(),eth_type(0x0800),ipv4(src=10.0.0.1,proto=6,frag=no),tcp(dst=80)', '2');
    expect(r.status).toBe(1);
    expect(r.err).toBe('ovsnl: updating flow table (Invalid argument): userspace datapath: Missing key (keys=2d8, expected=40280)\n');
    const dup = ovsnl('add-flow', DP, 'in_port(1),eth(),eth_type(0x0806),arp()', '2');
    expect(dup.status).toBe(1);
    expect(dpctlPart(dup.err)).toBe('ovsnl: updating flow table (File exists)\n');
  });

  it('forwards ping across and counts it in the flows', () => {
    sh('ip', 'netns', 'exec', PAIRS[0].ns, 'ping', '-c', '3', '-i', '0.2', '-W', '2', PAIRS[1].addr);
    const dump = ovsnl('dump-flows', '-m', DP);
    expect(dump.status).toBe(0);
    const ip = dump.out.split('\n').filter((l) => l.includes('eth_type(0x0800)'));
    expect(ip).toHaveLength(2);
    for (const line of ip) {
      const m = /packets:(\d+), bytes:(\d+), used:([0-9.]+)s/.exec(line);
      expect(m, line).not.toBeNull();
      expect(Number(m![1])).toBeGreaterThanOrEqual(3);
      expect(Number(m![2])).toBeGreaterThanOrEqual(3 * 98);
    }
    // -m prints masks in full, with port names.
    expect(dump.out).toContain(`in_port(${P1}),eth(src=00:00:00:00:00:00/00:00:00:00:00:00,dst=00:00:00:00:00:00/00:00:00:00:00:00),eth_type(0x0800)`);
    const show = ovsnl('show', DP).out;
    expect(show).toMatch(/lookups: hit:(\d+) /);
    expect(Number(/hit:(\d+) missed/.exec(show)![1])).toBeGreaterThanOrEqual(6);
    // show -s gives the devices' counters, as the kernel does (ovs_vport_get_stats is dev_get_stats).
    const stats = ovsnl('-s', 'show', DP).out;
    const sys = (dev: string, f: string) => readFileSync(`/sys/class/net/${dev}/statistics/${f}`, 'utf8').trim();
    for (const [i, dev] of [P1, P2].entries()) {
      expect(stats).toContain(
        `  port ${i + 1}: ${dev}\n    RX packets:${sys(dev, 'rx_packets')} errors:${sys(dev, 'rx_errors')} dropped:${sys(dev, 'rx_dropped')} overruns:0 frame:0\n` +
          `    TX packets:${sys(dev, 'tx_packets')} errors:${sys(dev, 'tx_errors')} dropped:${sys(dev, 'tx_dropped')} aborted:0 carrier:0\n`,
      );
    }
  });

  it('dump-conntrack, ct-stats-show and flush-conntrack read and clear the userspace tracker', () => {
    writeFileSync(
      join(dir, 'ct.txt'),
      'in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) ct(commit,zone=9),2\nin_port(2),eth(),eth_type(0x0800),ipv4(frag=no) ct(zone=9),1\n',
    );
    expect(ovsnl('mod-flows', DP, join(dir, 'ct.txt')).status).toBe(0);
    sh('ip', 'netns', 'exec', PAIRS[0].ns, 'ping', '-c', '1', '-W', '2', PAIRS[1].addr);
    const dump = ovsnl('dump-conntrack', DP);
    expect(dump.status).toBe(0);
    expect(dump.out).toMatch(new RegExp(`^icmp,orig=\\(src=${PAIRS[0].addr},dst=${PAIRS[1].addr},id=\\d+,type=8,code=0\\),reply=\\(src=${PAIRS[1].addr},dst=${PAIRS[0].addr},id=\\d+,type=0,code=0\\),zone=9\n$`));
    expect(ovsnl('ct-stats-show', DP).out).toBe('Connections Stats:\n    Total: 1\n  ICMP: 1\n');
    expect(ovsnl('dump-conntrack', DP, 'zone=8').out).toBe('');
    expect(ovsnl('flush-conntrack', DP, 'zone=9')).toEqual({ out: '', err: '', status: 0 });
    expect(ovsnl('dump-conntrack', DP).out).toBe('');
    // The flows back as they were.
    expect(ovsnl('mod-flows', DP, join(dir, 'flows.txt')).status).toBe(0);
  });

  it('ct(nat): ping goes through source NAT both ways, and dump-conntrack shows the translated reply', () => {
    const nat = '10.78.0.100';
    writeFileSync(
      join(dir, 'nat.txt'),
      `in_port(1),eth(),eth_type(0x0800),ipv4(frag=no) ct(commit,zone=10,nat(src=${nat})),2\nin_port(2),eth(),eth_type(0x0800),ipv4(frag=no) ct(zone=10,nat),1\n`,
    );
    expect(ovsnl('mod-flows', DP, join(dir, 'nat.txt')).status).toBe(0);
    // The far side answers the NAT address: tell it where that is (no one answers ARP for it).
    const macA = sh('ip', 'netns', 'exec', PAIRS[0].ns, 'cat', '/sys/class/net/eth0/address').trim();
    sh('ip', 'netns', 'exec', PAIRS[1].ns, 'ip', 'neigh', 'replace', nat, 'lladdr', macA, 'dev', 'eth0');
    sh('ip', 'netns', 'exec', PAIRS[0].ns, 'ping', '-c', '2', '-i', '0.2', '-W', '2', PAIRS[1].addr);
    const dump = ovsnl('dump-conntrack', DP, 'zone=10');
    expect(dump.status).toBe(0);
    expect(dump.out).toMatch(new RegExp(`^icmp,orig=\\(src=${PAIRS[0].addr},dst=${PAIRS[1].addr},id=(\\d+),type=8,code=0\\),reply=\\(src=${PAIRS[1].addr},dst=${nat},id=\\1,type=0,code=0\\),zone=10\n$`));
    expect(ovsnl('flush-conntrack', DP, 'zone=10').status).toBe(0);
    expect(ovsnl('mod-flows', DP, join(dir, 'flows.txt')).status).toBe(0);
  });

  it('ct-set-tp and ct(timeout=NAME): a ping connection lives as long as its policy says', () => {
    expect(ovsnl('ct-set-tp', 'tp_ping', 'ipv4', 'icmp', 'timeout=7')).toEqual({ out: '', err: '', status: 0 });
    expect(ovsnl('ct-get-tp', 'tp_ping')).toEqual({ out: 'tp_ping: ipv4 icmp use=1 timeout=7\n', err: '', status: 0 });
    // The policy binds to a flow whose key names ICMP (a wildcarded protocol is the generic tracker's).
    expect(ovsnl('del-flow', DP, 'in_port(1),eth(),eth_type(0x0800),ipv4(frag=no)').status).toBe(0);
    expect(ovsnl('add-flow', DP, 'in_port(1),eth(),eth_type(0x0800),ipv4(proto=1,frag=no),icmp()', 'ct(commit,zone=11,timeout=tp_ping),2').status).toBe(0);
    expect(ovsnl('mod-flow', DP, 'in_port(2),eth(),eth_type(0x0800),ipv4(frag=no)', 'ct(zone=11),1').status).toBe(0);
    // Two uses per flow that took it, as the kernel counts.
    expect(ovsnl('ct-get-tp', '--json').out).toContain('"name":"tp_ping","family":"ipv4","proto":"icmp","use":3,"timeouts":{"timeout":7}');
    sh('ip', 'netns', 'exec', PAIRS[0].ns, 'ping', '-c', '1', '-W', '2', PAIRS[1].addr);
    const dump = ovsnl('dump-conntrack', '-s', DP, 'zone=11');
    const t = Number(/timeout=(\d+)/.exec(dump.out)?.[1]);
    expect(t).toBeGreaterThan(3);
    expect(t).toBeLessThanOrEqual(7);
    expect(ovsnl('ct-set-tp', 'tp_ping', 'ipv4', 'icmp', 'established=7').err).toMatch(/expected STATE=SECONDS, STATE one of timeout/);
    expect(ovsnl('ct-set-tp', 'tp_ping', 'ipv4', 'tcp', 'established=7').err).toMatch(/failed to set timeout policy tp_ping.*Invalid argument/);
    // Back as it was.
    expect(ovsnl('del-flows', DP).status).toBe(0);
    expect(ovsnl('add-flows', DP, join(dir, 'flows.txt')).status).toBe(0);
    expect(ovsnl('ct-del-tp', 'tp_ping')).toEqual({ out: '', err: '', status: 0 });
    expect(ovsnl('ct-get-tp', 'tp_ping').err).toMatch(/failed to get timeout policy tp_ping.*No such file or directory/);
    expect(ovsnl('flush-conntrack', DP, 'zone=11').status).toBe(0);
  });

  it('get-flow, del-flow and del-flows, with the kernel errors for missing flows', () => {
    const ufid = 'ufid:5f5a2b8c-0000-4000-8000-000000000001';
    expect(ovsnl('add-flow', DP, `${ufid} in_port(1),eth(),eth_type(0x86dd),ipv6(frag=no)`, 'drop').status).toBe(0);
    expect(ovsnl('get-flow', DP, ufid)).toEqual({ out: 'in_port(1),eth(),eth_type(0x86dd),ipv6(frag=no), packets:0, bytes:0, used:never, actions:drop\n', err: '', status: 0 });
    expect(ovsnl('del-flow', DP, ufid)).toEqual({ out: '', err: '', status: 0 });
    const gone = ovsnl('del-flow', DP, 'in_port(1),eth(),eth_type(0x0800),ipv4(src=10.99.0.0,frag=no)');
    expect(gone.status).toBe(1);
    expect(dpctlPart(gone.err)).toBe('ovsnl: deleting flow (No such file or directory)\n');
    // On stdout, as ovs-dpctl prints it.
    expect(gone.out).toBe('Perhaps you need to specify a UFID?\n');
    expect(ovsnl('del-flows', DP)).toEqual({ out: '', err: '', status: 0 });
    expect(ovsnl('dump-flows', DP)).toEqual({ out: '', err: '', status: 0 });
  });

  it('NSH flows: keys on NSH fields, L3 keys and push_nsh/pop_nsh go in and come back as written; set(nsh) is refused', () => {
    const nsh = 'in_port(1),eth(),eth_type(0x894f),nsh(flags=0,ttl=63,mdtype=1,np=3,spi=0x1234,si=255,c1=0x11223344,c2=0x0,c3=0x0,c4=0x0)';
    const l3 = 'recirc_id(0x7),in_port(1),eth_type(0x0800),ipv4(frag=no)';
    const encap = 'push_nsh(flags=0,ttl=63,mdtype=2,np=3,spi=0x1234,si=255,md2=0x10000a041234567820001408fedcba9876543210),push_eth(src=00:00:00:00:00:00,dst=11:22:33:44:55:66),2';
    expect(ovsnl('add-flow', DP, nsh, 'pop_eth,pop_nsh(),recirc(0x7)').status).toBe(0);
    expect(ovsnl('add-flow', DP, l3, `push_eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),${encap}`).status).toBe(0);
    expect(ovsnl('dump-flows', DP).out.split('\n').filter(Boolean).sort()).toEqual(
      [`${nsh}, packets:0, bytes:0, used:never, actions:pop_eth,pop_nsh(),recirc(0x7)`, `${l3}, packets:0, bytes:0, used:never, actions:push_eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),${encap}`].sort(),
    );
    // The module refuses these too: set(nsh) at all, pop_nsh on a flow that is not NSH, push_eth over an Ethernet header.
    const set = ovsnl('add-flow', DP, 'in_port(2),eth(),eth_type(0x894f),nsh(mdtype=1,np=3)', 'set(nsh(flags=2,ttl=63,mdtype=1,np=3,spi=0x123456,si=254,c1=0x1,c2=0x2,c3=0x3,c4=0x4)),1');
    expect(set.status).toBe(1);
    expect(set.err).toMatch(/Invalid argument.*set\(nsh\): the module does not set NSH fields/);
    expect(ovsnl('add-flow', DP, 'in_port(2),eth(),eth_type(0x0800),ipv4(frag=no)', 'pop_nsh(),1').err).toMatch(/Invalid argument.*pop_nsh: the flow is not NSH/);
    expect(ovsnl('add-flow', DP, 'in_port(2),eth(),eth_type(0x0800),ipv4(frag=no)', 'push_eth(src=00:00:00:00:00:01,dst=00:00:00:00:00:02),1').err).toMatch(/Invalid argument.*push_eth/);
    expect(ovsnl('del-flows', DP).status).toBe(0);
  });

  it('dpd status lists what the daemon serves, also as JSON', () => {
    const s = ovsnl('dpd', 'status', '--json');
    expect(s.status).toBe(0);
    const j = JSON.parse(s.out) as { running: boolean; pid: number; datapaths: { name: string; ports: { port_no: number; name: string; type: string }[] }[] };
    expect(j.running).toBe(true);
    expect(j.pid).toBeGreaterThan(0);
    expect(j.datapaths).toEqual([
      {
        name: DP,
        dp_ifindex: expect.any(Number),
        ports: [
          { port_no: 0, name: DP, type: 'internal' },
          { port_no: 1, name: P1, type: 'netdev' },
          { port_no: 2, name: P2, type: 'netdev' },
        ],
      },
    ]);
  });

  it('conntrack zone limits: set, get (with the default for a zone without its own), delete', () => {
    expect(ovsnl('ct-set-limits', 'default=10', 'zone=5,limit=3')).toEqual({ out: '', err: '', status: 0 });
    expect(ovsnl('ct-get-limits').out).toBe('default limit=10\nzone=5,limit=3,count=0\n');
    expect(ovsnl('ct-get-limits', 'zone=5,7').out).toBe('default limit=10\nzone=5,limit=3,count=0\nzone=7,limit=10,count=0\n');
    expect(ovsnl('ct-del-limits', 'zone=5').status).toBe(0);
    expect(ovsnl('ct-set-limits', 'default=0').status).toBe(0);
    expect(ovsnl('ct-get-limits').out).toBe('default limit=0\n');
  });

  it('a second daemon on the same socket is refused', () => {
    const r = ovsnl('dpd', 'start');
    expect(r.status).toBe(1);
    expect(r.err).toMatch(/^ovsnl: dpd start: already running \(pid \d+\) on .*dpd\.sock\n$/);
  });

  it('the datapath and its ports survive a daemon restart; flows do not', () => {
    expect(ovsnl('add-flows', DP, join(dir, 'flows.txt')).status).toBe(0);
    expect(ovsnl('dpd', 'stop').out).toMatch(/^ovsnl dpd: stopped pid \d+\n$/);
    expect(ovsnl('dpd', 'status')).toMatchObject({ status: 3 });
    expect(existsSync(`/sys/class/net/${DP}`)).toBe(false);
    // The next command starts it again, which restores the datapath.
    const show = ovsnl('show', DP);
    expect(show.status).toBe(0);
    expect(show.out).toContain('  flows: 0\n');
    expect(show.out).toContain(`  port 0: ${DP} (internal)\n  port 1: ${P1}\n  port 2: ${P2}\n`);
  });

  it('del-if and del-dp remove ports and datapath', () => {
    expect(ovsnl('del-if', DP, P1, P2)).toEqual({ out: '', err: '', status: 0 });
    expect(ovsnl('show', DP).out).not.toContain(P1);
    expect(ovsnl('del-dp', DP)).toEqual({ out: '', err: '', status: 0 });
    expect(ovsnl('dump-dps')).toEqual({ out: '', err: '', status: 0 });
    expect(existsSync(`/sys/class/net/${DP}`)).toBe(false);
  });
});
