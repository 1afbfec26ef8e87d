// nfnetlink and ctnetlink numbers (linux/netfilter/nfnetlink.h,
// nfnetlink_conntrack.h, nf_conntrack_common.h, nf_conntrack_tcp.h,
// nf_conntrack_sctp.h). Stable uapi values.

/** struct nfgenmsg: family u8, version u8, res_id be16. */
export const NFGENMSG_LEN = 4;
export const NFNETLINK_V0 = 0;
export const NFNL_SUBSYS_CTNETLINK = 1;

/** nlmsg_type of a netfilter message: subsystem in the high byte, command in the low. */
export const nfnlType = (subsys: number, cmd: number): number => (subsys << 8) | cmd;

// enum cntl_msg_types
export const IPCTNL_MSG_CT_NEW = 0;
export const IPCTNL_MSG_CT_GET = 1;
export const IPCTNL_MSG_CT_DELETE = 2;
export const IPCTNL_MSG_CT_GET_CTRZERO = 3;
export const IPCTNL_MSG_CT_GET_STATS_CPU = 4;
export const IPCTNL_MSG_CT_GET_STATS = 5;

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;

export const IPPROTO_ICMP = 1;
export const IPPROTO_IGMP = 2;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_DCCP = 33;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_SCTP = 132;
export const IPPROTO_UDPLITE = 136;

// enum ctattr_type
export const CTA_TUPLE_ORIG = 1;
export const CTA_TUPLE_REPLY = 2;
export const CTA_STATUS = 3;
export const CTA_PROTOINFO = 4;
export const CTA_HELP = 5;
export const CTA_NAT_SRC = 6;
export const CTA_TIMEOUT = 7;
export const CTA_MARK = 8;
export const CTA_COUNTERS_ORIG = 9;
export const CTA_COUNTERS_REPLY = 10;
export const CTA_USE = 11;
export const CTA_ID = 12;
export const CTA_NAT_DST = 13;
export const CTA_TUPLE_MASTER = 14;
export const CTA_SEQ_ADJ_ORIG = 15;
export const CTA_SEQ_ADJ_REPLY = 16;
export const CTA_SECMARK = 17;
export const CTA_ZONE = 18;
export const CTA_SECCTX = 19;
export const CTA_TIMESTAMP = 20;
export const CTA_MARK_MASK = 21;
export const CTA_LABELS = 22;
export const CTA_LABELS_MASK = 23;

// enum ctattr_tuple
export const CTA_TUPLE_IP = 1;
export const CTA_TUPLE_PROTO = 2;
export const CTA_TUPLE_ZONE = 3;

// enum ctattr_ip
export const CTA_IP_V4_SRC = 1;
export const CTA_IP_V4_DST = 2;
export const CTA_IP_V6_SRC = 3;
export const CTA_IP_V6_DST = 4;

// enum ctattr_l4proto
export const CTA_PROTO_NUM = 1;
export const CTA_PROTO_SRC_PORT = 2;
export const CTA_PROTO_DST_PORT = 3;
export const CTA_PROTO_ICMP_ID = 4;
export const CTA_PROTO_ICMP_TYPE = 5;
export const CTA_PROTO_ICMP_CODE = 6;
export const CTA_PROTO_ICMPV6_ID = 7;
export const CTA_PROTO_ICMPV6_TYPE = 8;
export const CTA_PROTO_ICMPV6_CODE = 9;

// enum ctattr_protoinfo and its members
export const CTA_PROTOINFO_TCP = 1;
export const CTA_PROTOINFO_DCCP = 2;
export const CTA_PROTOINFO_SCTP = 3;
export const CTA_PROTOINFO_TCP_STATE = 1;
export const CTA_PROTOINFO_TCP_WSCALE_ORIGINAL = 2;
export const CTA_PROTOINFO_TCP_WSCALE_REPLY = 3;
export const CTA_PROTOINFO_TCP_FLAGS_ORIGINAL = 4;
export const CTA_PROTOINFO_TCP_FLAGS_REPLY = 5;
export const CTA_PROTOINFO_SCTP_STATE = 1;
export const CTA_PROTOINFO_SCTP_VTAG_ORIGINAL = 2;
export const CTA_PROTOINFO_SCTP_VTAG_REPLY = 3;

export const CTA_COUNTERS_PACKETS = 1;
export const CTA_COUNTERS_BYTES = 2;
export const CTA_TIMESTAMP_START = 1;
export const CTA_TIMESTAMP_STOP = 2;
export const CTA_HELP_NAME = 1;

