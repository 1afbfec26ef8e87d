// OVS_KEY_ATTR_TUNNEL: nested OVS_TUNNEL_KEY_ATTR_* (also the payload of
// set(tunnel(...)) and of OVS_PACKET_ATTR_EGRESS_TUN_KEY).
import { AttrWriter, HOST_LE, parseAttrs, type Attr } from '../netlink/attr.js';
import { MalformedError } from '../netlink/errors.js';
import { ipv4FromBytes, ipv6FromBytes } from './addr.js';
import type { ErspanOpts, GtpuOpts, TunnelKey, VxlanOpts } from './keys.js';
import { unknownAttrName, unknownAttrType } from './keys.js';
import { checkBig, checkUint, fixed, Scratch } from './packing.js';
import * as K from './uapi-keys.js';
import { OVS_VXLAN_EXT_GBP, OVS_VXLAN_EXT_GPE } from './uapi.js';

const scratch = new Scratch(16);

/** Writes the tunnel attributes (without the enclosing nest). */
export function encodeTunnelAttrs(w: AttrWriter, t: TunnelKey): void {
  for (const name of Object.keys(t)) {
    const v = (t as Record<string, unknown>)[name];
    if (v === undefined) continue;
    switch (name) {
      case 'id':
        w.be64(K.OVS_TUNNEL_KEY_ATTR_ID, checkBig(v as bigint, 64, 'tunnel id'));
        break;
      case 'ipv4Src':
        scratch.ipv4(0, v as string, 'tunnel ipv4Src');
        w.bytes(K.OVS_TUNNEL_KEY_ATTR_IPV4_SRC, scratch.buf.subarray(0, 4));
        break;
      case 'ipv4Dst':
        scratch.ipv4(0, v as string, 'tunnel ipv4Dst');
        w.bytes(K.OVS_TUNNEL_KEY_ATTR_IPV4_DST, scratch.buf.subarray(0, 4));
        break;
      case 'tos':
        w.u8(K.OVS_TUNNEL_KEY_ATTR_TOS, checkUint(v as number, 8, 'tunnel tos'));
        break;
      case 'ttl':
        w.u8(K.OVS_TUNNEL_KEY_ATTR_TTL, checkUint(v as number, 8, 'tunnel ttl'));
        break;
      case 'dontFragment':
        if (v) w.flag(K.OVS_TUNNEL_KEY_ATTR_DONT_FRAGMENT);
        break;
      case 'csum':
        if (v) w.flag(K.OVS_TUNNEL_KEY_ATTR_CSUM);
        break;
      case 'oam':
        if (v) w.flag(K.OVS_TUNNEL_KEY_ATTR_OAM);
        break;
      case 'geneveOpts':
        w.bytes(K.OVS_TUNNEL_KEY_ATTR_GENEVE_OPTS, v as Uint8Array);
        break;
      case 'tpSrc':
        w.be16(K.OVS_TUNNEL_KEY_ATTR_TP_SRC, checkUint(v as number, 16, 'tunnel tpSrc'));
        break;
      case 'tpDst':
        w.be16(K.OVS_TUNNEL_KEY_ATTR_TP_DST, checkUint(v as number, 16, 'tunnel tpDst'));
        break;
      case 'vxlanOpts': {
        const tok = w.nestStart(K.OVS_TUNNEL_KEY_ATTR_VXLAN_OPTS);
        encodeVxlanOpts(w, v as VxlanOpts);
        w.nestEnd(tok);
        break;
      }
      case 'ipv6Src':
        scratch.ipv6(0, v as string, 'tunnel ipv6Src');
        w.bytes(K.OVS_TUNNEL_KEY_ATTR_IPV6_SRC, scratch.buf.subarray(0, 16));
        break;
      case 'ipv6Dst':
        scratch.ipv6(0, v as string, 'tunnel ipv6Dst');
        w.bytes(K.OVS_TUNNEL_KEY_ATTR_IPV6_DST, scratch.buf.subarray(0, 16));
        break;
      case 'pad':
        if (v) w.flag(K.OVS_TUNNEL_KEY_ATTR_PAD);
        break;
      case 'erspanOpts':
        w.bytes(K.OVS_TUNNEL_KEY_ATTR_ERSPAN_OPTS, erspanBytes(v as ErspanOpts));
        break;
      case 'gtpuOpts': {
        const g = v as GtpuOpts;
        const b = scratch.take(2);
        scratch.u8(0, g.flags, 'gtpu flags');
        scratch.u8(1, g.msgtype, 'gtpu msgtype');
        w.bytes(K.OVS_TUNNEL_KEY_ATTR_GTPU_OPTS, b);
        break;
      }
      case 'ipv4InfoBridge':
        if (v) w.flag(K.OVS_TUNNEL_KEY_ATTR_IPV4_INFO_BRIDGE);
        break;
      default: {
        const type = unknownAttrType(name);
        if (type < 0) throw new RangeError(`tunnel key: unknown field ${JSON.stringify(name)}`);
        w.bytes(type, v as Uint8Array);
      }
    }
  }
}

