// ODP flow key text → typed key and mask, as odp_flow_from_string reads it:
// every attribute lands in both, fields left out of an attribute are zero in
// the key and wildcarded in the mask, and attribute order is kept.
import { AttrWriter } from '../netlink/attr.js';
import { IPV4_ONES, IPV4_ZERO, IPV6_ZERO, MAC_ONES, MAC_ZERO } from '../ovs/addr.js';
import { decodeKeyField, encodeKeyField } from '../ovs/key-codec.js';
import type { ErspanOpts, FlowKey, MplsLse, NshKey, TunnelKey, VlanKey } from '../ovs/keys.js';
import { U128_MAX } from '../ovs/packing.js';
import { parseUfid, type Ufid } from '../ovs/ufid.js';
import { OdpParseError } from './errors.js';
import { CT_STATE_NAMES, scanFlags, TCP_FLAG_NAMES, TUN_FLAG_NAMES } from './flags.js';
import { Cursor, ScanFail } from './scanner.js';

/** OVS's MAX_ODP_NESTED: key attributes and actions nest at most this deep. */
export const MAX_ODP_NESTED = 32;

type Obj = Record<string, unknown>;

const V6_ONES = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';

export interface ParsedFlow {
  /** The `ufid:` prefix. */
  ufid?: Ufid;
  key: FlowKey;
  mask: FlowKey;
}

const UFID_RE = /^ufid:([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})/;

export interface ParseFlowOptions {
  /**
   * Also read what only OVS's verbose dumps print and its parser refuses: a
   * masked recirc_id (`recirc_id(0/0)`).
   */
  dumpSyntax?: boolean;
  /** Port names usable in in_port(...) (ovs-dpctl --names). */
  portNames?: ReadonlyMap<string, number>;
}

/**
 * Parses a flow key with masks (`in_port(1),eth(...),...`), optionally
 * preceded by `ufid:UUID ` as OVS accepts. Throws OdpParseError.
 */
export function parseOdpFlow(text: string, opts: ParseFlowOptions = {}): ParsedFlow {
  const c = new Cursor(text);
  c.dumpSyntax = !!opts.dumpSyntax;
  c.portNames = opts.portNames;
  const key: Obj = {};
  const mask: Obj = {};
  let ufid: Ufid | undefined;
  let topStart = 0;
  // Long inputs may exceed the 64 KiB a netlink attribute can hold; only
  // then is the running size worth tracking (the shortest attribute text,
  // "encap()," is 8 characters for 4 bytes; the densest is about 1:8).
  const track = text.length > 8000 ? { size: 0, dup: undefined as ScanFail | undefined } : undefined;
  try {
    c.skipDelims();
    const m = UFID_RE.exec(text.slice(c.i));
    // Right after a UFID comes the key, with at most one space between (a
    // comma there is an error in OVS too).
    let afterUfid = false;
    if (m) {
      ufid = parseUfid(`ufid:${m[1]}`);
      c.i += m[0].length;
      if (c.peek() === ' ') c.i++;
      afterUfid = true;
    }
    for (;;) {
      if (!afterUfid) {
        c.skipDelims();
        if (c.atEnd()) break;
      }
      afterUfid = false;
      topStart = c.i;
      const [name, value] = parseKeyAttr(c, key, mask, track);
      if (track) {
        track.size += attrSize(name, value);
        if (track.size > 65535) c.fail('flow key does not fit in one netlink attribute (64 KiB)', topStart);
      }
    }
    if (track?.dup) throw track.dup;
  } catch (e) {
    if (e instanceof ScanFail) throw new OdpParseError(e.reason, e.offset, text.slice(topStart), text);
    throw e;
  }
  return ufid === undefined ? { key: key as FlowKey, mask: mask as FlowKey } : { ufid, key: key as FlowKey, mask: mask as FlowKey };
}

function attrSize(name: string, v: unknown): number {
  const w = new AttrWriter(64);
  encodeKeyField(w, name, v);
  return w.length;
}

/**
 * Parses one key attribute at the cursor into `key` and `mask` and returns
 * its property name and key value. A duplicate attribute is an error, or,
 * with `track`, recorded there and left out.
 */
