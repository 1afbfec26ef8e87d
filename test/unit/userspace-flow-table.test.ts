// The fallback flow table: masked lookup across subtables, the exact-match
// cache, UFID and exact-key identities, removal and stats.
import { describe, expect, it } from 'vitest';
import type { FlowKey } from '../../src/ovs/keys.js';
import { buildFrame, parsePacket } from '../../src/packet/index.js';
import { exactMaskOf, FlatKey, widenMaskAsKernel, writeFlatFromKey, writeFlatFromPacket } from '../../src/userspace/flat-key.js';
import { FlowTable, hitFlow } from '../../src/userspace/flow-table.js';
import { extractKey } from '../../src/userspace/extract.js';

const E = new Uint8Array(0);

function flat(k: FlowKey, isMask = false): FlatKey {
  const f = new FlatKey();
  writeFlatFromKey(k, f, isMask);
  return f;
}

function packetKey(dst: string, inPort: number): FlatKey {
  const k = new FlatKey();
  const frame = buildFrame({ src: '00:00:00:00:00:01', dst: '00:00:00:00:00:02', l3: { kind: 'ipv4', src: '10.0.0.1', dst }, l4: { kind: 'udp', src: 1, dst: 2 } });
  writeFlatFromPacket(parsePacket(frame), { inPort }, k);
  return k;
}

const put = (t: FlowTable, key: FlowKey, mask: FlowKey, ufid?: Uint8Array) =>
  t.insert({ key: flat(key), mask: flat(mask, true), ufid, keyAttrs: E, maskAttrs: E, actionsAttrs: E, actions: [] });

describe('userspace flow table', () => {
  it('matches packets through per-mask subtables and its cache', () => {
    const t = new FlowTable();
    const byPort = put(t, { inPort: 1, ethertype: 0x0800 }, { inPort: 0xffffffff, ethertype: 0xffff });
    const byDst = put(
      t,
      { inPort: 2, ethertype: 0x0800, ipv4: { src: '0.0.0.0', dst: '10.0.0.9', proto: 0, tos: 0, ttl: 0, frag: 0 } },
      { inPort: 0xffffffff, ethertype: 0xffff, ipv4: { src: '0.0.0.0', dst: '255.255.255.255', proto: 0, tos: 0, ttl: 0, frag: 0 } },
    );
    expect(t.maskCount).toBe(2);
    expect(t.lookup(packetKey('10.0.0.2', 1))).toBe(byPort);
    expect(t.lookup(packetKey('10.0.0.9', 2))).toBe(byDst);
    expect(t.lookup(packetKey('10.0.0.8', 2))).toBeUndefined();
    expect(t.lookup(packetKey('10.0.0.2', 1))).toBe(byPort);
    expect(t.cacheHits).toBe(1);
    t.remove(byPort);
    expect(t.lookup(packetKey('10.0.0.2', 1))).toBeUndefined();
    expect(t.maskCount).toBe(1);
  });

  it('keeps tagged frames out of a megaflow whose mask does not state a tag, as the kernel does', () => {
    const t = new FlowTable();
    const ipv4 = (vlan?: { vid: number; pcp: number }) => {
      const k = new FlatKey();
      const frame = buildFrame({ src: '00:00:00:00:00:01', dst: '00:00:00:00:00:02', ...(vlan ? { vlans: [vlan] } : {}), l3: { kind: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2' }, l4: { kind: 'udp', src: 1, dst: 2 } });
      writeFlatFromPacket(parsePacket(frame), { inPort: 1 }, k);
      return k;
    };
    // A mask reading only in_port and (part of) the EtherType.
    const maskKey: FlowKey = { inPort: 0xffffffff, ethertype: 0x00ff };
    const widened = flat(maskKey, true);
    widenMaskAsKernel(maskKey, widened);
    // (With eth(): a key without it is an L3 packet's, which no frame matches.)
    const l2 = { src: '00:00:00:00:00:00', dst: '00:00:00:00:00:00' };
    const f = t.insert({ key: flat({ inPort: 1, ethernet: l2, ethertype: 0x0800 }), mask: widened, keyAttrs: E, maskAttrs: E, actionsAttrs: E, actions: [] });
    expect(t.lookup(ipv4())).toBe(f);
    expect(t.lookup(ipv4({ vid: 10, pcp: 0 }))).toBeUndefined();
    // Unwidened, the same megaflow would take the tagged frame: the rule matters.
    const loose = new FlowTable();
    loose.insert({ key: flat({ inPort: 1, ethernet: l2, ethertype: 0x0800 }), mask: flat(maskKey, true), keyAttrs: E, maskAttrs: E, actionsAttrs: E, actions: [] });
    expect(loose.lookup(ipv4({ vid: 10, pcp: 0 }))).toBeDefined();
  });

  it('matches words whose top bit is set (MAC and address bytes of 0x80 and more)', () => {
    const t = new FlowTable();
    const frame = buildFrame({ src: '02:82:00:00:01:00', dst: '02:82:ff:00:02:00', l3: { kind: 'ipv4', src: '200.0.0.1', dst: '10.0.0.2' }, l4: { kind: 'udp', src: 1, dst: 2 } });
    const key = extractKey(parsePacket(frame), { inPort: 4 });
    const flow = put(t, key, exactMaskOf(key));
    const k = new FlatKey();
    writeFlatFromPacket(parsePacket(frame), { inPort: 4 }, k);
    expect(t.lookup(k)).toBe(flow);
  });

  it('finds UFID flows by UFID and the others by exact key', () => {
    const t = new FlowTable();
    const key: FlowKey = { inPort: 3, ethertype: 0x0806 };
    const mask = exactMaskOf(key);
    const u = new Uint8Array(16).fill(7);
    const withUfid = put(t, key, mask, u);
    expect(t.findUfid(u)).toBe(withUfid);
    expect(t.findExact(flat(key))).toBeUndefined();
    expect(t.findOverlap(flat(key), flat(mask, true))).toBe(withUfid);
    t.remove(withUfid);
    const byKey = put(t, key, mask);
    expect(t.findExact(flat(key))).toBe(byKey);
    hitFlow(byKey, 60, 0x12, 5);
    hitFlow(byKey, 40, 0x10, 6);
    expect(byKey).toMatchObject({ packets: 2, bytes: 100, used: 6, tcpFlags: 0x12 });
    t.flush();
    expect(t.size).toBe(0);
    expect(t.findExact(flat(key))).toBeUndefined();
  });
});
