// Numbers from the wire formats, named as Linux names them (ETH_P_*, IPPROTO_*,
// NEXTHDR_*), so code here reads side by side with net/openvswitch/flow.c.

export const ETH_HLEN = 14;
export const ETH_ALEN = 6;
export const VLAN_HLEN = 4;
export const MPLS_HLEN = 4;

export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_RARP = 0x8035;
export const ETH_P_8021Q = 0x8100;
export const ETH_P_8021AD = 0x88a8;
export const ETH_P_IPV6 = 0x86dd;
export const ETH_P_MPLS_UC = 0x8847;
export const ETH_P_MPLS_MC = 0x8848;
export const ETH_P_NSH = 0x894f;
/** Smallest value of the type/length field that is an EtherType; below it is an 802.3 length. */
export const ETH_P_802_3_MIN = 0x0600;
/**
 * The Ethernet type of a frame that has none (an 802.3 length frame without a
 * SNAP EtherType). OVS calls it FLOW_DL_TYPE_NONE; the kernel keeps ETH_P_802_2
 * internally and omits OVS_KEY_ATTR_ETHERTYPE from the keys it reports.
 */
export const ETH_TYPE_NONE = 0x05ff;

export const LLC_SAP_SNAP = 0xaa;
export const LLC_SNAP_HLEN = 8;

export const ARPHRD_ETHER = 1;
export const ARP_ETH_HLEN = 28;
export const ARPOP_REQUEST = 1;
export const ARPOP_REPLY = 2;

export const IPV4_HLEN = 20;
export const IPV6_HLEN = 40;
/** IPv4 flags in the frag_off word. */
export const IP_DF = 0x4000;
export const IP_MF = 0x2000;
export const IP_OFFSET = 0x1fff;

export const IPPROTO_HOPOPTS = 0;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ROUTING = 43;
export const IPPROTO_FRAGMENT = 44;
export const IPPROTO_DCCP = 33;
export const IPPROTO_UDPLITE = 136;
export const IPPROTO_ESP = 50;
export const IPPROTO_AH = 51;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_NONE = 59;
export const IPPROTO_DSTOPTS = 60;
export const IPPROTO_SCTP = 132;

/** OVS_FRAG_TYPE_*: the key's fragment type. */
export const FRAG_NONE = 0;
export const FRAG_FIRST = 1;
export const FRAG_LATER = 2;

export const TCP_HLEN = 20;
export const UDP_HLEN = 8;
export const SCTP_HLEN = 12;
export const ICMP_HLEN = 8;
export const ICMPV6_HLEN = 8;
/** struct nd_msg: the ICMPv6 header plus the 16-byte target. */
export const ND_MSG_LEN = 24;

/** TCP flag bits in the low 12 bits of the data-offset word (what OVS_KEY_ATTR_TCP_FLAGS holds). */
export const TCP_FIN = 0x001;
export const TCP_SYN = 0x002;
export const TCP_RST = 0x004;
export const TCP_PSH = 0x008;
export const TCP_ACK = 0x010;
export const TCP_URG = 0x020;
export const TCP_ECE = 0x040;
export const TCP_CWR = 0x080;
/** NS (RFC 3540), reused as AE by accurate ECN. */
export const TCP_NS = 0x100;

export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;
export const NDISC_ROUTER_SOLICITATION = 133;
export const NDISC_ROUTER_ADVERTISEMENT = 134;
export const NDISC_NEIGHBOUR_SOLICITATION = 135;
export const NDISC_NEIGHBOUR_ADVERTISEMENT = 136;
export const ND_OPT_SOURCE_LL_ADDR = 1;
export const ND_OPT_TARGET_LL_ADDR = 2;
/** Flags in the first byte after the NA checksum. */
export const ND_NA_ROUTER = 0x80;
export const ND_NA_SOLICITED = 0x40;
export const ND_NA_OVERRIDE = 0x20;

/**
 * OVS_KEY_ATTR_IPV6_EXTHDRS bits (OpenFlow's OFPIEH12_*), as the kernel's
 * get_ipv6_ext_hdrs() sets them.
 */
export const IPV6_EXT_NONEXT = 1 << 0;
export const IPV6_EXT_ESP = 1 << 1;
export const IPV6_EXT_AUTH = 1 << 2;
export const IPV6_EXT_DEST = 1 << 3;
export const IPV6_EXT_FRAG = 1 << 4;
export const IPV6_EXT_ROUTER = 1 << 5;
export const IPV6_EXT_HOP = 1 << 6;
export const IPV6_EXT_UNREP = 1 << 7;
export const IPV6_EXT_UNSEQ = 1 << 8;

export const MPLS_LS_LABEL_SHIFT = 12;
export const MPLS_LS_TC_SHIFT = 9;
export const MPLS_LS_S = 0x100;
/** How many label stack entries the kernel's key keeps (MPLS_LABEL_DEPTH). */
export const MPLS_LABEL_DEPTH = 3;

export const VLAN_VID_MASK = 0x0fff;
export const VLAN_CFI_MASK = 0x1000;
export const VLAN_PCP_SHIFT = 13;

/** Ethernet over a tunnel (the inner frame of an NSH or GRE packet whose next protocol is Ethernet). */
export const ETH_P_TEB = 0x6558;
/** NSH: base header (ver/flags/ttl/length, MD type, next protocol, service path) and MD type 1 context. */
export const NSH_BASE_HDR_LEN = 8;
export const NSH_M_TYPE1 = 1;
export const NSH_M_TYPE2 = 2;
export const NSH_M_TYPE1_LEN = 24;
/** The next-protocol numbers of NSH (and of VXLAN-GPE): TUN_P_* in the kernel. */
export const TUN_P_IPV4 = 1;
export const TUN_P_IPV6 = 2;
export const TUN_P_ETHERNET = 3;
export const TUN_P_NSH = 4;
export const TUN_P_MPLS_UC = 5;
