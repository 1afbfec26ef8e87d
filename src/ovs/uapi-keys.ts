// Flow key uapi from linux/openvswitch.h (values checked against the 6.1
// header and OVS's private copy, which squats on a few numbers; see
// shared/reference/uapi-and-dpctl.md §5, §6, §8).

/** enum ovs_key_attr */
export const OVS_KEY_ATTR_UNSPEC = 0;
export const OVS_KEY_ATTR_ENCAP = 1;
export const OVS_KEY_ATTR_PRIORITY = 2;
export const OVS_KEY_ATTR_IN_PORT = 3;
export const OVS_KEY_ATTR_ETHERNET = 4;
export const OVS_KEY_ATTR_VLAN = 5;
export const OVS_KEY_ATTR_ETHERTYPE = 6;
export const OVS_KEY_ATTR_IPV4 = 7;
export const OVS_KEY_ATTR_IPV6 = 8;
export const OVS_KEY_ATTR_TCP = 9;
export const OVS_KEY_ATTR_UDP = 10;
export const OVS_KEY_ATTR_ICMP = 11;
export const OVS_KEY_ATTR_ICMPV6 = 12;
export const OVS_KEY_ATTR_ARP = 13;
export const OVS_KEY_ATTR_ND = 14;
export const OVS_KEY_ATTR_SKB_MARK = 15;
export const OVS_KEY_ATTR_TUNNEL = 16;
export const OVS_KEY_ATTR_SCTP = 17;
export const OVS_KEY_ATTR_TCP_FLAGS = 18;
export const OVS_KEY_ATTR_DP_HASH = 19;
export const OVS_KEY_ATTR_RECIRC_ID = 20;
export const OVS_KEY_ATTR_MPLS = 21;
export const OVS_KEY_ATTR_CT_STATE = 22;
export const OVS_KEY_ATTR_CT_ZONE = 23;
export const OVS_KEY_ATTR_CT_MARK = 24;
export const OVS_KEY_ATTR_CT_LABELS = 25;
export const OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4 = 26;
export const OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6 = 27;
export const OVS_KEY_ATTR_NSH = 28;
/** OVS userspace only: the kernel reserves the number and rejects it. */
export const OVS_KEY_ATTR_PACKET_TYPE = 29;
/** OVS userspace only. */
export const OVS_KEY_ATTR_ND_EXTENSIONS = 30;
/** Kernel-internal (struct ip_tunnel_info); never on the wire. */
export const OVS_KEY_ATTR_TUNNEL_INFO = 31;
/** Kernel ≥ 5.19: u16 bitmap of IPv6 extension headers seen. Unknown to OVS (≤ 31). */
export const OVS_KEY_ATTR_IPV6_EXTHDRS = 32;
/** The highest key attribute OVS itself knows; above it OVS prints `keyN(...)`. */
export const OVS_KEY_ATTR_MAX_OVS = 31;

/** enum ovs_tunnel_key_attr (starts at 0, no UNSPEC) */
export const OVS_TUNNEL_KEY_ATTR_ID = 0;
export const OVS_TUNNEL_KEY_ATTR_IPV4_SRC = 1;
export const OVS_TUNNEL_KEY_ATTR_IPV4_DST = 2;
export const OVS_TUNNEL_KEY_ATTR_TOS = 3;
export const OVS_TUNNEL_KEY_ATTR_TTL = 4;
export const OVS_TUNNEL_KEY_ATTR_DONT_FRAGMENT = 5;
export const OVS_TUNNEL_KEY_ATTR_CSUM = 6;
export const OVS_TUNNEL_KEY_ATTR_OAM = 7;
export const OVS_TUNNEL_KEY_ATTR_GENEVE_OPTS = 8;
export const OVS_TUNNEL_KEY_ATTR_TP_SRC = 9;
export const OVS_TUNNEL_KEY_ATTR_TP_DST = 10;
export const OVS_TUNNEL_KEY_ATTR_VXLAN_OPTS = 11;
export const OVS_TUNNEL_KEY_ATTR_IPV6_SRC = 12;
export const OVS_TUNNEL_KEY_ATTR_IPV6_DST = 13;
export const OVS_TUNNEL_KEY_ATTR_PAD = 14;
export const OVS_TUNNEL_KEY_ATTR_ERSPAN_OPTS = 15;
/**
 * 16 means two different things: the kernel's IPV4_INFO_BRIDGE flag (no
 * payload) and OVS userspace's GTPU_OPTS (2 bytes). The payload length tells
 * them apart.
 */
export const OVS_TUNNEL_KEY_ATTR_IPV4_INFO_BRIDGE = 16;
export const OVS_TUNNEL_KEY_ATTR_GTPU_OPTS = 16;

// VXLAN extension attributes (OVS_VXLAN_EXT_GBP, _GPE) are in uapi.ts: the
// vport options use them too.

