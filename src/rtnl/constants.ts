// rtnetlink numbers for links (linux/rtnetlink.h, linux/if_link.h,
// linux/if_tunnel.h, linux/veth.h, linux/if.h). Stable uapi values.

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;

/** sizeof(struct ifinfomsg): family u8, pad u8, type u16, index s32, flags u32, change u32. */
export const IFINFOMSG_LEN = 16;
export const AF_UNSPEC = 0;

// enum net_device_flags (linux/if.h)
export const IFF_UP = 0x1;
export const IFF_BROADCAST = 0x2;
export const IFF_LOOPBACK = 0x8;
export const IFF_POINTOPOINT = 0x10;
export const IFF_RUNNING = 0x40;
export const IFF_NOARP = 0x80;
export const IFF_PROMISC = 0x100;
export const IFF_MULTICAST = 0x1000;
export const IFF_LOWER_UP = 0x10000;

// enum IFLA_* (top level of a link message)
export const IFLA_ADDRESS = 1;
export const IFLA_BROADCAST = 2;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_MASTER = 10;
export const IFLA_TXQLEN = 13;
export const IFLA_OPERSTATE = 16;
export const IFLA_LINKINFO = 18;
export const IFLA_NET_NS_PID = 19;
export const IFLA_NET_NS_FD = 28;
export const IFLA_EXT_MASK = 29;
export const IFLA_LINK_NETNSID = 37;
export const IFLA_MIN_MTU = 50;
export const IFLA_MAX_MTU = 51;

/** IFLA_EXT_MASK bit: leave the (large) statistics out of replies. */
export const RTEXT_FILTER_SKIP_STATS = 1 << 3;

// IFLA_LINKINFO nest
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const IFLA_INFO_SLAVE_KIND = 4;

// IFLA_INFO_DATA of kind "veth": the peer, as struct ifinfomsg + IFLA_* attributes.
export const VETH_INFO_PEER = 1;

// IFLA_INFO_DATA of kind "vxlan" (the ones OVS sets or checks)
export const IFLA_VXLAN_ID = 1;
export const IFLA_VXLAN_TTL = 5;
export const IFLA_VXLAN_LEARNING = 7;
export const IFLA_VXLAN_AGEING = 8;
export const IFLA_VXLAN_PORT = 15;
export const IFLA_VXLAN_UDP_CSUM = 18;
export const IFLA_VXLAN_UDP_ZERO_CSUM6_TX = 19;
export const IFLA_VXLAN_UDP_ZERO_CSUM6_RX = 20;
export const IFLA_VXLAN_GBP = 23;
export const IFLA_VXLAN_COLLECT_METADATA = 25;
export const IFLA_VXLAN_GPE = 27;

// IFLA_INFO_DATA of kind "geneve"
export const IFLA_GENEVE_ID = 1;
export const IFLA_GENEVE_TTL = 3;
export const IFLA_GENEVE_PORT = 5;
export const IFLA_GENEVE_COLLECT_METADATA = 6;
export const IFLA_GENEVE_UDP_CSUM = 8;
export const IFLA_GENEVE_UDP_ZERO_CSUM6_TX = 9;
export const IFLA_GENEVE_UDP_ZERO_CSUM6_RX = 10;

// IFLA_INFO_DATA of kinds "gre" / "gretap" (linux/if_tunnel.h)
export const IFLA_GRE_TTL = 8;
export const IFLA_GRE_PMTUDISC = 10;
export const IFLA_GRE_COLLECT_METADATA = 18;
