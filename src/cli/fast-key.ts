// Flow key text straight to attribute bytes, for bulk work (add-flows of a
// file of 100k flows): the keys ovs-vswitchd and operators write (metadata,
// eth, eth_type, vlan/encap, ipv4, ipv6, tcp/udp/sctp, icmp/icmpv6, arp,
// nd, tcp_flags) are scanned character by character into key and mask bytes,
// with no typed model in between. Anything else, and anything in doubt (a
// flag name, a number form, an unknown field), returns undefined and the
// caller takes src/odp's parser, which also words the errors. On what it
// accepts, this gives the same bytes as parseOdpFlow + encodeKey
// (test/unit/cli-fast-key.test.ts checks it over OVS's vectors).
import { HOST_LE } from '../netlink/attr.js';
import { ipv6IntoBytes } from '../ovs/addr.js';

class Bail {}
const BAIL = new Bail();
const bail = (): never => {
  throw BAIL;
};

/** Bytes of key or mask attributes, written as AttrWriter writes them. */
class Out {
  buf = new Uint8Array(256);
  view = new DataView(this.buf.buffer);
  n = 0;
  reset(): void {
    this.n = 0;
  }
  private room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.n + k));
    next.set(this.buf.subarray(0, this.n));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  /** Starts an attribute; returns where its header is. */
  start(type: number, len: number): number {
    this.room(4 + ((len + 3) & ~3));
    const at = this.n;
    this.view.setUint16(at, 4 + len, HOST_LE);
    this.view.setUint16(at + 2, type, HOST_LE);
    this.buf.fill(0, at + 4, at + 4 + ((len + 3) & ~3));
    this.n = at + 4;
    return at;
  }
  end(at: number, len: number): void {
    this.n = at + 4 + ((len + 3) & ~3);
  }
  nestStart(type: number): number {
    this.room(4);
    const at = this.n;
    this.view.setUint16(at + 2, type, HOST_LE);
    this.n += 4;
    return at;
  }
  nestEnd(at: number): void {
    this.view.setUint16(at, this.n - at, HOST_LE);
  }
  copy(): Uint8Array {
    return this.buf.slice(0, this.n);
  }
}

const ONES32 = 0xffffffff;

class Scan {
  i = 0;
  constructor(
    readonly s: string,
    readonly ports: ReadonlyMap<string, number>,
  ) {}

  code(): number {
    return this.s.charCodeAt(this.i);
  }

  lit(c: number): boolean {
    if (this.s.charCodeAt(this.i) === c) {
      this.i++;
      return true;
    }
    return false;
  }

  expect(c: number): void {
    if (!this.lit(c)) bail();
  }

  ident(): string {
    const st = this.i;
    for (;;) {
      const c = this.s.charCodeAt(this.i);
      if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || (c >= 65 && c <= 90)) this.i++;
      else break;
    }
    return this.s.slice(st, this.i);
  }

  /** %i as the general scanner reads small numbers (decimal, 0x hex, 0 octal); anything long bails. */
  uint(bits: number): number {
    const s = this.s;
    let i = this.i;
    const c0 = s.charCodeAt(i);
    if (!(c0 >= 48 && c0 <= 57)) bail();
    let v = 0;
    if (c0 === 48 && (s.charCodeAt(i + 1) === 120 || s.charCodeAt(i + 1) === 88)) {
      i += 2;
      const st = i;
      for (;;) {
        const c = s.charCodeAt(i);
        const h = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
        if (h < 0) break;
        v = v * 16 + h;
        i++;
      }
      if (i === st || i - st > 8) bail();
    } else if (c0 === 48) {
      i++;
      let d: number;
      while ((d = s.charCodeAt(i) - 48) >= 0 && d <= 7) {
        v = v * 8 + d;
        i++;
      }
      if (i - this.i > 11) bail();
    } else {
      const st = i;
      let d: number;
      while ((d = s.charCodeAt(i) - 48) >= 0 && d <= 9) {
        v = v * 10 + d;
        i++;
      }
      if (i - st > 10) bail();
    }
    if (v > (bits === 32 ? ONES32 : 2 ** bits - 1)) bail();
    this.i = i;
    return v;
  }

  ipv4(): number {
    let v = 0;
    for (let k = 0; k < 4; k++) {
      if (k > 0) this.expect(46);
      const st = this.i;
      let n = 0;
      let d: number;
      while ((d = this.s.charCodeAt(this.i) - 48) >= 0 && d <= 9) {
        n = n * 10 + d;
        this.i++;
      }
      if (this.i === st || this.i - st > 3 || n > 255) bail();
      v = v * 256 + n;
    }
    return v;
  }

  mac(out: Uint8Array, off: number): void {
    for (let k = 0; k < 6; k++) {
      if (k > 0) this.expect(58);
      const h1 = hexv(this.s.charCodeAt(this.i));
      if (h1 < 0) bail();
      this.i++;
      const h2 = hexv(this.s.charCodeAt(this.i));
      if (h2 >= 0) {
        this.i++;
        out[off + k] = h1 * 16 + h2;
      } else {
        out[off + k] = h1;
      }
    }
  }

  ipv6(out: Uint8Array, off: number): void {
    const st = this.i;
    let end = st;
    while (end - st < 46) {
      const c = this.s.charCodeAt(end);
      if (hexv(c) >= 0 || c === 58 || c === 46) end++;
      else break;
    }
    if (end === st || !ipv6IntoBytes(this.s.slice(st, end), out, off)) bail();
    this.i = end;
  }
}