export function parseKeyAttr(c: Cursor, key: Obj, mask: Obj, track?: { dup: ScanFail | undefined }): [string, unknown] {
  c.depth++;
  if (c.depth >= MAX_ODP_NESTED) c.fail(`attributes nest deeper than ${MAX_ODP_NESTED - 1} levels`);
  const start = c.i;
  const word = c.ident();
  if (!c.lit('(')) c.fail(`expected a key attribute such as in_port(...), found ${JSON.stringify(c.s.slice(start, start + 16))}`, start);
  const p = Object.prototype.hasOwnProperty.call(KEY_PARSERS, word) ? KEY_PARSERS[word] : undefined;
  let name: string;
  let kv: unknown;
  let mv: unknown;
  if (p) {
    [name, kv, mv] = p(c);
  } else if (/^key\d+$/.test(word)) {
    [name, kv, mv] = genericAttr(c, Number(word.slice(3)), start);
  } else {
    c.fail(`unknown key attribute ${JSON.stringify(word)}`, start);
  }
  c.depth--;
  if (name in key) {
    const dup = new ScanFail(`duplicate ${ODP_NAME_OF[name] ?? name} attribute in flow key`, start);
    if (!track) throw dup;
    track.dup ??= dup;
    return [name, kv];
  }
  key[name] = kv;
  mask[name] = mv;
  return [name, kv];
}

const ODP_NAME_OF: Record<string, string> = {};

type AttrParser = (c: Cursor) => [string, unknown, unknown];

// ---- scalar helpers: value [/mask] ----

function masked<T>(c: Cursor, scan: () => T, full: T): [T, T] {
  const v = scan();
  if (c.lit('/')) return [v, scan()];
  return [v, full];
}

const u = (bits: number, what: string) => (c: Cursor): [number, number] =>
  masked(c, () => c.uint(bits, what), bits === 32 ? 0xffffffff : 2 ** bits - 1);

function close(c: Cursor, what: string): void {
  if (!c.lit(')')) c.fail(`${what}: expected ")", found ${c.found()}`);
}

function single(name: string, bits: number, what: string): AttrParser {
  const scan = u(bits, what);
  return (c) => {
    const [v, m] = scan(c);
    close(c, what);
    return [name, v, m];
  };
}

type FieldHandler = (c: Cursor, k: Obj, m: Obj) => void;
type FieldTable = ReadonlyMap<string, FieldHandler>;

/**
 * name=value fields, in any order, up to ")" (the "(" is already read), each
 * handler setting its field in `k` and `m`. Trailing commas are allowed, as
 * in OVS.
 */
function fields(c: Cursor, what: string, table: FieldTable, k: Obj, m: Obj): void {
  for (;;) {
    if (c.lit(')')) return;
    const start = c.i;
    const name = c.ident();
    const h = name ? table.get(name + c.peek()) : undefined;
    if (!h) c.fail(`${what}: unknown field ${JSON.stringify(c.s.slice(start, Math.max(c.i, start + 1)))}`, start);
    c.i++;
    h(c, k, m);
    if (c.lit(',')) continue;
    if (c.lit(')')) return;
    c.fail(`${what}: expected "," or ")" after ${name}, found ${c.found()}`);
  }
}

// Field handlers: `field=value[/mask]` into k[field] and m[field].
const fU = (field: string, bits: number, what: string): FieldHandler => {
  const full = bits === 32 ? 0xffffffff : 2 ** bits - 1;
  return (c, k, m) => {
    k[field] = c.uint(bits, what);
    m[field] = c.lit('/') ? c.uint(bits, what) : full;
  };
};
const fIp4 = (field: string, what: string): FieldHandler => (c, k, m) => {
  k[field] = c.ipv4(what);
  m[field] = c.lit('/') ? c.ipv4(what) : IPV4_ONES;
};
const fIp6 = (field: string, what: string): FieldHandler => (c, k, m) => {
  k[field] = c.ipv6(what);
  m[field] = c.lit('/') ? c.ipv6(what) : V6_ONES;
};
const fMac = (field: string, what: string): FieldHandler => (c, k, m) => {
  k[field] = c.mac(what);
  m[field] = c.lit('/') ? c.mac(what) : MAC_ONES;
};
const fFrag: FieldHandler = (c, k, m) => {
  [k.frag, m.frag] = frag(c);
};
const table = (entries: Record<string, FieldHandler>): FieldTable => new Map(Object.entries(entries));

