// Typed key (+ mask) → ODP text, byte for byte as odp-util.c's
// odp_flow_format prints it: attributes in key order; in the terse form
// wildcarded fields and attributes are left out and exact masks not shown;
// the verbose form (ovs-dpctl -m) shows everything.
import { IPV4_ONES, IPV6_ONES, MAC_ONES, MAC_ZERO, IPV4_ZERO, IPV6_ZERO } from '../ovs/addr.js';
import { keyFieldPayload } from '../ovs/key-codec.js';
import type { ErspanOpts, FlowKey, GtpuOpts, MplsLse, NshKey, TunnelKey, VxlanOpts } from '../ovs/keys.js';
import { KEY_FIELD_ODP_NAMES } from '../ovs/keys.js';
import { U128_MAX, U64_MAX } from '../ovs/packing.js';
import { CT_STATE_NAMES, formatFlags, formatFlagsMasked, TCP_FLAG_NAMES, TUN_FLAG_NAMES } from './flags.js';
import { fieldsOf, maskIsConstant, wildcardMaskOf } from './mask-util.js';
import { allBytes, hx, hx4, putHex, spacedHex } from './numfmt.js';

type Obj = Record<string, unknown>;

export interface FormatOptions {
  /** ovs-dpctl -m: print every field, masks included. */
  verbose?: boolean;
  /** Port numbers to print by name (in_port, outputs), as with --names. */
  portNames?: ReadonlyMap<number, string>;
}

/**
 * Formats a key with its mask (as dump-flows does), or a key alone when
 * `mask` is undefined: then every attribute counts as exact and, unless
 * `verbose: false` is asked for, every field shows (as OVS prints a key).
 */
export function formatOdpFlow(key: FlowKey, mask?: FlowKey, opts: FormatOptions = {}): string {
  const verbose = opts.verbose ?? mask === undefined;
  return flowFormat(key as Obj, mask && fieldsOf(mask).length ? (mask as Obj) : undefined, mask !== undefined, verbose, opts.portNames);
}

/** odp_flow_key_format: a key alone, every field shown. */
export function formatOdpKey(key: FlowKey, opts: Omit<FormatOptions, 'verbose'> = {}): string {
  return formatOdpFlow(key, undefined, { ...opts, verbose: true });
}

function flowFormat(key: Obj, mask: Obj | undefined, hasMask: boolean, verbose: boolean, ports: ReadonlyMap<number, string> | undefined): string {
  const names = fieldsOf(key);
  if (names.length === 0) return '<empty>';
  let out = '';
  let first = true;
  let hasEthtype = false;
  let hasPacketType = false;
  for (const name of names) {
    const k = key[name];
    let m = mask ? mask[name] : undefined;
    if (name === 'ethertype') hasEthtype = true;
    else if (name === 'packetType') hasPacketType = true;
    const nested = name === 'encap' || name === 'tunnel' || name === 'nsh';
    const wildcard = mask ? (m === undefined ? true : maskIsConstant(name, m, false)) : false;
    if (verbose || !wildcard || nested) {
      if (wildcard && m === undefined) m = wildcardMaskOf(k);
      if (!first) out += ',';
      out += formatAttr(name, k, m, verbose, ports);
      first = false;
    } else if (name === 'ethernet' && !hasPacketType) {
      // A kernel flow with eth() matches Ethernet frames, without it L3
      // packets: the attribute must show even when fully wildcarded.
      if (!first) out += ',';
      out += 'eth()';
    } else if (name === 'packetType' && wildcard) {
      hasPacketType = false;
    }
  }
  if (!hasEthtype && hasMask && mask && mask.ethertype !== undefined) out += `,eth_type(0/${hx4(mask.ethertype as number)})`;
  return out;
}

