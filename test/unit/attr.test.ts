import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttrWriter, AttrDecoder, getBe16, getBe32, getString, getU16, getU32, getU32Array, getU64, getU8, nested, parseAttrs } from '../../src/netlink/attr.js';
import { NLA_F_NESTED } from '../../src/netlink/constants.js';
import { MalformedError } from '../../src/netlink/errors.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('AttrWriter layout', () => {
  it('pads sub-word payloads to 4 bytes and excludes padding from the length', () => {
    const w = new AttrWriter(4);
    w.u8(1, 0xab);
    w.u16(2, 0x1234);
    w.be16(3, 0x1234);
    w.flag(4);
    w.string(5, 'dp0');
    // u8: len 5, type 1, ab + 3 pad; u16 host LE; be16 network order; flag: len 4; "dp0\0" len 8.
    expect(hex(w.finish())).toBe('05000100ab000000' + '060002003412' + '0000' + '060003001234' + '0000' + '04000400' + '0800050064703000');
  });

  it('writes 32- and 64-bit integers in host and network order', () => {
    const w = new AttrWriter();
    w.u32(1, 0x01020304);
    w.be32(2, 0x01020304);
    w.u64(3, 0x0102030405060708n);
    w.be64(4, 0x0102030405060708n);
    w.s32(5, -1);
    expect(hex(w.finish())).toBe(
      '08000100' + '04030201' + '08000200' + '01020304' + '0c000300' + '0807060504030201' + '0c000400' + '0102030405060708' + '08000500' + 'ffffffff',
    );
  });

  it('patches nest lengths and sets NLA_F_NESTED only on request', () => {
    const w = new AttrWriter(8);
    const outer = w.nestStart(7);
    w.u32(1, 5);
    const inner = w.nestStart(2, true);
    w.flag(3);
    w.nestEnd(inner);
    w.nestEnd(outer);
    const attrs = parseAttrs(w.finish());
    expect(attrs).toHaveLength(1);
    expect(attrs[0].type).toBe(7);
    expect(attrs[0].flags).toBe(0);
    const kids = nested(attrs[0]);
    expect(kids.map((a) => a.type)).toEqual([1, 2]);
    expect(kids[1].flags).toBe(NLA_F_NESTED);
    expect(nested(kids[1])[0].type).toBe(3);
  });

  it('grows past its initial size without corrupting earlier attributes', () => {
    const w = new AttrWriter(4);
    for (let i = 0; i < 1000; i++) w.u32(i & 0x3fff, i);
    const attrs = parseAttrs(w.finish());
    expect(attrs.map(getU32)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('re-emits a received attribute byte-exactly, flags included', () => {
    const w = new AttrWriter();
    const n = w.nestStart(9, true);
    w.bytes(1, Uint8Array.of(1, 2, 3));
    w.nestEnd(n);
    const original = w.finish().slice();
    const again = new AttrWriter();
    for (const a of parseAttrs(original)) again.attr(a);
    expect(hex(again.finish())).toBe(hex(original));
  });
});

describe('typed getters', () => {
  const one = (f: (w: AttrWriter) => void) => {
    const w = new AttrWriter();
    f(w);
    return parseAttrs(w.finish())[0];
  };
  it('read back what the writer wrote', () => {
    expect(getU8(one((w) => w.u8(1, 200)))).toBe(200);
    expect(getU16(one((w) => w.u16(1, 65000)))).toBe(65000);
    expect(getBe16(one((w) => w.be16(1, 0x86dd)))).toBe(0x86dd);
    expect(getU32(one((w) => w.u32(1, 0xfffffffe)))).toBe(0xfffffffe);
    expect(getBe32(one((w) => w.be32(1, 0xc0a80001)))).toBe(0xc0a80001);
    expect(getU64(one((w) => w.u64(1, 2n ** 63n + 5n)))).toBe(2n ** 63n + 5n);
    expect(getString(one((w) => w.string(1, 'ovs-system')))).toBe('ovs-system');
  });
  it('reject a payload of the wrong size with MalformedError', () => {
    const a = one((w) => w.u16(1, 5));
    expect(() => getU32(a)).toThrow(MalformedError);
    expect(() => getU8(a)).toThrow(/u8 needs 1 bytes, got 2/);
    expect(() => getU32Array(one((w) => w.bytes(1, new Uint8Array(6))))).toThrow(MalformedError);
  });
  it('AttrDecoder walks attributes linearly', () => {
    const w = new AttrWriter();
    w.u32(1, 7);
    const n = w.nestStart(2);
    w.string(1, 'x');
    w.nestEnd(n);
    const d = new AttrDecoder(w.finish());
    const seen: string[] = [];
    while (d.next()) {
      if (d.type === 1) seen.push(`u32=${d.u32()}`);
      if (d.type === 2) {
        const inner = d.nested();
        while (inner.next()) seen.push(`s=${inner.string()}`);
      }
    }
    expect(seen).toEqual(['u32=7', 's=x']);
  });
});

describe('AttrWriter length limit (nla_len is a u16)', () => {
  const lenField = (b: Uint8Array, at = 0): number => new DataView(b.buffer, b.byteOffset).getUint16(at, true);

  it('writes an attribute of exactly 65535 bytes, header included', () => {
    const w = new AttrWriter();
    const payload = new Uint8Array(65531).fill(0x5a);
    w.bytes(3, payload);
    const out = w.finish();
    expect(lenField(out)).toBe(0xffff);
    const [a] = parseAttrs(out);
    expect(a.type).toBe(3);
    expect(a.data.length).toBe(65531);
    expect(a.data.every((x) => x === 0x5a)).toBe(true);
  });

  it('refuses 65536 bytes with a RangeError naming the type and length, writing nothing', () => {
    const w = new AttrWriter();
    w.u32(1, 42);
    expect(() => w.bytes(7, new Uint8Array(65532))).toThrow(RangeError);
    expect(() => w.bytes(7, new Uint8Array(65532))).toThrow(/attribute type 7: 65536 bytes exceed the 65535-byte/);
    expect(() => w.bytes(1, new Uint8Array(70000))).toThrow(/attribute type 1: 70004 bytes/);
    // The refused attribute left no header behind: the message is still whole.
    expect(w.length).toBe(8);
    expect(parseAttrs(w.finish()).map((a) => [a.type, getU32(a)])).toEqual([[1, 42]]);
  });

  it('counts the NUL of a string, and names the type without its flag bits', () => {
    const w = new AttrWriter();
    w.string(2, 'x'.repeat(65530));
    expect(lenField(w.finish())).toBe(0xffff);
    expect(() => new AttrWriter().string(2, 'x'.repeat(65531))).toThrow(/attribute type 2: 65536 bytes/);
    expect(() => new AttrWriter().attr({ type: 5, flags: NLA_F_NESTED, data: new Uint8Array(65532) })).toThrow(/^attribute type 5: 65536 bytes/);
  });

  it('refuses a nest past 65535 bytes the same way, naming its type', () => {
    const fits = new AttrWriter();
    let n = fits.nestStart(9);
    fits.bytes(1, new Uint8Array(65524)); // 4 + 65524, then the nest's own 4: 65532
    fits.nestEnd(n);
    expect(lenField(fits.finish())).toBe(65532);
    const over = new AttrWriter();
    n = over.nestStart(9, true);
    over.bytes(1, new Uint8Array(65528)); // 65532 + 4: one word too many
    expect(() => over.nestEnd(n)).toThrow(RangeError);
    expect(() => over.nestEnd(n)).toThrow(/^nested attribute type 9: 65536 bytes exceed the 65535-byte/);
  });
});

describe('parseAttrs on bad input', () => {
  it('rejects a length below the header', () => {
    expect(() => parseAttrs(Uint8Array.of(2, 0, 1, 0))).toThrow(/below the 4-byte header/);
  });
  it('rejects a length running past the buffer', () => {
    expect(() => parseAttrs(Uint8Array.of(12, 0, 1, 0, 0, 0, 0, 0))).toThrow(/runs past the end/);
  });
  it('rejects trailing bytes that cannot hold a header', () => {
    expect(() => parseAttrs(Uint8Array.of(4, 0, 1, 0, 9, 9))).toThrow(/2 trailing bytes/);
  });
  it('accepts an unpadded last attribute', () => {
    const a = parseAttrs(Uint8Array.of(5, 0, 1, 0, 7));
    expect(getU8(a[0])).toBe(7);
  });
});

// An arbitrary attribute tree, encoded and parsed back.
type Tree = { type: number; data: Uint8Array } | { type: number; kids: Tree[] };
const treeArb: fc.Arbitrary<Tree> = fc.letrec((tie) => ({
  leaf: fc.record({ type: fc.integer({ min: 0, max: 0x3fff }), data: fc.uint8Array({ maxLength: 40 }) }),
  node: fc.record({ type: fc.integer({ min: 0, max: 0x3fff }), kids: fc.array(tie('tree') as fc.Arbitrary<Tree>, { maxLength: 4 }) }),
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('node')),
})).tree as fc.Arbitrary<Tree>;

