// The mask a flow put without one comes back with: the module builds it by
// writing 0xff into every byte of the key's attributes, then parses that as a
// mask, so each field is all ones at the width the module stores it (the IPv6
// label's 32 bits, ct_state's 8 supported bits). dump-flows -m and get-flow
// print that mask; the fallback must give the same one.
//
// Compared: the mask fields of the attributes the key was sent with. Not
// compared: the metadata attributes the module adds to every mask it returns
// (recirc_id, dp_hash, priority, skb_mark, ct_*; zeros, N1 in
// test/kernel/ovs-flow-keys.test.ts) and the tunnel nest, which the fallback
// does not add.
import { describe, expect, it } from 'vitest';
import { decodeKey } from '../../src/ovs/key-codec.js';
import type { FlowKey } from '../../src/ovs/keys.js';
import { encodeActionBytes, encodeKeyBytes } from '../../src/switch/handler.js';
import { useSides, type Side } from './harness.js';

const ETH = { src: '02:84:00:00:00:01', dst: '02:84:00:00:00:02' };

const CASES: { name: string; key: Omit<FlowKey, 'inPort'> }[] = [
  {
    name: 'IPv6 UDP with a flow label',
    key: { ethernet: ETH, ethertype: 0x86dd, ipv6: { src: '2001:db8::1', dst: '2001:db8::2', label: 0x12345, proto: 17, tclass: 0, hlimit: 64, frag: 0 }, udp: { src: 1, dst: 2 } },
  },
  {
    name: 'IPv4 TCP with tcp_flags and ct_state',
    key: { ctState: 0, ethernet: ETH, ethertype: 0x0800, ipv4: { src: '10.84.0.1', dst: '10.84.0.2', proto: 6, tos: 0, ttl: 64, frag: 0 }, tcp: { src: 3, dst: 4 }, tcpFlags: 0 },
  },
  {
    name: 'NSH, MD type 1',
    key: { ethernet: ETH, ethertype: 0x894f, nsh: { base: { flags: 1, ttl: 9, mdtype: 1, np: 3, spi: 0x84, si: 7 }, md1: [1, 2, 3, 4] } },
  },
  {
    name: 'NSH, MD type 2 (base header only)',
    key: { ethernet: ETH, ethertype: 0x894f, nsh: { base: { flags: 0, ttl: 63, mdtype: 2, np: 1, spi: 0x85, si: 255 } } },
  },
  {
    name: 'an L3 packet (no eth()): IPv4 UDP',
    key: { ethertype: 0x0800, ipv4: { src: '10.84.0.1', dst: '10.84.0.2', proto: 17, tos: 0, ttl: 64, frag: 0 }, udp: { src: 5, dst: 6 } },
  },
  {
    name: 'ARP request',
    key: { ethernet: ETH, ethertype: 0x0806, arp: { sip: '10.84.0.1', tip: '10.84.0.2', op: 1, sha: ETH.src, tha: '00:00:00:00:00:00' } },
  },
];

/** The dumped mask's fields named by the key that was sent. */
async function dumpedMask(s: Side, key: FlowKey): Promise<Record<string, unknown>> {
  await s.dpif.putFlow(s.dp, { key: encodeKeyBytes({ ...key, inPort: s.inPort }), actions: encodeActionBytes([]), mode: 'create' });
  const masks: Record<string, unknown>[] = [];
  for await (const f of s.dpif.dumpFlows(s.dp)) {
    const k = decodeKey(f.key!);
    if (JSON.stringify(k.ethertype) !== JSON.stringify(key.ethertype)) continue;
    const m = decodeKey(f.mask!) as Record<string, unknown>;
    masks.push(Object.fromEntries(Object.keys(key).map((name) => [name, m[name]])));
  }
  await s.dpif.flushFlows(s.dp);
  expect(masks).toHaveLength(1);
  return masks[0];
}

const big = (_: string, v: unknown): unknown => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v);

describe('exact flows: the dumped mask is the module\'s', () => {
  const sides = useSides('dfd');

  for (const c of CASES) {
    it(c.name, async () => {
      const k = await dumpedMask(sides[0], c.key);
      const f = await dumpedMask(sides[1], c.key);
      expect(JSON.stringify(f, big)).toBe(JSON.stringify(k, big));
    });
  }
});