/** One attribute `name(...)`; `m` undefined means exact (no mask). */
export function formatAttr(name: string, k: unknown, m: unknown, verbose: boolean, ports?: ReadonlyMap<number, string>): string {
  const odp = (KEY_FIELD_ODP_NAMES as Record<string, string>)[name] ?? name;
  const exact = m === undefined ? true : maskIsConstant(name, m, true);
  const o = k as Obj;
  const mo = m as Obj | undefined;
  const f = new Fields(verbose);
  switch (name) {
    case 'encap': {
      const inner = k as Obj;
      let body = '';
      if (fieldsOf(inner).length) {
        const mi = m as Obj | undefined;
        body = mi && fieldsOf(mi).length ? flowFormat(inner, mi, true, verbose, ports) : flowFormat(inner, undefined, false, verbose, ports);
      }
      return `encap(${body})`;
    }
    case 'priority':
    case 'skbMark':
    case 'dpHash':
    case 'recircId':
      return `${odp}(${hx(k as number)}${exact ? '' : '/' + hx(m as number)})`;
    case 'ctMark':
      return `${odp}(${verbose || !maskEmpty(m, 0) ? hx(k as number) + (exact ? '' : '/' + hx(m as number)) : ''})`;
    case 'ctState': {
      const v = k as number;
      if (verbose) return `ct_state(${hx(v)}${exact ? '' : '/' + hx((m as number) ?? 0)})`;
      if (!exact) return `ct_state(${formatFlagsMasked(CT_STATE_NAMES, v, (m as number) ?? 0, 0xffffffff)})`;
      return `ct_state(${formatFlags(CT_STATE_NAMES, v, '|')})`;
    }
    case 'ctZone':
      return `ct_zone(${verbose || !maskEmpty(m, 0) ? hx(k as number) + (exact ? '' : '/' + hx(m as number)) : ''})`;
    case 'ctLabels':
      return `ct_label(${formatU128(k as bigint, m as bigint | undefined, verbose)})`;
    case 'ctOrigTupleIpv4':
      f.ip('src', o.src, mo?.src, IPV4_ZERO, IPV4_ONES);
      f.ip('dst', o.dst, mo?.dst, IPV4_ZERO, IPV4_ONES);
      f.u8u('proto', o.proto, mo?.proto);
      f.be16('tp_src', o.srcPort, mo?.srcPort);
      f.be16('tp_dst', o.dstPort, mo?.dstPort);
      return `ct_tuple4(${f.done()})`;
    case 'ctOrigTupleIpv6':
      f.ip('src', o.src, mo?.src, IPV6_ZERO, IPV6_ONES);
      f.ip('dst', o.dst, mo?.dst, IPV6_ZERO, IPV6_ONES);
      f.u8u('proto', o.proto, mo?.proto);
      f.be16('src_port', o.srcPort, mo?.srcPort);
      f.be16('dst_port', o.dstPort, mo?.dstPort);
      return `ct_tuple6(${f.done()})`;
    case 'tunnel':
      return `tunnel(${formatTunnel(k as TunnelKey, m as TunnelKey | undefined, verbose)})`;
    case 'inPort': {
      const v = k as number;
      if (exact) return `in_port(${ports?.get(v) ?? String(v)})`;
      return `in_port(${v}/${hx(m as number)})`;
    }
    case 'packetType': {
      const pm = (m as { ns: number; id: number } | undefined) ?? { ns: 0xffff, id: 0xffff };
      f.be16('ns', o.ns, pm.ns);
      f.be16x('id', o.id, pm.id);
      return `packet_type(${f.done()})`;
    }
    case 'ethernet':
      f.mac('src', o.src, mo?.src);
      f.mac('dst', o.dst, mo?.dst);
      return `eth(${f.done()})`;
    case 'vlan':
      return `vlan(${formatVlan(o, mo ?? { vid: 0xfff, pcp: 7, cfi: 1 }, verbose)})`;
    case 'mpls':
      return `mpls(${formatMpls(k as MplsLse[], exact ? undefined : (m as MplsLse[]))})`;
    case 'ethertype':
      return `eth_type(${hx4(k as number)}${exact ? '' : '/' + hx4(m as number)})`;
    case 'ipv4':
      f.ip('src', o.src, mo?.src, IPV4_ZERO, IPV4_ONES);
      f.ip('dst', o.dst, mo?.dst, IPV4_ZERO, IPV4_ONES);
      f.u8u('proto', o.proto, mo?.proto);
      f.u8x('tos', o.tos, mo?.tos);
      f.u8u('ttl', o.ttl, mo?.ttl);
      f.frag(o.frag, mo?.frag);
      return `ipv4(${f.done()})`;
    case 'ipv6':
      f.ip('src', o.src, mo?.src, IPV6_ZERO, IPV6_ONES);
      f.ip('dst', o.dst, mo?.dst, IPV6_ZERO, IPV6_ONES);
      f.label(o.label, mo?.label);
      f.u8u('proto', o.proto, mo?.proto);
      f.u8x('tclass', o.tclass, mo?.tclass);
      f.u8u('hlimit', o.hlimit, mo?.hlimit);
      f.frag(o.frag, mo?.frag);
      return `ipv6(${f.done()})`;
    case 'tcp':
    case 'udp':
    case 'sctp':
      f.be16('src', o.src, mo?.src);
      f.be16('dst', o.dst, mo?.dst);
      return `${name}(${f.done()})`;
    case 'tcpFlags': {
      const v = k as number;
      if (!exact) return `tcp_flags(${formatFlagsMasked(TCP_FLAG_NAMES, v, (m as number) & 0x0fff, 0x0fff)})`;
      return `tcp_flags(${formatFlags(TCP_FLAG_NAMES, v, '|')})`;
    }
    case 'icmp':
    case 'icmpv6':
      f.u8u('type', o.type, mo?.type);
      f.u8u('code', o.code, mo?.code);
      return `${name}(${f.done()})`;
    case 'arp':
      f.ip('sip', o.sip, mo?.sip, IPV4_ZERO, IPV4_ONES);
      f.ip('tip', o.tip, mo?.tip, IPV4_ZERO, IPV4_ONES);
      f.be16('op', o.op, mo?.op);
      f.mac('sha', o.sha, mo?.sha);
      f.mac('tha', o.tha, mo?.tha);
      return `arp(${f.done()})`;
    case 'nd':
      f.ip('target', o.target, mo?.target, IPV6_ZERO, IPV6_ONES);
      f.mac('sll', o.sll, mo?.sll);
      f.mac('tll', o.tll, mo?.tll);
      return `nd(${f.done()})`;
    case 'ndExtensions':
      // OVS prints the reserved word unconditionally, as if exact.
      f.out += `nd_reserved=0x${(o.reserved as number).toString(16)},`;
      f.u8u('nd_options_type', o.optionsType, mo?.optionsType);
      return `nd_ext(${f.done()})`;
    case 'nsh':
      return `nsh(${formatNshAttr(k as NshKey, m as NshKey | undefined)})`;
    default: {
      // Attributes OVS does not know (including 32, IPv6 extension headers): raw bytes.
      const kb = keyFieldPayload(name, k);
      const tail = m === undefined ? '' : '/' + spacedHex(keyFieldPayload(name, m));
      return `${odp}(${spacedHex(kb)}${tail})`;
    }
  }
}

