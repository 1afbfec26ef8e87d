// ovs_vport: the model of a vport message, its codec, and vport type names.
import type { NlMessage } from '../netlink/message.js';
import { decodeOvsMessage, encodeOvsMessage, type MessageHeader, type OvsMessage } from './header.js';
import type { AttrSchema, HasUnknown } from './schema.js';
import { vportStatsCodec, type VportStats } from './structs.js';
import * as U from './uapi.js';

/** OVS_TUNNEL_ATTR_EXTENSION: flags of a VXLAN vport. */
export interface VportExtensions extends HasUnknown {
  /** Group-based policy extension. */
  gbp?: boolean;
  /** Generic protocol extension: OVS's userspace datapath only. */
  gpe?: boolean;
}

/** OVS_VPORT_ATTR_OPTIONS of tunnel vports. */
export interface VportOptions extends HasUnknown {
  /** UDP destination port, host order (the kernel's u16, not the YNL spec's u32). */
  dstPort?: number;
  extensions?: VportExtensions;
}

/** OVS_VPORT_ATTR_UPCALL_STATS (Linux 6.2): upcalls this port's packets caused. */
export interface VportUpcallStats extends HasUnknown {
  success?: bigint;
  fail?: bigint;
}

/** The attributes of an ovs_vport message (requests and replies alike). */
export interface VportAttrs extends HasUnknown {
  /** Port number in the datapath; NEW picks a free one when absent. */
  portNo?: number;
  /** OVS_VPORT_TYPE_*: see vportTypeName(). */
  type?: number;
  name?: string;
  /** Netdev ifindex (replies; NEW of an internal port may ask for one). */
  ifindex?: number;
  /** Netns id of the netdev, when it lives in another namespace than the socket's. */
  netnsid?: number;
  stats?: VportStats;
  upcallStats?: VportUpcallStats;
  /** Upcall port ids for per-vport dispatch; `[0]` means no upcalls. Required in NEW. */
  upcallPids?: number[];
  options?: VportOptions;
}

const extensionsSchema: AttrSchema<VportExtensions> = {
  name: 'ovs_vxlan_ext',
  fields: {
    gbp: { type: U.OVS_VXLAN_EXT_GBP, kind: 'flag' },
    gpe: { type: U.OVS_VXLAN_EXT_GPE, kind: 'flag' },
  },
};

const optionsSchema: AttrSchema<VportOptions> = {
  name: 'ovs_tunnel_attr',
  fields: {
    dstPort: { type: U.OVS_TUNNEL_ATTR_DST_PORT, kind: 'u16' },
    extensions: { type: U.OVS_TUNNEL_ATTR_EXTENSION, kind: 'nest', schema: extensionsSchema },
  },
};

const upcallStatsSchema: AttrSchema<VportUpcallStats> = {
  name: 'ovs_vport_upcall_attr',
  // The kernel pads these u64s with the vport set's PAD type.
  pad: U.OVS_VPORT_ATTR_PAD,
  fields: {
    success: { type: U.OVS_VPORT_UPCALL_ATTR_SUCCESS, kind: 'u64' },
    fail: { type: U.OVS_VPORT_UPCALL_ATTR_FAIL, kind: 'u64' },
  },
};

// Order: ovs_vport_cmd_fill_info's.
export const vportSchema: AttrSchema<VportAttrs> = {
  name: 'ovs_vport_attr',
  pad: U.OVS_VPORT_ATTR_PAD,
  fields: {
    portNo: { type: U.OVS_VPORT_ATTR_PORT_NO, kind: 'u32' },
    type: { type: U.OVS_VPORT_ATTR_TYPE, kind: 'u32' },
    name: { type: U.OVS_VPORT_ATTR_NAME, kind: 'string' },
    ifindex: { type: U.OVS_VPORT_ATTR_IFINDEX, kind: 'u32' },
    netnsid: { type: U.OVS_VPORT_ATTR_NETNSID, kind: 's32' },
    stats: { type: U.OVS_VPORT_ATTR_STATS, kind: 'struct', codec: vportStatsCodec },
    upcallStats: { type: U.OVS_VPORT_ATTR_UPCALL_STATS, kind: 'nest', schema: upcallStatsSchema },
    upcallPids: { type: U.OVS_VPORT_ATTR_UPCALL_PID, kind: 'u32s' },
    options: { type: U.OVS_VPORT_ATTR_OPTIONS, kind: 'nest', schema: optionsSchema },
  },
};

export type VportMessage = OvsMessage<VportAttrs>;

export function encodeVportMessage(familyId: number, msg: VportMessage, hdr?: MessageHeader): Uint8Array {
  return encodeOvsMessage(vportSchema, familyId, U.OVS_VPORT_VERSION, msg, hdr);
}

export function decodeVportMessage(m: NlMessage): VportMessage {
  return decodeOvsMessage(vportSchema, m);
}

/** Vport types the kernel module implements. */
export type KernelVportType = 'netdev' | 'internal' | 'gre' | 'vxlan' | 'geneve';
/** Types that exist only in OVS's userspace datapath. */
export type UserspaceVportType = 'lisp' | 'stt' | 'erspan' | 'ip6erspan' | 'ip6gre' | 'gtpu' | 'bareudp' | 'srv6';
export type VportTypeName = KernelVportType | UserspaceVportType;

const TYPE_NUMBERS: Record<VportTypeName, number> = {
  netdev: U.OVS_VPORT_TYPE_NETDEV,
  internal: U.OVS_VPORT_TYPE_INTERNAL,
  gre: U.OVS_VPORT_TYPE_GRE,
  vxlan: U.OVS_VPORT_TYPE_VXLAN,
  geneve: U.OVS_VPORT_TYPE_GENEVE,
  lisp: U.OVS_VPORT_TYPE_LISP,
  stt: U.OVS_VPORT_TYPE_STT,
  erspan: U.OVS_VPORT_TYPE_ERSPAN,
  ip6erspan: U.OVS_VPORT_TYPE_IP6ERSPAN,
  ip6gre: U.OVS_VPORT_TYPE_IP6GRE,
  gtpu: U.OVS_VPORT_TYPE_GTPU,
  bareudp: U.OVS_VPORT_TYPE_BAREUDP,
  srv6: U.OVS_VPORT_TYPE_SRV6,
};
const TYPE_NAMES = new Map<number, VportTypeName>(Object.entries(TYPE_NUMBERS).map(([k, v]) => [v, k as VportTypeName]));

/** The name of an OVS_VPORT_TYPE_* number, or `type<N>` for one this version does not know. */
export function vportTypeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `type${type}`;
}

/** The OVS_VPORT_TYPE_* number of a type name, or undefined. */
export function vportTypeNumber(name: string): number | undefined {
  return Object.prototype.hasOwnProperty.call(TYPE_NUMBERS, name) ? TYPE_NUMBERS[name as VportTypeName] : undefined;
}

/** Whether the kernel module implements this OVS_VPORT_TYPE_* (the others are OVS userspace only). */
export function isKernelVportType(type: number): boolean {
  return type >= U.OVS_VPORT_TYPE_NETDEV && type <= U.OVS_VPORT_TYPE_GENEVE;
}