function hexv(c: number): number {
  return c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
}

/** A struct attribute's key and mask payloads, filled field by field (one scratch pair, reused). */
class Pair {
  readonly k = new Uint8Array(64);
  readonly m = new Uint8Array(64);
  readonly kv = new DataView(this.k.buffer);
  readonly mv = new DataView(this.m.buffer);
  clear(size: number): void {
    this.k.fill(0, 0, size);
    this.m.fill(0, 0, size);
  }
}
const PAIR = new Pair();

type FieldScan = (sc: Scan, p: Pair) => void;

const u8At = (off: number): FieldScan => (sc, p) => {
  p.k[off] = sc.uint(8);
  p.m[off] = sc.lit(47) ? sc.uint(8) : 0xff;
};
const be16At = (off: number, bits = 16): FieldScan => (sc, p) => {
  p.kv.setUint16(off, sc.uint(bits), false);
  p.mv.setUint16(off, sc.lit(47) ? sc.uint(bits) : 2 ** bits - 1, false);
};
const ip4At = (off: number): FieldScan => (sc, p) => {
  p.kv.setUint32(off, sc.ipv4(), false);
  p.mv.setUint32(off, sc.lit(47) ? sc.ipv4() : ONES32, false);
};
const ip6At = (off: number): FieldScan => (sc, p) => {
  sc.ipv6(p.k, off);
  if (sc.lit(47)) sc.ipv6(p.m, off);
  else p.m.fill(0xff, off, off + 16);
};
const macAt = (off: number): FieldScan => (sc, p) => {
  sc.mac(p.k, off);
  if (sc.lit(47)) sc.mac(p.m, off);
  else p.m.fill(0xff, off, off + 6);
};
const fragAt = (off: number): FieldScan => (sc, p) => {
  const s = sc.s;
  if (s.startsWith('no', sc.i) && !isLower(s.charCodeAt(sc.i + 2))) {
    sc.i += 2;
    p.k[off] = 0;
  } else if (s.startsWith('first', sc.i) && !isLower(s.charCodeAt(sc.i + 5))) {
    sc.i += 5;
    p.k[off] = 1;
  } else if (s.startsWith('later', sc.i) && !isLower(s.charCodeAt(sc.i + 5))) {
    sc.i += 5;
    p.k[off] = 2;
  } else {
    bail();
  }
  p.m[off] = 0xff;
};
const isLower = (c: number): boolean => c >= 97 && c <= 122;

/** The label is a be32 with 20 significant bits. */
const labelAt = (off: number): FieldScan => (sc, p) => {
  p.kv.setUint32(off, sc.uint(20), false);
  p.mv.setUint32(off, sc.lit(47) ? sc.uint(20) : 0xfffff, false);
};

interface StructDef {
  type: number;
  size: number;
  fields: Record<string, FieldScan>;
}

