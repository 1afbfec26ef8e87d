// top on the real module: flows between two network namespaces, one of
// them busy with a ping, the others idle; top must put the busy flow first
// with a rate that matches the ping's pace, as a table (stdout not a
// terminal) and as JSON, sorted by packets and by bytes.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireOvsModule } from './setup.js';
import { ovsnl, twoHosts, type TwoHosts } from './cli-helpers.js';

interface TopFlow {
  key: string;
  actions: string;
  packets: number;
  bytes: number;
  packets_per_sec: number;
  bytes_per_sec: number;
}

describe('ovsnl top', () => {
  let h: TwoHosts;
  let ping: ChildProcess | undefined;
  // The kernel wants the L4 attribute when proto is matched: icmp(), udp() (wildcarded, so dump-flows leaves them out).
  const BUSY = 'in_port(1),eth(),eth_type(0x0800),ipv4(proto=1,frag=no),icmp()';
  beforeAll(async () => {
    requireOvsModule();
    h = await twoHosts('top', 82);
    // The echo requests are dropped, so only one flow counts packets: no reply comes back to tie with it.
    for (const [key, actions] of [
      [BUSY, 'drop'],
      ['in_port(1),eth(),eth_type(0x0800),ipv4(proto=17,frag=no),udp()', '2'],
      ['in_port(2),eth(),eth_type(0x0800),ipv4(frag=no)', '1'],
    ]) {
      expect(await ovsnl(['add-flow', h.dp, key, actions])).toMatchObject({ status: 0, err: '' });
    }
    // Ten echo requests a second.
    ping = spawn('ip', ['netns', 'exec', h.ns[0], 'ping', '-n', '-q', '-i', '0.1', '-c', '3000', h.ips[1]], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 1000));
  }, 120_000);
  afterAll(() => {
    ping?.kill();
    h?.cleanup();
  });

  it('shows the busy flow first with its rate, as JSON', { timeout: 120_000 }, async () => {
    for (const sort of ['packets', 'bytes']) {
      const r = await ovsnl(['top', h.dp, '--json', '--interval', '2', '--count', '2', '--sort', sort]);
      expect(r).toMatchObject({ status: 0, err: '' });
      const tables = r.out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event: string; sort: string; interval_ms: number; flows: TopFlow[] });
      expect(tables).toHaveLength(2);
      for (const t of tables) {
        expect(t).toMatchObject({ event: 'top', sort });
        expect(t.interval_ms).toBeGreaterThanOrEqual(2000);
        expect(t.flows).toHaveLength(3);
        const [busy, ...idle] = t.flows;
        expect(busy.key).toMatch(/^in_port\(1\),eth\(\),eth_type\(0x0800\),ipv4\(proto=1,frag=no\)(,icmp\(\))?$/);
        expect(busy.actions).toBe('drop');
        // ping's pace is 10/s; a loaded emulated machine may fall behind, never ahead.
        expect(busy.packets_per_sec).toBeGreaterThan(2);
        expect(busy.packets_per_sec).toBeLessThanOrEqual(11);
        // Every echo request is a 98-byte frame.
        expect(busy.bytes_per_sec).toBeCloseTo(busy.packets_per_sec * 98, 6);
        expect(busy.bytes).toBe(busy.packets * 98);
        for (const f of idle) expect([f.packets_per_sec, f.bytes_per_sec]).toEqual([0, 0]);
      }
      // The counters grew by what the rate says.
      const [a, b] = tables.map((t) => t.flows[0]);
      expect(b.packets - a.packets).toBe(Math.round((b.packets_per_sec * tables[1].interval_ms) / 1000));
    }
  });

  it('prints one table per interval when stdout is not a terminal', { timeout: 120_000 }, async () => {
    const r = await ovsnl(['top', h.dp, '--interval', '1.5', '--count', '2']);
    expect(r).toMatchObject({ status: 0, err: '' });
    const tables = r.out.split('\n\n');
    expect(tables).toHaveLength(2);
    for (const t of tables) {
      const lines = t.split('\n').filter(Boolean);
      expect(lines[0]).toMatch(new RegExp(`^system@${h.dp}: 3 flows, over 1\\.\\d\\d s, by packets/s, at \\d\\d:\\d\\d:\\d\\d UTC$`));
      expect(lines[1]).toMatch(/^\s+PKTS\/S\s+BYTES\/S\s+PACKETS\s+BYTES\s+FLOW$/);
      expect(lines).toHaveLength(5);
      const [pps, bps] = lines[2].trim().split(/\s+/).map(Number);
      expect(pps).toBeGreaterThan(2);
      // Both printed to 0.1: 98 bytes a packet, within the rounding of the packet rate.
      expect(Math.abs(bps - pps * 98)).toBeLessThanOrEqual(98 * 0.05 + 0.05);
      expect(lines[2]).toMatch(/ in_port\(1\),eth\(\),eth_type\(0x0800\),ipv4\(proto=1,frag=no\)(,icmp\(\))?, actions:drop$/);
      for (const l of lines.slice(3)) expect(l).toMatch(/^\s+0\.0\s+0\.0\s/);
    }
  });

  it('refuses bad options with one line', async () => {
    expect(await ovsnl(['top', h.dp, '--sort', 'flows', '--count', '1'])).toMatchObject({ status: 1, err: "ovsnl: --sort: 'flows' is not packets or bytes\n" });
    expect(await ovsnl(['top', h.dp, '--interval', '0'])).toMatchObject({ status: 1, err: "ovsnl: --interval: '0' is not a number of seconds (above 0, at most 86400)\n" });
  });
});
