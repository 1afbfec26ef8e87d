// Numbers of linux/openvswitch.h for the six OVS generic netlink families:
// versions, commands, message attributes and their flag values. Flow key and
// action attributes live in uapi-keys.ts / uapi-actions.ts. Values are stable
// uapi; the ones newer kernels added are marked with the version that did.

// Family versions, sent in genlmsghdr.version. The datapath family must be
// addressed as version 2: the kernel drops a datapath's user features when a
// request arrives with an older version (ovs_dp_reset_user_features).
export const OVS_DATAPATH_VERSION = 2;
export const OVS_VPORT_VERSION = 1;
export const OVS_FLOW_VERSION = 1;
export const OVS_PACKET_VERSION = 1;
export const OVS_METER_VERSION = 1;
export const OVS_CT_LIMIT_VERSION = 1;

// Multicast groups (one per family, named like it; ovs_packet has none).
export const OVS_DATAPATH_MCGROUP = 'ovs_datapath';
export const OVS_VPORT_MCGROUP = 'ovs_vport';
export const OVS_FLOW_MCGROUP = 'ovs_flow';
export const OVS_METER_MCGROUP = 'ovs_meter';
export const OVS_CT_LIMIT_MCGROUP = 'ovs_ct_limit';

// ---- ovs_datapath -------------------------------------------------------
export const OVS_DP_CMD_NEW = 1;
export const OVS_DP_CMD_DEL = 2;
export const OVS_DP_CMD_GET = 3;
export const OVS_DP_CMD_SET = 4;

export const OVS_DP_ATTR_NAME = 1;
export const OVS_DP_ATTR_UPCALL_PID = 2;
export const OVS_DP_ATTR_STATS = 3;
export const OVS_DP_ATTR_MEGAFLOW_STATS = 4;
export const OVS_DP_ATTR_USER_FEATURES = 5;
export const OVS_DP_ATTR_PAD = 6;
export const OVS_DP_ATTR_MASKS_CACHE_SIZE = 7;
export const OVS_DP_ATTR_PER_CPU_PIDS = 8;
export const OVS_DP_ATTR_IFINDEX = 9;

/** OVS_DP_ATTR_USER_FEATURES bits. */
export const OVS_DP_F_UNALIGNED = 1 << 0;
export const OVS_DP_F_VPORT_PIDS = 1 << 1;
export const OVS_DP_F_TC_RECIRC_SHARING = 1 << 2;
export const OVS_DP_F_DISPATCH_UPCALL_PER_CPU = 1 << 3;

/** Port number of a datapath's own internal port, named like the datapath. */
export const OVSP_LOCAL = 0;

// ---- ovs_vport ----------------------------------------------------------
export const OVS_VPORT_CMD_NEW = 1;
export const OVS_VPORT_CMD_DEL = 2;
export const OVS_VPORT_CMD_GET = 3;
export const OVS_VPORT_CMD_SET = 4;

export const OVS_VPORT_ATTR_PORT_NO = 1;
export const OVS_VPORT_ATTR_TYPE = 2;
export const OVS_VPORT_ATTR_NAME = 3;
export const OVS_VPORT_ATTR_OPTIONS = 4;
export const OVS_VPORT_ATTR_UPCALL_PID = 5;
export const OVS_VPORT_ATTR_STATS = 6;
export const OVS_VPORT_ATTR_PAD = 7;
export const OVS_VPORT_ATTR_IFINDEX = 8;
export const OVS_VPORT_ATTR_NETNSID = 9;
/** Linux 6.2. */
export const OVS_VPORT_ATTR_UPCALL_STATS = 10;

/** enum ovs_vport_upcall_attr (Linux 6.2): starts at 0, no UNSPEC. */
export const OVS_VPORT_UPCALL_ATTR_SUCCESS = 0;
export const OVS_VPORT_UPCALL_ATTR_FAIL = 1;

// enum ovs_vport_type: the kernel knows 1-5; the rest exist only in OVS's
// own copy of the header (its userspace datapath) and the kernel refuses them.
export const OVS_VPORT_TYPE_UNSPEC = 0;
export const OVS_VPORT_TYPE_NETDEV = 1;
export const OVS_VPORT_TYPE_INTERNAL = 2;
export const OVS_VPORT_TYPE_GRE = 3;
export const OVS_VPORT_TYPE_VXLAN = 4;
export const OVS_VPORT_TYPE_GENEVE = 5;
export const OVS_VPORT_TYPE_LISP = 105;
export const OVS_VPORT_TYPE_STT = 106;
export const OVS_VPORT_TYPE_ERSPAN = 107;
export const OVS_VPORT_TYPE_IP6ERSPAN = 108;
export const OVS_VPORT_TYPE_IP6GRE = 109;
export const OVS_VPORT_TYPE_GTPU = 110;
export const OVS_VPORT_TYPE_BAREUDP = 111;
export const OVS_VPORT_TYPE_SRV6 = 112;