const STRUCTS: Record<string, StructDef> = {
  eth: { type: 4, size: 12, fields: { src: macAt(0), dst: macAt(6) } },
  ipv4: { type: 7, size: 12, fields: { src: ip4At(0), dst: ip4At(4), proto: u8At(8), tos: u8At(9), ttl: u8At(10), frag: fragAt(11) } },
  ipv6: {
    type: 8,
    size: 40,
    fields: { src: ip6At(0), dst: ip6At(16), label: labelAt(32), proto: u8At(36), tclass: u8At(37), hlimit: u8At(38), frag: fragAt(39) },
  },
  tcp: { type: 9, size: 4, fields: { src: be16At(0), dst: be16At(2) } },
  udp: { type: 10, size: 4, fields: { src: be16At(0), dst: be16At(2) } },
  sctp: { type: 17, size: 4, fields: { src: be16At(0), dst: be16At(2) } },
  icmp: { type: 11, size: 2, fields: { type: u8At(0), code: u8At(1) } },
  icmpv6: { type: 12, size: 2, fields: { type: u8At(0), code: u8At(1) } },
  arp: { type: 13, size: 24, fields: { sip: ip4At(0), tip: ip4At(4), op: be16At(8), sha: macAt(10), tha: macAt(16) } },
  nd: { type: 14, size: 28, fields: { target: ip6At(0), sll: macAt(16), tll: macAt(22) } },
};

/** Single u32 attributes in host order: value[/mask]. */
const U32S: Record<string, number> = { skb_priority: 2, skb_mark: 15, dp_hash: 19, ct_mark: 24 };

// Maps rather than objects: the words come from the text, so no prototype
// lookups, and one hash probe each.
const STRUCT_DEFS = new Map(Object.entries(STRUCTS).map(([name, def]) => [name, { ...def, byName: new Map(Object.entries(def.fields)) }]));
const U32_TYPES = new Map(Object.entries(U32S));
/** Every word this parser takes, with its attribute type (a word given twice at one level bails, as a repeated attribute would fail). */
const ATTR_TYPES = new Map<string, number>([
  ...[...STRUCT_DEFS].map(([name, def]): [string, number] => [name, def.type]),
  ...U32_TYPES,
  ['recirc_id', 20],
  ['in_port', 3],
  ['ct_zone', 23],
  ['eth_type', 6],
  ['tcp_flags', 18],
  ['vlan', 5],
  ['encap', 1],
]);

const KEY_OUT = new Out();
const MASK_OUT = new Out();

class FastParser {
  readonly key = KEY_OUT;
  readonly mask = MASK_OUT;
  private depth = 0;

  constructor(private readonly sc: Scan) {
    this.key.reset();
    this.mask.reset();
  }

  private u32(type: number, v: number, m: number): void {
    const a = this.key.start(type, 4);
    this.key.view.setUint32(a + 4, v >>> 0, HOST_LE);
    this.key.end(a, 4);
    const b = this.mask.start(type, 4);
    this.mask.view.setUint32(b + 4, m >>> 0, HOST_LE);
    this.mask.end(b, 4);
  }

  private be16(type: number, v: number, m: number): void {
    const a = this.key.start(type, 2);
    this.key.view.setUint16(a + 4, v, false);
    this.key.end(a, 2);
    const b = this.mask.start(type, 2);
    this.mask.view.setUint16(b + 4, m, false);
    this.mask.end(b, 2);
  }

  private bytes(type: number, k: Uint8Array, m: Uint8Array, size: number): void {
    // Byte loops: a subarray view per struct was a tenth of the parse.
    const a = this.key.start(type, size);
    const kb = this.key.buf;
    for (let i = 0; i < size; i++) kb[a + 4 + i] = k[i];
    this.key.end(a, size);
    const b = this.mask.start(type, size);
    const mb = this.mask.buf;
    for (let i = 0; i < size; i++) mb[b + 4 + i] = m[i];
    this.mask.end(b, size);
  }

  private close(): void {
    this.sc.expect(41);
  }

  private fields(def: StructDef & { byName: Map<string, FieldScan> }): void {
    const sc = this.sc;
    const p = PAIR;
    p.clear(def.size);
    for (;;) {
      if (sc.lit(41)) break;
      const name = sc.ident();
      const f = def.byName.get(name);
      if (!f) bail();
      sc.expect(61);
      f!(sc, p);
      if (sc.lit(44)) continue;
      if (sc.lit(41)) break;
      bail();
    }
    this.bytes(def.type, p.k, p.m, def.size);
  }

  /** One attribute; `seen` holds a bit per attribute type already given at this level. Returns it updated. */
  private attr(seen: number): number {
    const sc = this.sc;
    const word = sc.ident();
    sc.expect(40);
    const type = ATTR_TYPES.get(word);
    if (type === undefined || seen & (1 << type)) bail();
    this.attrBody(word);
    return seen | (1 << type!);
  }

