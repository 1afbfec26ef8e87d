// tnl_push(tnl_port(N),header(...),out_port(M)): the userspace datapath's
// tunnel encapsulation, whose header is raw bytes the text spells out
// layer by layer. OVS prints GTP-U and ERSPAN headers it cannot read back;
// this reads those too.
import { ipv4FromBytes, ipv6FromBytes, ipv6IntoBytes, macFromBytes, macIntoBytes, ipv4ToU32OrNeg } from '../ovs/addr.js';
import type { TnlPushAction } from '../ovs/actions.js';
import { formatGeneve } from './format-key.js';
import { hx, hx4 } from './numfmt.js';
import type { Cursor } from './scanner.js';

export const VPORT_GRE = 3;
export const VPORT_VXLAN = 4;
export const VPORT_GENEVE = 5;
export const VPORT_ERSPAN = 107;
export const VPORT_IP6ERSPAN = 108;
export const VPORT_IP6GRE = 109;
export const VPORT_GTPU = 110;
export const VPORT_SRV6 = 112;

const GRE_CSUM = 0x8000;
const GRE_KEY = 0x2000;
const GRE_SEQ = 0x1000;
const SRV6_MAX_SEGS = 6;

const pc = (port: number, ports?: ReadonlyMap<number, string>): string => ports?.get(port) ?? String(port);

export function formatTnlPush(a: TnlPushAction, ports?: ReadonlyMap<number, string>): string {
  return `tnl_push(tnl_port(${pc(a.tnlPort, ports)}),${formatHeader(a)},out_port(${pc(a.outPort, ports)}))`;
}