function encodeVxlanOpts(w: AttrWriter, o: VxlanOpts): void {
  for (const name of Object.keys(o)) {
    const v = (o as Record<string, unknown>)[name];
    if (v === undefined) continue;
    if (name === 'gbp') w.u32(OVS_VXLAN_EXT_GBP, checkUint(v as number, 32, 'vxlan gbp'));
    else if (name === 'gpe') {
      if (v) w.flag(OVS_VXLAN_EXT_GPE);
    } else {
      const type = unknownAttrType(name);
      if (type < 0) throw new RangeError(`vxlan options: unknown field ${JSON.stringify(name)}`);
      w.bytes(type, v as Uint8Array);
    }
  }
}

export function erspanBytes(e: ErspanOpts): Uint8Array {
  const b = scratch.take(K.ERSPAN_METADATA_SIZE);
  scratch.s32(0, e.version, 'erspan version');
  scratch.be32(4, e.index, 'erspan index');
  scratch.be16(8, e.sgt, 'erspan sgt');
  b[10] = (checkUint(e.p, 1, 'erspan p') << 7) | (checkUint(e.ft, 5, 'erspan ft') << 2) | checkUint(e.hwidUpper, 2, 'erspan hwidUpper');
  b[11] = (checkUint(e.hwid, 4, 'erspan hwid') << 4) | (checkUint(e.dir, 1, 'erspan dir') << 3) | (checkUint(e.gra, 2, 'erspan gra') << 1) | checkUint(e.o, 1, 'erspan o');
  return b;
}

export function erspanFromBytes(d: Uint8Array): ErspanOpts {
  const v = new DataView(d.buffer, d.byteOffset, d.length);
  return {
    version: v.getInt32(0, HOST_LE),
    index: v.getUint32(4, false),
    sgt: v.getUint16(8, false),
    p: d[10] >> 7,
    ft: (d[10] >> 2) & 0x1f,
    hwidUpper: d[10] & 3,
    o: d[11] & 1,
    gra: (d[11] >> 1) & 3,
    dir: (d[11] >> 3) & 1,
    hwid: d[11] >> 4,
  };
}

function flag(a: Attr, what: string): true {
  if (a.data.length !== 0) throw new MalformedError(`tunnel ${what} flag (attribute ${a.type}) has ${a.data.length} bytes of payload`);
  return true;
}

function set(t: Record<string, unknown>, name: string, value: unknown): void {
  if (name in t) throw new MalformedError(`duplicate tunnel key attribute ${name}`);
  t[name] = value;
}