function maskEmpty(m: unknown, zero: number | bigint): boolean {
  return m === undefined || m === zero;
}

function formatU128(v: bigint, m: bigint | undefined, verbose: boolean): string {
  if (!(verbose || (m !== undefined && m !== 0n))) return '';
  return hx(v) + (m !== undefined && m !== U128_MAX ? '/' + hx(m) : '');
}

function formatVlan(k: Obj, m: Obj, verbose: boolean): string {
  const parts: string[] = [];
  const vid = k.vid as number;
  const mvid = m.vid as number;
  const pcp = k.pcp as number;
  const mpcp = m.pcp as number;
  if (verbose || vid || mvid) parts.push(`vid=${vid}${mvid !== 0xfff ? '/0x' + mvid.toString(16) : ''}`);
  if (verbose || pcp || mpcp) parts.push(`pcp=${pcp}${mpcp !== 7 ? '/0x' + mpcp.toString(16) : ''}`);
  if (!k.cfi) parts.push('cfi=0');
  return parts.join(',');
}

function formatMpls(k: MplsLse[], m: MplsLse[] | undefined): string {
  return k
    .map((l, i) => {
      if (!m) return `label=${l.label},tc=${l.tc},ttl=${l.ttl},bos=${l.bos}`;
      const x = m[i] ?? { label: 0, tc: 0, ttl: 0, bos: 0 };
      return `label=${l.label}/0x${x.label.toString(16)},tc=${l.tc}/${x.tc.toString(16)},ttl=${l.ttl}/0x${x.ttl.toString(16)},bos=${l.bos}/${x.bos.toString(16)}`;
    })
    .join(',');
}