/** OVS_VPORT_ATTR_OPTIONS of tunnel vports (an anonymous enum in the header). */
export const OVS_TUNNEL_ATTR_DST_PORT = 1;
export const OVS_TUNNEL_ATTR_EXTENSION = 2;
/** Flags inside OVS_TUNNEL_ATTR_EXTENSION. GPE is OVS-only. */
export const OVS_VXLAN_EXT_GBP = 1;
export const OVS_VXLAN_EXT_GPE = 8;

// ---- ovs_flow -----------------------------------------------------------
export const OVS_FLOW_CMD_NEW = 1;
export const OVS_FLOW_CMD_DEL = 2;
export const OVS_FLOW_CMD_GET = 3;
export const OVS_FLOW_CMD_SET = 4;

export const OVS_FLOW_ATTR_KEY = 1;
export const OVS_FLOW_ATTR_ACTIONS = 2;
export const OVS_FLOW_ATTR_STATS = 3;
export const OVS_FLOW_ATTR_TCP_FLAGS = 4;
export const OVS_FLOW_ATTR_USED = 5;
export const OVS_FLOW_ATTR_CLEAR = 6;
export const OVS_FLOW_ATTR_MASK = 7;
export const OVS_FLOW_ATTR_PROBE = 8;
export const OVS_FLOW_ATTR_UFID = 9;
export const OVS_FLOW_ATTR_UFID_FLAGS = 10;
export const OVS_FLOW_ATTR_PAD = 11;

/** OVS_FLOW_ATTR_UFID_FLAGS bits: what replies may leave out. */
export const OVS_UFID_F_OMIT_KEY = 1 << 0;
export const OVS_UFID_F_OMIT_MASK = 1 << 1;
export const OVS_UFID_F_OMIT_ACTIONS = 1 << 2;

/** The kernel's MAX_UFID_LENGTH; OVS always uses all 16 bytes. */
export const MAX_UFID_LENGTH = 16;

// ---- ovs_packet ---------------------------------------------------------
export const OVS_PACKET_CMD_MISS = 1;
export const OVS_PACKET_CMD_ACTION = 2;
export const OVS_PACKET_CMD_EXECUTE = 3;

export const OVS_PACKET_ATTR_PACKET = 1;
export const OVS_PACKET_ATTR_KEY = 2;
export const OVS_PACKET_ATTR_ACTIONS = 3;
export const OVS_PACKET_ATTR_USERDATA = 4;
export const OVS_PACKET_ATTR_EGRESS_TUN_KEY = 5;
export const OVS_PACKET_ATTR_UNUSED1 = 6;
export const OVS_PACKET_ATTR_UNUSED2 = 7;
export const OVS_PACKET_ATTR_PROBE = 8;
export const OVS_PACKET_ATTR_MRU = 9;
export const OVS_PACKET_ATTR_LEN = 10;
export const OVS_PACKET_ATTR_HASH = 11;
/** Linux 6.17 (2025). */
export const OVS_PACKET_ATTR_UPCALL_PID = 12;

/** Bits above the 32-bit skb hash in OVS_PACKET_ATTR_HASH (net/openvswitch/datapath.h). */
export const OVS_PACKET_HASH_SW_BIT = 1n << 32n;
export const OVS_PACKET_HASH_L4_BIT = 1n << 33n;

// ---- ovs_meter ----------------------------------------------------------
export const OVS_METER_CMD_FEATURES = 1;
export const OVS_METER_CMD_SET = 2;
export const OVS_METER_CMD_DEL = 3;
export const OVS_METER_CMD_GET = 4;

export const OVS_METER_ATTR_ID = 1;
export const OVS_METER_ATTR_KBPS = 2;
export const OVS_METER_ATTR_STATS = 3;
export const OVS_METER_ATTR_BANDS = 4;
export const OVS_METER_ATTR_USED = 5;
export const OVS_METER_ATTR_CLEAR = 6;
export const OVS_METER_ATTR_MAX_METERS = 7;
export const OVS_METER_ATTR_MAX_BANDS = 8;
export const OVS_METER_ATTR_PAD = 9;

export const OVS_BAND_ATTR_UNSPEC = 0;
export const OVS_BAND_ATTR_TYPE = 1;
export const OVS_BAND_ATTR_RATE = 2;
export const OVS_BAND_ATTR_BURST = 3;
export const OVS_BAND_ATTR_STATS = 4;

export const OVS_METER_BAND_TYPE_UNSPEC = 0;
export const OVS_METER_BAND_TYPE_DROP = 1;

// ---- ovs_ct_limit -------------------------------------------------------
export const OVS_CT_LIMIT_CMD_SET = 1;
export const OVS_CT_LIMIT_CMD_DEL = 2;
export const OVS_CT_LIMIT_CMD_GET = 3;

export const OVS_CT_LIMIT_ATTR_ZONE_LIMIT = 1;

/** zone_id of the default limit, the one for zones without their own. */
export const OVS_ZONE_LIMIT_DEFAULT_ZONE = -1;
/** sizeof(struct ovs_zone_limit): s32 zone_id, u32 limit, u32 count. */
export const OVS_ZONE_LIMIT_SIZE = 12;