export function decodeTunnelAttrs(bytes: Uint8Array): TunnelKey {
  const t: TunnelKey = {};
  const r = t as Record<string, unknown>;
  for (const a of parseAttrs(bytes)) {
    const d = a.data;
    switch (a.type) {
      case K.OVS_TUNNEL_KEY_ATTR_ID:
        set(r, 'id', fixed(a, 8, 'tunnel id').getBigUint64(0, false));
        break;
      case K.OVS_TUNNEL_KEY_ATTR_IPV4_SRC:
        fixed(a, 4, 'tunnel ipv4 src');
        set(r, 'ipv4Src', ipv4FromBytes(d));
        break;
      case K.OVS_TUNNEL_KEY_ATTR_IPV4_DST:
        fixed(a, 4, 'tunnel ipv4 dst');
        set(r, 'ipv4Dst', ipv4FromBytes(d));
        break;
      case K.OVS_TUNNEL_KEY_ATTR_TOS:
        set(r, 'tos', fixed(a, 1, 'tunnel tos').getUint8(0));
        break;
      case K.OVS_TUNNEL_KEY_ATTR_TTL:
        set(r, 'ttl', fixed(a, 1, 'tunnel ttl').getUint8(0));
        break;
      case K.OVS_TUNNEL_KEY_ATTR_DONT_FRAGMENT:
        set(r, 'dontFragment', flag(a, 'df'));
        break;
      case K.OVS_TUNNEL_KEY_ATTR_CSUM:
        set(r, 'csum', flag(a, 'csum'));
        break;
      case K.OVS_TUNNEL_KEY_ATTR_OAM:
        set(r, 'oam', flag(a, 'oam'));
        break;
      case K.OVS_TUNNEL_KEY_ATTR_GENEVE_OPTS:
        if (d.length % 4) throw new MalformedError(`tunnel geneve options of ${d.length} bytes are not a multiple of 4`);
        set(r, 'geneveOpts', d.slice());
        break;
      case K.OVS_TUNNEL_KEY_ATTR_TP_SRC:
        set(r, 'tpSrc', fixed(a, 2, 'tunnel tp_src').getUint16(0, false));
        break;
      case K.OVS_TUNNEL_KEY_ATTR_TP_DST:
        set(r, 'tpDst', fixed(a, 2, 'tunnel tp_dst').getUint16(0, false));
        break;
      case K.OVS_TUNNEL_KEY_ATTR_VXLAN_OPTS:
        set(r, 'vxlanOpts', decodeVxlanOpts(d));
        break;
      case K.OVS_TUNNEL_KEY_ATTR_IPV6_SRC:
        fixed(a, 16, 'tunnel ipv6 src');
        set(r, 'ipv6Src', ipv6FromBytes(d));
        break;
      case K.OVS_TUNNEL_KEY_ATTR_IPV6_DST:
        fixed(a, 16, 'tunnel ipv6 dst');
        set(r, 'ipv6Dst', ipv6FromBytes(d));
        break;
      case K.OVS_TUNNEL_KEY_ATTR_PAD:
        set(r, 'pad', flag(a, 'pad'));
        break;
      case K.OVS_TUNNEL_KEY_ATTR_ERSPAN_OPTS:
        fixed(a, K.ERSPAN_METADATA_SIZE, 'tunnel erspan options');
        set(r, 'erspanOpts', erspanFromBytes(d));
        break;
      case 16:
        if (d.length === 0) set(r, 'ipv4InfoBridge', true);
        else {
          fixed(a, K.GTPU_METADATA_SIZE, 'tunnel gtpu options');
          set(r, 'gtpuOpts', { flags: d[0], msgtype: d[1] });
        }
        break;
      default:
        set(r, unknownAttrName(a.type), d.slice());
    }
  }
  return t;
}

function decodeVxlanOpts(bytes: Uint8Array): VxlanOpts {
  const o: VxlanOpts = {};
  const r = o as Record<string, unknown>;
  for (const a of parseAttrs(bytes)) {
    if (a.type === OVS_VXLAN_EXT_GBP) set(r, 'gbp', fixed(a, 4, 'vxlan gbp').getUint32(0, HOST_LE));
    else if (a.type === OVS_VXLAN_EXT_GPE) set(r, 'gpe', flag(a, 'vxlan gpe'));
    else set(r, unknownAttrName(a.type), a.data.slice());
  }
  return o;
}
