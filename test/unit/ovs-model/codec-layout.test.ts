// Wire layout of key and action attributes, byte for byte (annotated), and
// the checks decoders make.
import { describe, expect, it } from 'vitest';
import { AttrWriter } from '../../../src/netlink/attr.js';
import { MalformedError } from '../../../src/netlink/errors.js';
import { decodeActions, decodeKey, encodeActions, encodeKey, userspaceOnlyAttrs, withoutPacketType, type Action, type FlowKey } from '../../../src/ovs/index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

function keyHex(k: FlowKey): string {
  const w = new AttrWriter();
  encodeKey(w, k);
  return hex(w.finish());
}

function actionsHex(a: Action[]): string {
  const w = new AttrWriter();
  encodeActions(w, a);
  return hex(w.finish());
}

describe('key layout', () => {
  it('writes fixed structs with their padding and byte orders', () => {
    const k: FlowKey = {
      inPort: 1, // u32 host order
      ethernet: { src: '00:01:02:03:04:05', dst: '10:11:12:13:14:15' }, // src then dst
      ethertype: 0x0800, // be16, padded to 4
      ipv4: { src: '10.0.0.1', dst: '10.0.0.2', proto: 6, tos: 0, ttl: 64, frag: 0 },
      tcp: { src: 80, dst: 8080 }, // be16 each
      ctZone: 5, // u16 host order
    };
    expect(keyHex(k)).toBe(
      unhexStr(`
        08000300 01000000
        10000400 000102030405 101112131415
        06000600 0800 0000
        10000700 0a000001 0a000002 06 00 40 00
        08000900 0050 1f90
        06001700 0500 0000`),
    );
  });

  it('nests VLAN encap, tunnels (with the be64 id) and MPLS stacks', () => {
    const k: FlowKey = {
      ethertype: 0x8100,
      vlan: { vid: 10, pcp: 3, cfi: 1 }, // be16 TCI 0x700a
      encap: { ethertype: 0x8847, mpls: [{ label: 100, tc: 1, ttl: 64, bos: 1 }] },
      tunnel: { id: 0x1234n, ipv4Dst: '1.1.1.1', ttl: 64, dontFragment: true },
    };
    expect(keyHex(k)).toBe(
      unhexStr(`
        06000600 8100 0000
        06000500 700a 0000
        14000100 06000600 8847 0000 08001500 00064340
        24001000 0c000000 0000000000001234 08000200 01010101 05000400 40 000000 04000500`),
    );
  });

  it('keeps unknown attributes where they were', () => {
    const bytes = unhex('08000300 01000000 06002800 abcd 0000 06000600 0800 0000');
    const k = decodeKey(bytes);
    expect(Object.keys(k)).toEqual(['inPort', 'key40', 'ethertype']);
    expect(keyHex(k)).toBe(hex(bytes));
  });

  it('rejects wrong sizes and duplicates with MalformedError', () => {
    expect(() => decodeKey(unhex('07000300 010000 00'))).toThrow(MalformedError);
    expect(() => decodeKey(unhex('08000300 01000000 08000300 02000000'))).toThrow(/duplicate inPort/);
    expect(() => decodeKey(unhex('0c000700 0a000001 0a000002'))).toThrow(/ipv4 .*needs 12 bytes/);
  });

  it('tells the kernel flag IPV4_INFO_BRIDGE from OVS GTP-U options by length', () => {
    expect(decodeKey(unhex('08001000 04001000')).tunnel).toEqual({ ipv4InfoBridge: true });
    expect(decodeKey(unhex('0c001000 06001000 30ff0000')).tunnel).toEqual({ gtpuOpts: { flags: 0x30, msgtype: 0xff } });
  });

  it('refuses model values that do not fit their field', () => {
    expect(() => keyHex({ inPort: -1 })).toThrow(RangeError);
    expect(() => keyHex({ vlan: { vid: 4096, pcp: 0, cfi: 1 } })).toThrow(/vlan vid/);
    expect(() => keyHex({ ethernet: { src: 'nope', dst: '00:00:00:00:00:00' } })).toThrow(/eth src/);
  });
});