// enum ctattr_stats_global (IPCTNL_MSG_CT_GET_STATS)
export const CTA_STATS_GLOBAL_ENTRIES = 1;
export const CTA_STATS_GLOBAL_MAX_ENTRIES = 2;

// enum tcp_conntrack: the kernel's TCP states (SYN_SENT2 shares 9 with LISTEN).
export const TCP_CONNTRACK_NONE = 0;
export const TCP_CONNTRACK_SYN_SENT = 1;
export const TCP_CONNTRACK_SYN_RECV = 2;
export const TCP_CONNTRACK_ESTABLISHED = 3;
export const TCP_CONNTRACK_FIN_WAIT = 4;
export const TCP_CONNTRACK_CLOSE_WAIT = 5;
export const TCP_CONNTRACK_LAST_ACK = 6;
export const TCP_CONNTRACK_TIME_WAIT = 7;
export const TCP_CONNTRACK_CLOSE = 8;
export const TCP_CONNTRACK_SYN_SENT2 = 9;

// enum sctp_conntrack
export const SCTP_CONNTRACK_NONE = 0;
export const SCTP_CONNTRACK_CLOSED = 1;
export const SCTP_CONNTRACK_COOKIE_WAIT = 2;
export const SCTP_CONNTRACK_COOKIE_ECHOED = 3;
export const SCTP_CONNTRACK_ESTABLISHED = 4;
export const SCTP_CONNTRACK_SHUTDOWN_SENT = 5;
export const SCTP_CONNTRACK_SHUTDOWN_RECD = 6;
export const SCTP_CONNTRACK_SHUTDOWN_ACK_SENT = 7;
export const SCTP_CONNTRACK_HEARTBEAT_SENT = 8;
/** Removed from the uapi in Linux 6.2; older kernels still report it. */
export const SCTP_CONNTRACK_HEARTBEAT_ACKED = 9;

/** enum ip_conntrack_status bits 0-12, in order (the ones OVS names). */
export const IPS_NAMES = [
  'EXPECTED',
  'SEEN_REPLY',
  'ASSURED',
  'CONFIRMED',
  'SRC_NAT',
  'DST_NAT',
  'SEQ_ADJUST',
  'SRC_NAT_DONE',
  'DST_NAT_DONE',
  'DYING',
  'FIXED_TIMEOUT',
  'TEMPLATE',
  'UNTRACKED',
] as const;

// nfnetlink_cttimeout (linux/netfilter/nfnetlink_cttimeout.h): named
// conntrack timeout policies, the ones OVS's ct(timeout=NAME) refers to.
export const NFNL_SUBSYS_CTNETLINK_TIMEOUT = 8;

// enum ctnl_timeout_msg_types
export const IPCTNL_MSG_TIMEOUT_NEW = 0;
export const IPCTNL_MSG_TIMEOUT_GET = 1;
export const IPCTNL_MSG_TIMEOUT_DELETE = 2;
export const IPCTNL_MSG_TIMEOUT_DEFAULT_SET = 3;
export const IPCTNL_MSG_TIMEOUT_DEFAULT_GET = 4;

// enum ctattr_timeout
export const CTA_TIMEOUT_NAME = 1;
export const CTA_TIMEOUT_L3PROTO = 2;
export const CTA_TIMEOUT_L4PROTO = 3;
export const CTA_TIMEOUT_DATA = 4;
export const CTA_TIMEOUT_USE = 5;

/** CTNL_TIMEOUT_NAME_MAX: the name's buffer, its NUL included. */
export const CTNL_TIMEOUT_NAME_MAX = 32;

/** The generic tracker's protocol number (nf_conntrack_l4proto_generic): policies for protocols without their own tracker. */
export const IPPROTO_GENERIC_CT = 255;

/**
 * The CTA_TIMEOUT_DATA attribute names of each tracker, by attribute type
 * (enum ctattr_timeout_tcp, _udp, _icmp, _icmpv6, _generic); UDP-Lite
 * shares UDP's.
 */
export const TIMEOUT_ATTRS: Readonly<Record<number, readonly string[]>> = {
  [IPPROTO_TCP]: ['synSent', 'synRecv', 'established', 'finWait', 'closeWait', 'lastAck', 'timeWait', 'close', 'synSent2', 'retrans', 'unacknowledged'],
  [IPPROTO_UDP]: ['unreplied', 'replied'],
  [IPPROTO_UDPLITE]: ['unreplied', 'replied'],
  [IPPROTO_ICMP]: ['timeout'],
  [IPPROTO_ICMPV6]: ['timeout'],
  [IPPROTO_GENERIC_CT]: ['timeout'],
};
