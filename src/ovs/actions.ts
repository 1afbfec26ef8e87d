// Datapath actions as a discriminated union on `type`. An action list is an
// array; an empty list means drop. Nested lists (sample, clone,
// check_pkt_len, dec_ttl) are arrays of the same union.
import type { Ipv4, Ipv6, Mac } from './addr.js';
import type { FlowKey, MplsLse, NshKey } from './keys.js';

/** A nested attribute an action decoder did not know, kept to re-encode it. */
export interface RawAttr {
  type: number;
  data: Uint8Array;
}

export interface OutputAction {
  type: 'output';
  port: number;
}

export interface UserspaceAction {
  type: 'userspace';
  /** Netlink port id the upcall goes to. */
  pid: number;
  /** Opaque bytes copied into the upcall (OVS puts its 48-byte user_action_cookie here). */
  userdata?: Uint8Array;
  /** Tunnel port whose egress tunnel key the upcall carries. */
  egressTunPort?: number;
  /** OVS_USERSPACE_ATTR_ACTIONS: the upcall includes the flow's actions. */
  actions?: boolean;
  extra?: RawAttr[];
}

/** set(KEY): the key holds exactly one attribute, all of it written. */
export interface SetAction {
  type: 'set';
  key: FlowKey;
}

/** set(KEY) with a mask: only the masked bits are written (not for tunnel). */
export interface SetMaskedAction {
  type: 'setMasked';
  key: FlowKey;
  mask: FlowKey;
}

export interface PushVlanAction {
  type: 'pushVlan';
  /** 0x8100 or 0x88a8 */
  tpid: number;
  vid: number;
  pcp: number;
  /** Must be 1 for the kernel. */
  cfi: number;
}

export interface PopVlanAction {
  type: 'popVlan';
}

export interface SampleAction {
  type: 'sample';
  /** Fraction of packets sampled, in units of 1/UINT32_MAX. */
  probability: number;
  actions: Action[];
  extra?: RawAttr[];
}

export interface RecircAction {
  type: 'recirc';
  id: number;
}

export interface HashAction {
  type: 'hash';
  /** OVS_HASH_ALG_L4 (0) or OVS_HASH_ALG_SYM_L4 (1, userspace only). */
  alg: number;
  basis: number;
}

export interface PushMplsAction {
  type: 'pushMpls';
  lse: MplsLse;
  ethertype: number;
}

export interface PopMplsAction {
  type: 'popMpls';
  /** The ethertype of the packet after the pop. */
  ethertype: number;
}

export interface CtNat {
  src?: boolean;
  dst?: boolean;
  /** Both addresses of a range are the same family. */
  ipMin?: Ipv4 | Ipv6;
  ipMax?: Ipv4 | Ipv6;
  protoMin?: number;
  protoMax?: number;
  persistent?: boolean;
  protoHash?: boolean;
  protoRandom?: boolean;
  extra?: RawAttr[];
}

export interface CtAction {
  type: 'ct';
  commit?: boolean;
  forceCommit?: boolean;
  zone?: number;
  /** Host-order u32 value and mask. */
  mark?: { value: number; mask: number };
  /** 128-bit labels as host-order u128 value and mask. */
  labels?: { value: bigint; mask: bigint };
  helper?: string;
  /** Event mask, 1 << IPCT_*. */
  eventmask?: number;
  /** Name of a conntrack timeout policy. */
  timeout?: string;
  nat?: CtNat;
  extra?: RawAttr[];
}

export interface TruncAction {
  type: 'trunc';
  maxLen: number;
}

export interface PushEthAction {
  type: 'pushEth';
  src: Mac;
  dst: Mac;
}

export interface PopEthAction {
  type: 'popEth';
}

export interface CtClearAction {
  type: 'ctClear';
}

export interface PushNshAction {
  type: 'pushNsh';
  nsh: NshKey;
}

export interface PopNshAction {
  type: 'popNsh';
}

export interface MeterAction {
  type: 'meter';
  id: number;
}

export interface CloneAction {
  type: 'clone';
  actions: Action[];
}

export interface CheckPktLenAction {
  type: 'checkPktLen';
  pktLen: number;
  /** Run when the packet is longer than pktLen. */
  gt: Action[];
  /** Run otherwise. */
  le: Action[];
  extra?: RawAttr[];
}

export interface AddMplsAction {
  type: 'addMpls';
  lse: MplsLse;
  ethertype: number;
  /** Bit 0: OVS_MPLS_L3_TUNNEL_FLAG_MASK. */
  tunFlags: number;
}

export interface DecTtlAction {
  type: 'decTtl';
  /** Run when the TTL is 1 or less. */
  actions: Action[];
  extra?: RawAttr[];
}

export interface DropAction {
  type: 'drop';
  /** enum xlate_error; 0 = OK. */
  reason: number;
}

export interface PsampleAction {
  type: 'psample';
  group: number;
  /** Up to 16 bytes. */
  cookie?: Uint8Array;
  extra?: RawAttr[];
}

/** OVS userspace datapath only. */
export interface TnlPushAction {
  type: 'tnlPush';
  tnlPort: number;
  outPort: number;
  /** The vport type the header is for (OVS_VPORT_TYPE_*). */
  tnlType: number;
  /** Header length as declared; header may carry more (padding) bytes. */
  headerLen: number;
  header: Uint8Array;
}

/** OVS userspace datapath only. */
export interface TnlPopAction {
  type: 'tnlPop';
  port: number;
}

/** OVS userspace datapath only. */
export interface LbOutputAction {
  type: 'lbOutput';
  bondId: number;
}

/** An action type this decoder does not know (kept with its raw payload). */
export interface UnknownAction {
  type: 'unknown';
  attrType: number;
  data: Uint8Array;
}

export type Action =
  | OutputAction
  | UserspaceAction
  | SetAction
  | SetMaskedAction
  | PushVlanAction
  | PopVlanAction
  | SampleAction
  | RecircAction
  | HashAction
  | PushMplsAction
  | PopMplsAction
  | CtAction
  | TruncAction
  | PushEthAction
  | PopEthAction
  | CtClearAction
  | PushNshAction
  | PopNshAction
  | MeterAction
  | CloneAction
  | CheckPktLenAction
  | AddMplsAction
  | DecTtlAction
  | DropAction
  | PsampleAction
  | TnlPushAction
  | TnlPopAction
  | LbOutputAction
  | UnknownAction;

export type ActionType = Action['type'];
