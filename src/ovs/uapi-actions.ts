// Action uapi from linux/openvswitch.h and OVS's private additions
// (shared/reference/uapi-and-dpctl.md §7, §8, §10).

/** enum ovs_action_attr */
export const OVS_ACTION_ATTR_UNSPEC = 0;
export const OVS_ACTION_ATTR_OUTPUT = 1;
export const OVS_ACTION_ATTR_USERSPACE = 2;
export const OVS_ACTION_ATTR_SET = 3;
export const OVS_ACTION_ATTR_PUSH_VLAN = 4;
export const OVS_ACTION_ATTR_POP_VLAN = 5;
export const OVS_ACTION_ATTR_SAMPLE = 6;
export const OVS_ACTION_ATTR_RECIRC = 7;
export const OVS_ACTION_ATTR_HASH = 8;
export const OVS_ACTION_ATTR_PUSH_MPLS = 9;
export const OVS_ACTION_ATTR_POP_MPLS = 10;
export const OVS_ACTION_ATTR_SET_MASKED = 11;
export const OVS_ACTION_ATTR_CT = 12;
export const OVS_ACTION_ATTR_TRUNC = 13;
export const OVS_ACTION_ATTR_PUSH_ETH = 14;
export const OVS_ACTION_ATTR_POP_ETH = 15;
export const OVS_ACTION_ATTR_CT_CLEAR = 16;
export const OVS_ACTION_ATTR_PUSH_NSH = 17;
export const OVS_ACTION_ATTR_POP_NSH = 18;
export const OVS_ACTION_ATTR_METER = 19;
export const OVS_ACTION_ATTR_CLONE = 20;
export const OVS_ACTION_ATTR_CHECK_PKT_LEN = 21;
export const OVS_ACTION_ATTR_ADD_MPLS = 22;
export const OVS_ACTION_ATTR_DEC_TTL = 23;
/** Kernel ≈ 6.4 and later. */
export const OVS_ACTION_ATTR_DROP = 24;
/** Kernel ≈ 6.11 and later. */
export const OVS_ACTION_ATTR_PSAMPLE = 25;
/** OVS userspace datapath only. */
export const OVS_ACTION_ATTR_TUNNEL_PUSH = 26;
/** OVS userspace datapath only. */
export const OVS_ACTION_ATTR_TUNNEL_POP = 27;
/** OVS userspace datapath only. */
export const OVS_ACTION_ATTR_LB_OUTPUT = 28;

/** enum ovs_userspace_attr */
export const OVS_USERSPACE_ATTR_UNSPEC = 0;
export const OVS_USERSPACE_ATTR_PID = 1;
export const OVS_USERSPACE_ATTR_USERDATA = 2;
export const OVS_USERSPACE_ATTR_EGRESS_TUN_PORT = 3;
export const OVS_USERSPACE_ATTR_ACTIONS = 4;

/** enum ovs_sample_attr */
export const OVS_SAMPLE_ATTR_UNSPEC = 0;
export const OVS_SAMPLE_ATTR_PROBABILITY = 1;
export const OVS_SAMPLE_ATTR_ACTIONS = 2;

/** enum ovs_clone_attr: kernel-internal first attribute of a clone, never sent by userspace. */
export const OVS_CLONE_ATTR_EXEC = 0;

/** enum ovs_ct_attr */
export const OVS_CT_ATTR_UNSPEC = 0;
export const OVS_CT_ATTR_COMMIT = 1;
export const OVS_CT_ATTR_ZONE = 2;
export const OVS_CT_ATTR_MARK = 3;
export const OVS_CT_ATTR_LABELS = 4;
export const OVS_CT_ATTR_HELPER = 5;
export const OVS_CT_ATTR_NAT = 6;
export const OVS_CT_ATTR_FORCE_COMMIT = 7;
export const OVS_CT_ATTR_EVENTMASK = 8;
export const OVS_CT_ATTR_TIMEOUT = 9;

/** enum ovs_nat_attr */
export const OVS_NAT_ATTR_UNSPEC = 0;
export const OVS_NAT_ATTR_SRC = 1;
export const OVS_NAT_ATTR_DST = 2;
export const OVS_NAT_ATTR_IP_MIN = 3;
export const OVS_NAT_ATTR_IP_MAX = 4;
export const OVS_NAT_ATTR_PROTO_MIN = 5;
export const OVS_NAT_ATTR_PROTO_MAX = 6;
export const OVS_NAT_ATTR_PERSISTENT = 7;
export const OVS_NAT_ATTR_PROTO_HASH = 8;
export const OVS_NAT_ATTR_PROTO_RANDOM = 9;

/** enum ovs_check_pkt_len_attr */
export const OVS_CHECK_PKT_LEN_ATTR_UNSPEC = 0;
export const OVS_CHECK_PKT_LEN_ATTR_PKT_LEN = 1;
export const OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_GREATER = 2;
export const OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_LESS_EQUAL = 3;

/** enum ovs_dec_ttl_attr */
export const OVS_DEC_TTL_ATTR_UNSPEC = 0;
export const OVS_DEC_TTL_ATTR_ACTION = 1;

/** enum ovs_psample_attr (no UNSPEC entry) */
export const OVS_PSAMPLE_ATTR_GROUP = 1;
export const OVS_PSAMPLE_ATTR_COOKIE = 2;
export const OVS_PSAMPLE_COOKIE_MAX_SIZE = 16;

/** enum ovs_hash_alg */
export const OVS_HASH_ALG_L4 = 0;
/** OVS userspace only. */
export const OVS_HASH_ALG_SYM_L4 = 1;

/** Bit 0 of add_mpls tun_flags: insert the label at L3 (tunnel) rather than L2. */
export const OVS_MPLS_L3_TUNNEL_FLAG_MASK = 1;

/** Payload sizes of the fixed-size actions. */
export const ACTION_SIZE = {
  output: 4,
  pushVlan: 4,
  recirc: 4,
  hash: 8,
  pushMpls: 8,
  popMpls: 2,
  trunc: 4,
  pushEth: 12,
  meter: 4,
  addMpls: 8,
  drop: 4,
  tnlPop: 4,
  lbOutput: 4,
} as const;

/** Offset of `header` in struct ovs_action_push_tnl (tnl_port, out_port, header_len, tnl_type). */
export const TNL_PUSH_HEADER_OFFSET = 16;
/** TNL_PUSH_HEADER_SIZE: the most header bytes a tnl_push can carry. */
export const TNL_PUSH_HEADER_MAX = 512;

/** enum xlate_error: the reason carried by OVS_ACTION_ATTR_DROP. */
export const XLATE_ERRORS = [
  'OK',
  'BRIDGE_NOT_FOUND',
  'RECURSION_TOO_DEEP',
  'TOO_MANY_RESUBMITS',
  'STACK_TOO_DEEP',
  'NO_RECIRCULATION_CONTEXT',
  'RECIRCULATION_CONFLICT',
  'TOO_MANY_MPLS_LABELS',
  'INVALID_TUNNEL_METADATA',
  'UNSUPPORTED_PACKET_TYPE',
  'CONGESTION_DROP',
  'FORWARDING_DISABLED',
  'TUNNEL_ROUTING_FAILED',
  'TUNNEL_OUTPUT_NO_ETHERNET',
  'TUNNEL_NEIGH_CACHE_MISS',
  'TUNNEL_HEADER_BUILD_FAILED',
] as const;