describe('action layout', () => {
  it('writes the common actions as the kernel expects them', () => {
    const a: Action[] = [
      { type: 'output', port: 2 },
      { type: 'pushVlan', tpid: 0x8100, vid: 5, pcp: 1, cfi: 1 }, // be16 tpid, be16 tci
      { type: 'set', key: { skbMark: 7 } },
      { type: 'setMasked', key: { ipv4: { src: '1.2.3.4', dst: '0.0.0.0', proto: 0, tos: 0, ttl: 0, frag: 0 } }, mask: { ipv4: { src: '255.255.255.255', dst: '0.0.0.0', proto: 0, tos: 0, ttl: 0, frag: 0 } } },
      { type: 'recirc', id: 1 },
    ];
    expect(actionsHex(a)).toBe(
      unhexStr(`
        08000100 02000000
        08000400 8100 3005
        0c000300 08000f00 07000000
        20000b00 1c000700 01020304 00000000 00000000 ffffffff 00000000 00000000
        08000700 01000000`),
    );
  });

  it('marks the psample nest with NLA_F_NESTED, as OVS does', () => {
    expect(actionsHex([{ type: 'psample', group: 12, cookie: new Uint8Array([1, 2]) }])).toBe(unhexStr('14001980 08000100 0c000000 06000200 0102 0000'));
  });

  it('nests userspace, sample, clone and check_pkt_len', () => {
    const a: Action[] = [
      { type: 'userspace', pid: 9, userdata: new Uint8Array(8), actions: true },
      { type: 'sample', probability: 0xffffffff, actions: [{ type: 'clone', actions: [] }] },
      { type: 'checkPktLen', pktLen: 1500, gt: [{ type: 'output', port: 1 }], le: [] },
    ];
    const b = unhex(actionsHex(a));
    expect(decodeActions(b)).toEqual(a);
    expect(actionsHex(a)).toBe(
      unhexStr(`
        1c000200 08000100 09000000 0c000200 0000000000000000 04000400
        14000600 08000100 ffffffff 08000200 04001400
        1c001500 06000100 dc05 0000 0c000200 08000100 01000000 04000300`),
    );
  });

  it('decodes what it does not know as an unknown action and re-encodes it', () => {
    const b = unhex('08006300 01020304');
    expect(decodeActions(b)).toEqual([{ type: 'unknown', attrType: 99, data: unhex('01020304') }]);
    expect(actionsHex(decodeActions(b))).toBe(hex(b));
  });

  it('rejects malformed actions with MalformedError', () => {
    expect(() => decodeActions(unhex('06000100 0100'))).toThrow(MalformedError);
    expect(() => decodeActions(unhex('04000200'))).toThrow(/without a pid/);
    expect(() => decodeActions(unhex('08000b00 01020304'))).toThrow(MalformedError);
  });
});

describe('userspaceOnlyAttrs', () => {
  it('names what the kernel must not get', () => {
    expect(userspaceOnlyAttrs({ inPort: 1, packetType: { ns: 0, id: 0 }, encap: { ndExtensions: { reserved: 0, optionsType: 2 } }, tunnel: { ttl: 1, gtpuOpts: { flags: 0, msgtype: 0 } } })).toEqual([
      'packet_type',
      'tunnel.gtpu',
      'encap.nd_ext',
    ]);
    expect(
      userspaceOnlyAttrs([
        { type: 'output', port: 1 },
        { type: 'hash', alg: 1, basis: 0 },
        { type: 'clone', actions: [{ type: 'tnlPop', port: 4 }, { type: 'lbOutput', bondId: 1 }] },
        { type: 'set', key: { packetType: { ns: 1, id: 0x800 } } },
      ]),
    ).toEqual(['hash(sym_l4)', 'clone.tnl_pop', 'clone.lb_output', 'set.packet_type']);
    expect(userspaceOnlyAttrs([{ type: 'hash', alg: 0, basis: 0 }])).toEqual([]);
  });
});

function unhexStr(s: string): string {
  return s.replace(/\s+/g, '');
}

describe('withoutPacketType', () => {
  it('drops packet_type and moves an L3 packet type into eth_type, as OVS does for the kernel', () => {
    expect(withoutPacketType({ inPort: 1, packetType: { ns: 0, id: 0 }, ethernet: { src: '00:00:00:00:00:01', dst: '00:00:00:00:00:02' }, ethertype: 0x800 })).toEqual({
      inPort: 1,
      ethernet: { src: '00:00:00:00:00:01', dst: '00:00:00:00:00:02' },
      ethertype: 0x800,
    });
    const l3 = withoutPacketType({ inPort: 1, packetType: { ns: 1, id: 0x86dd } });
    expect(l3).toEqual({ inPort: 1, ethertype: 0x86dd });
  });
});