// ---- attribute parsers ----

function ctState(c: Cursor): [string, unknown, unknown] {
  const { flags, mask } = scanFlags(c, CT_STATE_NAMES, 0xff, true, 'ct_state');
  close(c, 'ct_state');
  return ['ctState', flags, mask];
}

function tcpFlags(c: Cursor): [string, unknown, unknown] {
  const { flags, mask } = scanFlags(c, TCP_FLAG_NAMES, 0x0fff, true, 'tcp_flags');
  close(c, 'tcp_flags');
  return ['tcpFlags', flags, mask & 0xffff];
}

/** scan_u128: "0x" + up to 32 hex digits, or a decimal up to 64 bits; "/mask" likewise. */
function u128(c: Cursor, what: string): bigint {
  if (c.s.startsWith('0x', c.i) || c.s.startsWith('0X', c.i)) {
    const start = c.i;
    c.i += 2;
    const st = c.i;
    while (/[0-9a-fA-F]/.test(c.peek())) c.i++;
    const digits = c.s.slice(st, c.i).replace(/^0+/, '');
    if (st === c.i) c.fail(`${what}: expected hex digits`, start);
    if (digits.length > 32) c.fail(`${what}: more than 128 bits`, start);
    return digits ? BigInt('0x' + digits) : 0n;
  }
  return c.big(64, what);
}

function ctLabel(c: Cursor): [string, unknown, unknown] {
  const v = u128(c, 'ct_label');
  const m = c.lit('/') ? u128(c, 'ct_label mask') : U128_MAX;
  close(c, 'ct_label');
  return ['ctLabels', v, m];
}

const CT_TUPLE4 = table({
  'src=': fIp4('src', 'ct_tuple4'),
  'dst=': fIp4('dst', 'ct_tuple4'),
  'proto=': fU('proto', 8, 'ct_tuple4 proto'),
  'tp_src=': fU('srcPort', 16, 'ct_tuple4 tp_src'),
  'tp_dst=': fU('dstPort', 16, 'ct_tuple4 tp_dst'),
  // The names OVS prints for ct_tuple6 (and cannot read back).
  'src_port=': fU('srcPort', 16, 'ct_tuple4 src_port'),
  'dst_port=': fU('dstPort', 16, 'ct_tuple4 dst_port'),
});
const CT_TUPLE6 = table({
  'src=': fIp6('src', 'ct_tuple6'),
  'dst=': fIp6('dst', 'ct_tuple6'),
  'proto=': fU('proto', 8, 'ct_tuple6 proto'),
  'tp_src=': fU('srcPort', 16, 'ct_tuple6 tp_src'),
  'tp_dst=': fU('dstPort', 16, 'ct_tuple6 tp_dst'),
  'src_port=': fU('srcPort', 16, 'ct_tuple6 src_port'),
  'dst_port=': fU('dstPort', 16, 'ct_tuple6 dst_port'),
});

function ctTuple(v6: boolean): AttrParser {
  return (c) => {
    const zero = v6 ? IPV6_ZERO : IPV4_ZERO;
    const k = { src: zero, dst: zero, srcPort: 0, dstPort: 0, proto: 0 };
    const m = { src: zero, dst: zero, srcPort: 0, dstPort: 0, proto: 0 };
    fields(c, v6 ? 'ct_tuple6' : 'ct_tuple4', v6 ? CT_TUPLE6 : CT_TUPLE4, k, m);
    return [v6 ? 'ctOrigTupleIpv6' : 'ctOrigTupleIpv4', k, m];
  };
}

const ETH = table({ 'src=': fMac('src', 'eth src'), 'dst=': fMac('dst', 'eth dst') });

function eth(c: Cursor): [string, unknown, unknown] {
  const k = { src: MAC_ZERO, dst: MAC_ZERO };
  const m = { src: MAC_ZERO, dst: MAC_ZERO };
  fields(c, 'eth', ETH, k, m);
  return ['ethernet', k, m];
}

const VLAN = table({ 'vid=': fU('vid', 12, 'vlan vid'), 'pcp=': fU('pcp', 3, 'vlan pcp'), 'cfi=': fU('cfi', 1, 'vlan cfi') });

