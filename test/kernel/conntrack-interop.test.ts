// dump-conntrack, ct-stats-show, flush-conntrack and the userspace-only
// conntrack commands: ovsnl against the real ovs-dpctl 3.1 on the same kernel
// conntrack state, byte for byte.
//
// The state: a datapath made by ovs-dpctl, whose flows (installed by
// ovs-dpctl add-flows) commit UDP, TCP, ICMP, UDPv6 and ICMPv6 connections in
// zones 0, 5, 7 (with a mark and labels) and 9; frames go in through a veth
// port from its peer. Accounting and timestamps are on, so -s prints counters
// and start times. What is normalised, and only there: `timeout=N` in -s
// output (it counts down between two reads); the program name at the start of
// error lines ("ovs-dpctl: " / "ovsnl: "); ovs-dpctl's own log lines on stderr
// (timestamped vlog lines). After a flush, the two tools' results are compared
// as sets of lines, since the connections that come back when the frames are
// sent again may land in another order within a hash bucket.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ctBktsCommand,
  ctStatsShowCommand,
  dumpConntrackCommand,
  flushConntrackCommand,
  registerConntrack,
  userspaceOnlyCommand,
  type ConntrackIO,
} from '../../src/cli/conntrack.js';
import { CliError } from '../../src/cli/errors.js';
import { conntrackCount, dumpConntrack, flushConntrack, openConntrack } from '../../src/conntrack/client.js';
import type { Connection } from '../../src/netlink/connection.js';
import { buildFrame } from '../../src/packet/build.js';
import { TCP_SYN } from '../../src/packet/constants.js';
import type { FrameSpec } from '../../src/packet/spec.js';
import { deleteLink, withRoute } from '../../src/rtnl/link.js';
import { createVethPair } from '../../src/rtnl/veth.js';
import { dpctlPath } from './peer.js';
import { uniqueName } from './ovs-helpers.js';
import { requireOvsModule } from './setup.js';
import { FrameTap, quiet } from './upcall-helpers.js';

const DP = uniqueName('ctdp');
const A = uniqueName('ctva');
const B = uniqueName('ctvb');

interface Run {
  out: string;
  err: string;
  rc: number;
}

/** The real ovs-dpctl; its vlog lines dropped and its name replaced, so that errors compare. */
function theirs(...args: string[]): Run {
  const r = spawnSync(dpctlPath(), args, { encoding: 'utf8' });
  const err = r.stderr
    .split('\n')
    .filter((l) => l && !/^\d{4}-\d\d-\d\dT\S+\|\d+\|/.test(l))
    .map((l) => l.replace(/^ovs-dpctl: /, 'ovsnl: ') + '\n')
    .join('');
  return { out: r.stdout, err, rc: r.status ?? -1 };
}

/** An ovsnl command, run as the CLI runs it: failures as one "ovsnl: " line and exit 1. */
async function ours(fn: (io: ConntrackIO) => Promise<void>): Promise<Run> {
  const run: Run = { out: '', err: '', rc: 0 };
  const io: ConntrackIO = { out: (s) => void (run.out += s), err: (s) => void (run.err += s) };
  try {
    await fn(io);
  } catch (err) {
    run.err += `ovsnl: ${(err as Error).message}\n`;
    run.rc = err instanceof CliError ? err.exitCode : 1;
  }
  return run;
}

const normTimeout = (s: string): string => s.replace(/,timeout=\d+/g, ',timeout=T');
const lines = (s: string): string[] => s.split('\n').filter(Boolean).sort();

// ---- the traffic ----------------------------------------------------------

const MAC_B = '02:00:00:00:0c:01';
const MAC_A = '02:00:00:00:0c:02';
const v4 = (src: string, dst: string, l4: FrameSpec['l4'], payload = 16): Uint8Array =>
  buildFrame({ src: MAC_B, dst: MAC_A, l3: { kind: 'ipv4', src, dst }, l4, payload });
const v6 = (src: string, dst: string, l4: FrameSpec['l4'], payload = 16): Uint8Array =>
  buildFrame({ src: MAC_B, dst: MAC_A, l3: { kind: 'ipv6', src, dst }, l4, payload });

