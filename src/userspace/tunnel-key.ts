// A packet's tunnel metadata (numbers, packet/tunnel.ts) and the flow key's
// tunnel attribute (typed, ovs/keys.ts), each made from the other: the first
// for upcall keys of packets that came in by a tunnel, the second for
// set(tunnel(...)) and for execute requests whose key names a tunnel.
import { ipv4FromU32, ipv4ToU32 } from '../ovs/addr.js';
import type { TunnelKey } from '../ovs/keys.js';
import { be32 } from '../packet/bytes.js';
import { TUN_F_CSUM, TUN_F_DF, TUN_F_GENEVE_OPT, TUN_F_KEY, TUN_F_OAM, TUN_F_VXLAN_OPT, VXLAN_OPTS_LEN, vxlanOptsBytes, type TunnelMeta } from '../packet/tunnel.js';
import { tunnelKeyFlags } from './flat-key.js';

/** The key's tunnel attribute, with the attributes __ip_tun_to_nlattr puts, in its order. */
export function tunnelKeyOf(t: TunnelMeta): TunnelKey {
  const k: TunnelKey = {};
  if (t.flags & TUN_F_KEY) k.id = (BigInt(t.idHi >>> 0) << 32n) | BigInt(t.idLo >>> 0);
  if (t.src) k.ipv4Src = ipv4FromU32(t.src);
  if (t.dst) k.ipv4Dst = ipv4FromU32(t.dst);
  if (t.tos) k.tos = t.tos;
  k.ttl = t.ttl;
  if (t.flags & TUN_F_DF) k.dontFragment = true;
  if (t.flags & TUN_F_CSUM) k.csum = true;
  if (t.tpSrc) k.tpSrc = t.tpSrc;
  if (t.tpDst) k.tpDst = t.tpDst;
  if (t.flags & TUN_F_OAM) k.oam = true;
  if (t.flags & TUN_F_GENEVE_OPT && t.opts.length) k.geneveOpts = t.opts.slice();
  else if (t.flags & TUN_F_VXLAN_OPT && t.opts.length >= VXLAN_OPTS_LEN) k.vxlanOpts = { gbp: be32(t.opts, 0) };
  return k;
}

/** The metadata a tunnel key (of an action or a request) gives a packet. */
export function tunnelMetaOf(k: TunnelKey): TunnelMeta {
  const id = k.id ?? 0n;
  return {
    idHi: Number((id >> 32n) & 0xffffffffn),
    idLo: Number(id & 0xffffffffn),
    src: k.ipv4Src !== undefined ? ipv4ToU32(k.ipv4Src) : 0,
    dst: k.ipv4Dst !== undefined ? ipv4ToU32(k.ipv4Dst) : 0,
    tos: k.tos ?? 0,
    ttl: k.ttl ?? 0,
    flags: tunnelKeyFlags(k),
    tpSrc: k.tpSrc ?? 0,
    tpDst: k.tpDst ?? 0,
    opts: k.geneveOpts ?? (k.vxlanOpts ? vxlanOptsBytes(k.vxlanOpts.gbp ?? 0) : new Uint8Array(0)),
  };
}