function vlan(c: Cursor): [string, unknown, unknown] {
  // The CFI ("tag present") bit starts set and exact in both.
  const k: VlanKey = { vid: 0, pcp: 0, cfi: 1 };
  const m: VlanKey = { vid: 0, pcp: 0, cfi: 1 };
  fields(c, 'vlan', VLAN, k as unknown as Obj, m as unknown as Obj);
  return ['vlan', k, m];
}

function mpls(c: Cursor): [string, unknown, unknown] {
  const k: MplsLse[] = [{ label: 0, tc: 0, ttl: 0, bos: 0 }];
  const m: MplsLse[] = [{ label: 0, tc: 0, ttl: 0, bos: 0 }];
  let seen = 0;
  // A repeated field starts the next label stack entry.
  const field = (bit: number, f: keyof MplsLse, bits: number): FieldHandler => (x) => {
    if (seen & bit) {
      if (k.length === 3) x.fail('mpls: more than 3 labels');
      k.push({ label: 0, tc: 0, ttl: 0, bos: 0 });
      m.push({ label: 0, tc: 0, ttl: 0, bos: 0 });
      seen = 0;
    }
    seen |= bit;
    fU(f, bits, `mpls ${f}`)(x, k[k.length - 1] as unknown as Obj, m[m.length - 1] as unknown as Obj);
  };
  fields(c, 'mpls', table({ 'label=': field(1, 'label', 20), 'tc=': field(2, 'tc', 3), 'ttl=': field(4, 'ttl', 8), 'bos=': field(8, 'bos', 1) }), {}, {});
  return ['mpls', k, m];
}

function frag(c: Cursor): [number, number] {
  const start = c.i;
  const w = /^[a-z]{1,7}/.exec(c.s.slice(c.i, c.i + 8))?.[0] ?? '';
  const v = w === 'no' ? 0 : w === 'first' ? 1 : w === 'later' ? 2 : -1;
  if (v < 0) c.fail(`frag: expected no, first or later, found ${c.found()}`, start);
  c.i += w.length;
  return [v, 0xff];
}

const IPV4 = table({
  'src=': fIp4('src', 'ipv4 src'),
  'dst=': fIp4('dst', 'ipv4 dst'),
  'proto=': fU('proto', 8, 'ipv4 proto'),
  'tos=': fU('tos', 8, 'ipv4 tos'),
  'ttl=': fU('ttl', 8, 'ipv4 ttl'),
  'frag=': fFrag,
});

function ipv4(c: Cursor): [string, unknown, unknown] {
  const k = { src: IPV4_ZERO, dst: IPV4_ZERO, proto: 0, tos: 0, ttl: 0, frag: 0 };
  const m = { src: IPV4_ZERO, dst: IPV4_ZERO, proto: 0, tos: 0, ttl: 0, frag: 0 };
  fields(c, 'ipv4', IPV4, k, m);
  return ['ipv4', k, m];
}


const IPV6 = table({
  'src=': fIp6('src', 'ipv6 src'),
  'dst=': fIp6('dst', 'ipv6 dst'),
  'label=': fU('label', 20, 'ipv6 label'),
  'proto=': fU('proto', 8, 'ipv6 proto'),
  'tclass=': fU('tclass', 8, 'ipv6 tclass'),
  'hlimit=': fU('hlimit', 8, 'ipv6 hlimit'),
  'frag=': fFrag,
});

function ipv6(c: Cursor): [string, unknown, unknown] {
  const k = { src: IPV6_ZERO, dst: IPV6_ZERO, label: 0, proto: 0, tclass: 0, hlimit: 0, frag: 0 };
  const m = { src: IPV6_ZERO, dst: IPV6_ZERO, label: 0, proto: 0, tclass: 0, hlimit: 0, frag: 0 };
  fields(c, 'ipv6', IPV6, k, m);
  return ['ipv6', k, m];
}

function ports(name: string): AttrParser {
  const t = table({ 'src=': fU('src', 16, `${name} src`), 'dst=': fU('dst', 16, `${name} dst`) });
  return (c) => {
    const k = { src: 0, dst: 0 };
    const m = { src: 0, dst: 0 };
    fields(c, name, t, k, m);
    return [name, k, m];
  };
}

function icmp(name: string): AttrParser {
  const t = table({ 'type=': fU('type', 8, `${name} type`), 'code=': fU('code', 8, `${name} code`) });
  return (c) => {
    const k = { type: 0, code: 0 };
    const m = { type: 0, code: 0 };
    fields(c, name, t, k, m);
    return [name, k, m];
  };
}