const FRAMES: Uint8Array[] = [
  // zone 5: four UDP connections
  ...[1024, 1025, 1026, 1027].map((sport) => v4('10.50.0.1', '10.50.0.2', { kind: 'udp', src: sport, dst: 9999 })),
  // zone 7, with a mark and labels
  ...[2000, 2001].map((sport) => v4('10.51.0.1', '10.51.0.2', { kind: 'udp', src: sport, dst: 53 })),
  // zone 0: TCP (a SYN: SYN_SENT), ICMP echo, UDP; the UDP one twice (counters)
  v4('10.52.0.1', '10.52.0.2', { kind: 'tcp', src: 40000, dst: 80, flags: TCP_SYN, seq: 1000, window: 64240 }, 0),
  v4('10.52.0.1', '10.52.0.2', { kind: 'icmp', type: 8, code: 0, rest: (0x1234 << 16) | 1 }),
  v4('10.52.0.1', '10.52.0.2', { kind: 'udp', src: 5000, dst: 5001 }),
  v4('10.52.0.1', '10.52.0.2', { kind: 'udp', src: 5000, dst: 5001 }, 100),
  // zone 9: UDP and ICMPv6 echo over IPv6
  v6('fd00:53::1', 'fd00:53::2', { kind: 'udp', src: 3000, dst: 3001 }),
  v6('fd00:53::1', 'fd00:53::2', { kind: 'icmpv6', type: 128, code: 0, rest: (7 << 16) | 1 }),
];
const CONNECTIONS = 11;

const FLOWS = [
  'in_port(1),eth(),eth_type(0x0800),ipv4(src=10.50.0.0/255.255.0.0,frag=no) ct(commit,zone=5)',
  'in_port(1),eth(),eth_type(0x0800),ipv4(src=10.51.0.0/255.255.0.0,frag=no) ct(commit,zone=7,mark=0x2a/0xffffffff,label=0x1234567890abcdef/0xffffffffffffffff)',
  'in_port(1),eth(),eth_type(0x0800),ipv4(src=10.52.0.0/255.255.0.0,frag=no) ct(commit)',
  'in_port(1),eth(),eth_type(0x86dd),ipv6(src=fd00:53::/ffff:ffff::,frag=no) ct(commit,zone=9)',
];

const SYSCTLS = ['/proc/sys/net/netfilter/nf_conntrack_acct', '/proc/sys/net/netfilter/nf_conntrack_timestamp'];
const saved = new Map<string, string>();
let conn: Connection;
let tap: FrameTap;

/** Sends the frames and waits until every connection is in the table. */
async function populate(): Promise<void> {
  await tap.send(FRAMES);
  for (let i = 0; i < 200; i++) {
    if ((await dumpConntrack(conn)).length >= CONNECTIONS) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`the conntrack table did not reach ${CONNECTIONS} entries: ${JSON.stringify((await dumpConntrack(conn)).length)}`);
}

beforeAll(async () => {
  requireOvsModule();
  if (!existsSync('/sys/module/nf_conntrack_netlink')) throw new Error('nf_conntrack_netlink is not loaded (the test VM loads it)');
  for (const p of SYSCTLS) {
    saved.set(p, readFileSync(p, 'utf8'));
    writeFileSync(p, '1');
  }
  conn = openConntrack();
  await flushConntrack(conn);
  expect(theirs('add-dp', DP).rc).toBe(0);
  await createVethPair({ name: A, peer: B, up: true });
  quiet(A);
  quiet(B);
  expect(theirs('add-if', DP, A).rc).toBe(0);
  const file = join(tmpdir(), `${DP}.flows`);
  writeFileSync(file, FLOWS.join('\n') + '\n');
  const added = theirs('add-flows', DP, file);
  expect(added.err).toBe('');
  tap = new FrameTap(B);
  await populate();
});

afterAll(async () => {
  tap?.close();
  theirs('del-dp', DP);
  await withRoute((c) => deleteLink(c, A)).catch(() => undefined);
  if (conn) await flushConntrack(conn).catch(() => undefined);
  conn?.close();
  for (const [p, v] of saved) writeFileSync(p, v);
});