/** enum ovs_nsh_key_attr */
export const OVS_NSH_KEY_ATTR_UNSPEC = 0;
export const OVS_NSH_KEY_ATTR_BASE = 1;
export const OVS_NSH_KEY_ATTR_MD1 = 2;
export const OVS_NSH_KEY_ATTR_MD2 = 3;

/** enum ovs_frag_type */
export const OVS_FRAG_TYPE_NONE = 0;
export const OVS_FRAG_TYPE_FIRST = 1;
export const OVS_FRAG_TYPE_LATER = 2;

/** OVS_CS_F_*: conntrack state bits of OVS_KEY_ATTR_CT_STATE. */
export const OVS_CS_F_NEW = 0x01;
export const OVS_CS_F_ESTABLISHED = 0x02;
export const OVS_CS_F_RELATED = 0x04;
export const OVS_CS_F_REPLY_DIR = 0x08;
export const OVS_CS_F_INVALID = 0x10;
export const OVS_CS_F_TRACKED = 0x20;
export const OVS_CS_F_SRC_NAT = 0x40;
export const OVS_CS_F_DST_NAT = 0x80;
export const OVS_CS_F_NAT_MASK = OVS_CS_F_SRC_NAT | OVS_CS_F_DST_NAT;

export const OVS_CT_LABELS_LEN = 16;
export const NSH_MD1_CONTEXT_SIZE = 4;

/** Payload sizes of the fixed-size key attributes (the kernel checks them exactly). */
export const KEY_ATTR_SIZE: Readonly<Record<number, number>> = {
  [OVS_KEY_ATTR_PRIORITY]: 4,
  [OVS_KEY_ATTR_IN_PORT]: 4,
  [OVS_KEY_ATTR_ETHERNET]: 12,
  [OVS_KEY_ATTR_VLAN]: 2,
  [OVS_KEY_ATTR_ETHERTYPE]: 2,
  [OVS_KEY_ATTR_IPV4]: 12,
  [OVS_KEY_ATTR_IPV6]: 40,
  [OVS_KEY_ATTR_TCP]: 4,
  [OVS_KEY_ATTR_UDP]: 4,
  [OVS_KEY_ATTR_ICMP]: 2,
  [OVS_KEY_ATTR_ICMPV6]: 2,
  [OVS_KEY_ATTR_ARP]: 24,
  [OVS_KEY_ATTR_ND]: 28,
  [OVS_KEY_ATTR_SKB_MARK]: 4,
  [OVS_KEY_ATTR_SCTP]: 4,
  [OVS_KEY_ATTR_TCP_FLAGS]: 2,
  [OVS_KEY_ATTR_DP_HASH]: 4,
  [OVS_KEY_ATTR_RECIRC_ID]: 4,
  [OVS_KEY_ATTR_CT_STATE]: 4,
  [OVS_KEY_ATTR_CT_ZONE]: 2,
  [OVS_KEY_ATTR_CT_MARK]: 4,
  [OVS_KEY_ATTR_CT_LABELS]: 16,
  [OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4]: 16,
  [OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6]: 40,
  [OVS_KEY_ATTR_PACKET_TYPE]: 4,
  [OVS_KEY_ATTR_ND_EXTENSIONS]: 8,
  [OVS_KEY_ATTR_IPV6_EXTHDRS]: 2,
};

/** Sizes of the fixed tunnel key attributes. */
export const TUNNEL_ATTR_SIZE: Readonly<Record<number, number>> = {
  [OVS_TUNNEL_KEY_ATTR_ID]: 8,
  [OVS_TUNNEL_KEY_ATTR_IPV4_SRC]: 4,
  [OVS_TUNNEL_KEY_ATTR_IPV4_DST]: 4,
  [OVS_TUNNEL_KEY_ATTR_TOS]: 1,
  [OVS_TUNNEL_KEY_ATTR_TTL]: 1,
  [OVS_TUNNEL_KEY_ATTR_DONT_FRAGMENT]: 0,
  [OVS_TUNNEL_KEY_ATTR_CSUM]: 0,
  [OVS_TUNNEL_KEY_ATTR_OAM]: 0,
  [OVS_TUNNEL_KEY_ATTR_TP_SRC]: 2,
  [OVS_TUNNEL_KEY_ATTR_TP_DST]: 2,
  [OVS_TUNNEL_KEY_ATTR_IPV6_SRC]: 16,
  [OVS_TUNNEL_KEY_ATTR_IPV6_DST]: 16,
  [OVS_TUNNEL_KEY_ATTR_PAD]: 0,
  [OVS_TUNNEL_KEY_ATTR_ERSPAN_OPTS]: 12,
};

export const NSH_BASE_SIZE = 8;
export const NSH_MD1_SIZE = 16;
/** sizeof(struct erspan_metadata) */
export const ERSPAN_METADATA_SIZE = 12;
/** sizeof(struct gtpu_metadata) */
export const GTPU_METADATA_SIZE = 2;