const ARP = table({
  'sip=': fIp4('sip', 'arp sip'),
  'tip=': fIp4('tip', 'arp tip'),
  'op=': fU('op', 16, 'arp op'),
  'sha=': fMac('sha', 'arp sha'),
  'tha=': fMac('tha', 'arp tha'),
});

function arp(c: Cursor): [string, unknown, unknown] {
  const k = { sip: IPV4_ZERO, tip: IPV4_ZERO, op: 0, sha: MAC_ZERO, tha: MAC_ZERO };
  const m = { sip: IPV4_ZERO, tip: IPV4_ZERO, op: 0, sha: MAC_ZERO, tha: MAC_ZERO };
  fields(c, 'arp', ARP, k, m);
  return ['arp', k, m];
}

const ND = table({ 'target=': fIp6('target', 'nd target'), 'sll=': fMac('sll', 'nd sll'), 'tll=': fMac('tll', 'nd tll') });

function nd(c: Cursor): [string, unknown, unknown] {
  const k = { target: IPV6_ZERO, sll: MAC_ZERO, tll: MAC_ZERO };
  const m = { target: IPV6_ZERO, sll: MAC_ZERO, tll: MAC_ZERO };
  fields(c, 'nd', ND, k, m);
  return ['nd', k, m];
}

const ND_EXT = table({ 'nd_reserved=': fU('reserved', 32, 'nd_reserved'), 'nd_options_type=': fU('optionsType', 8, 'nd_options_type') });

function ndExt(c: Cursor): [string, unknown, unknown] {
  const k = { reserved: 0, optionsType: 0 };
  const m = { reserved: 0, optionsType: 0 };
  fields(c, 'nd_ext', ND_EXT, k, m);
  return ['ndExtensions', k, m];
}

const PACKET_TYPE = table({ 'ns=': fU('ns', 16, 'packet_type ns'), 'id=': fU('id', 16, 'packet_type id') });

function packetType(c: Cursor): [string, unknown, unknown] {
  const k = { ns: 0, id: 0 };
  const m = { ns: 0, id: 0 };
  fields(c, 'packet_type', PACKET_TYPE, k, m);
  return ['packetType', k, m];
}

const NSH_BASE = table({
  'flags=': fU('flags', 8, 'nsh flags'),
  'ttl=': fU('ttl', 8, 'nsh ttl'),
  'mdtype=': fU('mdtype', 8, 'nsh mdtype'),
  'np=': fU('np', 8, 'nsh np'),
  'si=': fU('si', 8, 'nsh si'),
  'spi=': (c, k, m) => {
    const at = c.i;
    fU('spi', 32, 'nsh spi')(c, k, m);
    if ((k.spi as number) > 0xffffff) c.fail('nsh spi: more than 24 bits', at);
    m.spi = (m.spi as number) & 0xffffff;
  },
  'c1=': fU('c1', 32, 'nsh c1'),
  'c2=': fU('c2', 32, 'nsh c2'),
  'c3=': fU('c3', 32, 'nsh c3'),
  'c4=': fU('c4', 32, 'nsh c4'),
});

/** nsh(...) as OVS prints it (OVS itself cannot read it back). */
function nsh(c: Cursor): [string, unknown, unknown] {
  const k: Obj = { flags: 0, ttl: 0, mdtype: 0, np: 0, spi: 0, si: 0, c1: 0, c2: 0, c3: 0, c4: 0 };
  const m: Obj = { ...k };
  fields(c, 'nsh', NSH_BASE, k, m);
  const split = (o: Obj): NshKey => ({
    base: { flags: o.flags as number, ttl: o.ttl as number, mdtype: o.mdtype as number, np: o.np as number, spi: o.spi as number, si: o.si as number },
    md1: [o.c1 as number, o.c2 as number, o.c3 as number, o.c4 as number],
  });
  // The context words go into the key too, so a key read back prints as written.
  return ['nsh', split(k), split(m)];
}

function encap(c: Cursor): [string, unknown, unknown] {
  const k: Obj = {};
  const m: Obj = {};
  for (;;) {
    c.skipDelims();
    if (c.atEnd()) c.fail('encap: missing ")"');
    if (c.lit(')')) break;
    parseKeyAttr(c, k, m);
  }
  return ['encap', k, m];
}