/** The `name=value[/mask],` fields of one attribute, with OVS's rules for when to show them. */
class Fields {
  out = '';
  constructor(readonly verbose: boolean) {}
  done(): string {
    return this.out.endsWith(',') ? this.out.slice(0, -1) : this.out;
  }
  private num(name: string, v: unknown, m: unknown, full: number, dec: boolean): void {
    const mv = m as number | undefined;
    if (!this.verbose && mv === 0) return;
    const val = dec ? String(v) : hx(v as number);
    this.out += `${name}=${val}${mv === undefined || mv === full ? '' : '/' + hx(mv)},`;
  }
  u8u(name: string, v: unknown, m: unknown): void {
    this.num(name, v, m, 0xff, true);
  }
  u8x(name: string, v: unknown, m: unknown): void {
    this.num(name, v, m, 0xff, false);
  }
  be16(name: string, v: unknown, m: unknown): void {
    this.num(name, v, m, 0xffff, true);
  }
  be16x(name: string, v: unknown, m: unknown): void {
    this.num(name, v, m, 0xffff, false);
  }
  ip(name: string, v: unknown, m: unknown, zero: string, ones: string): void {
    if (!this.verbose && m === zero) return;
    this.out += `${name}=${v as string}${m === undefined || m === ones ? '' : '/' + (m as string)},`;
  }
  mac(name: string, v: unknown, m: unknown): void {
    if (!this.verbose && m === MAC_ZERO) return;
    this.out += `${name}=${v as string}${m === undefined || m === MAC_ONES ? '' : '/' + (m as string)},`;
  }
  label(v: unknown, m: unknown): void {
    const mv = m as number | undefined;
    if (!this.verbose && mv === 0) return;
    const full = mv === undefined || (mv & 0xfffff) === 0xfffff;
    this.out += `label=${hx(v as number)}${full ? '' : '/' + hx(mv)},`;
  }
  frag(v: unknown, m: unknown): void {
    const mv = m as number | undefined;
    if (mv === 0) return;
    if (mv !== undefined && mv !== 0xff) {
      this.out += `error: partial mask not supported for frag (${hx(mv)}),`;
      return;
    }
    const names = ['no', 'first', 'later'];
    this.out += `frag=${names[v as number] ?? '<error>'},`;
  }
  /** format_be64 (tun_id): without a mask it shows only in verbose output. */
  be64(name: string, v: bigint, m: bigint | undefined): void {
    if (!this.verbose && !m) return;
    this.out += `${name}=0x${v.toString(16)}${m === undefined || m === U64_MAX ? '' : '/' + hx(m)},`;
  }
}

// ---- tunnel ----