function formatHeader(a: TnlPushAction): string {
  const h = a.header.subarray(0, Math.min(a.headerLen, a.header.length));
  const v = new DataView(h.buffer, h.byteOffset, h.length);
  const head = `header(size=${a.headerLen},type=${a.tnlType}`;
  if (h.length < 14) return `${head}, eth(truncated header))`;
  const ethType = v.getUint16(12, false);
  let out = `${head},eth(dst=${macFromBytes(h, 0)},src=${macFromBytes(h, 6)},dl_type=${hx4(ethType)}),`;
  let off = 14;
  let left = h.length - 14;
  if (ethType === 0x0800) {
    if (left < 20) return out + 'ipv4(truncated header))';
    out += `ipv4(src=${ipv4FromBytes(h, off + 12)},dst=${ipv4FromBytes(h, off + 16)},proto=${h[off + 9]},tos=${hx(h[off + 1])},ttl=${h[off + 8]},frag=0x${v.getUint16(off + 6, false).toString(16)}),`;
    off += 20;
    left -= 20;
  } else {
    if (left < 40) return out + 'ipv6(truncated header))';
    const flow = v.getUint32(off, false);
    out += `ipv6(src=${ipv6FromBytes(h, off + 8)},dst=${ipv6FromBytes(h, off + 24)},label=${flow & 0xfffff},proto=${h[off + 6]},tclass=0x${((flow >>> 20) & 0xff).toString(16)},hlimit=${h[off + 7]}),`;
    off += 40;
    left -= 40;
  }
  const udp = (): boolean => {
    if (left < 8) {
      out += 'udp(truncated header))';
      return false;
    }
    out += `udp(src=${v.getUint16(off, false)},dst=${v.getUint16(off + 2, false)},csum=0x${v.getUint16(off + 6, false).toString(16)}),`;
    off += 8;
    left -= 8;
    return true;
  };
  switch (a.tnlType) {
    case VPORT_VXLAN:
      if (!udp()) return out;
      if (left < 8) return out + 'vxlan(truncated header))';
      out += `vxlan(flags=0x${v.getUint32(off, false).toString(16)},vni=0x${(v.getUint32(off + 4, false) >>> 8).toString(16)})`;
      break;
    case VPORT_GENEVE: {
      if (!udp()) return out;
      if (left < 8) return out + 'geneve(truncated header))';
      const optLen = (h[off] & 0x3f) * 4;
      out += `geneve(${h[off + 1] & 0x80 ? 'oam,' : ''}${h[off + 1] & 0x40 ? 'crit,' : ''}vni=0x${(v.getUint32(off + 4, false) >>> 8).toString(16)}`;
      off += 8;
      left -= 8;
      if (optLen) {
        if (left < optLen) return out + ',options(invalid length)))';
        out += `,options(${formatGeneve(h.subarray(off, off + optLen), undefined, false)})`;
      }
      out += ')';
      break;
    }
    case VPORT_SRV6: {
      if (left < 8) return out + 'srv6(truncated header))';
      const n = h[off + 4] + 1;
      out += `srv6(segments_left=${h[off + 3]},segs(`;
      off += 8;
      left -= 8;
      if (left < 16 * n) return out + 'truncated segs)))';
      const segs: string[] = [];
      for (let i = n - 1; i >= 0; i--) segs.push(ipv6FromBytes(h, off + 16 * i));
      out += segs.join(',') + '))';
      break;
    }
    case VPORT_GRE:
    case VPORT_IP6GRE: {
      if (left < 4) return out + 'gre(truncated header))';
      const flags = v.getUint16(off, false);
      out += `gre((flags=0x${flags.toString(16)},proto=0x${v.getUint16(off + 2, false).toString(16)})`;
      off += 4;
      left -= 4;
      if (flags & GRE_CSUM) {
        if (left < 2) return out + ',csum=<truncated>))';
        out += `,csum=0x${v.getUint16(off, false).toString(16)}`;
        off += 4;
        left -= 2;
      }
      if (flags & GRE_KEY) {
        if (left < 4) return out + ',key=<truncated>))';
        out += `,key=0x${v.getUint32(off, false).toString(16)}`;
        off += 4;
        left -= 4;
      }
      if (flags & GRE_SEQ) {
        if (left < 4) return out + ',seq=<truncated>))';
        out += `,seq=0x${v.getUint32(off, false).toString(16)}`;
      }
      out += ')';
      break;
    }
    case VPORT_ERSPAN:
    case VPORT_IP6ERSPAN: {
      if (left < 12) return out + 'erspan(truncated header))';
      const e = off + 8;
      const ver = h[e] >> 4;
      const sid = ((h[e + 2] & 3) << 8) | h[e + 3];
      left -= 12;
      if (ver === 1) {
        if (left < 4) return out + 'erspan(ver=1,truncated header))';
        out += `erspan(ver=1,sid=0x${sid.toString(16)},idx=0x${v.getUint32(e + 4, false).toString(16)})`;
      } else if (ver === 2) {
        if (left < 8) return out + 'erspan(ver=2, truncated header))';
        const md = e + 4;
        const hwid = ((h[md + 6] & 3) << 4) | (h[md + 7] >> 4);
        out += `erspan(ver=2,sid=0x${sid.toString(16)},dir=${(h[md + 7] >> 3) & 1},hwid=0x${hwid.toString(16)})`;
      }
      break;
    }
    case VPORT_GTPU:
      if (!udp()) return out;
      if (left < 8) return out + 'gtpu(truncated header))';
      out += `gtpu(flags=0x${h[off].toString(16)},msgtype=${h[off + 1]},teid=0x${v.getUint32(off + 4, false).toString(16)})`;
      break;
    default:
  }
  return out + ')';
}