describe('dump-conntrack: ovsnl and ovs-dpctl 3.1 on the same state', () => {
  it('the state holds what the flows committed (sanity of the scenario)', async () => {
    const r = await ours((io) => dumpConntrackCommand([DP], {}, io));
    const text = r.out;
    expect(lines(text)).toHaveLength(CONNECTIONS);
    expect(text).toContain('udp,orig=(src=10.50.0.1,dst=10.50.0.2,sport=1024,dport=9999),reply=(src=10.50.0.2,dst=10.50.0.1,sport=9999,dport=1024),zone=5\n');
    expect(text).toContain('zone=7,mark=42,labels=0x1234567890abcdef\n');
    expect(text).toContain('tcp,orig=(src=10.52.0.1,dst=10.52.0.2,sport=40000,dport=80),reply=(src=10.52.0.2,dst=10.52.0.1,sport=80,dport=40000),protoinfo=(state=SYN_SENT)\n');
    expect(text).toContain('icmp,orig=(src=10.52.0.1,dst=10.52.0.2,id=4660,type=8,code=0),reply=(src=10.52.0.2,dst=10.52.0.1,id=4660,type=0,code=0)\n');
    expect(text).toContain('icmpv6,orig=(src=fd00:53::1,dst=fd00:53::2,id=7,type=128,code=0),reply=(src=fd00:53::2,dst=fd00:53::1,id=7,type=129,code=0),zone=9\n');
  });

  const variants: [string[], string[]][] = [
    [[], []],
    [['-m'], []],
    [['-s'], []],
    [['-m', '-s'], []],
    [[], ['zone=5']],
    [[], ['zone=7']],
    [[], ['zone=0']],
    [['-m', '-s'], ['zone=9']],
    [['-m'], ['zone=1234']],
  ];
  for (const [flags, extra] of variants) {
    it(`dump-conntrack ${[...flags, 'DP', ...extra].join(' ')}`, async () => {
      const t = theirs(...flags, 'dump-conntrack', DP, ...extra);
      const o = await ours((io) => dumpConntrackCommand([DP, ...extra], { more: flags.includes('-m'), statistics: flags.includes('-s') }, io));
      expect(o.rc).toBe(t.rc);
      expect(o.err).toBe(t.err);
      if (flags.includes('-s')) {
        expect(o.out).toMatch(/,packets=\d+,bytes=\d+/);
        expect(o.out).toMatch(/,start=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}/);
        expect(normTimeout(o.out)).toBe(normTimeout(t.out));
      } else {
        expect(o.out).toBe(t.out);
      }
      if (flags.includes('-m')) expect(o.out === '' || /,id=\d+/.test(o.out)).toBe(true);
    });
  }

  it('without a datapath argument, and with one that does not exist', async () => {
    const dps = theirs('dump-dps').out;
    const t = theirs('dump-conntrack');
    const o = await ours((io) => dumpConntrackCommand([], {}, io));
    expect(o).toEqual(t);
    if (dps.trim().split('\n').length === 1) expect(o.rc).toBe(0);
    expect(await ours((io) => dumpConntrackCommand(['nosuchdp', 'zone=5'], {}, io))).toEqual(theirs('dump-conntrack', 'nosuchdp', 'zone=5'));
  });

  it('the library agrees with the kernel counter', async () => {
    const { entries } = await conntrackCount(conn);
    expect(entries).toBe((await dumpConntrack(conn)).length);
    expect(entries).toBe(Number(readFileSync('/proc/sys/net/netfilter/nf_conntrack_count', 'utf8')));
  });

  it('through commander, with -m and -s before or after the arguments', async () => {
    const program = new Command('ovsnl').exitOverride();
    let status = 0;
    registerConntrack(program, async (fn) => {
      try {
        await fn();
      } catch {
        status = 1;
      }
    });
    let out = '';
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((s: string) => {
      out += s;
      return true;
    }) as typeof process.stdout.write;
    try {
      await program.parseAsync(['node', 'ovsnl', 'dump-conntrack', DP, '-m', 'zone=5']);
      await program.parseAsync(['node', 'ovsnl', 'dump-conntrack', '-s', DP, 'zone=7']);
    } finally {
      process.stdout.write = write;
    }
    expect(status).toBe(0);
    expect(normTimeout(out)).toBe(theirs('-m', 'dump-conntrack', DP, 'zone=5').out + normTimeout(theirs('-s', 'dump-conntrack', DP, 'zone=7').out));
  });
});