function formatTunnel(k: TunnelKey, m: TunnelKey | undefined, verbose: boolean): string {
  const f = new Fields(verbose);
  const ko = k as Obj;
  const mo = m as Obj | undefined;
  let flags = 0;
  let maskFlags = 0;
  for (const name of fieldsOf(ko)) {
    const v = ko[name];
    let mv = mo ? mo[name] : undefined;
    if (mo && mv === undefined) mv = wildcardMaskOf(v);
    switch (name) {
      case 'id':
        f.be64('tun_id', v as bigint, mv as bigint | undefined);
        flags |= 8;
        if (mv !== undefined) maskFlags |= 8;
        break;
      case 'ipv4Src':
        f.ip('src', v, mv, IPV4_ZERO, IPV4_ONES);
        break;
      case 'ipv4Dst':
        f.ip('dst', v, mv, IPV4_ZERO, IPV4_ONES);
        break;
      case 'ipv6Src':
        f.ip('ipv6_src', v, mv, IPV6_ZERO, IPV6_ONES);
        break;
      case 'ipv6Dst':
        f.ip('ipv6_dst', v, mv, IPV6_ZERO, IPV6_ONES);
        break;
      case 'tos':
        f.u8x('tos', v, mv);
        break;
      case 'ttl':
        f.u8u('ttl', v, mv);
        break;
      case 'dontFragment':
        if (v) flags |= 2;
        break;
      case 'csum':
        if (v) flags |= 4;
        break;
      case 'oam':
        if (v) flags |= 1;
        break;
      case 'tpSrc':
        f.be16('tp_src', v, mv);
        break;
      case 'tpDst':
        f.be16('tp_dst', v, mv);
        break;
      case 'vxlanOpts':
        f.out += `vxlan(${formatVxlan(v as VxlanOpts, mv as VxlanOpts | undefined, verbose)}),`;
        break;
      case 'geneveOpts':
        f.out += `geneve(${formatGeneve(v as Uint8Array, mv as Uint8Array | undefined, verbose)}),`;
        break;
      case 'pad':
        break;
      case 'erspanOpts':
        f.out += `erspan(${formatErspan(v as ErspanOpts, mv as ErspanOpts | undefined, verbose)}),`;
        break;
      case 'gtpuOpts': {
        const g = new Fields(verbose);
        const gm = mv as GtpuOpts | undefined;
        g.u8x('flags', (v as GtpuOpts).flags, gm?.flags);
        g.u8u('msgtype', (v as GtpuOpts).msgtype, gm?.msgtype);
        f.out += `gtpu(${g.done()}),`;
        break;
      }
      case 'ipv4InfoBridge':
        f.out += 'key16(),';
        break;
      default:
        f.out += unknownAttr(name, v as Uint8Array, mv as Uint8Array | undefined);
    }
  }
  if (mo) {
    if (mo.dontFragment) maskFlags |= 2;
    if (mo.csum) maskFlags |= 4;
    if (mo.oam) maskFlags |= 1;
  }
  const fmask = mo ? maskFlags : undefined;
  if (verbose || fmask !== 0) {
    f.out += `flags(${fmask !== undefined ? formatFlagsMasked(TUN_FLAG_NAMES, flags, fmask & 0xf, 0xf) : formatFlags(TUN_FLAG_NAMES, flags, '|')}),`;
  }
  return f.done();
}

function unknownAttr(name: string, v: Uint8Array, m: Uint8Array | undefined): string {
  const exact = m === undefined || allBytes(m, 0xff);
  return `${name}(${spacedHex(v)}${exact ? '' : '/' + spacedHex(m)}),`;
}

function formatVxlan(k: VxlanOpts, m: VxlanOpts | undefined, verbose: boolean): string {
  let out = '';
  const ko = k as Obj;
  const mo = m as Obj | undefined;
  for (const name of fieldsOf(ko)) {
    const v = ko[name];
    let mv = mo ? mo[name] : undefined;
    if (mo && mv === undefined) mv = wildcardMaskOf(v);
    if (name === 'gbp') {
      const g = v as number;
      const gm = mv as number | undefined;
      const f = new Fields(verbose);
      f.be16('id', g & 0xffff, gm === undefined ? undefined : gm & 0xffff);
      f.u8x('flags', (g >>> 16) & 0xff, gm === undefined ? undefined : (gm >>> 16) & 0xff);
      out += `gbp(${f.done()}),`;
    } else if (name === 'gpe') {
      out += 'key8(),';
    } else {
      out += unknownAttr(name, v as Uint8Array, mv as Uint8Array | undefined);
    }
  }
  return out.endsWith(',') ? out.slice(0, -1) : out;
}

function formatErspan(k: ErspanOpts, m: ErspanOpts | undefined, verbose: boolean): string {
  const f = new Fields(verbose);
  f.u8u('ver', k.version & 0xff, m === undefined ? undefined : m.version & 0xff);
  if (k.version === 1) {
    f.out += m ? `idx=${hx(k.index)}/${hx(m.index)},` : `idx=${hx(k.index)},`;
  } else if (k.version === 2) {
    f.u8u('dir', k.dir, m?.dir);
    f.u8x('hwid', k.hwid, m?.hwid);
  }
  return f.done();
}

