// Every flow key attribute the openvswitch module takes, through the real
// module: each case is a typed FlowKey with a packet context the kernel's
// prerequisite checks accept (match_validate), put with a UFID once exact
// (no mask) and once with a partial mask, read back by UFID and from a dump,
// decoded with the typed codec and compared with what was sent.
//
// What comes back is not byte for byte what went in. Each difference is one
// of the kernel normalisations named below (N1..N11), applied to the sent
// key or mask to make the expectation; the comparison itself is exact.
//
// The attributes only OVS userspace knows are refused before anything is
// sent; the few shapes the module refuses are checked as refusals.
//
// Debian's 6.1 and 6.12 kernels pass this file alike: for keys and masks
// the two behave the same in every case here (the differences between them
// are in actions and datapath features, covered elsewhere).
import { describe, expect, it } from 'vitest';
import type { KernelDpif } from '../../src/dpif/kernel.js';
import type { Flow } from '../../src/dpif/dpif.js';
import { AttrWriter } from '../../src/netlink/attr.js';
import { IPV4_ONES, IPV4_ZERO, IPV6_ONES, IPV6_ZERO, MAC_ONES, MAC_ZERO } from '../../src/ovs/addr.js';
import { decodeKey, decodeMask, encodeKey } from '../../src/ovs/key-codec.js';
import { KEY_FIELD_TYPES, type FlowKey, type FlowKeyField, type FlowMask, type NshKey, type TunnelKey } from '../../src/ovs/keys.js';
import { erspanFromBytes } from '../../src/ovs/tunnel-codec.js';
import { ufidFromWords, type Ufid } from '../../src/ovs/ufid.js';
import { ERSPAN_METADATA_SIZE } from '../../src/ovs/uapi-keys.js';
import { uniqueName, useDatapath } from './ovs-helpers.js';