describe('ct-stats-show', () => {
  const variants: [string[], string[]][] = [
    [[], []],
    [[], ['verbose']],
    [[], ['zone=5', 'verbose']],
    [[], ['verbose', 'zone=0']],
    [['-m'], ['zone=9']],
    [[], ['zone=4321']],
  ];
  for (const [flags, extra] of variants) {
    it(`ct-stats-show ${[...flags, 'DP', ...extra].join(' ')}`, async () => {
      const t = theirs(...flags, 'ct-stats-show', DP, ...extra);
      const o = await ours((io) => ctStatsShowCommand([DP, ...extra], { more: flags.includes('-m') }, io));
      expect(o).toEqual(t);
    });
  }

  it('counts what the dump holds (ICMPv6 only in the total, as in OVS 3.1)', async () => {
    const o = await ours((io) => ctStatsShowCommand([DP, 'verbose'], {}, io));
    expect(o.out).toBe('Connections Stats:\n    Total: 11\n  TCP: 1\n    Conn per TCP states:\n\t  [SYN_SENT]=1\n  UDP: 8\n  ICMP: 1\n');
  });
});

describe('flush-conntrack: the same flushes leave the same table', () => {
  const FIVE = 'ct_nw_src=10.50.0.1,ct_nw_dst=10.50.0.2,ct_nw_proto=17,ct_tp_src=1024,ct_tp_dst=9999';
  const cases: { name: string; theirs: string[]; ours: string[]; left: number }[] = [
    { name: 'a zone (ovsnl with the datapath named, which 3.1 cannot do)', theirs: ['zone=7'], ours: [DP, 'zone=7'], left: 9 },
    { name: 'a zone without the datapath', theirs: ['zone=5'], ours: ['zone=5'], left: 7 },
    { name: 'a five-tuple in a zone (deleted directly)', theirs: ['zone=5', FIVE], ours: [DP, 'zone=5', FIVE], left: 10 },
    { name: 'a partial tuple in a zone (dump and match)', theirs: ['zone=5', 'ct_nw_src=10.50.0.1,ct_nw_proto=17,ct_tp_src=1025'], ours: ['zone=5', 'ct_nw_src=10.50.0.1,ct_nw_proto=17,ct_tp_src=1025'], left: 10 },
    // OVS compares ICMP id, type and code on both sides even when a side was
    // left out (as zeros), so an ICMP reply tuple alone matches nothing...
    { name: 'a reply tuple only, ICMP (matches nothing, as in 3.1)', theirs: ['', 'ct_nw_src=10.52.0.2,ct_nw_proto=1,icmp_id=4660,icmp_type=0,icmp_code=0'], ours: [DP, '', 'ct_nw_src=10.52.0.2,ct_nw_proto=1,icmp_id=4660,icmp_type=0,icmp_code=0'], left: 11 },
    // ...and needs both sides' ICMP fields.
    {
      name: 'partial ICMP tuples on both sides',
      theirs: ['ct_nw_src=10.52.0.1,ct_nw_proto=1,icmp_id=4660,icmp_type=8,icmp_code=0', 'ct_nw_src=10.52.0.2,icmp_id=4660,icmp_type=0,icmp_code=0'],
      ours: [DP, 'ct_nw_src=10.52.0.1,ct_nw_proto=1,icmp_id=4660,icmp_type=8,icmp_code=0', 'ct_nw_src=10.52.0.2,icmp_id=4660,icmp_type=0,icmp_code=0'],
      left: 10,
    },
    { name: 'an IPv6 partial tuple, any zone', theirs: ['ct_ipv6_src=fd00:53::1,ct_nw_proto=17'], ours: ['ct_ipv6_src=fd00:53::1,ct_nw_proto=17'], left: 10 },
    { name: 'a TCP five-tuple in zone 0', theirs: ['ct_nw_src=10.52.0.1,ct_nw_dst=10.52.0.2,ct_nw_proto=6,ct_tp_src=40000,ct_tp_dst=80'], ours: ['ct_nw_src=10.52.0.1,ct_nw_dst=10.52.0.2,ct_nw_proto=6,ct_tp_src=40000,ct_tp_dst=80'], left: 10 },
    { name: 'everything', theirs: [], ours: [DP], left: 0 },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      await populate();
      const t = theirs('flush-conntrack', ...c.theirs);
      const afterTheirs = theirs('dump-conntrack', DP).out;
      await populate();
      const o = await ours((io) => flushConntrackCommand(c.ours, io));
      const afterOurs = theirs('dump-conntrack', DP).out;
      expect(o).toEqual(t);
      expect(lines(afterOurs)).toEqual(lines(afterTheirs));
      expect(lines(afterOurs)).toHaveLength(c.left);
    });
  }

  it('ovs-dpctl 3.1 refuses `flush-conntrack DP zone=N`; ovsnl does it', async () => {
    await populate();
    expect(theirs('flush-conntrack', DP, 'zone=9')).toEqual({ out: '', err: `ovsnl: field ${DP} missing value (Invalid argument)\n`, rc: 1 });
    expect(await ours((io) => flushConntrackCommand([`system@${DP}`, 'zone=9'], io))).toEqual({ out: '', err: '', rc: 0 });
    expect(lines(theirs('dump-conntrack', DP).out)).toHaveLength(CONNECTIONS - 2);
  });

  const errors: string[][] = [
    ['zone=abc'],
    ['ct_nw_src=10.0.0.1,bogus=1'],
    ['ct_nw_src=1.2.3'],
    ['ct_tp_src=5'],
    ['ct_nw_src=10.0.0.1', 'ct_ipv6_src=::1'],
    ['ct_nw_proto=17,icmp_type=1'],
    ['ct_nw_src=10.99.0.1,ct_nw_dst=10.99.0.2,ct_nw_proto=17,ct_tp_src=1,ct_tp_dst=2'],
    ['a', 'b', 'c', 'd', 'e'],
  ];
  for (const args of errors) {
    it(`fails as ovs-dpctl does: flush-conntrack ${args.map((a) => a || "''").join(' ')}`, async () => {
      const t = theirs('flush-conntrack', ...args);
      const o = await ours((io) => flushConntrackCommand(args, io));
      expect(o).toEqual(t);
      expect(o.rc).toBe(1);
    });
  }

  it('an argument left after the tuples is refused (3.1 goes on to look for a datapath instead)', async () => {
    const args = ['zone=3', 'ct_nw_src=10.0.0.1', 'ct_nw_dst=10.0.0.2', 'extra'];
    expect(theirs('flush-conntrack', ...args)).toEqual({
      out: '',
      err: 'ovsnl: datapath not found (Invalid argument)\novsnl: Cannot open dpif (Invalid argument)\n',
      rc: 1,
    });
    expect(await ours((io) => flushConntrackCommand(args, io))).toEqual({ out: '', err: 'ovsnl: invalid arguments (Invalid argument)\n', rc: 1 });
  });
});