/** Geneve options as {class=,type=,len=,DATA[/MASK]}... */
export function formatGeneve(k: Uint8Array, m: Uint8Array | undefined, verbose: boolean): string {
  if (m && m.length !== k.length) return `value len ${k.length} different from mask len ${m.length}`;
  let out = '';
  let off = 0;
  while (off < k.length) {
    const left = k.length - off;
    if (left < 4) return out + `opt len ${left} less than minimum 4`;
    const dataLen = (k[off + 3] & 0x1f) * 4;
    const len = 4 + dataLen;
    if (len > left) return out + `opt len ${len} greater than remaining ${left}`;
    const f = new Fields(verbose);
    const lenMask = m ? ((m[off + 3] & 0x1f) === 0x1f ? 0xff : m[off + 3] & 0x1f) : undefined;
    f.be16x('class', (k[off] << 8) | k[off + 1], m ? (m[off] << 8) | m[off + 1] : undefined);
    f.u8x('type', k[off + 2], m ? m[off + 2] : undefined);
    f.u8u('len', dataLen, lenMask);
    const data = k.subarray(off + 4, off + len);
    const mdata = m?.subarray(off + 4, off + len);
    let body = f.out;
    if (dataLen && (verbose || !mdata || !allBytes(mdata, 0))) {
      body += putHex(data);
      if (mdata && !allBytes(mdata, 0xff)) body += '/' + putHex(mdata);
    } else if (body.endsWith(',')) {
      body = body.slice(0, -1);
    }
    out += `{${body}}`;
    off += len;
  }
  return out;
}

// ---- nsh ----

interface NshFlat {
  flags: number;
  ttl: number;
  mdtype: number;
  np: number;
  spi: number;
  si: number;
  c: number[];
}

function formatNshAttr(k: NshKey, m: NshKey | undefined): string {
  const key: NshFlat = { flags: 0, ttl: 0, mdtype: 0, np: 0, spi: 0, si: 0, c: [0, 0, 0, 0] };
  const mask: NshFlat = { flags: 0xff, ttl: 0xff, mdtype: 0xff, np: 0xff, spi: 0xffffff, si: 0xff, c: [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff] };
  if (k.base) {
    Object.assign(key, k.base);
    if (m?.base) Object.assign(mask, m.base);
  }
  if (k.md1) {
    key.c = [...k.md1];
    if (m?.md1) mask.c = [...m.md1];
  }
  return m ? formatNshMasked(key, mask) : formatNshKey(key);
}

export function formatNshKey(k: NshFlat): string {
  let s = `flags=${k.flags},ttl=${k.ttl},mdtype=${k.mdtype},np=${k.np},spi=0x${k.spi.toString(16)},si=${k.si}`;
  if (k.mdtype === 1) for (let i = 0; i < 4; i++) s += `,c${i + 1}=0x${k.c[i].toString(16)}`;
  return s;
}

/** format_nsh_key_mask: only fields with a non-zero mask, partial masks as value/mask. */
export function formatNshMasked(k: NshFlat, m: NshFlat): string {
  const parts: string[] = [];
  const u8 = (name: string, v: number, mk: number): void => {
    if (!mk) return;
    parts.push(mk === 0xff ? `${name}=${v}` : `${name}=0x${v.toString(16).padStart(2, '0')}/0x${mk.toString(16).padStart(2, '0')}`);
  };
  const b32 = (name: string, v: number, mk: number): void => {
    if (!mk) return;
    parts.push(mk >>> 0 === 0xffffffff ? `${name}=0x${v.toString(16)}` : `${name}=0x${v.toString(16)}/0x${(mk >>> 0).toString(16).padStart(8, '0')}`);
  };
  u8('flags', k.flags, m.flags);
  u8('ttl', k.ttl, m.ttl);
  u8('mdtype', k.mdtype, m.mdtype);
  u8('np', k.np, m.np);
  b32('spi', k.spi, m.spi === 0xffffff ? 0xffffffff : m.spi);
  u8('si', k.si, m.si);
  for (let i = 0; i < 4; i++) b32(`c${i + 1}`, k.c[i], m.c[i]);
  return parts.join(',');
}

export type { NshFlat };
