// Tunnel metadata in the fallback's keys: a packet that came in by a tunnel
// gets the key the kernel gives it (tunnel between priority and in_port),
// its flat key is the one that key writes, and flows match on tunnel fields
// under the kernel's mask rules.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FlowKey } from '../../src/ovs/keys.js';
import { buildFrame, parsePacket } from '../../src/packet/index.js';
import { TUN_F_CSUM, TUN_F_DF, TUN_F_GENEVE_OPT, TUN_F_KEY, TUN_F_OAM, TUN_F_VXLAN_OPT, vxlanOptsBytes, type TunnelMeta } from '../../src/packet/tunnel.js';
import { extractKey } from '../../src/userspace/extract.js';
import { exactMaskOf, FlatKey, widenMaskAsKernel, writeFlatFromKey, writeFlatFromPacket, FLAT_TUN_OPTS } from '../../src/userspace/flat-key.js';
import { FlowTable } from '../../src/userspace/flow-table.js';
import { tunnelKeyOf, tunnelMetaOf } from '../../src/userspace/tunnel-key.js';

const E = new Uint8Array(0);
const frame = buildFrame({ src: '00:00:00:00:00:01', dst: '00:00:00:00:00:02', l3: { kind: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2' }, l4: { kind: 'udp', src: 1, dst: 2 } });

const tunnelMeta = (): fc.Arbitrary<TunnelMeta> =>
  fc.record({
    idHi: fc.constant(0),
    idLo: fc.integer({ min: 0, max: 0xffffff }),
    src: fc.integer({ min: 1, max: 0xffffffff }),
    dst: fc.integer({ min: 1, max: 0xffffffff }),
    tos: fc.integer({ min: 0, max: 255 }),
    ttl: fc.integer({ min: 0, max: 255 }),
    flags: fc.constantFrom(TUN_F_KEY, TUN_F_KEY | TUN_F_CSUM, TUN_F_KEY | TUN_F_OAM, TUN_F_KEY | TUN_F_GENEVE_OPT, TUN_F_KEY | TUN_F_VXLAN_OPT),
    tpSrc: fc.integer({ min: 1, max: 0xffff }),
    tpDst: fc.integer({ min: 1, max: 0xffff }),
    opts: fc.integer({ min: 1, max: FLAT_TUN_OPTS / 4 }).chain((n) => fc.uint8Array({ minLength: n * 4, maxLength: n * 4 })),
    gbp: fc.integer({ min: 0, max: 0xffffffff }),
  }).map(({ gbp, ...t }) => (t.flags & TUN_F_GENEVE_OPT ? t : t.flags & TUN_F_VXLAN_OPT ? { ...t, opts: vxlanOptsBytes(gbp) } : { ...t, opts: new Uint8Array(0) }));

function flatOfPacket(t: TunnelMeta | undefined, inPort = 1): FlatKey {
  const k = new FlatKey();
  writeFlatFromPacket(parsePacket(frame), { inPort, tunnel: t }, k);
  return k;
}
function flat(key: FlowKey, isMask = false): FlatKey {
  const k = new FlatKey();
  writeFlatFromKey(key, k, isMask);
  return k;
}

describe('tunnel keys', () => {
  it('a tunnelled packet is keyed with its tunnel right before in_port', () => {
    const t: TunnelMeta = { idHi: 0, idLo: 42, src: 0x0a010002, dst: 0x0a010001, tos: 0, ttl: 64, flags: TUN_F_KEY, tpSrc: 50000, tpDst: 4789, opts: E };
    const k = extractKey(parsePacket(frame), { inPort: 3, tunnel: t });
    expect(Object.keys(k).slice(0, 5)).toEqual(['recircId', 'dpHash', 'priority', 'tunnel', 'inPort']);
    // What the kernel reports for a VXLAN packet: no tos when 0, no DF on receive.
    expect(k.tunnel).toEqual({ id: 42n, ipv4Src: '10.1.0.2', ipv4Dst: '10.1.0.1', ttl: 64, tpSrc: 50000, tpDst: 4789 });
    expect(extractKey(parsePacket(frame), { inPort: 3 }).tunnel).toBeUndefined();
  });

  it('the packet and its key write the same flat key, and metadata survives key and back', () => {
    fc.assert(
      fc.property(tunnelMeta(), (t) => {
        const key = extractKey(parsePacket(frame), { inPort: 1, tunnel: t });
        expect(flatOfPacket(t).words).toEqual(flat(key).words);
        const back = tunnelMetaOf(key.tunnel!);
        expect(back).toEqual(t);
        expect(tunnelKeyOf(back)).toEqual(key.tunnel);
      }),
    );
  });

  it('refuses options longer than the flat key holds, and IPv6 tunnels', () => {
    expect(() => flat({ tunnel: { id: 1n, ipv4Dst: '1.1.1.1', ttl: 1, geneveOpts: new Uint8Array(FLAT_TUN_OPTS + 4) } })).toThrow(/geneve options longer/);
    expect(() => flat({ tunnel: { id: 1n, ipv6Dst: '::1', ttl: 1 } })).toThrow(/tunnel ipv6Dst/);
  });
});

describe('matching on tunnels', () => {
  const t = (idLo: number, over: Partial<TunnelMeta> = {}): TunnelMeta => ({ idHi: 0, idLo, src: 0x0a010002, dst: 0x0a010001, tos: 0, ttl: 64, flags: TUN_F_KEY, tpSrc: 50000, tpDst: 4789, opts: E, ...over });
  const insert = (table: FlowTable, key: FlowKey, mask?: FlowKey) => {
    const m = flat(mask ?? exactMaskOf(key), true);
    widenMaskAsKernel(mask ?? exactMaskOf(key), m, key);
    return table.insert({ key: flat(key), mask: m, keyAttrs: E, maskAttrs: E, actionsAttrs: E, actions: [] });
  };

  it('a megaflow on tun_id takes that VNI only; one that leaves the tunnel out takes all', () => {
    const table = new FlowTable();
    const byId = insert(table, { inPort: 1, tunnel: { id: 7n, ttl: 0 } }, { inPort: 0xffffffff, tunnel: { id: 0xffffffffffffffffn } });
    expect(table.lookup(flatOfPacket(t(7)))).toBe(byId);
    expect(table.lookup(flatOfPacket(t(8)))).toBeUndefined();
    expect(table.lookup(flatOfPacket(undefined))).toBeUndefined();
    const any = insert(table, { inPort: 2 }, { inPort: 0xffffffff });
    expect(table.lookup(flatOfPacket(t(8), 2))).toBe(any);
    expect(table.lookup(flatOfPacket(undefined, 2))).toBe(any);
  });

  it('a key with a tunnel and a mask without one matches the tunnel in full (ovs_nla_get_match)', () => {
    const table = new FlowTable();
    const key: FlowKey = { inPort: 1, tunnel: tunnelKeyOf(t(7)) };
    const f = insert(table, key, { inPort: 0xffffffff });
    expect(table.lookup(flatOfPacket(t(7)))).toBe(f);
    expect(table.lookup(flatOfPacket(t(7, { ttl: 63 })))).toBeUndefined();
    expect(table.lookup(flatOfPacket(t(7, { flags: TUN_F_KEY | TUN_F_CSUM })))).toBeUndefined();
    expect(table.lookup(flatOfPacket(undefined))).toBeUndefined();
  });

  it('vxlan group policy: a flow on it takes that policy only; one without options takes any vxlan packet', () => {
    const table = new FlowTable();
    // As a VXLAN port receives them: 4 bytes of metadata always, the flag only with a policy.
    const plain = t(5, { opts: vxlanOptsBytes(0) });
    const policy = (gbp: number) => t(5, { flags: TUN_F_KEY | TUN_F_VXLAN_OPT, opts: vxlanOptsBytes(gbp) });
    const byPolicy = insert(table, { inPort: 1, tunnel: { id: 5n, ttl: 0, vxlanOpts: { gbp: 0x1234 } } }, { inPort: 0xffffffff, tunnel: { id: 0xffffffffffffffffn, vxlanOpts: { gbp: 0xffff } } });
    expect(table.lookup(flatOfPacket(policy(0x1234)))).toBe(byPolicy);
    // Only the id is masked: the don't-learn bit is not looked at.
    expect(table.lookup(flatOfPacket(policy(0x401234)))).toBe(byPolicy);
    expect(table.lookup(flatOfPacket(policy(0x1235)))).toBeUndefined();
    // The flag is matched (the mask states the options): metadata of zero without it is no policy.
    const zero = insert(table, { inPort: 2, tunnel: { id: 5n, ttl: 0, vxlanOpts: { gbp: 0 } } }, { inPort: 0xffffffff, tunnel: { id: 0xffffffffffffffffn, vxlanOpts: { gbp: 0xffffffff } } });
    expect(table.lookup(flatOfPacket(plain, 2))).toBeUndefined();
    expect(table.lookup(flatOfPacket(policy(0), 2))).toBe(zero);
    const any = insert(table, { inPort: 3, tunnel: { id: 5n, ttl: 0 } }, { inPort: 0xffffffff, tunnel: { id: 0xffffffffffffffffn } });
    expect(table.lookup(flatOfPacket(plain, 3))).toBe(any);
    expect(table.lookup(flatOfPacket(policy(0x99), 3))).toBe(any);
  });

  it('an exact flow (no mask) with a tunnel needs every field; options count by length', () => {
    const table = new FlowTable();
    const opts = new Uint8Array([1, 2, 0x80, 1, 9, 9, 9, 9]);
    const key: FlowKey = { inPort: 1, tunnel: tunnelKeyOf(t(9, { flags: TUN_F_KEY | TUN_F_GENEVE_OPT | TUN_F_DF, opts })) };
    const f = insert(table, key);
    expect(table.lookup(flatOfPacket(t(9, { flags: TUN_F_KEY | TUN_F_GENEVE_OPT | TUN_F_DF, opts })))).toBe(f);
    expect(table.lookup(flatOfPacket(t(9, { flags: TUN_F_KEY | TUN_F_GENEVE_OPT | TUN_F_DF, opts: new Uint8Array([...opts, 0, 0, 0, 0]) })))).toBeUndefined();
    expect(table.lookup(flatOfPacket(t(9, { flags: TUN_F_KEY | TUN_F_DF })))).toBeUndefined();
  });
});