/** Reads `tnl_push(...)` from just after "tnl_push(". */
export function parseTnlPush(c: Cursor, scanGeneve: (c: Cursor) => Uint8Array): TnlPushAction {
  c.expect('tnl_port(');
  const tnlPort = c.uint(32, 'tnl_port');
  c.expect('),header(size=');
  const size = c.uint(32, 'header size');
  c.expect(',type=');
  const type = c.uint(32, 'header type');
  const h = new Uint8Array(512);
  const v = new DataView(h.buffer);
  c.expect(',eth(dst=');
  mac(c, h, 0);
  c.expect(',src=');
  mac(c, h, 6);
  c.expect(',dl_type=0x');
  const dlType = c.hex(16, 'dl_type');
  v.setUint16(12, dlType, false);
  c.expect('),');
  let off = 14;
  const v4 = dlType === 0x0800;
  if (v4) {
    c.expect('ipv4(src=');
    const src = ip4(c);
    c.expect(',dst=');
    const dst = ip4(c);
    c.expect(',proto=');
    const proto = c.uint(8, 'ipv4 proto');
    c.expect(',tos=');
    const tos = c.uint(8, 'ipv4 tos');
    c.expect(',ttl=');
    const ttl = c.uint(8, 'ipv4 ttl');
    c.expect(',frag=0x');
    const frag = c.hex(16, 'ipv4 frag');
    c.expect('),');
    h[off] = 0x45;
    h[off + 1] = tos;
    v.setUint16(off + 6, frag, false);
    h[off + 8] = ttl;
    h[off + 9] = proto;
    v.setUint32(off + 12, src, false);
    v.setUint32(off + 16, dst, false);
    v.setUint16(off + 10, ipChecksum(h.subarray(off, off + 20)), false);
    off += 20;
  } else {
    c.expect('ipv6(src=');
    ip6(c, h, off + 8);
    c.expect(',dst=');
    ip6(c, h, off + 24);
    c.expect(',label=');
    const label = c.uint(20, 'ipv6 label');
    c.expect(',proto=');
    h[off + 6] = c.uint(8, 'ipv6 proto');
    c.expect(',tclass=0x');
    const tclass = c.hex(8, 'ipv6 tclass');
    c.expect(',hlimit=');
    h[off + 7] = c.uint(8, 'ipv6 hlimit');
    c.expect('),');
    v.setUint32(off, ((6 << 28) | (tclass << 20) | label) >>> 0, false);
    off += 40;
  }
  let tnlType: number;
  if (c.lit('udp(src=')) {
    v.setUint16(off, c.uint(16, 'udp src'), false);
    c.expect(',dst=');
    v.setUint16(off + 2, c.uint(16, 'udp dst'), false);
    c.expect(',csum=0x');
    v.setUint16(off + 6, c.hex(16, 'udp csum'), false);
    c.expect('),');
    off += 8;
    if (c.lit('vxlan(flags=0x')) {
      v.setUint32(off, c.hex(32, 'vxlan flags'), false);
      c.expect(',vni=0x');
      v.setUint32(off + 4, (c.hex(24, 'vxlan vni') << 8) >>> 0, false);
      c.expect('))');
      off += 8;
      tnlType = VPORT_VXLAN;
    } else if (c.lit('geneve(')) {
      const g = off;
      if (c.lit('oam,')) h[g + 1] |= 0x80;
      if (c.lit('crit,')) h[g + 1] |= 0x40;
      c.expect('vni=');
      const vni = c.uint(24, 'geneve vni');
      v.setUint16(g + 2, 0x6558, false);
      v.setUint32(g + 4, (vni << 8) >>> 0, false);
      off += 8;
      if (c.lit(',options(')) {
        const opts = scanGeneve(c);
        if (off + opts.length > h.length) c.fail('tnl_push: header longer than 512 bytes');
        h.set(opts, off);
        h[g] = (opts.length / 4) & 0x3f;
        off += opts.length;
      }
      c.expect('))');
      tnlType = VPORT_GENEVE;
    } else if (c.lit('gtpu(flags=')) {
      h[off] = c.uint(8, 'gtpu flags');
      c.expect(',msgtype=');
      h[off + 1] = c.uint(8, 'gtpu msgtype');
      c.expect(',teid=0x');
      v.setUint32(off + 4, c.hex(32, 'gtpu teid'), false);
      c.expect('))');
      off += 8;
      tnlType = VPORT_GTPU;
    } else {
      c.fail(`tnl_push: expected vxlan(, geneve( or gtpu( after udp(), found ${c.found()}`);
    }
  } else if (c.lit('gre((flags=0x')) {
    const flags = c.hex(16, 'gre flags');
    c.expect(',proto=0x');
    const proto = c.hex(16, 'gre proto');
    c.expect(')');
    v.setUint16(off, flags, false);
    v.setUint16(off + 2, proto, false);
    off += 4;
    if (flags & GRE_CSUM) {
      c.expect(',csum=0x');
      v.setUint16(off, c.hex(16, 'gre csum'), false);
      off += 4;
    }
    if (flags & GRE_KEY) {
      c.expect(',key=0x');
      v.setUint32(off, c.hex(32, 'gre key'), false);
      off += 4;
    }
    if (flags & GRE_SEQ) {
      c.expect(',seq=0x');
      v.setUint32(off, c.hex(32, 'gre seq'), false);
      off += 4;
    }
    c.expect('))');
    tnlType = v4 ? VPORT_GRE : VPORT_IP6GRE;
  } else if (c.lit('erspan(ver=')) {
    const ver = c.uint(8, 'erspan ver');
    if (ver !== 1 && ver !== 2) c.fail(`erspan: version ${ver} is neither 1 nor 2`);
    c.expect(',sid=0x');
    const sid = c.hex(10, 'erspan sid');
    v.setUint16(off, GRE_SEQ, false);
    v.setUint16(off + 2, ver === 1 ? 0x88be : 0x22eb, false);
    const e = off + 8;
    h[e] = ver << 4;
    h[e + 2] = (sid >> 8) & 3;
    h[e + 3] = sid & 0xff;
    if (ver === 1) {
      c.expect(',idx=0x');
      v.setUint32(e + 4, c.hex(32, 'erspan idx'), false);
      off = e + 8;
    } else {
      c.expect(',dir=');
      const dir = c.uint(1, 'erspan dir');
      c.expect(',hwid=0x');
      const hwid = c.hex(6, 'erspan hwid');
      const md = e + 4;
      h[md + 6] = (hwid >> 4) & 3;
      h[md + 7] = ((hwid & 0xf) << 4) | (dir << 3);
      off = md + 8;
    }
    c.expect('))');
    tnlType = v4 ? VPORT_ERSPAN : VPORT_IP6ERSPAN;
  } else if (c.lit('srv6(segments_left=')) {
    const left = c.uint(8, 'srv6 segments_left');
    if (left + 1 > SRV6_MAX_SEGS) c.fail(`srv6: at most ${SRV6_MAX_SEGS} segments`);
    if (v4) c.fail('srv6: needs an IPv6 header');
    h[14 + 6] = 43;
    h[off + 1] = 2 * (left + 1);
    h[off + 2] = 4;
    h[off + 3] = left;
    h[off + 4] = left;
    c.expect(',segs(');
    const segs = off + 8;
    let n = 0;
    while (c.code() !== 41 && !c.atEnd()) {
      if (n === left + 1) c.fail('srv6: more segments than segments_left + 1');
      ip6(c, h, segs + 16 * (left - n));
      n++;
      c.lit(',');
    }
    c.expect(')))');
    if (n !== left + 1) c.fail(`srv6: ${n} segments for segments_left=${left}`);
    off = segs + 16 * (left + 1);
    tnlType = VPORT_SRV6;
  } else {
    c.fail(`tnl_push: unknown tunnel header at ${c.found()}`);
  }
  if (type !== tnlType) c.fail(`tnl_push: header type ${type} does not match its ${tnlType} header`);
  if (size !== off) c.fail(`tnl_push: header size ${size} does not match the ${off} bytes described`);
  c.expect(',out_port(');
  const outPort = c.uint(32, 'out_port');
  c.expect('))');
  return { type: 'tnlPush', tnlPort, outPort, tnlType: type, headerLen: off, header: h.slice(0, off) };
}

function mac(c: Cursor, h: Uint8Array, off: number): void {
  const m = c.mac('tnl_push eth');
  macIntoBytes(m, h, off);
}

function ip4(c: Cursor): number {
  return ipv4ToU32OrNeg(c.ipv4('tnl_push ipv4'));
}

function ip6(c: Cursor, h: Uint8Array, off: number): void {
  ipv6IntoBytes(c.ipv6('tnl_push ipv6'), h, off);
}

function ipChecksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += (b[i] << 8) | b[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
