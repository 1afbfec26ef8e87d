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

// The scanner works on a range of a larger string (add-flows hands it the
// flow token inside the chunk it read, with no per-line copies) and turns
// words into small numbers through a table built at load, so a line costs no
// string allocations; field descriptors are data, not closures, so the hot
// calls stay monomorphic. In the test VM, where generated code runs under
// emulation, the scanner was a third of add-flows' time.

class Bail {}
const BAIL = new Bail();
const bail = (): never => {
  throw BAIL;
};

const hashStep = (h: number, c: number): number => (Math.imul(h, 31) + c) | 0;

/** An open-addressed table from words to their index in `list`; lookups compare in place. */
class Words {
  private readonly names: (string | undefined)[];
  private readonly ids: Int16Array;
  private readonly mask: number;
  constructor(list: readonly string[]) {
    let size = 16;
    while (size < list.length * 4) size *= 2;
    this.mask = size - 1;
    this.names = new Array<string | undefined>(size).fill(undefined);
    this.ids = new Int16Array(size);
    list.forEach((name, id) => {
      let h = 0;
      for (let i = 0; i < name.length; i++) h = hashStep(h, name.charCodeAt(i));
      let slot = h & this.mask;
      while (this.names[slot] !== undefined) slot = (slot + 1) & this.mask;
      this.names[slot] = name;
      this.ids[slot] = id;
    });
  }
  /** The index of s[st, st+len) with hash h, or -1. */
  find(s: string, st: number, len: number, h: number): number {
    let slot = h & this.mask;
    for (;;) {
      const name = this.names[slot];
      if (name === undefined) return -1;
      if (name.length === len && s.startsWith(name, st)) return this.ids[slot];
      slot = (slot + 1) & this.mask;
    }
  }
}

