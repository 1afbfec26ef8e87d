// upcall-monitor on the real module: a datapath with no flows between two
// network namespaces, ping across, and the misses printed with the ping's
// fields; the pcap file read back by tshark as ICMP; ACTION upcalls from a
// userspace() action with their userdata; and, as a process, SIGINT ending
// it with its counters and the datapath's dispatch put back as it was.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireOvsModule } from './setup.js';
import { ovsnl, twoHosts, type TwoHosts } from './cli-helpers.js';

const BIN = fileURLToPath(new URL('../../bin/ovsnl.js', import.meta.url));

/** ping from the first namespace to the second, in the background, until killed. */
function pinger(h: TwoHosts, interval = '0.2'): ChildProcess {
  return spawn('ip', ['netns', 'exec', h.ns[0], 'ping', '-n', '-q', '-i', interval, '-c', '600', h.ips[1]], { stdio: 'ignore' });
}

const fields = (h: TwoHosts, icmpType: number): RegExp =>
  new RegExp(
    `in_port\\(1\\),.*eth\\(src=${h.macs[0]},dst=${h.macs[1]}\\),eth_type\\(0x0800\\),` +
      `ipv4\\(src=${h.ips[0].replace(/\./g, '\\.')},dst=${h.ips[1].replace(/\./g, '\\.')},proto=1,tos=0,ttl=64,frag=no\\),icmp\\(type=${icmpType},code=0\\)`,
  );