/** keyN(hex bytes[/hex bytes]): how OVS prints attributes it does not know; read back here. */
function genericAttr(c: Cursor, type: number, start: number): [string, unknown, unknown] {
  if (type > 0x3fff) c.fail(`attribute type ${type} out of range`, start);
  const bytes = (): Uint8Array => {
    const out: number[] = [];
    while (/^[0-9a-fA-F]{2}/.test(c.s.slice(c.i, c.i + 2))) {
      out.push(parseInt(c.s.slice(c.i, c.i + 2), 16));
      c.i += 2;
      if (c.peek() === ' ' && /^[0-9a-fA-F]{2}/.test(c.s.slice(c.i + 1, c.i + 3))) c.i++;
      else break;
    }
    return new Uint8Array(out);
  };
  const k = bytes();
  const m = c.lit('/') ? bytes() : new Uint8Array(k.length).fill(0xff);
  if (m.length !== k.length) c.fail(`key${type}: mask length differs from value length`);
  close(c, `key${type}`);
  try {
    const [name, kv] = decodeKeyField({ type, flags: 0, data: k });
    const [, mv] = decodeKeyField({ type, flags: 0, data: m });
    return [name, kv, mv];
  } catch (e) {
    c.fail(`key${type}: ${(e as Error).message}`, start);
  }
}

// ---- tunnel ----

function tunPut(c: Cursor, k: Obj, m: Obj, name: string, kv: unknown, mv: unknown, at: number): void {
  if (name in k || name in m) c.fail(`tunnel: ${name} given twice`, at);
  if (kv !== undefined) k[name] = kv;
  if (mv !== undefined) m[name] = mv;
}

const tunField = (name: string, scan: (c: Cursor) => [unknown, unknown]): FieldHandler => (c, k, m) => {
  const at = c.i;
  const [kv, mv] = scan(c);
  tunPut(c, k, m, name, kv, mv, at);
};

const TUNNEL = table({
  'tun_id=': tunField('id', (x) => masked(x, () => x.big(64, 'tun_id'), (1n << 64n) - 1n)),
  'src=': tunField('ipv4Src', (x) => masked(x, () => x.ipv4('tunnel src'), IPV4_ONES)),
  'dst=': tunField('ipv4Dst', (x) => masked(x, () => x.ipv4('tunnel dst'), IPV4_ONES)),
  'ipv6_src=': tunField('ipv6Src', (x) => masked(x, () => x.ipv6('tunnel ipv6_src'), V6_ONES)),
  'ipv6_dst=': tunField('ipv6Dst', (x) => masked(x, () => x.ipv6('tunnel ipv6_dst'), V6_ONES)),
  'tos=': tunField('tos', u(8, 'tunnel tos')),
  'ttl=': tunField('ttl', u(8, 'tunnel ttl')),
  'tp_src=': tunField('tpSrc', u(16, 'tunnel tp_src')),
  'tp_dst=': tunField('tpDst', u(16, 'tunnel tp_dst')),
  'erspan(': tunField('erspanOpts', erspan),
  'vxlan(': tunField('vxlanOpts', vxlan),
  'geneve(': tunField('geneveOpts', scanGeneveOpts),
  'gtpu(': tunField('gtpuOpts', gtpu),
  'flags(': (c, k, m) => {
    const at = c.i;
    const { flags, mask } = scanFlags(c, TUN_FLAG_NAMES, 0xf, true, 'tunnel flags');
    close(c, 'tunnel flags');
    // The "key" flag is not an attribute: it follows from tun_id being there.
    for (const [bit, name] of [[2, 'dontFragment'], [4, 'csum'], [1, 'oam']] as const) {
      tunPut(c, k, m, name, flags & bit ? true : undefined, mask & bit ? true : undefined, at);
    }
  },
});

function tunnel(c: Cursor): [string, unknown, unknown] {
  const k: Obj = {};
  const m: Obj = {};
  fields(c, 'tunnel', TUNNEL, k, m);
  return ['tunnel', k as TunnelKey, m as TunnelKey];
}