const ETH = { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' };
const ETH_ZERO = { src: MAC_ZERO, dst: MAC_ZERO };
const ETH_ONES = { src: MAC_ONES, dst: MAC_ONES };
const ONES32 = 0xffffffff;
const ONES64 = (1n << 64n) - 1n;
const ONES128 = (1n << 128n) - 1n;
const ETH_P_IP = 0x0800;
const ETH_P_ARP = 0x0806;
const ETH_P_8021Q = 0x8100;
const ETH_P_RARP = 0x8035;
const ETH_P_IPV6 = 0x86dd;
const ETH_P_MPLS_UC = 0x8847;
const ETH_P_MPLS_MC = 0x8848;
const ETH_P_8021AD = 0x88a8;
const ETH_P_NSH = 0x894f;
// OVS_CS_F_*
const CS_NEW = 0x01;
const CS_ESTABLISHED = 0x02;
const CS_TRACKED = 0x20;
// OFPIEH12_* bits of OVS_KEY_ATTR_IPV6_EXTHDRS.
const IEH_DEST = 1 << 3;
const IEH_HOP = 1 << 6;

// ---------------------------------------------------------------------------
// The kernel's normalisations (net/openvswitch/flow_netlink.c, conntrack.c).

/**
 * N1. ovs_nla_put_key writes recirc_id, dp_hash, skb_priority, skb_mark and
 * ct_state/zone/mark/labels into every key and every mask it returns, zero
 * where the flow did not give them (in a mask, zero = wildcarded).
 */
const KERNEL_METADATA = { recircId: 0, dpHash: 0, priority: 0, skbMark: 0, ctState: 0, ctZone: 0, ctMark: 0, ctLabels: 0n } satisfies FlowKey;

/**
 * N2. After every IPv6 header (at whatever VLAN depth) the kernel writes
 * OVS_KEY_ATTR_IPV6_EXTHDRS (since 5.19; both 6.1 and 6.12), zero when the
 * flow left it out, in the key and in the mask.
 */
function withExthdrs(k: FlowKey): FlowKey {
  const out: FlowKey = { ...k };
  if (k.ipv6 && k.ipv6Exthdrs === undefined) out.ipv6Exthdrs = 0;
  if (k.encap) out.encap = withExthdrs(k.encap);
  return out;
}

/**
 * N3. The tunnel TTL is written unconditionally (__ip_tun_to_nlattr), and
 * every mask carries the tunnel nest (ovs_nla_put_key writes it when
 * is_mask): a flow without a tunnel comes back with the mask tunnel(ttl=0).
 */
function withTunnelTtl(k: FlowKey, isMask: boolean): FlowKey {
  if (k.tunnel) return { ...k, tunnel: { ...k.tunnel, ttl: k.tunnel.ttl ?? 0 } };
  return isMask ? { ...k, tunnel: { ttl: 0 } } : k;
}

/**
 * N4. The kernel writes the NSH MD1 context in every NSH mask, and in every
 * key of MD type 1 (nsh_key_to_nlattr), zero where the flow left it out.
 */
function withNshMd1(k: FlowKey, isMask: boolean): FlowKey {
  const n = k.nsh;
  if (!n || n.md1 || !(isMask || n.base?.mdtype === 1)) return k;
  return { ...k, nsh: { ...n, md1: [0, 0, 0, 0] } satisfies NshKey };
}

/**
 * N5. In a mask, in_port and every eth_type are exact whatever was sent
 * (metadata_from_nlattrs, parse_eth_type_from_nlattrs: "Always exact match").
 */
function withForcedExact(m: FlowMask): FlowMask {
  const out: FlowMask = { ...m };
  if (m.inPort !== undefined) out.inPort = ONES32;
  if (m.ethertype !== undefined) out.ethertype = 0xffff;
  if (m.encap) out.encap = withForcedExact(m.encap);
  return out;
}

/** A key as the kernel returns it: N1-N4 applied to what we expect it to keep. */
function asReturnedKey(k: FlowKey): FlowKey {
  return withNshMd1(withTunnelTtl(withExthdrs({ ...KERNEL_METADATA, ...k }), false), false);
}

/** A mask as the kernel returns it: N1-N5. */
function asReturnedMask(m: FlowMask): FlowMask {
  return withForcedExact(withNshMd1(withTunnelTtl(withExthdrs({ ...KERNEL_METADATA, ...m }), true), true));
}

/**
 * N6. The OVS_TUNNEL_KEY_ATTR_PAD the kernel may put before the 64-bit
 * tunnel id (nla_put_be64 aligns it) is not part of the match: dropped from
 * what the kernel returns before comparing.
 */
function withoutPad(k: FlowKey): FlowKey {
  const out: FlowKey = { ...k };
  if (k.tunnel?.pad !== undefined) {
    const t: TunnelKey = { ...k.tunnel };
    delete t.pad;
    out.tunnel = t;
  }
  if (k.encap) out.encap = withoutPad(k.encap);
  return out;
}

/**
 * N7. The mask of an exact flow (no mask sent): ovs_nla_get_match copies the
 * key's attributes with every byte 0xff, then parses that as the mask, so
 * each field that was sent is all ones at the width the kernel stores it:
 * - the ARP op is a u8 inside the kernel: its mask is 0x00ff;
 * - ct_state keeps only the bits the module supports (CT_SUPPORTED_MASK, 0xff);
 * - the IPv6 flow label mask is all 32 bits (0xffffffff), not the label's 20;
 * - fields not sent stay wildcarded (N1: they come back as zero masks).
 */
function exactMaskOf(k: FlowKey): FlowMask {
  const m: FlowMask = {};
  for (const [name, v] of Object.entries(k) as [FlowKeyField, unknown][]) {
    switch (name) {
      case 'inPort':
      case 'priority':
      case 'skbMark':
      case 'dpHash':
      case 'recircId':
      case 'ctMark':
        m[name] = ONES32;
        break;
      case 'ctState':
        m.ctState = 0xff;
        break;
      case 'ctZone':
      case 'ethertype':
      case 'tcpFlags':
      case 'ipv6Exthdrs':
        m[name] = 0xffff;
        break;
      case 'ctLabels':
        m.ctLabels = ONES128;
        break;
      case 'ethernet':
        m.ethernet = ETH_ONES;
        break;
      case 'vlan':
        m.vlan = { vid: 0xfff, pcp: 7, cfi: 1 };
        break;
      case 'encap':
        m.encap = exactMaskOf(v as FlowKey);
        break;
      case 'ipv4':
        m.ipv4 = { src: IPV4_ONES, dst: IPV4_ONES, proto: 0xff, tos: 0xff, ttl: 0xff, frag: 0xff };
        break;
      case 'ipv6':
        m.ipv6 = { src: IPV6_ONES, dst: IPV6_ONES, label: ONES32, proto: 0xff, tclass: 0xff, hlimit: 0xff, frag: 0xff };
        break;
      case 'tcp':
      case 'udp':
      case 'sctp':
        m[name] = { src: 0xffff, dst: 0xffff };
        break;
      case 'icmp':
      case 'icmpv6':
        m[name] = { type: 0xff, code: 0xff };
        break;
      case 'arp':
        m.arp = { sip: IPV4_ONES, tip: IPV4_ONES, op: 0x00ff, sha: MAC_ONES, tha: MAC_ONES };
        break;
      case 'nd':
        m.nd = { target: IPV6_ONES, sll: MAC_ONES, tll: MAC_ONES };
        break;
      case 'mpls':
        m.mpls = (v as unknown[]).map(() => ({ label: 0xfffff, tc: 7, bos: 1, ttl: 0xff }));
        break;
      case 'ctOrigTupleIpv4':
        m.ctOrigTupleIpv4 = { src: IPV4_ONES, dst: IPV4_ONES, srcPort: 0xffff, dstPort: 0xffff, proto: 0xff };
        break;
      case 'ctOrigTupleIpv6':
        m.ctOrigTupleIpv6 = { src: IPV6_ONES, dst: IPV6_ONES, srcPort: 0xffff, dstPort: 0xffff, proto: 0xff };
        break;
      case 'nsh': {
        const n = v as NshKey;
        m.nsh = {
          ...(n.base && { base: { flags: 0xff, ttl: 0xff, mdtype: 0xff, np: 0xff, spi: 0xffffff, si: 0xff } }),
          ...(n.md1 && { md1: [ONES32, ONES32, ONES32, ONES32] }),
        };
        break;
      }
      case 'tunnel':
        m.tunnel = exactTunnelMaskOf(v as TunnelKey);
        break;
      default:
        throw new Error(`exactMaskOf: no rule for ${name}`);
    }
  }
  return m;
}

/**
 * N8. The tunnel part of an exact flow's mask: "the userspace does not send
 * tunnel attributes that are 0, but we should not wildcard them" -- the
 * kernel sets the whole tunnel key mask to ones, so the addresses of the
 * tunnel's family, tos, ttl and both ports come back all ones even when not
 * sent. The flags (id present, df, csum, oam, options type) stay those the
 * key had, and the options mask has the key's options' shape.
 */
function exactTunnelMaskOf(t: TunnelKey): TunnelKey {
  const v6 = t.ipv6Src !== undefined || t.ipv6Dst !== undefined;
  return {
    ...(t.id !== undefined && { id: ONES64 }),
    ...(v6 ? { ipv6Src: IPV6_ONES, ipv6Dst: IPV6_ONES } : { ipv4Src: IPV4_ONES, ipv4Dst: IPV4_ONES }),
    tos: 0xff,
    ttl: 0xff,
    ...(t.dontFragment && { dontFragment: true }),
    ...(t.csum && { csum: true }),
    ...(t.oam && { oam: true }),
    tpSrc: 0xffff,
    tpDst: 0xffff,
    ...(t.geneveOpts && { geneveOpts: new Uint8Array(t.geneveOpts.length).fill(0xff) }),
    ...(t.vxlanOpts && { vxlanOpts: { gbp: ONES32 } }),
    ...(t.erspanOpts && { erspanOpts: erspanFromBytes(new Uint8Array(ERSPAN_METADATA_SIZE).fill(0xff)) }),
  };
}

// N9 (per case, written out in `keeps`): a flow with a mask is stored as
// key AND mask (ovs_flow_mask_key), and that masked key is what comes back;
// a tunnel field masked to zero is then left out, as the kernel writes
// tunnel fields only when non-zero (the flags only when set).

/**
 * N10. A frame without eth_type (802.2 LLC) is stored with eth_type 0x0004
 * (ETH_P_802_2), which the kernel writes back by leaving eth_type out. But
 * when the mask leaves eth_type out too (always so for an exact flow, whose
 * mask copies the key), the stored, masked key has eth_type 0, and the
 * kernel writes that out: eth_type(0) in the key and in the mask.
 */
function withWildcardedLlc(k: FlowKey): FlowKey {
  return k.ethernet && k.ethertype === undefined ? { ...k, ethertype: 0 } : k;
}

// ---------------------------------------------------------------------------

interface KeyCase {
  name: string;
  /** The key without in_port: the harness gives each flow its own. */
  key: FlowKey;
  partial: {
    /** The mask without in_port (the harness adds it, exact, unless given). */
    mask: FlowMask;
    /** key AND mask (N9), without in_port: what the kernel keeps. */
    keeps: FlowKey;
  };
}

const udp4 = (src: string, dst: string): FlowKey => ({
  ethernet: ETH,
  ethertype: ETH_P_IP,
  ipv4: { src, dst, proto: 17, tos: 0, ttl: 64, frag: 0 },
  udp: { src: 1000, dst: 53 },
});

const GENEVE_OPTS = new Uint8Array([0x01, 0x02, 0x80, 0x01, 0xde, 0xad, 0xbe, 0xef]);
const GENEVE_OPTS_MASK = new Uint8Array([0xff, 0xff, 0xff, 0x1f, 0x00, 0x00, 0xff, 0xff]);
const GENEVE_OPTS_KEPT = new Uint8Array([0x01, 0x02, 0x80, 0x01, 0x00, 0x00, 0xbe, 0xef]);
const ERSPAN_V2 = { version: 2, index: 0, sgt: 0, p: 0, ft: 0, hwidUpper: 0, o: 0, gra: 0, dir: 1, hwid: 5 };

const CASES: KeyCase[] = [
  {
    name: 'skb_priority, skb_mark, recirc_id, dp_hash over Ethernet/IPv4/UDP',
    key: { priority: 7, skbMark: 0x1234, recircId: 5, dpHash: 0xabcd1234, ...udp4('10.0.0.1', '10.0.0.2') },
    partial: {
      mask: {
        skbMark: 0xff00,
        recircId: ONES32,
        dpHash: 0xf,
        ethernet: { src: MAC_ZERO, dst: MAC_ONES },
        ethertype: 0xffff,
        ipv4: { src: '255.255.255.0', dst: IPV4_ZERO, proto: 0xff, tos: 0, ttl: 0, frag: 0xff },
        udp: { src: 0, dst: 0xffff },
      },
      keeps: {
        skbMark: 0x1200,
        recircId: 5,
        dpHash: 4,
        ethernet: { src: MAC_ZERO, dst: ETH.dst },
        ethertype: ETH_P_IP,
        ipv4: { src: '10.0.0.0', dst: IPV4_ZERO, proto: 17, tos: 0, ttl: 0, frag: 0 },
        udp: { src: 0, dst: 53 },
      },
    },
  },
  {
    name: 'in_port and eth_type masks forced exact (N5)',
    key: udp4('10.0.1.1', '10.0.1.2'),
    partial: {
      // Sent as 0x00ff and 0xff00; both come back all ones.
      mask: {
        inPort: 0x00ff,
        ethernet: ETH_ONES,
        ethertype: 0xff00,
        ipv4: { src: IPV4_ONES, dst: IPV4_ONES, proto: 0xff, tos: 0, ttl: 0, frag: 0 },
        udp: { src: 0xffff, dst: 0 },
      },
      keeps: { ...udp4('10.0.1.1', '10.0.1.2'), ipv4: { src: '10.0.1.1', dst: '10.0.1.2', proto: 17, tos: 0, ttl: 0, frag: 0 }, udp: { src: 1000, dst: 0 } },
    },
  },
  {
    name: 'Ethernet without eth_type (an 802.2 frame)',
    key: { ethernet: ETH },
    partial: { mask: { ethernet: { src: MAC_ONES, dst: MAC_ZERO } }, keeps: { ethernet: { src: ETH.src, dst: MAC_ZERO } } },
  },
  {
    name: 'Ethernet without eth_type (an 802.2 frame), eth_type exact in the mask',
    key: { ethernet: ETH },
    partial: { mask: { ethernet: { src: MAC_ZERO, dst: MAC_ONES }, ethertype: 0xffff }, keeps: { ethernet: { src: MAC_ZERO, dst: ETH.dst } } },
  },
  {
    name: 'no Ethernet (a layer 3 packet): eth_type, IPv4, UDP',
    key: { ethertype: ETH_P_IP, ipv4: { src: '10.0.2.1', dst: '10.0.2.2', proto: 17, tos: 0, ttl: 64, frag: 0 }, udp: { src: 1000, dst: 53 } },
    partial: {
      mask: { ethertype: 0xffff, ipv4: { src: IPV4_ZERO, dst: IPV4_ONES, proto: 0xff, tos: 0, ttl: 0, frag: 0 }, udp: { src: 0, dst: 0xffff } },
      keeps: { ethertype: ETH_P_IP, ipv4: { src: IPV4_ZERO, dst: '10.0.2.2', proto: 17, tos: 0, ttl: 0, frag: 0 }, udp: { src: 0, dst: 53 } },
    },
  },
  {
    name: 'VLAN tag with encap: IPv4/TCP with tcp_flags',
    key: {
      ethernet: ETH,
      ethertype: ETH_P_8021Q,
      vlan: { vid: 100, pcp: 5, cfi: 1 },
      encap: { ethertype: ETH_P_IP, ipv4: { src: '10.0.3.1', dst: '10.0.3.2', proto: 6, tos: 0, ttl: 64, frag: 0 }, tcp: { src: 40000, dst: 80 }, tcpFlags: 0x002 },
    },
    partial: {
      mask: {
        ethernet: ETH_ZERO,
        ethertype: 0xffff,
        vlan: { vid: 0xfff, pcp: 0, cfi: 1 },
        encap: { ethertype: 0xffff, ipv4: { src: IPV4_ONES, dst: IPV4_ONES, proto: 0xff, tos: 0, ttl: 0, frag: 0 }, tcp: { src: 0, dst: 0xffff }, tcpFlags: 0x0fff },
      },
      keeps: {
        ethernet: ETH_ZERO,
        ethertype: ETH_P_8021Q,
        vlan: { vid: 100, pcp: 0, cfi: 1 },
        encap: { ethertype: ETH_P_IP, ipv4: { src: '10.0.3.1', dst: '10.0.3.2', proto: 6, tos: 0, ttl: 0, frag: 0 }, tcp: { src: 0, dst: 80 }, tcpFlags: 0x002 },
      },
    },
  },
  {
    name: 'two VLAN tags (802.1ad outside, 802.1Q inside) over IPv6/UDP with a flow label',
    key: {
      ethernet: ETH,
      ethertype: ETH_P_8021AD,
      vlan: { vid: 10, pcp: 0, cfi: 1 },
      encap: {
        ethertype: ETH_P_8021Q,
        vlan: { vid: 20, pcp: 1, cfi: 1 },
        encap: {
          ethertype: ETH_P_IPV6,
          ipv6: { src: '2001:db8::1', dst: '2001:db8::2', label: 0x12345, proto: 17, tclass: 0, hlimit: 64, frag: 0 },
          udp: { src: 5000, dst: 6000 },
        },
      },
    },
    partial: {
      mask: {
        ethernet: ETH_ONES,
        ethertype: 0xffff,
        vlan: { vid: 0xfff, pcp: 0, cfi: 1 },
        encap: {
          ethertype: 0xffff,
          vlan: { vid: 0, pcp: 0, cfi: 1 },
          encap: {
            ethertype: 0xffff,
            // A 20-bit label mask comes back as sent (only the exact flow's is widened, N7).
            ipv6: { src: IPV6_ONES, dst: IPV6_ZERO, label: 0xfffff, proto: 0xff, tclass: 0, hlimit: 0, frag: 0xff },
            udp: { src: 0, dst: 0xffff },
          },
        },
      },
      keeps: {
        ethernet: ETH,
        ethertype: ETH_P_8021AD,
        vlan: { vid: 10, pcp: 0, cfi: 1 },
        encap: {
          ethertype: ETH_P_8021Q,
          vlan: { vid: 0, pcp: 0, cfi: 1 },
          encap: {
            ethertype: ETH_P_IPV6,
            ipv6: { src: '2001:db8::1', dst: IPV6_ZERO, label: 0x12345, proto: 17, tclass: 0, hlimit: 0, frag: 0 },
            udp: { src: 0, dst: 6000 },
          },
        },
      },
    },
  },
  {
    name: 'IPv4 ICMP echo',
    key: { ethernet: ETH, ethertype: ETH_P_IP, ipv4: { src: '10.0.4.1', dst: '10.0.4.2', proto: 1, tos: 0x10, ttl: 64, frag: 0 }, icmp: { type: 8, code: 0 } },
    partial: {
      mask: { ethernet: ETH_ZERO, ethertype: 0xffff, ipv4: { src: IPV4_ONES, dst: IPV4_ZERO, proto: 0xff, tos: 0xfc, ttl: 0, frag: 0 }, icmp: { type: 0xff, code: 0 } },
      keeps: { ethernet: ETH_ZERO, ethertype: ETH_P_IP, ipv4: { src: '10.0.4.1', dst: IPV4_ZERO, proto: 1, tos: 0x10, ttl: 0, frag: 0 }, icmp: { type: 8, code: 0 } },
    },
  },
  {
    name: 'IPv4 SCTP',
    key: { ethernet: ETH, ethertype: ETH_P_IP, ipv4: { src: '10.0.5.1', dst: '10.0.5.2', proto: 132, tos: 0, ttl: 64, frag: 0 }, sctp: { src: 2905, dst: 2906 } },
    partial: {
      mask: { ethernet: ETH_ZERO, ethertype: 0xffff, ipv4: { src: IPV4_ZERO, dst: IPV4_ZERO, proto: 0xff, tos: 0, ttl: 0, frag: 0 }, sctp: { src: 0xff00, dst: 0 } },
      keeps: { ethernet: ETH_ZERO, ethertype: ETH_P_IP, ipv4: { src: IPV4_ZERO, dst: IPV4_ZERO, proto: 132, tos: 0, ttl: 0, frag: 0 }, sctp: { src: 0x0b00, dst: 0 } },
    },
  },
  {
    name: 'IPv4 later fragment (no L4 attribute)',
    key: { ethernet: ETH, ethertype: ETH_P_IP, ipv4: { src: '10.0.6.1', dst: '10.0.6.2', proto: 17, tos: 0, ttl: 64, frag: 2 } },
    partial: {
      mask: { ethernet: ETH_ZERO, ethertype: 0xffff, ipv4: { src: IPV4_ONES, dst: IPV4_ONES, proto: 0xff, tos: 0, ttl: 0, frag: 0xff } },
      keeps: { ethernet: ETH_ZERO, ethertype: ETH_P_IP, ipv4: { src: '10.0.6.1', dst: '10.0.6.2', proto: 17, tos: 0, ttl: 0, frag: 2 } },
    },
  },
  {
    name: 'IPv6 TCP with flow label, traffic class and tcp_flags',
    key: {
      ethernet: ETH,
      ethertype: ETH_P_IPV6,
      ipv6: { src: '2001:db8:0:1::5', dst: '2001:db8:0:2::6', label: 0xabcde, proto: 6, tclass: 0x20, hlimit: 64, frag: 0 },
      tcp: { src: 1234, dst: 443 },
      tcpFlags: 0x012,
    },
    partial: {
      mask: {
        ethernet: ETH_ZERO,
        ethertype: 0xffff,
        ipv6: { src: 'ffff:ffff:ffff:ffff::', dst: IPV6_ONES, label: 0xf0000, proto: 0xff, tclass: 0, hlimit: 0, frag: 0xff },
        tcp: { src: 0, dst: 0xffff },
        tcpFlags: 0x002,
      },
      keeps: {
        ethernet: ETH_ZERO,
        ethertype: ETH_P_IPV6,
        ipv6: { src: '2001:db8:0:1::', dst: '2001:db8:0:2::6', label: 0xa0000, proto: 6, tclass: 0, hlimit: 0, frag: 0 },
        tcp: { src: 0, dst: 443 },
        tcpFlags: 0x002,
      },
    },
  },
  {
    name: 'ICMPv6 echo request',
    key: { ethernet: ETH, ethertype: ETH_P_IPV6, ipv6: { src: '2001:db8::10', dst: '2001:db8::11', label: 0, proto: 58, tclass: 0, hlimit: 64, frag: 0 }, icmpv6: { type: 128, code: 0 } },
    partial: {
      mask: { ethernet: ETH_ZERO, ethertype: 0xffff, ipv6: { src: IPV6_ZERO, dst: IPV6_ONES, label: 0, proto: 0xff, tclass: 0, hlimit: 0, frag: 0 }, icmpv6: { type: 0xff, code: 0xff } },
      keeps: { ethernet: ETH_ZERO, ethertype: ETH_P_IPV6, ipv6: { src: IPV6_ZERO, dst: '2001:db8::11', label: 0, proto: 58, tclass: 0, hlimit: 0, frag: 0 }, icmpv6: { type: 128, code: 0 } },
    },
  },
  {
    name: 'ICMPv6 neighbour solicitation with nd',
    key: {
      ethernet: { src: ETH.src, dst: '33:33:ff:00:00:02' },
      ethertype: ETH_P_IPV6,
      ipv6: { src: 'fe80::1', dst: 'ff02::1:ff00:2', label: 0, proto: 58, tclass: 0, hlimit: 255, frag: 0 },
      icmpv6: { type: 135, code: 0 },
      nd: { target: 'fe80::2', sll: ETH.src, tll: MAC_ZERO },
    },
    partial: {
      mask: {
        ethernet: ETH_ZERO,
        ethertype: 0xffff,
        ipv6: { src: IPV6_ZERO, dst: IPV6_ZERO, label: 0, proto: 0xff, tclass: 0, hlimit: 0, frag: 0 },
        // The kernel takes an nd mask only with the ICMPv6 type exact.
        icmpv6: { type: 0xff, code: 0 },
        nd: { target: IPV6_ONES, sll: MAC_ZERO, tll: MAC_ZERO },
      },
      keeps: {
        ethernet: ETH_ZERO,
        ethertype: ETH_P_IPV6,
        ipv6: { src: IPV6_ZERO, dst: IPV6_ZERO, label: 0, proto: 58, tclass: 0, hlimit: 0, frag: 0 },
        icmpv6: { type: 135, code: 0 },
        nd: { target: 'fe80::2', sll: MAC_ZERO, tll: MAC_ZERO },
      },
    },
  },
  {
    name: 'IPv6 extension header bitmap (ipv6_exthdrs)',
    key: {
      ethernet: ETH,
      ethertype: ETH_P_IPV6,
      ipv6: { src: '2001:db8::20', dst: '2001:db8::21', label: 0, proto: 17, tclass: 0, hlimit: 64, frag: 0 },
      udp: { src: 7, dst: 9 },
      ipv6Exthdrs: IEH_HOP | IEH_DEST,
    },
    partial: {
      mask: {
        ethernet: ETH_ZERO,
        ethertype: 0xffff,
        ipv6: { src: IPV6_ZERO, dst: IPV6_ZERO, label: 0, proto: 0xff, tclass: 0, hlimit: 0, frag: 0 },
        udp: { src: 0, dst: 0 },
        ipv6Exthdrs: IEH_HOP,
      },
      keeps: {
        ethernet: ETH_ZERO,
        ethertype: ETH_P_IPV6,
        ipv6: { src: IPV6_ZERO, dst: IPV6_ZERO, label: 0, proto: 17, tclass: 0, hlimit: 0, frag: 0 },
        udp: { src: 0, dst: 0 },
        ipv6Exthdrs: IEH_HOP,
      },
    },
  },
  {
    name: 'ARP request',
    key: { ethernet: { src: ETH.src, dst: MAC_ONES }, ethertype: ETH_P_ARP, arp: { sip: '10.0.7.1', tip: '10.0.7.2', op: 1, sha: ETH.src, tha: MAC_ZERO } },
    partial: {
      mask: { ethernet: ETH_ZERO, ethertype: 0xffff, arp: { sip: IPV4_ZERO, tip: IPV4_ONES, op: 0x00ff, sha: MAC_ZERO, tha: MAC_ZERO } },
      keeps: { ethernet: ETH_ZERO, ethertype: ETH_P_ARP, arp: { sip: IPV4_ZERO, tip: '10.0.7.2', op: 1, sha: MAC_ZERO, tha: MAC_ZERO } },
    },
  },
  {
    name: 'RARP reply (eth_type 0x8035 with the arp attribute)',
    key: { ethernet: ETH, ethertype: ETH_P_RARP, arp: { sip: '10.0.8.1', tip: '10.0.8.2', op: 4, sha: ETH.src, tha: ETH.dst } },
    partial: {
      mask: { ethernet: ETH_ZERO, ethertype: 0xffff, arp: { sip: IPV4_ZERO, tip: IPV4_ZERO, op: 0x00ff, sha: MAC_ZERO, tha: MAC_ONES } },
      keeps: { ethernet: ETH_ZERO, ethertype: ETH_P_RARP, arp: { sip: IPV4_ZERO, tip: IPV4_ZERO, op: 4, sha: MAC_ZERO, tha: ETH.dst } },
    },
  },
  {
    name: 'MPLS, one label',
    key: { ethernet: ETH, ethertype: ETH_P_MPLS_UC, mpls: [{ label: 100, tc: 3, bos: 1, ttl: 64 }] },
    partial: {
      mask: { ethernet: ETH_ZERO, ethertype: 0xffff, mpls: [{ label: 0xfffff, tc: 0, bos: 1, ttl: 0 }] },
      keeps: { ethernet: ETH_ZERO, ethertype: ETH_P_MPLS_UC, mpls: [{ label: 100, tc: 0, bos: 1, ttl: 0 }] },
    },
  },
  {
    name: 'MPLS stack of three labels (the most the kernel keeps), multicast eth_type',
    key: {
      ethernet: ETH,
      ethertype: ETH_P_MPLS_MC,
      mpls: [
        { label: 16, tc: 0, bos: 0, ttl: 64 },
        { label: 17, tc: 1, bos: 0, ttl: 63 },
        { label: 18, tc: 2, bos: 1, ttl: 62 },
      ],
    },
    partial: {
      mask: {
        ethernet: ETH_ZERO,
        ethertype: 0xffff,
        mpls: [
          { label: 0xfffff, tc: 0, bos: 0, ttl: 0 },
          { label: 0, tc: 7, bos: 0, ttl: 0 },
          { label: 0xfffff, tc: 0, bos: 1, ttl: 0xff },
        ],
      },
      keeps: {
        ethernet: ETH_ZERO,
        ethertype: ETH_P_MPLS_MC,
        mpls: [
          { label: 16, tc: 0, bos: 0, ttl: 0 },
          { label: 0, tc: 1, bos: 0, ttl: 0 },
          { label: 18, tc: 0, bos: 1, ttl: 62 },
        ],
      },
    },
  },
  {
    name: 'conntrack state, zone, mark, labels and original tuple over IPv4/TCP',
    key: {
      ctState: CS_TRACKED | CS_ESTABLISHED,
      ctZone: 7,
      ctMark: 0xdeadbeef,
      ctLabels: 0x0123456789abcdef0011223344556677n,
      ctOrigTupleIpv4: { src: '10.0.9.1', dst: '10.0.9.2', srcPort: 40000, dstPort: 80, proto: 6 },
      ethernet: ETH,
      ethertype: ETH_P_IP,
      ipv4: { src: '10.0.9.1', dst: '10.0.9.2', proto: 6, tos: 0, ttl: 64, frag: 0 },
      tcp: { src: 40000, dst: 80 },
      tcpFlags: 0x010,
    },
    partial: {
      mask: {
        ctState: CS_TRACKED | CS_ESTABLISHED,
        ctZone: 0xffff,
        ctMark: 0xffff0000,
        ctLabels: ONES64,
        ctOrigTupleIpv4: { src: IPV4_ONES, dst: IPV4_ONES, srcPort: 0, dstPort: 0xffff, proto: 0xff },
        ethernet: ETH_ZERO,
        ethertype: 0xffff,
        ipv4: { src: IPV4_ZERO, dst: IPV4_ZERO, proto: 0xff, tos: 0, ttl: 0, frag: 0 },
        tcp: { src: 0, dst: 0 },
        tcpFlags: 0,
      },
      keeps: {
        ctState: CS_TRACKED | CS_ESTABLISHED,
        ctZone: 7,
        ctMark: 0xdead0000,
        ctLabels: 0x0011223344556677n,
        ctOrigTupleIpv4: { src: '10.0.9.1', dst: '10.0.9.2', srcPort: 0, dstPort: 80, proto: 6 },
        ethernet: ETH_ZERO,
        ethertype: ETH_P_IP,
        ipv4: { src: IPV4_ZERO, dst: IPV4_ZERO, proto: 6, tos: 0, ttl: 0, frag: 0 },
        tcp: { src: 0, dst: 0 },
        tcpFlags: 0,
      },
    },
  },
  {
    name: 'conntrack original tuple over IPv6/UDP',
    key: {
      ctState: CS_TRACKED | CS_NEW,
      ctOrigTupleIpv6: { src: '2001:db8::30', dst: '2001:db8::31', srcPort: 5353, dstPort: 5353, proto: 17 },
      ethernet: ETH,
      ethertype: ETH_P_IPV6,
      ipv6: { src: '2001:db8::30', dst: '2001:db8::31', label: 0, proto: 17, tclass: 0, hlimit: 64, frag: 0 },
      udp: { src: 5353, dst: 5353 },
    },
    partial: {
      mask: {
        ctState: CS_TRACKED,
        ctOrigTupleIpv6: { src: IPV6_ONES, dst: IPV6_ZERO, srcPort: 0, dstPort: 0xffff, proto: 0xff },
        ethernet: ETH_ZERO,
        ethertype: 0xffff,
        ipv6: { src: IPV6_ZERO, dst: IPV6_ZERO, label: 0, proto: 0xff, tclass: 0, hlimit: 0, frag: 0 },
        udp: { src: 0, dst: 0 },
      },
      keeps: {
        ctState: CS_TRACKED,
        ctOrigTupleIpv6: { src: '2001:db8::30', dst: IPV6_ZERO, srcPort: 0, dstPort: 5353, proto: 17 },
        ethernet: ETH_ZERO,
        ethertype: ETH_P_IPV6,
        ipv6: { src: IPV6_ZERO, dst: IPV6_ZERO, label: 0, proto: 17, tclass: 0, hlimit: 0, frag: 0 },
        udp: { src: 0, dst: 0 },
      },
    },
  },
  {
    name: 'Geneve tunnel over IPv4: id, addresses, tos, ttl, df, csum, oam, ports, options',
    key: {
      tunnel: {
        id: 0x1234n,
        ipv4Src: '192.168.1.1',
        ipv4Dst: '192.168.1.2',
        tos: 0x10,
        ttl: 64,
        dontFragment: true,
        csum: true,
        oam: true,
        tpSrc: 49152,
        tpDst: 6081,
        geneveOpts: GENEVE_OPTS,
      },
      ...udp4('10.0.10.1', '10.0.10.2'),
    },
    partial: {
      mask: {
        tunnel: { id: ONES64, ipv4Dst: IPV4_ONES, ttl: 0, dontFragment: true, geneveOpts: GENEVE_OPTS_MASK },
        ethernet: ETH_ZERO,
        ethertype: 0xffff,
        ipv4: { src: IPV4_ZERO, dst: IPV4_ZERO, proto: 0xff, tos: 0, ttl: 0, frag: 0 },
        udp: { src: 0, dst: 0 },
      },
      // csum and oam were not in the mask: their flag bits are wildcarded and
      // the masked key no longer has them; zero fields are not written (N9).
      keeps: {
        tunnel: { id: 0x1234n, ipv4Dst: '192.168.1.2', ttl: 0, dontFragment: true, geneveOpts: GENEVE_OPTS_KEPT },
        ethernet: ETH_ZERO,
        ethertype: ETH_P_IP,
        ipv4: { src: IPV4_ZERO, dst: IPV4_ZERO, proto: 17, tos: 0, ttl: 0, frag: 0 },
        udp: { src: 0, dst: 0 },
      },
    },
  },
  {
    name: 'VXLAN tunnel with a group policy (vxlan gbp option)',
    key: {
      tunnel: { id: 100n, ipv4Src: '192.168.2.1', ipv4Dst: '192.168.2.2', ttl: 64, tpDst: 4789, vxlanOpts: { gbp: 0x00080123 } },
      ...udp4('10.0.11.1', '10.0.11.2'),
    },
    partial: {
      mask: {
        tunnel: { id: ONES64, ipv4Src: IPV4_ONES, ipv4Dst: IPV4_ONES, ttl: 0xff, vxlanOpts: { gbp: 0x0000ffff } },
        ethernet: ETH_ZERO,
        ethertype: 0xffff,
        ipv4: { src: IPV4_ZERO, dst: IPV4_ZERO, proto: 0xff, tos: 0, ttl: 0, frag: 0 },
        udp: { src: 0, dst: 0 },
      },
      keeps: {
        tunnel: { id: 100n, ipv4Src: '192.168.2.1', ipv4Dst: '192.168.2.2', ttl: 64, vxlanOpts: { gbp: 0x0123 } },
        ethernet: ETH_ZERO,
        ethertype: ETH_P_IP,
        ipv4: { src: IPV4_ZERO, dst: IPV4_ZERO, proto: 17, tos: 0, ttl: 0, frag: 0 },
        udp: { src: 0, dst: 0 },
      },
    },
  },
  {
    name: 'ERSPAN v2 options over an IPv6 tunnel',
    key: {
      tunnel: { id: 7n, ipv6Src: '2001:db8:1::1', ipv6Dst: '2001:db8:1::2', ttl: 64, erspanOpts: ERSPAN_V2 },
      ...udp4('10.0.12.1', '10.0.12.2'),
    },
    partial: {
      mask: {
        tunnel: {
          ipv6Dst: IPV6_ONES,
          ttl: 0,
          erspanOpts: { version: -1, index: 0, sgt: 0, p: 0, ft: 0, hwidUpper: 0, o: 0, gra: 0, dir: 1, hwid: 0xf },
        },
        ethernet: ETH_ZERO,
        ethertype: 0xffff,
        ipv4: { src: IPV4_ZERO, dst: IPV4_ZERO, proto: 0xff, tos: 0, ttl: 0, frag: 0 },
        udp: { src: 0, dst: 0 },
      },
      // No id in the mask: the id flag is wildcarded, so no id comes back.
      keeps: {
        tunnel: { ipv6Dst: '2001:db8:1::2', ttl: 0, erspanOpts: ERSPAN_V2 },
        ethernet: ETH_ZERO,
        ethertype: ETH_P_IP,
        ipv4: { src: IPV4_ZERO, dst: IPV4_ZERO, proto: 17, tos: 0, ttl: 0, frag: 0 },
        udp: { src: 0, dst: 0 },
      },
    },
  },
  {
    name: 'NSH with MD type 1 context',
    key: {
      ethernet: ETH,
      ethertype: ETH_P_NSH,
      nsh: { base: { flags: 0, ttl: 63, mdtype: 1, np: 1, spi: 0x123, si: 255 }, md1: [1, 2, 3, 0xfeedf00d] },
    },
    partial: {
      mask: { ethernet: ETH_ZERO, ethertype: 0xffff, nsh: { base: { flags: 0, ttl: 0, mdtype: 0xff, np: 0xff, spi: 0xffffff, si: 0 } } },
      keeps: { ethernet: ETH_ZERO, ethertype: ETH_P_NSH, nsh: { base: { flags: 0, ttl: 0, mdtype: 1, np: 1, spi: 0x123, si: 0 } } },
    },
  },
];

/**
 * N11. OVS_TUNNEL_KEY_ATTR_IPV4_INFO_BRIDGE is taken in a flow key (an IPv4
 * tunnel "in bridge mode": only an id, no addresses) but not kept: the flow
 * comes back as an IPv4 tunnel with the id and ttl 0, and an exact mask
 * like any IPv4 tunnel's (N8).
 */
const BRIDGE_CASE: KeyCase = {
  name: 'IPv4 tunnel in bridge mode (ipv4_info_bridge)',
  key: { tunnel: { id: 5n, ipv4InfoBridge: true }, ...udp4('10.0.13.1', '10.0.13.2') },
  partial: {
    mask: {
      tunnel: { id: ONES64, ipv4InfoBridge: true },
      ethernet: ETH_ZERO,
      ethertype: 0xffff,
      ipv4: { src: IPV4_ZERO, dst: IPV4_ZERO, proto: 0xff, tos: 0, ttl: 0, frag: 0 },
      udp: { src: 0, dst: 0 },
    },
    keeps: {
      tunnel: { id: 5n },
      ethernet: ETH_ZERO,
      ethertype: ETH_P_IP,
      ipv4: { src: IPV4_ZERO, dst: IPV4_ZERO, proto: 17, tos: 0, ttl: 0, frag: 0 },
      udp: { src: 0, dst: 0 },
    },
  },
};

function bridgeModeAsReturned(k: FlowKey): FlowKey {
  if (!k.tunnel?.ipv4InfoBridge) return k;
  const t: TunnelKey = { ...k.tunnel };
  delete t.ipv4InfoBridge;
  return { ...k, tunnel: t };
}

const ALL_CASES = [...CASES, BRIDGE_CASE];

// ---------------------------------------------------------------------------

function encoded(k: FlowKey): Uint8Array {
  const w = new AttrWriter(256);
  encodeKey(w, k);
  return w.finish().slice();
}

const NO_ACTIONS = new Uint8Array(0);

interface Installed {
  name: string;
  ufid: Ufid;
  key: FlowKey;
  mask: FlowMask;
}

/** Which flows were put, with what the kernel should give back, for the dump at the end. */
const installed: Installed[] = [];

function check(f: Flow, want: Installed): void {
  expect(f.ufid && Buffer.from(f.ufid).equals(Buffer.from(want.ufid))).toBe(true);
  expect(withoutPad(decodeKey(f.key!))).toEqual(want.key);
  expect(withoutPad(decodeMask(f.mask!))).toEqual(want.mask);
}

describe('every flow key attribute through the real module', () => {
  let dpif!: KernelDpif;
  const dp = uniqueName('ovskey');
  useDatapath(dp, (d) => (dpif = d));

  ALL_CASES.forEach((c, i) => {
    // Each flow its own in_port, so that no flow's key falls inside another's
    // mask (the kernel would take the put as an update of that flow).
    const exactPort = 10 + i;
    const partialPort = 200 + i;

    it(`${c.name}: exact (no mask)`, async () => {
      const key: FlowKey = { inPort: exactPort, ...c.key };
      const ufid = ufidFromWords([0x6b657973, i, 1, 0]);
      await dpif.putFlow(dp, { key: encoded(key), actions: NO_ACTIONS, ufid });
      const want: Installed = {
        name: c.name,
        ufid,
        key: asReturnedKey(withWildcardedLlc(bridgeModeAsReturned(key))),
        // N10 after N5: this eth_type(0) is what the kernel writes, not a mask it forced exact.
        mask: withWildcardedLlc(asReturnedMask(exactMaskOf(key))),
      };
      installed.push(want);
      check(await dpif.getFlow(dp, { ufid }), want);
    });

    it(`${c.name}: partial mask`, async () => {
      const key: FlowKey = { inPort: partialPort, ...c.key };
      const mask: FlowMask = { inPort: ONES32, ...c.partial.mask };
      const ufid = ufidFromWords([0x6b657973, i, 2, 0]);
      await dpif.putFlow(dp, { key: encoded(key), mask: encoded(mask), actions: NO_ACTIONS, ufid });
      const llc = c.key.ethertype === undefined && mask.ethertype === undefined ? withWildcardedLlc : (k: FlowKey): FlowKey => k;
      const want: Installed = {
        name: c.name,
        ufid,
        key: asReturnedKey(llc({ inPort: partialPort, ...c.partial.keeps })),
        mask: llc(asReturnedMask(bridgeModeAsReturned(mask))),
      };
      installed.push(want);
      check(await dpif.getFlow(dp, { ufid }), want);
    });
  });

  it('gives every flow back the same from a dump', async () => {
    const dumped = new Map<string, Flow>();
    for await (const f of dpif.dumpFlows(dp)) dumped.set(Buffer.from(f.ufid!).toString('hex'), f);
    expect(dumped.size).toBe(installed.length);
    for (const want of installed) {
      const f = dumped.get(Buffer.from(want.ufid).toString('hex'));
      expect(f, want.name).toBeDefined();
      check(f!, want);
    }
  });

  it('covers every key attribute the kernel takes, and every tunnel attribute', () => {
    const keyFields = new Set<string>();
    const tunnelFields = new Set<string>();
    const walk = (k: FlowKey): void => {
      for (const [name, v] of Object.entries(k)) {
        keyFields.add(name);
        if (name === 'encap') walk(v as FlowKey);
        if (name === 'tunnel') for (const t of Object.keys(v as TunnelKey)) tunnelFields.add(t);
      }
    };
    for (const c of ALL_CASES) walk({ inPort: 1, ...c.key });
    const userspaceOnly = ['packetType', 'ndExtensions'];
    expect([...keyFields].sort()).toEqual(Object.keys(KEY_FIELD_TYPES).filter((n) => !userspaceOnly.includes(n)).sort());
    // pad is the kernel's alignment filler (N6); gtpu options exist only in OVS userspace.
    expect([...tunnelFields].sort()).toEqual(
      ['id', 'ipv4Src', 'ipv4Dst', 'tos', 'ttl', 'dontFragment', 'csum', 'oam', 'geneveOpts', 'tpSrc', 'tpDst', 'vxlanOpts', 'ipv6Src', 'ipv6Dst', 'erspanOpts', 'ipv4InfoBridge'].sort(),
    );
  });

  describe('refusals', () => {
    const base: FlowKey = { inPort: 300, ...udp4('10.0.14.1', '10.0.14.2') };

    it.each([
      ['packet_type in the key', { ...base, packetType: { ns: 0, id: 0 } }, undefined, /key packet_type/],
      ['nd_ext in the key', { ...base, ndExtensions: { reserved: 0, optionsType: 1 } }, undefined, /key nd_ext/],
      ['packet_type in the mask', base, { ...exactMaskOf(base), packetType: { ns: 0xffff, id: 0xffff } }, /mask packet_type/],
      ['nd_ext inside encap', { ...base, ethertype: ETH_P_8021Q, vlan: { vid: 1, pcp: 0, cfi: 1 }, encap: { ethertype: ETH_P_IP, ndExtensions: { reserved: 0, optionsType: 1 } } }, undefined, /encap\.nd_ext/],
    ] as [string, FlowKey, FlowMask | undefined, RegExp][])('refuses %s locally, sending nothing', async (_what, key, mask, where) => {
      const sent = dpif.conn.stats.sent;
      const err = await dpif.putFlow(dp, { key: encoded(key), mask: mask && encoded(mask), actions: NO_ACTIONS, ufid: ufidFromWords([0x6b657973, 999, 3, 0]) }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'EOPNOTSUPP' });
      expect((err as Error).message).toMatch(where);
      expect((err as Error).message).toMatch(/only in OVS's userspace datapath, not in the kernel module \(nothing was sent\)/);
      expect(dpif.conn.stats.sent).toBe(sent);
    });

    // What the module itself does not take, though the uapi has a place for it.
    it('the module refuses NSH MD type 2 context in a flow key (EINVAL)', async () => {
      const key: FlowKey = { inPort: 301, ethernet: ETH, ethertype: ETH_P_NSH, nsh: { base: { flags: 0, ttl: 63, mdtype: 2, np: 1, spi: 1, si: 255 }, md2: new Uint8Array(8) } };
      await expect(dpif.putFlow(dp, { key: encoded(key), actions: NO_ACTIONS, ufid: ufidFromWords([0x6b657973, 999, 4, 0]) })).rejects.toMatchObject({ code: 'EINVAL' });
    });

    it('the module refuses an MPLS stack of four labels (it keeps three, MPLS_LABEL_DEPTH)', async () => {
      const lse = { label: 16, tc: 0, bos: 0, ttl: 64 };
      const key: FlowKey = { inPort: 302, ethernet: ETH, ethertype: ETH_P_MPLS_UC, mpls: [lse, lse, lse, { ...lse, bos: 1 }] };
      await expect(dpif.putFlow(dp, { key: encoded(key), actions: NO_ACTIONS, ufid: ufidFromWords([0x6b657973, 999, 5, 0]) })).rejects.toMatchObject({ code: 'EINVAL' });
    });
  });
});