function write(w: AttrWriter, t: Tree): void {
  if ('data' in t) w.bytes(t.type, t.data);
  else {
    const n = w.nestStart(t.type, true);
    for (const k of t.kids) write(w, k);
    w.nestEnd(n);
  }
}
function read(a: ReturnType<typeof parseAttrs>[number]): Tree {
  return a.flags & NLA_F_NESTED ? { type: a.type, kids: nested(a).map(read) } : { type: a.type, data: a.data.slice() };
}

describe('attribute codec properties', () => {
  it('parse(encode(tree)) = tree', () => {
    fc.assert(
      fc.property(fc.array(treeArb, { maxLength: 6 }), (trees) => {
        const w = new AttrWriter(16);
        for (const t of trees) write(w, t);
        expect(parseAttrs(w.finish()).map(read)).toEqual(trees);
      }),
    );
  });
  it('encode(parse(bytes)) = bytes for every encoding', () => {
    fc.assert(
      fc.property(fc.array(treeArb, { maxLength: 6 }), (trees) => {
        const w = new AttrWriter();
        for (const t of trees) write(w, t);
        const bytes = w.finish().slice();
        const again = new AttrWriter();
        for (const a of parseAttrs(bytes)) again.attr(a);
        expect(hex(again.finish())).toBe(hex(bytes));
      }),
    );
  });
  it('random bytes either parse or fail with MalformedError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          const walk = (buf: Uint8Array): void => {
            for (const a of parseAttrs(buf)) if (a.data.length >= 4) {
              try {
                walk(a.data);
              } catch (e) {
                if (!(e instanceof MalformedError)) throw e;
              }
            }
          };
          walk(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(MalformedError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