function erspan(c: Cursor): [ErspanOpts, ErspanOpts] {
  const k: ErspanOpts = { version: 0, index: 0, sgt: 0, p: 0, ft: 0, hwidUpper: 0, o: 0, gra: 0, dir: 0, hwid: 0 };
  // What the text does not mention stays exact in the mask (OVS starts from all ones).
  const m: ErspanOpts = { version: -1, index: 0xffffffff, sgt: 0xffff, p: 1, ft: 0x1f, hwidUpper: 3, o: 1, gra: 3, dir: 1, hwid: 0xf };
  if (!c.lit('ver=')) c.fail('erspan: expected ver=');
  const [ver] = u(8, 'erspan ver')(c);
  if (ver !== 1 && ver !== 2) c.fail(`erspan: version ${ver} is neither 1 nor 2`);
  k.version = ver;
  c.lit(',');
  if (ver === 1) {
    if (c.lit('idx=')) [k.index, m.index] = u(32, 'erspan idx')(c);
  } else {
    if (c.lit('dir=')) {
      const [d, dm] = u(8, 'erspan dir')(c);
      k.dir = d & 1;
      m.dir = dm & 1;
    }
    c.lit(',');
    if (c.lit('hwid=')) {
      const [h, hm] = u(8, 'erspan hwid')(c);
      k.hwid = h & 0xf;
      m.hwid = hm & 0xf;
    }
  }
  close(c, 'erspan');
  return [k, m];
}

function vxlan(c: Cursor): [unknown, unknown] {
  if (!c.lit('gbp(')) c.fail('vxlan: expected gbp(');
  let id = 0;
  let idm = 0;
  let fl = 0;
  let flm = 0;
  if (c.lit('id=')) [id, idm] = u(16, 'vxlan gbp id')(c);
  c.lit(',');
  if (c.lit('flags=')) [fl, flm] = u(8, 'vxlan gbp flags')(c);
  if (!c.lit('))')) c.fail(`vxlan(gbp(...)): expected "))", found ${c.found()}`);
  const gbp = ((fl << 16) | id) >>> 0;
  const gbpm = ((flm << 16) | idm) >>> 0;
  // OVS adds the options attribute only where the value is non-zero.
  return [gbp ? { gbp } : undefined, gbpm ? { gbp: gbpm } : undefined];
}

function gtpu(c: Cursor): [unknown, unknown] {
  const k = { flags: 0, msgtype: 0 };
  const m = { flags: 0, msgtype: 0 };
  if (c.lit('flags=')) [k.flags, m.flags] = u(8, 'gtpu flags')(c);
  c.lit(',');
  if (c.lit('msgtype=')) [k.msgtype, m.msgtype] = u(8, 'gtpu msgtype')(c);
  close(c, 'gtpu');
  return [k, m];
}