describe('the userspace-only conntrack commands answer as ovs-dpctl does for the kernel datapath', () => {
  const cases: string[][] = [
    ['ct-bkts', DP],
    ['ct-bkts', DP, 'gt=3'],
    ['ct-get-maxconns', DP],
    ['ct-get-nconns', DP],
    ['ct-set-maxconns', DP, '10'],
    ['ct-set-maxconns', DP, 'abc'],
    ['ct-enable-tcp-seq-chk', DP],
    ['ct-disable-tcp-seq-chk', DP],
    ['ct-get-tcp-seq-chk', DP],
    ['ipf-set-enabled', DP, 'v4'],
    ['ipf-set-enabled', DP, 'x'],
    ['ipf-set-disabled', DP, 'v6'],
    ['ipf-set-min-frag', DP, 'v4', '1000'],
    ['ipf-set-min-frag', DP, 'v4', 'abc'],
    ['ipf-set-min-frag', DP, 'v5', '1000'],
    ['ipf-set-max-nfrags', DP, '100'],
    ['ipf-set-max-nfrags', DP, 'x'],
    ['ipf-get-status', DP],
    ['ipf-get-status', 'nosuchdp'],
    ['ct-get-nconns', DP, 'extra'],
  ];
  for (const [cmd, ...args] of cases) {
    it(`${cmd} ${args.join(' ')}`, async () => {
      const t = theirs(cmd, ...args);
      const o = await ours((io) => (cmd === 'ct-bkts' ? ctBktsCommand(args, io) : userspaceOnlyCommand(cmd, args, io)));
      expect(o).toEqual(t);
    });
  }
});