  private attrBody(word: string): void {
    const sc = this.sc;
    const def = STRUCT_DEFS.get(word);
    if (def) return this.fields(def);
    const u32Type = U32_TYPES.get(word);
    if (u32Type !== undefined) {
      const v = sc.uint(32);
      const m = sc.lit(47) ? sc.uint(32) : ONES32;
      this.close();
      return this.u32(u32Type, v, m);
    }
    switch (word) {
      case 'recirc_id': {
        const v = sc.uint(32);
        this.close();
        return this.u32(20, v, ONES32);
      }
      case 'in_port': {
        let v: number;
        let m = ONES32;
        const c = sc.code();
        if (!(c >= 48 && c <= 57)) {
          const close = sc.s.indexOf(')', sc.i);
          const port = close < 0 ? undefined : sc.ports.get(sc.s.slice(sc.i, close));
          if (port === undefined) bail();
          v = port!;
          sc.i = close;
        } else {
          v = sc.uint(32);
          if (sc.lit(47)) m = sc.uint(32);
        }
        this.close();
        return this.u32(3, v, m);
      }
      case 'ct_zone': {
        const v = sc.uint(16);
        const m = sc.lit(47) ? sc.uint(16) : 0xffff;
        this.close();
        const a = this.key.start(23, 2);
        this.key.view.setUint16(a + 4, v, HOST_LE);
        this.key.end(a, 2);
        const b = this.mask.start(23, 2);
        this.mask.view.setUint16(b + 4, m, HOST_LE);
        this.mask.end(b, 2);
        return;
      }
      case 'eth_type': {
        const v = sc.uint(16);
        const m = sc.lit(47) ? sc.uint(16) : 0xffff;
        this.close();
        return this.be16(6, v, m);
      }
      case 'tcp_flags': {
        // Numbers only ("0/0", "0x002/0x012"); flag names take the general path.
        const v = sc.uint(16);
        const m = sc.lit(47) ? sc.uint(16) : 0xffff;
        if (v > 0xfff) bail();
        this.close();
        return this.be16(18, v, m & 0xffff);
      }
      case 'vlan': {
        let vid = 0;
        let pcp = 0;
        let cfi = 1;
        let mvid = 0;
        let mpcp = 0;
        let mcfi = 1;
        for (;;) {
          if (sc.lit(41)) break;
          const name = sc.ident();
          sc.expect(61);
          if (name === 'vid') {
            vid = sc.uint(12);
            mvid = sc.lit(47) ? sc.uint(12) : 0xfff;
          } else if (name === 'pcp') {
            pcp = sc.uint(3);
            mpcp = sc.lit(47) ? sc.uint(3) : 7;
          } else if (name === 'cfi') {
            cfi = sc.uint(1);
            mcfi = sc.lit(47) ? sc.uint(1) : 1;
          } else bail();
          if (sc.lit(44)) continue;
          if (sc.lit(41)) break;
          bail();
        }
        return this.be16(5, (pcp << 13) | (cfi << 12) | vid, (mpcp << 13) | (mcfi << 12) | mvid);
      }
      case 'encap': {
        if (++this.depth > 2) bail();
        const ka = this.key.nestStart(1);
        const ma = this.mask.nestStart(1);
        let inner = 0;
        for (;;) {
          skipDelims(sc);
          if (sc.i >= sc.s.length) bail();
          if (sc.lit(41)) break;
          inner = this.attr(inner);
        }
        this.key.nestEnd(ka);
        this.mask.nestEnd(ma);
        this.depth--;
        return;
      }
      default:
        bail();
    }
  }

  run(): void {
    const sc = this.sc;
    let seen = 0;
    for (;;) {
      skipDelims(sc);
      if (sc.i >= sc.s.length) break;
      seen = this.attr(seen);
    }
  }
}

function skipDelims(sc: Scan): void {
  for (;;) {
    const c = sc.s.charCodeAt(sc.i);
    if (c === 44 || c === 32 || c === 9 || c === 13 || c === 10) sc.i++;
    else return;
  }
}

/** Key and mask bytes of a flow key in ODP text, or undefined: then ask src/odp. */
export function fastKeyBytes(text: string, ports: ReadonlyMap<string, number>): { key: Uint8Array; mask: Uint8Array } | undefined {
  if (text.length > 4000) return undefined;
  const p = new FastParser(new Scan(text, ports));
  try {
    p.run();
  } catch (e) {
    if (e === BAIL) return undefined;
    throw e;
  }
  return { key: p.key.copy(), mask: p.mask.copy() };
}
