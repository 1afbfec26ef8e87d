// NSH in the fallback: the header read as parse_nsh() reads it (keyed, or
// the packet refused), the table key written alike from the packet and from
// the reported key, and push/pop as nsh_push()/nsh_pop() do them.
import { describe, expect, it } from 'vitest';
import { AttrWriter } from '../../src/netlink/attr.js';
import { encodeKey } from '../../src/ovs/key-codec.js';
import type { FlowKey } from '../../src/ovs/keys.js';
import { buildFrame, parsePacket } from '../../src/packet/index.js';
import { Layer } from '../../src/packet/result.js';
import { nshInnerType, nshNextProtoOf, popNsh, pushNsh } from '../../src/packet/nsh.js';
import { extractKey } from '../../src/userspace/extract.js';
import { FlatKey, writeFlatFromKey, writeFlatFromPacket } from '../../src/userspace/flat-key.js';
import { validateMatch } from '../../src/userspace/match-validate.js';

const MD1 = new Uint8Array([0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff]);
const MD2 = new Uint8Array([1, 2, 3, 1, 9, 9, 9, 9]);
const header = { flags: 2, ttl: 33, mdtype: 1, path: 0xabcdef05, md: MD1 };
const frameOf = (data: Uint8Array, vlan = false) =>
  buildFrame({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', ...(vlan ? { vlans: [{ vid: 3 }] } : {}), l3: { kind: 'raw', ethType: 0x894f, data } });

function flat(f: (k: FlatKey) => void): Uint8Array {
  const k = new FlatKey();
  f(k);
  return k.bytes.slice();
}
const keyBytes = (k: FlowKey): Uint8Array => {
  const w = new AttrWriter(256);
  encodeKey(w, k);
  return w.finish().slice();
};

describe('NSH key extraction', () => {
  it('keys the base header and MD type 1 context', () => {
    const f = frameOf(pushNsh(new Uint8Array(20), header, 1));
    const k = extractKey(parsePacket(f), { inPort: 1 });
    expect(k.ethertype).toBe(0x894f);
    expect(k.nsh).toEqual({ base: { flags: 2, ttl: 33, mdtype: 1, np: 1, spi: 0xabcdef, si: 5 }, md1: [1, 2, 3, 0xffffffff] });
  });

  it('keys MD type 2 by its base header only', () => {
    const f = frameOf(pushNsh(new Uint8Array(4), { ...header, mdtype: 2, md: MD2 }, 3), true);
    const k = extractKey(parsePacket(f), { inPort: 1 });
    expect(k.encap?.nsh).toEqual({ base: { flags: 2, ttl: 33, mdtype: 2, np: 3, spi: 0xabcdef, si: 5 } });
  });

  it('refuses what parse_nsh refuses: version, MD type, MD1 length, a header longer than the packet', () => {
    const good = pushNsh(new Uint8Array(8), header, 1);
    const bad: [string, (b: Uint8Array) => void][] = [
      ['version 1', (b) => void (b[0] |= 0x40)],
      ['MD1 of 28 bytes', (b) => void (b[1] += 1)],
      ['MD type 0', (b) => void (b[2] = 0)],
      ['MD type 15', (b) => void (b[2] = 15)],
      ['length past the end', (b) => void (b[1] = (b[1] & 0xc0) | 63)],
    ];
    expect(parsePacket(frameOf(good)).layers & Layer.NSH).toBeTruthy();
    for (const [name, edit] of bad) {
      const d = good.slice();
      edit(d);
      const p = parsePacket(frameOf(d));
      expect(p.malformed, name).toBe(Layer.NSH);
      expect(extractKey(p, { inPort: 1 }).nsh, name).toBeUndefined();
    }
    // Cut anywhere inside the header: refused; after it: keyed.
    const f = frameOf(good);
    for (let n = 14; n < f.length; n++) expect(parsePacket(f.slice(0, n)).malformed === Layer.NSH, `cut at ${n}`).toBe(n < 14 + 24);
  });

  it('writes the same table key from the packet as from its key, at every length', () => {
    for (const data of [pushNsh(new Uint8Array(12), header, 2), pushNsh(new Uint8Array(12), { ...header, mdtype: 2, md: MD2 }, 4)]) {
      for (const vlan of [false, true]) {
        const f = frameOf(data, vlan);
        for (let n = 14; n <= f.length; n++) {
          const p = parsePacket(f.slice(0, n));
          if (vlan && n < 18) continue; // a cut tag: see userspace-extract.test.ts
          expect(flat((k) => writeFlatFromPacket(p, { inPort: 2 }, k)), `cut at ${n}`).toEqual(flat((k) => writeFlatFromKey(extractKey(p, { inPort: 2 }), k)));
        }
      }
    }
    // Context and path are in the key: two packets that differ only there differ.
    const a = parsePacket(frameOf(pushNsh(new Uint8Array(4), header, 1)));
    const b = parsePacket(frameOf(pushNsh(new Uint8Array(4), { ...header, md: MD1.map((x, i) => (i === 15 ? 0 : x)) }, 1)));
    expect(flat((k) => writeFlatFromPacket(a, { inPort: 2 }, k))).not.toEqual(flat((k) => writeFlatFromPacket(b, { inPort: 2 }, k)));
  });
});

describe('NSH push and pop', () => {
  it('pushes version 0 with the length of base and metadata, and pops back to the packet', () => {
    const inner = Uint8Array.from({ length: 30 }, (_, i) => i);
    const withMd2 = pushNsh(inner, { ...header, mdtype: 2, md: MD2 }, 3);
    expect([...withMd2.subarray(0, 8)]).toEqual([0x28, 0x44, 2, 3, 0xab, 0xcd, 0xef, 0x05]);
    expect(popNsh(withMd2)).toEqual({ inner, ethType: 0x6558 });
    expect(popNsh(pushNsh(inner, header, 1))?.ethType).toBe(0x0800);
    // nsh_pop's refusals: unknown next protocol, a length under 8, longer than the packet.
    expect(popNsh(pushNsh(inner, header, 6))).toBeUndefined();
    const short = pushNsh(inner, header, 1);
    short[1] &= 0xc1;
    expect(popNsh(short)).toBeUndefined();
    expect(popNsh(pushNsh(new Uint8Array(0), header, 1).subarray(0, 20))).toBeUndefined();
  });

  it('writes as many bytes as the length field says, as nsh_push copies them', () => {
    const inner = new Uint8Array([0xaa, 0xbb]);
    // 6 bytes of MD2: the field says 3 words, the last 2 bytes of metadata are lost.
    const odd = pushNsh(inner, { ...header, mdtype: 2, md: new Uint8Array([1, 2, 3, 4, 5, 6]) }, 1);
    expect([...odd]).toEqual([0x28, 0x43, 2, 1, 0xab, 0xcd, 0xef, 0x05, 1, 2, 3, 4, 0xaa, 0xbb]);
    // 248 bytes of MD2 make 64 words, which the 6-bit field holds as 0.
    expect(pushNsh(inner, { ...header, mdtype: 2, md: new Uint8Array(248) }, 1).length).toBe(2);
  });

  it('maps next protocols and EtherTypes both ways', () => {
    for (const t of [0x0800, 0x86dd, 0x6558, 0x894f, 0x8847]) expect(nshInnerType(nshNextProtoOf(t))).toBe(t);
    expect(nshNextProtoOf(0x8848)).toBe(0);
    expect(nshInnerType(0)).toBe(0);
  });
});

describe('NSH in a flow match', () => {
  const base = { flags: 0, ttl: 63, mdtype: 1, np: 1, spi: 5, si: 255 };
  const key = (nsh: FlowKey['nsh']): FlowKey => ({ inPort: 1, ethernet: { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' }, ethertype: 0x894f, nsh });

  it('takes base and MD1 context, and refuses what the module refuses', () => {
    expect(() => validateMatch(keyBytes(key({ base, md1: [1, 2, 3, 4] })), undefined)).not.toThrow();
    expect(() => validateMatch(keyBytes(key({ base: { ...base, mdtype: 2 }, md1: [1, 2, 3, 4] })), undefined)).toThrow(/unmatched MD type 2/);
    expect(() => validateMatch(keyBytes(key({ base: { ...base, mdtype: 2 }, md2: MD2 })), undefined)).toThrow(/MD type 2/);
    expect(() => validateMatch(keyBytes(key({ base, key9: new Uint8Array(4) })), undefined)).toThrow(/out of range/);
    // An NSH flow needs the nsh attribute.
    expect(() => validateMatch(keyBytes(key(undefined)), undefined)).toThrow(/Missing key/);
  });
});