/** parse_int_string: 0x + hex digits, right-aligned in `width` bytes, or a decimal. */
function intString(c: Cursor, width: number, out: Uint8Array, off: number, what: string): void {
  const start = c.i;
  if (c.s.startsWith('0x', c.i) || c.s.startsWith('0X', c.i)) {
    c.i += 2;
    const st = c.i;
    while (/[0-9a-fA-F]/.test(c.peek())) c.i++;
    let digits = c.s.slice(st, c.i).replace(/^0+/, '');
    if (Math.ceil(digits.length / 2) > width) c.fail(`${what}: value longer than ${width} bytes`, start);
    if (digits.length % 2) digits = '0' + digits;
    out.fill(0, off, off + width);
    const n = digits.length / 2;
    for (let i = 0; i < n; i++) out[off + width - n + i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
    return;
  }
  let v = c.big(64, what);
  for (let i = width - 1; i >= 0; i--) {
    out[off + i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (v) c.fail(`${what}: value longer than ${width} bytes`, start);
}

/** geneve({class=,type=,len=,0xDATA[/0xMASK]}...), from after "geneve(" through its ")". */
export function scanGeneveOpts(c: Cursor): [Uint8Array, Uint8Array] {
  const key = new Uint8Array(252);
  const mask = new Uint8Array(252).fill(0xff);
  let len = 0;
  while (c.lit('{')) {
    if (len + 4 > 252) c.fail('geneve: options exceed 252 bytes');
    const o = len;
    len += 4;
    let dataLen = 0;
    if (c.lit('class=')) {
      const [v, m] = u(16, 'geneve class')(c);
      key[o] = v >> 8;
      key[o + 1] = v & 0xff;
      mask[o] = m >> 8;
      mask[o + 1] = m & 0xff;
    } else {
      mask[o] = mask[o + 1] = 0;
    }
    c.lit(',');
    if (c.lit('type=')) [key[o + 2], mask[o + 2]] = u(8, 'geneve type')(c);
    else mask[o + 2] = 0;
    c.lit(',');
    if (c.lit('len=')) {
      const at = c.i;
      const [v, m] = u(8, 'geneve len')(c);
      if (v > 124 || v % 4 || v > 252 - len) c.fail(`geneve: option length ${v} is not a multiple of 4 up to 124`, at);
      key[o + 3] = v / 4;
      mask[o + 3] = m & 0x1f;
      dataLen = v;
    } else {
      // As OVS: no length means no data, and (an OVS quirk) the type's mask is cleared.
      mask[o + 2] = 0;
      mask[o + 3] = 0x1f;
    }
    if (c.lit(',')) intString(c, dataLen, key, len, 'geneve option data');
    if (c.lit('/')) intString(c, dataLen, mask, len, 'geneve option mask');
    mask[o + 3] &= 0x1f;
    if (!c.lit('}')) c.fail(`geneve: expected "}", found ${c.found()}`);
    len += dataLen;
  }
  close(c, 'geneve');
  return [key.slice(0, len), mask.slice(0, len)];
}

const KEY_PARSERS: Record<string, AttrParser> = {
  skb_priority: single('priority', 32, 'skb_priority'),
  skb_mark: single('skbMark', 32, 'skb_mark'),
  recirc_id: (c) => {
    // OVS always matches recirc_id exactly; only its dumps show a mask.
    const [v, m] = c.dumpSyntax ? u(32, 'recirc_id')(c) : [c.uint(32, 'recirc_id'), 0xffffffff];
    close(c, 'recirc_id');
    return ['recircId', v, m];
  },
  dp_hash: single('dpHash', 32, 'dp_hash'),
  ct_state: ctState,
  ct_zone: single('ctZone', 16, 'ct_zone'),
  ct_mark: single('ctMark', 32, 'ct_mark'),
  ct_label: ctLabel,
  ct_tuple4: ctTuple(false),
  ct_tuple6: ctTuple(true),
  tunnel,
  in_port: (c) => {
    const names = c.portNames;
    if (names && !c.atNumber()) {
      const m = /^[^)]*/.exec(c.s.slice(c.i))![0];
      const port = names.get(m);
      if (port !== undefined) {
        c.i += m.length;
        close(c, 'in_port');
        return ['inPort', port, 0xffffffff];
      }
    }
    return single('inPort', 32, 'in_port')(c);
  },
  eth,
  vlan,
  eth_type: single('ethertype', 16, 'eth_type'),
  mpls,
  ipv4,
  ipv6,
  tcp: ports('tcp'),
  tcp_flags: tcpFlags,
  udp: ports('udp'),
  sctp: ports('sctp'),
  icmp: icmp('icmp'),
  icmpv6: icmp('icmpv6'),
  arp,
  nd,
  nd_ext: ndExt,
  packet_type: packetType,
  nsh,
  encap,
};

for (const [odp, name] of Object.entries({
  skb_priority: 'priority', skb_mark: 'skbMark', recirc_id: 'recircId', dp_hash: 'dpHash', ct_state: 'ctState', ct_zone: 'ctZone', ct_mark: 'ctMark',
  ct_label: 'ctLabels', ct_tuple4: 'ctOrigTupleIpv4', ct_tuple6: 'ctOrigTupleIpv6', tunnel: 'tunnel', in_port: 'inPort', eth: 'ethernet', vlan: 'vlan',
  eth_type: 'ethertype', mpls: 'mpls', ipv4: 'ipv4', ipv6: 'ipv6', tcp: 'tcp', tcp_flags: 'tcpFlags', udp: 'udp', sctp: 'sctp', icmp: 'icmp',
  icmpv6: 'icmpv6', arp: 'arp', nd: 'nd', nd_ext: 'ndExtensions', packet_type: 'packetType', nsh: 'nsh', encap: 'encap', key32: 'ipv6Exthdrs',
})) {
  ODP_NAME_OF[name] = odp;
}