describe('ovsnl upcall-monitor', () => {
  let h: TwoHosts;
  let dir: string;
  beforeAll(async () => {
    requireOvsModule();
    dir = mkdtempSync(join(tmpdir(), 'ovsnl-monitor-'));
    h = await twoHosts('mon', 81);
  }, 120_000);
  afterAll(() => {
    h?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('prints MISS upcalls of a ping and writes them to a pcap tshark decodes as ICMP', { timeout: 120_000 }, async () => {
    const pcap = join(dir, 'miss.pcap');
    const monitor = ovsnl(['upcall-monitor', h.dp, '--count', '3', '--pcap', pcap]);
    const ping = pinger(h);
    const r = await monitor.finally(() => ping.kill());
    expect(r.status).toBe(0);
    const lines = r.out.split('\n').filter(Boolean);
    expect(lines).toHaveLength(3);
    // No flows: every echo request misses, and nothing answers it.
    for (const l of lines) {
      expect(l).toMatch(/^miss: recirc_id\(0\),/);
      expect(l).toMatch(fields(h, 8));
      // The skb hash comes along when the kernel computed one.
      expect(l).toMatch(/ len=98( hash=0x[0-9a-f]+)?$/);
    }
    expect(r.err).toMatch(/^upcall-monitor: 3 upcalls printed \(miss 3, action 0\), \d+ received, lost: \d+ ENOBUFS reports, \d+ by the datapath's count; malformed 0, truncated 0\n$/);

    const t = spawnSync('tshark', ['-r', pcap, '-T', 'fields', '-E', 'separator=,', '-e', 'frame.len', '-e', 'eth.src', '-e', 'eth.dst', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'icmp.type', '-e', '_ws.col.Protocol'], {
      encoding: 'utf8',
    });
    expect(t.status, t.stderr).toBe(0);
    const frames = t.stdout.split('\n').filter(Boolean);
    expect(frames).toEqual(Array(3).fill(`98,${h.macs[0]},${h.macs[1]},${h.ips[0]},${h.ips[1]},8,ICMP`));
    // The frames are the upcalls' packets, byte for byte (tshark's hex of the first one).
    const first = spawnSync('tshark', ['-r', pcap, '-c', '1', '-T', 'fields', '-e', 'frame.time_epoch'], { encoding: 'utf8' });
    expect(Math.abs(Number(first.stdout.trim()) * 1000 - Date.now())).toBeLessThan(120_000);
    expect(readFileSync(pcap).length).toBe(24 + 3 * (16 + 98));
  });

  it('prints ACTION upcalls with their userdata, as JSON lines too', { timeout: 120_000 }, async () => {
    // The kernel refuses pid 0; under per-CPU dispatch (6.1 has it, and the
    // monitor asks for it) it ignores the pid and uses the CPU's handler.
    // OVS pads userdata to at least 8 bytes, as the kernel then delivers it.
    const add = await ovsnl(['add-flow', h.dp, 'in_port(1),eth(),eth_type(0x0800),ipv4(proto=1,frag=no),icmp()', 'userspace(pid=1,userdata(0a0b0c0d)),2']);
    expect(add).toMatchObject({ status: 0, err: '' });
    // The replies go back by a flow too: they must not show up as misses.
    expect(await ovsnl(['add-flow', h.dp, 'in_port(2),eth(),eth_type(0x0800),ipv4(frag=no)', '1'])).toMatchObject({ status: 0, err: '' });
    try {
      const monitor = ovsnl(['upcall-monitor', h.dp, '--json', '--count', '2']);
      const ping = pinger(h);
      const r = await monitor.finally(() => ping.kill());
      expect(r.status).toBe(0);
      const objs = r.out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(objs).toHaveLength(3);
      for (const o of objs.slice(0, 2)) {
        expect(o).toMatchObject({ event: 'upcall', kind: 'action', datapath: `system@${h.dp}`, packet_len: 98, userdata: '0a0b0c0d00000000', actions: null });
        expect(o.key).toMatch(fields(h, 8));
        // The packet itself: Ethernet to the second namespace's MAC, IPv4, ICMP echo request.
        expect((o.packet as string).slice(0, 28)).toBe(h.macs[1].replace(/:/g, '') + h.macs[0].replace(/:/g, '') + '0800');
        expect((o.packet as string).slice(68, 70)).toBe('08');
      }
      expect(objs[2]).toMatchObject({ event: 'end', printed: 2, miss: 0, action: 2, malformed: 0, truncated: 0 });
      // The same upcall as text.
      const monitorText = ovsnl(['upcall-monitor', h.dp, '--count', '1']);
      const ping2 = pinger(h);
      const t = await monitorText.finally(() => ping2.kill());
      expect(t.out).toMatch(/^action: recirc_id\(0\),.* len=98( hash=0x[0-9a-f]+)? userdata=0a0b0c0d00000000\n$/);
    } finally {
      await ovsnl(['del-flows', h.dp]);
    }
  });

  it('ends on SIGINT with its counters, and gives the datapath its dispatch back', { timeout: 180_000 }, async () => {
    const before = await ovsnl(['--json', 'show', h.dp]);
    const p = spawn(process.execPath, [BIN, 'upcall-monitor', h.dp], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));
    const ping = pinger(h);
    try {
      // Live output: lines arrive while it runs, not at exit.
      for (let i = 0; i < 1200 && out.split('\n').length < 3; i++) await new Promise((r) => setTimeout(r, 100));
      expect(out.split('\n').length).toBeGreaterThanOrEqual(3);
      p.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      ping.kill();
      p.kill('SIGKILL');
    }
    const printed = out.split('\n').filter(Boolean);
    for (const l of printed) expect(l).toMatch(fields(h, 8));
    expect(err).toMatch(new RegExp(`^upcall-monitor: ${printed.length} upcalls printed \\(miss ${printed.length}, action 0\\), \\d+ received`));
    const after = await ovsnl(['--json', 'show', h.dp]);
    const features = (s: string): unknown => (JSON.parse(s) as { user_features: unknown }[])[0].user_features;
    expect(features(after.out)).toEqual(features(before.out));
  });

  it('refuses to run under --read-only, and names a missing datapath', async () => {
    expect(await ovsnl(['--read-only', 'upcall-monitor', h.dp])).toMatchObject({ status: 1, err: "ovsnl: 'upcall-monitor' command does not work in read only mode\n" });
    expect((await ovsnl(['upcall-monitor', 'nosuchdp0', '--count', '1'])).status).not.toBe(0);
  });
});