/** Bytes of key or mask attributes, written as AttrWriter writes them. */
class Out {
  buf = new Uint8Array(256);
  view = new DataView(this.buf.buffer);
  n = 0;
  private room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.n + k));
    next.set(this.buf.subarray(0, this.n));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  /** Starts an attribute with a zeroed payload of len bytes and ends it; returns where the payload is. */
  attr(type: number, len: number): number {
    const padded = (len + 3) & ~3;
    this.room(4 + padded);
    const at = this.n;
    this.view.setUint16(at, 4 + len, HOST_LE);
    this.view.setUint16(at + 2, type, HOST_LE);
    this.buf.fill(0, at + 4, at + 4 + padded);
    this.n = at + 4 + padded;
    return at + 4;
  }
  u32(type: number, v: number): void {
    const at = this.attr(type, 4);
    this.view.setUint32(at, v >>> 0, HOST_LE);
  }
  be16(type: number, v: number): void {
    const at = this.attr(type, 2);
    this.buf[at] = v >>> 8;
    this.buf[at + 1] = v & 0xff;
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

function hexv(c: number): number {
  return c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
}

const isLower = (c: number): boolean => c >= 97 && c <= 122;

const putBe32 = (b: Uint8Array, at: number, v: number): void => {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
};

// Field kinds of the struct attributes.
const U8 = 0;
const BE16 = 1;
const IP4 = 2;
const IP6 = 3;
const MAC = 4;
const FRAG = 5;
const LABEL = 6;

const FIELD_NAMES = ['src', 'dst', 'proto', 'tos', 'ttl', 'frag', 'label', 'tclass', 'hlimit', 'type', 'code', 'sip', 'tip', 'op', 'sha', 'tha', 'target', 'sll', 'tll', 'vid', 'pcp', 'cfi'] as const;
type FieldName = (typeof FIELD_NAMES)[number];
const FIELD_WORDS = new Words(FIELD_NAMES);
const F_VID = FIELD_NAMES.indexOf('vid');
const F_PCP = FIELD_NAMES.indexOf('pcp');
const F_CFI = FIELD_NAMES.indexOf('cfi');

/** A struct attribute: its type, payload size and, per field name, its kind (-1: not a field) and offset. */
interface StructDef {
  type: number;
  size: number;
  kinds: Int8Array;
  offs: Uint8Array;
}

function struct(type: number, size: number, fields: Partial<Record<FieldName, [kind: number, off: number]>>): StructDef {
  const kinds = new Int8Array(FIELD_NAMES.length).fill(-1);
  const offs = new Uint8Array(FIELD_NAMES.length);
  for (const [name, [kind, off]] of Object.entries(fields) as [FieldName, [number, number]][]) {
    kinds[FIELD_NAMES.indexOf(name)] = kind;
    offs[FIELD_NAMES.indexOf(name)] = off;
  }
  return { type, size, kinds, offs };
}

// Top-level words: the struct attributes first (their index is their STRUCTS entry), then the rest.
const STRUCTS: readonly [string, StructDef][] = [
  ['eth', struct(4, 12, { src: [MAC, 0], dst: [MAC, 6] })],
  ['ipv4', struct(7, 12, { src: [IP4, 0], dst: [IP4, 4], proto: [U8, 8], tos: [U8, 9], ttl: [U8, 10], frag: [FRAG, 11] })],
  [
    'ipv6',
    struct(8, 40, { src: [IP6, 0], dst: [IP6, 16], label: [LABEL, 32], proto: [U8, 36], tclass: [U8, 37], hlimit: [U8, 38], frag: [FRAG, 39] }),
  ],
  ['tcp', struct(9, 4, { src: [BE16, 0], dst: [BE16, 2] })],
  ['udp', struct(10, 4, { src: [BE16, 0], dst: [BE16, 2] })],
  ['sctp', struct(17, 4, { src: [BE16, 0], dst: [BE16, 2] })],
  ['icmp', struct(11, 2, { type: [U8, 0], code: [U8, 1] })],
  ['icmpv6', struct(12, 2, { type: [U8, 0], code: [U8, 1] })],
  ['arp', struct(13, 24, { sip: [IP4, 0], tip: [IP4, 4], op: [BE16, 8], sha: [MAC, 10], tha: [MAC, 16] })],
  ['nd', struct(14, 28, { target: [IP6, 0], sll: [MAC, 16], tll: [MAC, 22] })],
];
/** Single u32 attributes in host order: value[/mask]. */
const U32S: readonly [string, number][] = [
  ['skb_priority', 2],
  ['skb_mark', 15],
  ['dp_hash', 19],
  ['ct_mark', 24],
];
const OTHERS: readonly [string, number][] = [
  ['recirc_id', 20],
  ['in_port', 3],
  ['ct_zone', 23],
  ['eth_type', 6],
  ['tcp_flags', 18],
  ['vlan', 5],
  ['encap', 1],
];
const TOP = [...STRUCTS.map(([w, d]): [string, number] => [w, d.type]), ...U32S, ...OTHERS];
const TOP_WORDS = new Words(TOP.map(([w]) => w));
/** Every top-level word's attribute type, by word index (a word given twice at one level bails, as a repeated attribute would fail). */
const TOP_TYPES = Int16Array.from(TOP, ([, t]) => t);
const FIRST_U32 = STRUCTS.length;
const FIRST_OTHER = FIRST_U32 + U32S.length;
const W = (w: string): number => TOP.findIndex(([x]) => x === w);
const W_RECIRC = W('recirc_id');
const W_IN_PORT = W('in_port');
const W_CT_ZONE = W('ct_zone');
const W_ETH_TYPE = W('eth_type');
const W_TCP_FLAGS = W('tcp_flags');
const W_VLAN = W('vlan');
const W_ENCAP = W('encap');

const KEY_OUT = new Out();
const MASK_OUT = new Out();

/** One scan: the text, its end, the position, and where the key and mask go. */
class FastParser {
  s = '';
  i = 0;
  end = 0;
  ports: ReadonlyMap<string, number> = new Map();
  private depth = 0;
  /** Where the last ident() began. */
  private wordStart = 0;
  /** The mask maskedU16() read. */
  private mask16 = 0;
  readonly key = KEY_OUT;
  readonly mask = MASK_OUT;

  reset(s: string, start: number, end: number, ports: ReadonlyMap<string, number>): void {
    this.s = s;
    this.i = start;
    this.end = end;
    this.ports = ports;
    this.depth = 0;
    this.key.n = 0;
    this.mask.n = 0;
  }

  private lit(c: number): boolean {
    if (this.s.charCodeAt(this.i) === c) {
      this.i++;
      return true;
    }
    return false;
  }

  private expect(c: number): void {
    if (this.s.charCodeAt(this.i) !== c) bail();
    this.i++;
  }

  /** Scans a word; returns its hash (wordStart and i delimit it). */
  private ident(): number {
    const s = this.s;
    let i = this.i;
    let h = 0;
    this.wordStart = i;
    for (;;) {
      const c = s.charCodeAt(i);
      if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || (c >= 65 && c <= 90)) {
        h = hashStep(h, c);
        i++;
      } else break;
    }
    this.i = i;
    return h;
  }

  /** %i as the general scanner reads small numbers (decimal, 0x hex, 0 octal); anything long bails. */
  private uint(bits: number): number {
    const s = this.s;
    let i = this.i;
    const c0 = s.charCodeAt(i);
    if (!(c0 >= 48 && c0 <= 57)) bail();
    let v = 0;
    if (c0 === 48 && (s.charCodeAt(i + 1) === 120 || s.charCodeAt(i + 1) === 88)) {
      i += 2;
      const st = i;
      for (;;) {
        const h = hexv(s.charCodeAt(i));
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

  private ipv4(): number {
    const s = this.s;
    let v = 0;
    for (let k = 0; k < 4; k++) {
      if (k > 0) this.expect(46);
      const st = this.i;
      let n = 0;
      let d: number;
      while ((d = s.charCodeAt(this.i) - 48) >= 0 && d <= 9) {
        n = n * 10 + d;
        this.i++;
      }
      if (this.i === st || this.i - st > 3 || n > 255) bail();
      v = v * 256 + n;
    }
    return v;
  }

  private mac(out: Uint8Array, off: number): void {
    const s = this.s;
    for (let k = 0; k < 6; k++) {
      if (k > 0) this.expect(58);
      const h1 = hexv(s.charCodeAt(this.i));
      if (h1 < 0) bail();
      this.i++;
      const h2 = hexv(s.charCodeAt(this.i));
      if (h2 >= 0) {
        this.i++;
        out[off + k] = h1 * 16 + h2;
      } else {
        out[off + k] = h1;
      }
    }
  }

  private ipv6(out: Uint8Array, off: number): void {
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

  private frag(): number {
    const s = this.s;
    const i = this.i;
    if (s.startsWith('no', i) && !isLower(s.charCodeAt(i + 2))) {
      this.i += 2;
      return 0;
    }
    if (s.startsWith('first', i) && !isLower(s.charCodeAt(i + 5))) {
      this.i += 5;
      return 1;
    }
    if (s.startsWith('later', i) && !isLower(s.charCodeAt(i + 5))) {
      this.i += 5;
      return 2;
    }
    return bail();
  }

  /** One field's value[/mask] into the payloads at k and m. */
  private field(kind: number, k: number, m: number): void {
    const kb = this.key.buf;
    const mb = this.mask.buf;
    switch (kind) {
      case U8:
        kb[k] = this.uint(8);
        mb[m] = this.lit(47) ? this.uint(8) : 0xff;
        return;
      case BE16: {
        const v = this.uint(16);
        const mv = this.lit(47) ? this.uint(16) : 0xffff;
        kb[k] = v >>> 8;
        kb[k + 1] = v & 0xff;
        mb[m] = mv >>> 8;
        mb[m + 1] = mv & 0xff;
        return;
      }
      case IP4:
        putBe32(kb, k, this.ipv4());
        putBe32(mb, m, this.lit(47) ? this.ipv4() : ONES32);
        return;
      case IP6:
        this.ipv6(kb, k);
        if (this.lit(47)) this.ipv6(mb, m);
        else mb.fill(0xff, m, m + 16);
        return;
      case MAC:
        this.mac(kb, k);
        if (this.lit(47)) this.mac(mb, m);
        else mb.fill(0xff, m, m + 6);
        return;
      case FRAG:
        kb[k] = this.frag();
        mb[m] = 0xff;
        return;
      case LABEL:
        // A be32 with 20 significant bits.
        putBe32(kb, k, this.uint(20));
        putBe32(mb, m, this.lit(47) ? this.uint(20) : 0xfffff);
        return;
    }
  }

  private fields(def: StructDef): void {
    const k = this.key.attr(def.type, def.size);
    const m = this.mask.attr(def.type, def.size);
    for (;;) {
      if (this.lit(41)) break;
      const h = this.ident();
      const f = FIELD_WORDS.find(this.s, this.wordStart, this.i - this.wordStart, h);
      const kind = f < 0 ? -1 : def.kinds[f];
      if (kind < 0) bail();
      this.expect(61);
      this.field(kind, k + def.offs[f], m + def.offs[f]);
      if (this.lit(44)) continue;
      if (this.lit(41)) break;
      bail();
    }
  }

  /** One attribute; `seen` holds a bit per attribute type already given at this level. Returns it updated. */
  private attr(seen: number): number {
    const h = this.ident();
    const w = TOP_WORDS.find(this.s, this.wordStart, this.i - this.wordStart, h);
    this.expect(40);
    if (w < 0) bail();
    const type = TOP_TYPES[w];
    if (seen & (1 << type)) bail();
    this.attrBody(w);
    return seen | (1 << type);
  }

  private attrBody(w: number): void {
    if (w < FIRST_U32) return this.fields(STRUCTS[w][1]);
    if (w < FIRST_OTHER) {
      const v = this.uint(32);
      const m = this.lit(47) ? this.uint(32) : ONES32;
      this.expect(41);
      this.key.u32(TOP_TYPES[w], v);
      this.mask.u32(TOP_TYPES[w], m);
      return;
    }
    switch (w) {
      case W_RECIRC: {
        const v = this.uint(32);
        this.expect(41);
        this.key.u32(20, v);
        this.mask.u32(20, ONES32);
        return;
      }
      case W_IN_PORT: {
        let v: number;
        let m = ONES32;
        const c = this.s.charCodeAt(this.i);
        if (!(c >= 48 && c <= 57)) {
          const close = this.s.indexOf(')', this.i);
          const port = close < 0 || close >= this.end ? undefined : this.ports.get(this.s.slice(this.i, close));
          if (port === undefined) bail();
          v = port!;
          this.i = close;
        } else {
          v = this.uint(32);
          if (this.lit(47)) m = this.uint(32);
        }
        this.expect(41);
        this.key.u32(3, v);
        this.mask.u32(3, m);
        return;
      }
      case W_CT_ZONE: {
        const v = this.maskedU16();
        let at = this.key.attr(23, 2);
        this.key.view.setUint16(at, v, HOST_LE);
        at = this.mask.attr(23, 2);
        this.mask.view.setUint16(at, this.mask16, HOST_LE);
        return;
      }
      case W_ETH_TYPE: {
        const v = this.maskedU16();
        this.key.be16(6, v);
        this.mask.be16(6, this.mask16);
        return;
      }
      case W_TCP_FLAGS: {
        // Numbers only ("0/0", "0x002/0x012"); flag names take the general path.
        const v = this.maskedU16();
        if (v > 0xfff) bail();
        this.key.be16(18, v);
        this.mask.be16(18, this.mask16);
        return;
      }
      case W_VLAN:
        return this.vlan();
      case W_ENCAP: {
        if (++this.depth > 2) bail();
        const ka = this.key.nestStart(1);
        const ma = this.mask.nestStart(1);
        let inner = 0;
        for (;;) {
          this.skipDelims();
          if (this.i >= this.end) bail();
          if (this.lit(41)) break;
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

  /** value[/mask] as 16-bit numbers and the attribute's `)`: returns the value, leaves the mask in mask16. */
  private maskedU16(): number {
    const v = this.uint(16);
    this.mask16 = this.lit(47) ? this.uint(16) : 0xffff;
    this.expect(41);
    return v;
  }

  private vlan(): void {
    let vid = 0;
    let pcp = 0;
    let cfi = 1;
    let mvid = 0;
    let mpcp = 0;
    let mcfi = 1;
    for (;;) {
      if (this.lit(41)) break;
      const h = this.ident();
      const f = FIELD_WORDS.find(this.s, this.wordStart, this.i - this.wordStart, h);
      this.expect(61);
      if (f === F_VID) {
        vid = this.uint(12);
        mvid = this.lit(47) ? this.uint(12) : 0xfff;
      } else if (f === F_PCP) {
        pcp = this.uint(3);
        mpcp = this.lit(47) ? this.uint(3) : 7;
      } else if (f === F_CFI) {
        cfi = this.uint(1);
        mcfi = this.lit(47) ? this.uint(1) : 1;
      } else bail();
      if (this.lit(44)) continue;
      if (this.lit(41)) break;
      bail();
    }
    this.key.be16(5, (pcp << 13) | (cfi << 12) | vid);
    this.mask.be16(5, (mpcp << 13) | (mcfi << 12) | mvid);
  }

  private skipDelims(): void {
    const s = this.s;
    for (;;) {
      const c = s.charCodeAt(this.i);
      if (c === 44 || c === 32 || c === 9 || c === 13 || c === 10) this.i++;
      else return;
    }
  }

  run(): void {
    let seen = 0;
    for (;;) {
      this.skipDelims();
      if (this.i >= this.end) break;
      seen = this.attr(seen);
    }
  }
}

const PARSER = new FastParser();

/**
 * Scans s[start, end) as a flow key; true when it took it, and then
 * FAST_KEY.key and FAST_KEY.mask hold the bytes until the next call.
 * False: ask src/odp. The range must be followed by a character that ends a
 * key (whitespace, or the end of s), as a flow token in a line is.
 */
export function fastKeyRange(s: string, start: number, end: number, ports: ReadonlyMap<string, number>): boolean {
  if (end - start > 4000) return false;
  PARSER.reset(s, start, end, ports);
  try {
    PARSER.run();
  } catch (e) {
    if (e === BAIL) return false;
    throw e;
  }
  return true;
}

/** The last fastKeyRange's output (valid bytes: buf[0, n)). */
export const FAST_KEY: { readonly key: Readonly<Pick<Out, 'buf' | 'n'>>; readonly mask: Readonly<Pick<Out, 'buf' | 'n'>> } = { key: KEY_OUT, mask: MASK_OUT };

/** Key and mask bytes of a flow key in ODP text, or undefined: then ask src/odp. */
export function fastKeyBytes(text: string, ports: ReadonlyMap<string, number>): { key: Uint8Array; mask: Uint8Array } | undefined {
  if (!fastKeyRange(text, 0, text.length, ports)) return undefined;
  return { key: KEY_OUT.copy(), mask: MASK_OUT.copy() };
}
