// The fallback datapath's connection tracker: what the ct() action does in
// the openvswitch module (net/openvswitch/conntrack.c) on top of netfilter's
// conntrack (nf_conntrack_core.c and the TCP, UDP, ICMP, ICMPv6 and generic
// trackers), as Linux 6.1 does it with its sysctls at their defaults
// (nf_conntrack_checksum=1, tcp_loose=1, tcp_be_liberal=0). The kernel is the
// specification: a flow key's ct_state, ct_mark, ct_labels and ct_tuple must
// come out as the module's would, so its corners are kept on purpose, and the
// kernel function each rule comes from is named where it is not obvious.
//
// Pure: no I/O and no timers. The clock is injected; connections expire
// lazily when looked up and in a small sweep on every call.
//
// Where this differs from the kernel, deliberately:
// - Fragments are reassembled before they get here, in the tracker's own
//   queues (`defrag`, `defrag6`), by the datapath's ct() (packet/ipv4-frag.ts,
//   packet/ipv6-frag.ts), as the module does in ovs_ct_handle_fragments; a
//   fragment that still reaches the tracker is invalid.
// - SCTP, DCCP, UDP-Lite and GRE have trackers of their own in the kernel
//   (states, checksums, their own timeouts); here they are tracked like any
//   other protocol by the generic tracker (600 s), with ports in the tuple for
//   SCTP, DCCP and UDP-Lite as the kernel's tuple has them.
// - A connection keeps the timeout policy of the ct() that made it
//   (ct-timeout.ts) and reads its timeouts at every packet. Policies exist
//   for TCP, UDP, ICMP, ICMPv6 and the generic tracker only.
// - Two helpers, FTP's (conntrack-ftp.ts) and TFTP's, with their
//   expectations: a connection the helped one announced is related to it
//   (its master) for as long as it lasts. No NAT of helped connections, no
//   other helpers, no events: ct() actions asking for them are refused
//   before they get here. NAT is
//   netfilter's (conntrack-nat.ts), but a clash on a translated tuple takes
//   a random port from this process's generator, not the kernel's, and an
//   ICMPv6 error's quoted packet is read without extension headers.
// - Zone limits (ovs_ct_limit) count the connections committed while their
//   zone had a limit, as the module's nf_conncount list does, but without
//   its grace of a jiffy or two for a connection that never got confirmed.
// - A full table (maxEntries) evicts like the kernel's early_drop(): one
//   connection not yet assured, or else the packet is dropped; but the
//   candidates are the oldest entries, not those of the new tuple's hash
//   buckets, and an expired entry counts as one.
import type { CtTuple } from '../conntrack/entry.js';
import type { ZoneLimit } from '../ovs/structs.js';
import { OVS_ZONE_LIMIT_DEFAULT_ZONE as DEFAULT_ZONE } from '../ovs/uapi.js';
import { ipv4FromBytes, ipv6FromBytes } from '../ovs/addr.js';
import { be16, be32 } from '../packet/bytes.js';
import { l4ChecksumOk } from '../packet/checksum.js';
import { Ipv4Defrag } from '../packet/ipv4-frag.js';
import { Ipv6Defrag } from '../packet/ipv6-frag.js';
import type { CtNat } from '../ovs/actions.js';
import { IPPROTO_GENERIC_CT, IPPROTO_UDPLITE } from '../conntrack/constants.js';
import type { CtTimeoutPolicy } from './ct-timeout.js';
import { ftpHelp, newFtpState, type FtpState } from './conntrack-ftp.js';
import {
  IPS_DST_NAT,
  IPS_DST_NAT_DONE,
  IPS_NAT_MASK,
  IPS_SRC_NAT,
  IPS_SRC_NAT_DONE,
  MANIP_DST,
  MANIP_SRC,
  RANGE_MAP_IPS,
  hasPorts,
  isIcmpProto,
  manipPacket,
  natRequestOf,
  sameNatTuple,
  translateIcmpError,
  uniqueTuple,
  type IpView,
  type NatRange,
  type NatRequest,
  type NatTuple,
} from './conntrack-nat.js';
import { ETH_P_IP, ETH_P_IPV6, FRAG_NONE, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from '../packet/constants.js';
import { Layer, type ParsedPacket } from '../packet/result.js';
import {
  TCP_ACCEPT,
  TCP_ACCEPT_KILL,
  TCP_CT_CLOSE,
  TCP_CT_TIME_WAIT,
  TCP_CT_NAMES,
  TCP_INVALID,
  TCP_REPEAT,
  tcpEstablished,
  tcpPacket,
  tcpSetLiberal,
  TIMEOUT_S,
  type TcpConn,
  type TcpOwner,
  type TcpSegment,
} from './conntrack-tcp.js';

// OVS_CS_F_* (ct_state bits of a flow key), under the short names the tracker's rules read best with.
import {
  OVS_CS_F_DST_NAT as CS_DNAT,
  OVS_CS_F_ESTABLISHED as CS_EST,
  OVS_CS_F_INVALID as CS_INV,
  OVS_CS_F_NEW as CS_NEW,
  OVS_CS_F_RELATED as CS_REL,
  OVS_CS_F_REPLY_DIR as CS_RPL,
  OVS_CS_F_SRC_NAT as CS_SNAT,
  OVS_CS_F_TRACKED as CS_TRK,
} from '../ovs/uapi-keys.js';
export { CS_DNAT, CS_EST, CS_INV, CS_NEW, CS_REL, CS_RPL, CS_SNAT, CS_TRK };

/** IPS_* status bits the tracker keeps (entries() reports them). */
export const IPS_EXPECTED = 1 << 0;
export const IPS_SEEN_REPLY = 1 << 1;
export const IPS_ASSURED = 1 << 2;
export const IPS_CONFIRMED = 1 << 3;
/** A helper was attached to the connection explicitly (here: by ct(alg=...)). */
export const IPS_HELPER = 1 << 13;

/** The ALG helpers ct(alg=...) can name here, with the IP protocol each is for. */
export const CT_HELPERS = { ftp: IPPROTO_TCP, tftp: IPPROTO_UDP } as const;
export type CtHelperName = keyof typeof CT_HELPERS;
export const isCtHelper = (name: string): name is CtHelperName => Object.hasOwn(CT_HELPERS, name);

/** The original-direction tuple the key's ct_tuple4 / ct_tuple6 attribute reports. Shared with the entry: do not modify. */
export interface CtOrigTuple {
  ipv6: boolean;
  /** 4 or 16 bytes, wire order. */
  src: Uint8Array;
  dst: Uint8Array;
  /** Ports; for ICMP and ICMPv6 the type and the code, as OVS reports them. 0 for protocols without ports. */
  srcPort: number;
  dstPort: number;
  proto: number;
}

/** What ct() sets in the flow key. */
export interface CtVerdict {
  state: number;
  mark: number;
  labels: bigint;
  /** Absent for a packet that is invalid (no connection). */
  orig?: CtOrigTuple;
  /**
   * The module frees the packet: the table was full and nothing could be
   * evicted (nf_conntrack_in() answers NF_DROP, ovs_ct_execute() fails).
   * The other fields then mean nothing.
   */
  drop?: boolean;
}

/** ct(commit): what to write into the connection, and force_commit. */
export interface CtCommit {
  /** ovs_ct_set_mark(): new = value | (old & ~mask), the value used as given. */
  mark?: { value: number; mask: number };
  /**
   * 128-bit labels, host order. A new connection gets (old & ~mask) | (value
   * & mask) (ovs_ct_init_labels); a committed one (old & ~mask) ^ value
   * (nf_connlabels_replace), the value unmasked.
   */
  labels?: { value: bigint; mask: bigint };
  /** OVS_CT_ATTR_FORCE_COMMIT: a packet in the reply direction ends its connection and starts one it originates. */
  force?: boolean;
}

/**
 * The flow key's ct_state and ct_zone before this ct() (after recirculation
 * they travel with the packet). A packet already tracked in this zone is not
 * run through the tracker again: its connection is only found (the module's
 * skb_nfct_cached()).
 */
export interface CtPrior {
  state: number;
  zone: number;
}

/** A live connection, for dumps. */
export interface CtEntryView {
  zone: number;
  /** AF_INET (2) or AF_INET6 (10). */
  family: number;
  proto: number;
  orig: CtTuple;
  reply: CtTuple;
  /** IPS_* bits. */
  status: number;
  /** The protocol's state name (TCP: tcp_conntrack_names), '' for protocols without states. */
  state: string;
  /** enum tcp_conntrack, for TCP. */
  tcpState?: number;
  mark: number;
  labels: bigint;
  /** Its ALG helper, if it has one. */
  helper?: string;
  /** Seconds left. */
  timeout: number;
  /** CTA_ID. */
  id: number;
}

export interface ConnTrackerOptions {
  /** Milliseconds from a monotonic clock. */
  now?: () => number;
  /** Connections the table holds at most (nf_conntrack_max). */
  maxEntries?: number;
}

const IPPROTO_FRAGMENT = 44;
const IPPROTO_NONE = 59;
const AF_INET = 2;
const AF_INET6 = 10;

const ORIGINAL = 0;
const REPLY = 1;

/** An announced connection that does not come within this is forgotten (ftp_exp_policy and tftp_exp_policy's timeout). */
const EXPECT_MS = 300_000;

/** A connection a helper announced (struct nf_conntrack_expect: from any source port), keyed by expectationKey(). */
interface Expectation {
  master: Conn;
  expires: number;
}

const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
/** Zone, protocol, source and destination address, destination port. */
const expectationKey = (zone: number, proto: number, src: Uint8Array, dst: Uint8Array, port: number): string => `${zone}/${proto}/${hexOf(src)}/${hexOf(dst)}/${port}`;

// TFTP's read and write requests (RFC 1350 opcodes).
const TFTP_RRQ = 1;
const TFTP_WRQ = 2;

/** A UDP flow answered and still going this long after its first packet is a stream (nf_conntrack_udp_packet). */
const UDP_STREAM_MS = 2_000;

/**
 * The trackers' default timeouts in seconds, in the layout a timeout policy
 * for that protocol has: tcp_timeouts[], UDP's unreplied and replied, one
 * for ICMP and ICMPv6, one for the generic tracker (255).
 */
const DEFAULT_TIMEOUTS: Readonly<Record<number, readonly number[]>> = {
  [IPPROTO_TCP]: TIMEOUT_S,
  [IPPROTO_UDP]: [30, 120],
  [IPPROTO_UDPLITE]: [30, 120],
  [IPPROTO_ICMP]: [30],
  [IPPROTO_ICMPV6]: [30],
  [IPPROTO_GENERIC_CT]: [600],
};

/** A tracker's default timeouts (a protocol without its own tracker has the generic one's). */
export const defaultTimeouts = (tracker: number): readonly number[] => DEFAULT_TIMEOUTS[tracker] ?? DEFAULT_TIMEOUTS[IPPROTO_GENERIC_CT];

/** Expired connections looked at per process() call. */
const SWEEP_PER_PACKET = 4;
/** Connections early drop looks at (the kernel scans 8 hash buckets). */
const EVICTION_SCAN = 64;

const LABELS_MASK = (1n << 128n) - 1n;

/**
 * The ICMP types a reply type exists for, as type + 1 (invmap of
 * nf_conntrack_proto_icmp.c): echo, timestamp, information and address mask
 * requests and replies. Other types have no reverse, so no connection.
 */
const ICMP_INVERSE = new Uint8Array(256);
for (const [a, b] of [
  [8, 0],
  [13, 14],
  [15, 16],
  [17, 18],
]) {
  ICMP_INVERSE[a] = b + 1;
  ICMP_INVERSE[b] = a + 1;
}
/** ICMPv6: echo and node information query and reply. */
const ICMPV6_INVERSE = new Uint8Array(256);
for (const [a, b] of [
  [128, 129],
  [139, 140],
]) {
  ICMPV6_INVERSE[a] = b + 1;
  ICMPV6_INVERSE[b] = a + 1;
}
/** The requests that can start an ICMP "connection" (valid_new). */
const ICMP_NEW = new Set([8, 13, 15, 17]);
const ICMPV6_NEW = new Set([128, 139]);
/** ICMPv6 the kernel leaves untracked: MLD, router and neighbour discovery (noct_valid_new). */
const ICMPV6_UNTRACKED = new Set([130, 131, 132, 133, 134, 135, 136, 143]);
/** icmp_is_err(). */
const ICMP_ERRORS = new Set([3, 4, 5, 11, 12]);
/** NR_ICMP_TYPES: higher types are invalid. */
const ICMP_MAX_TYPE = 18;

/** The reverse of an ICMP type, or -1 (nf_conntrack_invert_icmp[v6]_tuple). */
function icmpInverse(proto: number, type: number): number {
  const v = (proto === IPPROTO_ICMP ? ICMP_INVERSE : ICMPV6_INVERSE)[type];
  return v ? v - 1 : -1;
}

/** A 16-bit word of an address. */
const w = (x: Uint8Array, o: number): number => (x[o] << 8) | x[o + 1];

/**
 * The table key of a tuple: zone, family, protocol, addresses and the two
 * protocol fields (ports; for ICMP the id, and type << 8 | code), packed as
 * 16-bit code units: one short string per lookup and nothing else.
 */
function tupleKey(zone: number, v6: boolean, proto: number, sb: Uint8Array, so: number, db: Uint8Array, dOff: number, a: number, b: number): string {
  const head = v6 ? 0x600 | proto : 0x400 | proto;
  if (!v6) {
    return String.fromCharCode(zone, head, w(sb, so), w(sb, so + 2), w(db, dOff), w(db, dOff + 2), a, b);
  }
  return String.fromCharCode(
    zone, head,
    w(sb, so), w(sb, so + 2), w(sb, so + 4), w(sb, so + 6), w(sb, so + 8), w(sb, so + 10), w(sb, so + 12), w(sb, so + 14),
    w(db, dOff), w(db, dOff + 2), w(db, dOff + 4), w(db, dOff + 6), w(db, dOff + 8), w(db, dOff + 10), w(db, dOff + 12), w(db, dOff + 14),
    a, b,
  );
}

let lastConnId = 0;
/** CTA_IDs from 1 up, wrapping before 2^32. */
const nextId = (): number => (lastConnId = (lastConnId % 0xffffffff) + 1);

/** A connection (struct nf_conn, the parts kept here). */
class Conn implements TcpOwner {
  readonly origKey: string;
  /** The reply tuple and its key: NAT changes them before the connection is confirmed (nf_conntrack_alter_reply). */
  replyKey: string;
  /** The tuple fields after the addresses: ports, or ICMP id and type << 8 | code. */
  readonly origA: number;
  readonly origB: number;
  replyA: number;
  replyB: number;
  replySrc: Uint8Array;
  replyDst: Uint8Array;
  /** IPS_*NAT* status bits. */
  natStatus = 0;
  readonly orig: CtOrigTuple;
  readonly halves: [Half, Half];
  /** In the table (IPS_CONFIRMED). */
  confirmed = false;
  seenReply = false;
  assured = false;
  expires = 0;
  mark = 0;
  labels = 0n;
  tcp: TcpConn | undefined = undefined;
  /** When an answered UDP flow counts as a stream. */
  udpStreamAt = 0;
  /** Counted against its zone's limit (committed while the zone had one). */
  limited = false;
  /** CTA_ID: how ctnetlink names the entry. */
  readonly id = nextId();
  /** The timeout policy of the ct() that created it (nf_conn_timeout). */
  policy: CtTimeoutPolicy | undefined = undefined;
  /** The connection that announced this one (an expectation it met): its orig tuple is the key's. */
  master: Conn | undefined = undefined;
  /** The helper a committing ct(alg=...) gave it, and the FTP helper's state. */
  helper: CtHelperName | undefined = undefined;
  /** Its one expectation's key (both helpers expect one connection at a time). */
  expecting: string | undefined = undefined;
  ftp: FtpState | undefined = undefined;

  /** The seconds it is timed by under `tracker`: its policy's when it has one for that tracker, else the defaults. */
  timeoutsFor(tracker: number): readonly number[] {
    const p = this.policy;
    return p && p.l4proto === tracker ? p.seconds : defaultTimeouts(tracker);
  }

  /** TcpOwner: the TCP timeouts, in tcp_timeouts[]'s layout. */
  get timeouts(): readonly number[] {
    return this.timeoutsFor(IPPROTO_TCP);
  }

  constructor(
    readonly zone: number,
    readonly v6: boolean,
    readonly proto: number,
    src: Uint8Array,
    dst: Uint8Array,
    a: number,
    b: number,
    replyA: number,
    replyB: number,
  ) {
    this.origA = a;
    this.origB = b;
    this.replyA = replyA;
    this.replyB = replyB;
    this.replySrc = dst;
    this.replyDst = src;
    this.origKey = tupleKey(zone, v6, proto, src, 0, dst, 0, a, b);
    this.replyKey = this.keyOf(this.tuple(REPLY));
    // __ovs_ct_update_key_orig_tp(): ICMP reports type and code as the ports.
    const icmp = proto === (v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
    this.orig = { ipv6: v6, src, dst, srcPort: icmp ? b >>> 8 : a, dstPort: icmp ? b & 0xff : b, proto };
    this.halves = [
      { conn: this, dir: ORIGINAL },
      { conn: this, dir: REPLY },
    ];
  }

  get status(): number {
    return (this.master ? IPS_EXPECTED : 0) | (this.seenReply ? IPS_SEEN_REPLY : 0) | (this.assured ? IPS_ASSURED : 0) | (this.confirmed ? IPS_CONFIRMED : 0) | (this.helper ? IPS_HELPER : 0) | this.natStatus;
  }

  /** The table key of a tuple of this connection's zone and protocol. */
  keyOf(t: NatTuple): string {
    return tupleKey(this.zone, this.v6, this.proto, t.src, 0, t.dst, 0, t.a, t.b);
  }

  /** A direction's tuple (ct->tuplehash[dir].tuple). */
  tuple(dir: number): NatTuple {
    return dir === ORIGINAL
      ? { src: this.orig.src, dst: this.orig.dst, a: this.origA, b: this.origB }
      : { src: this.replySrc, dst: this.replyDst, a: this.replyA, b: this.replyB };
  }
}

/** One direction of a connection: what a table key leads to. */
interface Half {
  conn: Conn;
  dir: number;
}

/**
 * The packet as conntrack sees it (reused): the IP packet trimmed to its
 * header's length (nf_ct_skb_network_trim), where its upper-layer data starts
 * (ipv4_get_l4proto / ipv6_get_l4proto) and the tuple's protocol fields.
 */
const pk = {
  buf: new Uint8Array(0) as Uint8Array,
  l3: 0,
  /** Bytes of the IP packet, from l3. */
  len: 0,
  v6: false,
  proto: 0,
  /** Upper-layer data, from l3. */
  dataoff: 0,
  /** Tuple fields (see tupleKey). */
  a: 0,
  b: 0,
};

/** ipv6_skip_exthdr() from `off` (relative to l3) over b[l3 .. l3 + len): the upper layer's offset, or -1 (no next header, cut short, or a later fragment). */
function skipIpv6Ext(b: Uint8Array, l3: number, len: number, off: number, nh: number, out: { nh: number }): number {
  for (;;) {
    if (nh !== 0 && nh !== 43 && nh !== IPPROTO_FRAGMENT && nh !== 51 && nh !== IPPROTO_NONE && nh !== 60) break;
    if (nh === IPPROTO_NONE || off + 2 > len) return -1;
    let hdrLen: number;
    if (nh === IPPROTO_FRAGMENT) {
      if (off + 4 > len) return -1;
      // Offset (or the reserved bits) set: a later fragment, not trackable.
      if (be16(b, l3 + off + 2) & ~7) return -1;
      hdrLen = 8;
    } else if (nh === 51) {
      hdrLen = (b[l3 + off + 1] + 2) << 2;
    } else {
      hdrLen = (b[l3 + off + 1] + 1) << 3;
    }
    nh = b[l3 + off];
    off += hdrLen;
  }
  out.nh = nh;
  return off;
}
const nhOut = { nh: 0 };

/** Reads the network layer of a parsed frame into `pk`; false if conntrack cannot track it. */
function readPacket(p: ParsedPacket): boolean {
  const b = p.buf;
  const l3 = p.l3;
  // Reassembled before tracking (the datapath's ct() holds fragments): one that got here stays untracked.
  if (p.ipFrag !== FRAG_NONE) return false;
  const avail = p.len - l3;
  if (p.ethType === ETH_P_IP && p.layers & Layer.IPV4) {
    const len = Math.min(be16(b, l3 + 2), avail);
    if (len < 20) return false;
    const dataoff = (b[l3] & 15) << 2;
    if (be16(b, l3 + 6) & 0x1fff || dataoff > len) return false;
    pk.v6 = false;
    pk.len = len;
    pk.dataoff = dataoff;
    pk.proto = b[l3 + 9];
  } else if (p.ethType === ETH_P_IPV6 && p.layers & Layer.IPV6) {
    if (avail < 40) return false;
    const len = Math.min(40 + be16(b, l3 + 4), avail);
    const off = skipIpv6Ext(b, l3, len, 40, b[l3 + 6], nhOut);
    if (off < 0) return false;
    pk.v6 = true;
    pk.len = len;
    pk.dataoff = off;
    pk.proto = nhOut.nh;
  } else {
    return false;
  }
  pk.buf = b;
  pk.l3 = l3;
  return true;
}

/** nf_ct_get_tuple()'s protocol part for the data at `l4` (absolute) of a packet ending at `end`: sets a and b. */
function readTupleFields(t: { a: number; b: number }, b: Uint8Array, l4: number, end: number, proto: number): boolean {
  if (isIcmpProto(proto)) {
    if (l4 + 8 > end) return false;
    t.a = be16(b, l4 + 4);
    t.b = (b[l4] << 8) | b[l4 + 1];
  } else if (hasPorts(proto)) {
    if (l4 + 4 > end) return false;
    t.a = be16(b, l4);
    t.b = be16(b, l4 + 2);
  } else {
    t.a = 0;
    t.b = 0;
  }
  return true;
}

/** The reverse tuple's fields (nf_ct_invert_tuple), or false where ICMP has no reverse. */
function invertFields(t: { a: number; b: number }, proto: number, a: number, b: number): boolean {
  if (isIcmpProto(proto)) {
    const rev = icmpInverse(proto, b >>> 8);
    if (rev < 0) return false;
    t.a = a;
    t.b = (rev << 8) | (b & 0xff);
    return true;
  }
  t.a = b;
  t.b = a;
  return true;
}
const inv = { a: 0, b: 0 };
const inner = { a: 0, b: 0 };
const tcpSeg: TcpSegment = { buf: pk.buf, l4: 0, l4Len: 0 };

function sameBytes(x: Uint8Array, xo: number, y: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (x[xo + i] !== y[i]) return false;
  return true;
}

// Outcomes of tracking a packet.
const T_OK = 0;
const T_INVALID = 1;
const T_DROP = 2;
// Of the ICMP error check.
const E_NOT_ERROR = 3;
const E_RELATED = 4;

function invalidVerdict(): CtVerdict {
  return { state: CS_TRK | CS_INV, mark: 0, labels: 0n, orig: undefined, drop: false };
}

/** CT_LIMIT_HASH_BUCKETS: the module lists zone limits bucket by bucket. */
const LIMIT_BUCKETS = 512;

export class ConnTracker {
  private readonly clock: () => number;
  private readonly maxEntries: number;
  /** IPv4 reassembly before tracking (ip_defrag): the namespace's, as the table is. */
  readonly defrag = new Ipv4Defrag();
  /** IPv6 reassembly before tracking (nf_ct_frag6_gather). */
  readonly defrag6 = new Ipv6Defrag();
  /** ovs_ct_limit: per-zone limits (0: none), the default, and the connections each limited zone counts. */
  private readonly zoneLimits = new Map<number, number>();
  private defaultLimit = 0;
  private limitsOn = false;
  private readonly limitedConns = new Map<number, Set<Conn>>();
  /** Both directions of every connection, by tuple key. */
  private readonly byKey = new Map<string, Half>();
  /** Connections in the order they were confirmed (for sweeps and eviction). */
  private readonly conns = new Set<Conn>();
  /** Source-NATed connections by their original source (nf_nat_bysource), oldest first. */
  private readonly bySource = new Map<string, Conn[]>();
  private sweeper: IterableIterator<Conn> | undefined;
  // What track() found (fields rather than a result object: no allocation per packet).
  private resConn: Conn | undefined;
  private resState = 0;
  /** The timeout policy a connection made by the current ct() gets. */
  private newPolicy: CtTimeoutPolicy | undefined;
  /** The current ct() commits: an expectation it meets is used up (its template is confirmed). */
  private newCommit = false;
  /** Connections the helpers announced (an FTP data connection, a TFTP answer), by expectationKey(). */
  private readonly expects = new Map<string, Expectation>();

  constructor(opts: ConnTrackerOptions = {}) {
    this.clock = opts.now ?? (() => performance.now());
    this.maxEntries = opts.maxEntries ?? 65536;
  }

  /** Connections in the table (expired ones included until a sweep or a lookup finds them). */
  get size(): number {
    return this.conns.size;
  }

  /** The table's limit (net.netfilter.nf_conntrack_max). */
  get capacity(): number {
    return this.maxEntries;
  }

  /**
   * Deletes the connection of `zone` whose original tuple is `orig` (and
   * whose id is `id`, when given), as a ctnetlink DELETE does; false if
   * there is none.
   */
  deleteEntry(zone: number, orig: CtTuple, id?: number): boolean {
    const now = this.clock();
    for (const c of this.conns) {
      if (c.zone !== zone || c.expires <= now || (id !== undefined && c.id !== id)) continue;
      if (!sameTuple(viewTuple(c, c.orig.src, c.orig.dst, c.origA, c.origB), orig)) continue;
      this.remove(c);
      return true;
    }
    return false;
  }


  /**
   * ct() on one packet in `zone`. With `commit` the connection is kept
   * (ovs_ct_commit); without, a new connection is looked at and forgotten,
   * while an existing one is still updated, as the kernel does. `prior`: the
   * key's ct fields before this action, if the packet went through ct()
   * before (see CtPrior).
   */
  process(p: ParsedPacket, zone: number, commit?: CtCommit, prior?: CtPrior, nat?: CtNat, policy?: CtTimeoutPolicy, helper?: CtHelperName): CtVerdict {
    const now = this.clock();
    this.newPolicy = policy;
    this.newCommit = commit !== undefined;
    this.sweep(now, SWEEP_PER_PACKET);
    if (!readPacket(p)) return invalidVerdict();

    const priorState = prior?.state ?? 0;
    const force = commit?.force === true;
    // skb_nfct_cached() / ovs_ct_executed(): tracked here already, or forced.
    const executed = (priorState & CS_TRK) !== 0 && (priorState & CS_INV) === 0 && prior?.zone === zone;
    let conn: Conn | undefined;
    let state = 0;
    // skb_nfct_cached(): found again without nf_conntrack_in(), so no helper either.
    let cached = false;
    if (executed || (priorState === 0 && force)) {
      const h = this.findPacket(zone, now, (priorState & NAT_BITS) !== 0);
      if (h && force && h.dir === REPLY) {
        // Force: the packet's direction becomes the original one.
        this.remove(h.conn);
      } else if (h && executed) {
        conn = h.conn;
        state = priorState;
        cached = true;
      }
    }
    if (!conn) {
      const r = this.track(zone, now);
      if (r === T_DROP) return { state: 0, mark: 0, labels: 0n, orig: undefined, drop: true };
      if (r === T_INVALID || !this.resConn) return invalidVerdict();
      conn = this.resConn;
      state = this.resState;
    }
    this.resConn = undefined;

    // __ovs_ct_lookup(): established TCP connections are liberal about
    // windows from now on, so out-of-window packets are not marked invalid.
    if (conn.confirmed && conn.tcp && tcpEstablished(conn)) tcpSetLiberal(conn.tcp);

    // NAT once per packet and zone (the key's NAT bits say it was done), on
    // a connection that is or is being committed; the packet is rewritten.
    if (nat && !(state & NAT_BITS) && (conn.confirmed || commit)) {
      const bits = this.nat(conn, state, natRequestOf(nat, conn.v6), commit !== undefined);
      if (bits < 0) return { state: 0, mark: 0, labels: 0n, orig: undefined, drop: true };
      state |= bits;
    }

    // __ovs_ct_lookup(): a connection about to be committed takes the
    // action's helper; the helper sees each packet nf_conntrack_in() handled
    // of a committed connection, and of one being committed.
    if (!cached) {
      if (helper && commit && !conn.confirmed && !conn.helper) {
        conn.helper = helper;
        if (helper === 'ftp') conn.ftp = newFtpState();
      }
      if (conn.helper && (conn.confirmed || commit) && !this.help(conn, state, now)) return { state: 0, mark: 0, labels: 0n, orig: undefined, drop: true };
    }

    if (commit && !this.commit(conn, commit, state)) return { state: 0, mark: 0, labels: 0n, orig: undefined, drop: true };
    // The key's original tuple is the master's for a related connection (__ovs_ct_update_key).
    return { state, mark: conn.mark, labels: conn.labels, orig: (conn.master ?? conn).orig, drop: false };
  }

  /**
   * The connection's helper on the current packet of `c` (ct_state
   * `state`): an announced connection becomes an expectation. False: drop
   * the packet (an FTP command cut short, or an expectation that clashes
   * with another connection's).
   */
  private help(c: Conn, state: number, now: number): boolean {
    const p = pk;
    const l4 = p.l3 + p.dataoff;
    const end = p.l3 + p.len;
    if (c.helper === 'tftp') {
      // tftp_help(): a read or write request, in either direction, announces
      // the reply from the server's end, from any port, to the client's.
      if (l4 + 10 > end) return true;
      const opcode = be16(p.buf, l4 + 8);
      if (opcode !== TFTP_RRQ && opcode !== TFTP_WRQ) return true;
      const r = c.tuple(REPLY);
      return this.expect(c, IPPROTO_UDP, r.src, r.dst, c.replyB, now);
    }
    // nf_conntrack_ftp: until there has been traffic both ways, it does not look.
    if (!(state & CS_EST) || !c.ftp) return true;
    if (l4 + 20 > end) return true;
    const data = l4 + ((p.buf[l4 + 12] >> 4) << 2);
    if (data >= end) return true;
    const dir = state & CS_RPL ? REPLY : ORIGINAL;
    const r = ftpHelp(c.ftp, dir, c.v6, p.buf.subarray(data, end), be32(p.buf, l4 + 4), c.tuple(dir).src);
    if (r === undefined) return true;
    if (r === 'drop') return false;
    // From the other end, any source port, to the address and port announced (nf_ct_expect_init).
    const other = c.tuple(dir === ORIGINAL ? REPLY : ORIGINAL);
    return this.expect(c, IPPROTO_TCP, other.src, other.dst, r.port, now);
  }

  /** nf_ct_expect_related(): false when another connection expects the same (the packet is dropped). */
  private expect(c: Conn, proto: number, src: Uint8Array, dst: Uint8Array, port: number, now: number): boolean {
    const key = expectationKey(c.zone, proto, src, dst, port);
    const old = this.expects.get(key);
    if (old && old.master !== c && old.expires > now) return false;
    // max_expected 1 (both helpers): a newer announcement replaces the older.
    if (c.expecting !== undefined) this.expects.delete(c.expecting);
    this.expects.set(key, { master: c, expires: now + EXPECT_MS });
    c.expecting = key;
    return true;
  }

  /** init_conntrack()'s nf_ct_find_expectation(): the expectation a new connection meets, used up if the ct() commits. */
  private expected(zone: number, now: number): Expectation | undefined {
    const p = pk;
    if ((p.proto !== IPPROTO_TCP && p.proto !== IPPROTO_UDP) || this.expects.size === 0) return undefined;
    const n = p.v6 ? 16 : 4;
    const so = p.l3 + (p.v6 ? 8 : 12);
    const key = expectationKey(zone, p.proto, p.buf.subarray(so, so + n), p.buf.subarray(so + n, so + 2 * n), p.b);
    const e = this.expects.get(key);
    if (!e) return undefined;
    // A stale one (too late, or its master never committed) goes; a live one is used up by a committing ct().
    const live = e.expires > now && this.conns.has(e.master);
    if (!live || this.newCommit) {
      this.expects.delete(key);
      e.master.expecting = undefined;
    }
    return live ? e : undefined;
  }

  /** Deletes every connection, or those of one zone, or of one address family (AF_INET, AF_INET6); returns how many. */
  flush(zone?: number, family?: number): number {
    let n = 0;
    for (const c of this.conns) {
      if (zone !== undefined && c.zone !== zone) continue;
      if (family !== undefined && (c.v6 ? AF_INET6 : AF_INET) !== family) continue;
      this.remove(c);
      n++;
    }
    this.sweeper = undefined;
    return n;
  }

  /** A timeout policy was deleted: its connections go back to the defaults (nf_ct_untimeout). */
  untimeout(p: CtTimeoutPolicy): void {
    for (const c of this.conns) if (c.policy === p) c.policy = undefined;
  }

  /** Removes every expired connection now; returns how many. */
  expire(): number {
    const now = this.clock();
    let n = 0;
    for (const c of this.conns) {
      if (c.expires > now) continue;
      this.remove(c);
      n++;
    }
    return n;
  }

  /** Each live connection, for a dump (conntrack -L style). */
  *entries(): IterableIterator<CtEntryView> {
    const now = this.clock();
    for (const c of this.conns) {
      if (c.expires <= now) continue;
      const family = c.v6 ? AF_INET6 : AF_INET;
      const tcpState = c.tcp?.state;
      yield {
        zone: c.zone,
        family,
        proto: c.proto,
        orig: viewTuple(c, c.orig.src, c.orig.dst, c.origA, c.origB),
        reply: viewTuple(c, c.replySrc, c.replyDst, c.replyA, c.replyB),
        status: c.status,
        state: tcpState === undefined ? '' : TCP_CT_NAMES[tcpState],
        tcpState,
        mark: c.mark,
        labels: c.labels,
        timeout: Math.max(0, Math.floor((c.expires - now) / 1000)),
        id: c.id,
        ...(c.helper ? { helper: c.helper } : {}),
      };
    }
  }

  /**
   * nf_conntrack_in(): finds or makes the packet's connection and runs its
   * protocol's tracker. Sets resConn and resState (the key's ct_state) on T_OK.
   */
  private track(zone: number, now: number): number {
    const p = pk;
    if (p.proto === IPPROTO_ICMP || p.proto === IPPROTO_ICMPV6) {
      const r = this.icmpError(zone, now);
      if (r === E_RELATED) return T_OK;
      if (r !== E_NOT_ERROR) return r;
    }
    for (;;) {
      const l4 = p.l3 + p.dataoff;
      if (!readTupleFields(p, p.buf, l4, p.l3 + p.len, p.proto)) return T_INVALID;
      const key = tupleKey(zone, p.v6, p.proto, p.buf, p.l3 + (p.v6 ? 8 : 12), p.buf, p.l3 + (p.v6 ? 24 : 16), p.a, p.b);
      const h = this.find(key, now);
      let conn: Conn;
      let dir = ORIGINAL;
      if (h) {
        conn = h.conn;
        dir = h.dir;
      } else {
        // init_conntrack(): a tuple without a reverse is no connection.
        if (!invertFields(inv, p.proto, p.a, p.b)) return T_INVALID;
        if (this.conns.size >= this.maxEntries && !this.earlyDrop(now)) return T_DROP;
        const n = p.v6 ? 16 : 4;
        const so = p.l3 + (p.v6 ? 8 : 12);
        conn = new Conn(zone, p.v6, p.proto, p.buf.slice(so, so + n), p.buf.slice(so + n, so + 2 * n), p.a, p.b, inv.a, inv.b);
        // init_conntrack(): the template's timeout policy goes with the connection.
        conn.policy = this.newPolicy;
        // "Welcome, Mr. Bond. We've been expecting you": a related connection, with its master's mark.
        const e = this.expected(zone, now);
        if (e) {
          conn.master = e.master;
          conn.mark = e.master.mark;
        }
      }
      const fresh = !conn.confirmed;
      const r = this.handlePacket(conn, dir, fresh, now);
      if (r === TCP_INVALID) return T_INVALID;
      if (r === TCP_REPEAT) {
        this.remove(conn);
        continue;
      }
      if (r === TCP_ACCEPT_KILL) this.remove(conn);
      // resolve_normal_ct()'s ctinfo, as ovs_ct_get_state() maps it.
      let state: number;
      if (dir === REPLY) {
        state = CS_TRK | CS_EST | CS_RPL;
        conn.seenReply = true;
      } else {
        // resolve_normal_ct(): IP_CT_RELATED for an expected connection not yet answered.
        state = conn.seenReply ? CS_TRK | CS_EST : conn.master ? CS_TRK | CS_REL : CS_TRK | CS_NEW;
      }
      // Every unconfirmed connection is NEW (ovs_ct_update_key()), and an
      // expected one is related for as long as it lasts.
      if (fresh) state |= CS_NEW;
      if (conn.master) state |= CS_REL;
      this.resConn = conn;
      this.resState = state;
      return T_OK;
    }
  }

  /** nf_conntrack_handle_packet(): the protocol tracker's verdict (TCP_* values). */
  private handlePacket(c: Conn, dir: number, fresh: boolean, now: number): number {
    const p = pk;
    const l4 = p.l3 + p.dataoff;
    const l4Len = p.len - p.dataoff;
    switch (p.proto) {
      case IPPROTO_TCP:
        // tcp_error()'s checksum check (the rest is in tcpPacket()).
        if (l4Len < 20 || !l4ChecksumOk(p.buf, p.l3, l4, l4Len, IPPROTO_TCP)) return TCP_INVALID;
        tcpSeg.buf = p.buf;
        tcpSeg.l4 = l4;
        tcpSeg.l4Len = l4Len;
        return tcpPacket(c, dir, tcpSeg, fresh, now);
      case IPPROTO_UDP:
        return this.udpPacket(c, l4, l4Len, fresh, now);
      case IPPROTO_ICMP:
        // The tracker of the other family's ICMP refuses it.
        if (p.v6 || !ICMP_NEW.has(c.origB >>> 8)) return TCP_INVALID;
        c.expires = now + c.timeoutsFor(IPPROTO_ICMP)[0] * 1000;
        return TCP_ACCEPT;
      case IPPROTO_ICMPV6:
        if (!p.v6 || (fresh && !ICMPV6_NEW.has(c.origB >>> 8))) return TCP_INVALID;
        c.expires = now + c.timeoutsFor(IPPROTO_ICMPV6)[0] * 1000;
        return TCP_ACCEPT;
      default:
        c.expires = now + c.timeoutsFor(IPPROTO_GENERIC_CT)[0] * 1000;
        return TCP_ACCEPT;
    }
  }

  /** nf_conntrack_udp_packet() with udp_error(). */
  private udpPacket(c: Conn, l4: number, l4Len: number, fresh: boolean, now: number): number {
    const b = pk.buf;
    if (l4Len < 8) return TCP_INVALID;
    const ulen = be16(b, l4 + 4);
    if (ulen > l4Len || ulen < 8) return TCP_INVALID;
    // A zero checksum is "none sent"; udp_error() takes it over IPv6 too.
    if (be16(b, l4 + 6) !== 0 && !l4ChecksumOk(b, pk.l3, l4, l4Len, IPPROTO_UDP)) return TCP_INVALID;
    if (fresh) c.udpStreamAt = now + UDP_STREAM_MS;
    const [unreplied, replied] = c.timeoutsFor(IPPROTO_UDP);
    if (c.seenReply) {
      // Answered: still going two seconds on, it is a stream and kept longer.
      const stream = now > c.udpStreamAt;
      c.expires = now + (stream ? replied : unreplied) * 1000;
      if (stream) c.assured = true;
    } else {
      c.expires = now + unreplied * 1000;
    }
    return TCP_ACCEPT;
  }

  /**
   * nf_conntrack_icmpv4_error() / nf_conntrack_icmpv6_error(): a malformed
   * ICMP message is invalid; an error message is related to the connection
   * of the packet it quotes, or invalid if there is none. E_NOT_ERROR: track
   * it as a message of its own.
   */
  private icmpError(zone: number, now: number): number {
    const p = pk;
    const b = p.buf;
    const l4 = p.l3 + p.dataoff;
    const l4Len = p.len - p.dataoff;
    if (p.v6 !== (p.proto === IPPROTO_ICMPV6)) return E_NOT_ERROR;
    if (l4Len < 8 || !l4ChecksumOk(b, p.l3, l4, l4Len, p.proto)) return T_INVALID;
    const type = b[l4];
    if (p.v6) {
      // MLD, RS/RA and NS/NA stay untracked, which the module reports as
      // tracked and invalid (no connection).
      if (ICMPV6_UNTRACKED.has(type)) return T_INVALID;
      if (type >= 128) return E_NOT_ERROR;
    } else {
      if (type > ICMP_MAX_TYPE) return T_INVALID;
      if (!ICMP_ERRORS.has(type)) return E_NOT_ERROR;
    }
    return this.related(zone, now, l4 + 8);
  }

  /** nf_conntrack_inet_error(): the connection of the quoted packet at `at`, if the error travels towards one of its ends. */
  private related(zone: number, now: number, at: number): number {
    const p = pk;
    const b = p.buf;
    const end = p.l3 + p.len;
    let proto: number;
    let l4: number;
    if (!p.v6) {
      if (at + 20 > end || be16(b, at + 6) & 0x1fff) return T_INVALID;
      l4 = at + ((b[at] & 15) << 2);
      if (l4 > end) return T_INVALID;
      proto = b[at + 9];
    } else {
      if (at + 40 > end) return T_INVALID;
      const off = skipIpv6Ext(b, at, end - at, 40, b[at + 6], nhOut);
      if (off < 0) return T_INVALID;
      l4 = at + off;
      proto = nhOut.nh;
    }
    if (!readTupleFields(inner, b, l4, end, proto)) return T_INVALID;
    // The quoted packet went the other way: look its reverse up.
    if (!invertFields(inv, proto, inner.a, inner.b)) return T_INVALID;
    const srcOff = at + (p.v6 ? 8 : 12);
    const n = p.v6 ? 16 : 4;
    const h = this.find(tupleKey(zone, p.v6, proto, b, srcOff + n, b, srcOff, inv.a, inv.b), now);
    if (!h) return T_INVALID;
    const c = h.conn;
    // The error must go to the connection's end in that direction.
    const ctDst = h.dir === ORIGINAL ? c.orig.dst : c.replyDst;
    if (!sameBytes(b, p.l3 + (p.v6 ? 24 : 16), ctDst, n)) return T_INVALID;
    this.resConn = c;
    this.resState = h.dir === REPLY ? CS_TRK | CS_REL | CS_RPL : CS_TRK | CS_REL;
    return E_RELATED;
  }

  /**
   * ovs_ct_commit(): mark and labels, then nf_conntrack_confirm() for a new
   * connection. False: the module drops the packet.
   */
  private commit(c: Conn, cm: CtCommit, state: number): boolean {
    // ovs_ct_check_limit(), before anything is written: a new connection
    // over its zone's limit is not committed, and its packet is dropped.
    if (this.limitsOn && !c.confirmed && !this.admit(c)) return false;
    if (cm.mark && cm.mark.mask) c.mark = (cm.mark.value | (c.mark & ~cm.mark.mask)) >>> 0;
    // ovs_ct_init_labels(): a related connection takes its master's labels when it is committed.
    if (!c.confirmed && c.master) c.labels = c.master.labels;
    const lm = cm.labels ? cm.labels.mask & LABELS_MASK : 0n;
    if (cm.labels && lm) {
      // A new connection's labels are written through the mask
      // (ovs_ct_init_labels); a confirmed one's go through
      // nf_connlabels_replace(), which XORs the value in unmasked.
      const v = cm.labels.value & LABELS_MASK;
      c.labels = c.confirmed ? ((c.labels & ~lm) ^ v) & LABELS_MASK : (c.labels & ~lm) | (v & lm);
    }
    // Only the original direction confirms (__nf_conntrack_confirm()).
    if (!c.confirmed && !(state & CS_RPL)) {
      if (this.byKey.has(c.origKey) || this.byKey.has(c.replyKey)) return false;
      c.confirmed = true;
      if (c.limited) {
        let set = this.limitedConns.get(c.zone);
        if (!set) this.limitedConns.set(c.zone, (set = new Set()));
        set.add(c);
      }
      this.byKey.set(c.origKey, c.halves[ORIGINAL]);
      this.byKey.set(c.replyKey, c.halves[REPLY]);
      this.conns.add(c);
      if (c.natStatus & IPS_SRC_NAT_DONE) {
        const k = sourceKey(c);
        const list = this.bySource.get(k);
        if (list) list.push(c);
        else this.bySource.set(k, [c]);
      }
    }
    return true;
  }

  /**
   * ovs_ct_nat(): translates the packet of `c` (its ct_state so far in
   * `state`) as the action asks, or as the connection was translated
   * before. Returns the key's NAT bits (one per manipulation done, even
   * one that changed nothing, as ovs_nat_update_key() sets them), or -1 to
   * drop the packet.
   */
  private nat(c: Conn, state: number, req: NatRequest, commit: boolean): number {
    const reply = (state & CS_RPL) !== 0;
    const isNew = (state & (CS_EST | CS_REL | CS_RPL)) === 0;
    const relatedOrig = (state & (CS_REL | CS_RPL)) === CS_REL;
    let manip: number;
    if (!isNew && c.natStatus & IPS_NAT_MASK && (!relatedOrig || commit)) {
      // As before: a reply undoes the translation of the original direction.
      const src = (c.natStatus & IPS_SRC_NAT) !== 0;
      manip = reply ? (src ? MANIP_DST : MANIP_SRC) : src ? MANIP_SRC : MANIP_DST;
    } else if (req.manip !== undefined) {
      manip = req.manip;
    } else {
      return 0;
    }
    if (!this.natExecute(c, state, req.range, manip)) return -1;
    let bits = manip === MANIP_SRC ? CS_SNAT : CS_DNAT;
    if (c.natStatus & IPS_DST_NAT) {
      if (c.natStatus & IPS_SRC_NAT) {
        manip = manip === MANIP_SRC ? MANIP_DST : MANIP_SRC;
        if (!this.natExecute(c, state, req.range, manip)) return -1;
        bits |= manip === MANIP_SRC ? CS_SNAT : CS_DNAT;
      } else if (!reply) {
        // The source of a destination-NATed connection is bound too (to itself).
        if (!this.natExecute(c, state, undefined, MANIP_SRC)) return -1;
        bits |= CS_SNAT;
      }
    }
    return bits;
  }

  /** ovs_ct_nat_execute(): sets the connection's mapping up if it has none for `manip`, then rewrites the packet. False: drop. */
  private natExecute(c: Conn, state: number, range: NatRange | undefined, manip: number): boolean {
    const p = pk;
    const dir = state & CS_RPL ? REPLY : ORIGINAL;
    const view: IpView = { b: p.buf, l3: p.l3, l4: p.l3 + p.dataoff, end: p.l3 + p.len, v6: p.v6, proto: p.proto };
    if (state & CS_REL && isIcmpProto(p.proto)) {
      // An ICMP error: what it quotes is translated too (nf_nat_icmp_reply_translation).
      const other = c.tuple(dir === ORIGINAL ? REPLY : ORIGINAL);
      return translateIcmpError(view, other, this.inverted(c, other), manip, c.natStatus, natStatusBit(manip, dir));
    }
    if (state & CS_REL || (state & (CS_EST | CS_RPL)) === 0) {
      if (!(c.natStatus & (manip === MANIP_SRC ? IPS_SRC_NAT_DONE : IPS_DST_NAT_DONE))) {
        if (range && range.flags & RANGE_MAP_IPS) this.natSetup(c, range, manip);
        else this.natNullBinding(c, manip);
      }
    }
    // nf_nat_packet(): only a direction the mapping changes is rewritten.
    if (c.natStatus & natStatusBit(manip, dir)) manipPacket(view, this.inverted(c, c.tuple(dir === ORIGINAL ? REPLY : ORIGINAL)), manip);
    return true;
  }

  /** nf_ct_invert_tuple() of a connection's tuple. */
  private inverted(c: Conn, t: NatTuple): NatTuple {
    invertFields(inv, c.proto, t.a, t.b);
    return { src: t.dst, dst: t.src, a: inv.a, b: inv.b };
  }

  /** nf_nat_alloc_null_binding(): a mapping to the address the connection already has, ports free to move on a clash. */
  private natNullBinding(c: Conn, manip: number): void {
    const ip = manip === MANIP_SRC ? c.replyDst : c.replySrc;
    this.natSetup(c, { flags: RANGE_MAP_IPS, min: ip, max: ip, minProto: 0, maxProto: 0 }, manip);
  }

  /** nf_nat_setup_info(): picks the translated tuple of a connection not yet confirmed and points its reply at it. */
  private natSetup(c: Conn, range: NatRange, manip: number): void {
    if (c.confirmed) return;
    const curr = this.inverted(c, c.tuple(REPLY));
    const now = this.clock();
    const taken = (t: NatTuple): boolean => this.tupleTaken(c, t, now);
    const bySource = (): NatTuple[] => {
      const list = this.bySource.get(sourceKey(c)) ?? [];
      // Newest first, as the kernel's hash chain lists them.
      return list
        .filter((o) => o !== c && o.expires > now)
        .reverse()
        .map((o) => this.inverted(o, o.tuple(REPLY)));
    };
    const next = uniqueTuple(curr, c.proto, range, manip, c.zone, taken, bySource);
    if (!sameNatTuple(next, curr)) {
      const r = this.inverted(c, next);
      c.replySrc = r.src;
      c.replyDst = r.dst;
      c.replyA = r.a;
      c.replyB = r.b;
      c.replyKey = c.keyOf(r);
      c.natStatus |= manip === MANIP_SRC ? IPS_SRC_NAT : IPS_DST_NAT;
    }
    c.natStatus |= manip === MANIP_SRC ? IPS_SRC_NAT_DONE : IPS_DST_NAT_DONE;
  }

  /** nf_nat_used_tuple(): whether another live connection answers to the reply of `t` (one with the same original tuple does not count). */
  private tupleTaken(c: Conn, t: NatTuple, now: number): boolean {
    const h = this.byKey.get(c.keyOf(this.inverted(c, t)));
    if (!h || h.conn === c || h.conn.expires <= now) return false;
    return h.conn.origKey !== c.origKey;
  }

  /**
   * The connection the packet's own tuple names, without tracking it
   * (ovs_ct_find_existing()). A packet NAT rewrote carries the other
   * direction's tuple, inverted: it is looked up inverted, and its direction
   * is the other one than the entry found.
   */
  private findPacket(zone: number, now: number, natted: boolean): Half | undefined {
    const p = pk;
    if (!readTupleFields(p, p.buf, p.l3 + p.dataoff, p.l3 + p.len, p.proto)) return undefined;
    const src = p.l3 + (p.v6 ? 8 : 12);
    const dst = p.l3 + (p.v6 ? 24 : 16);
    if (!natted) return this.find(tupleKey(zone, p.v6, p.proto, p.buf, src, p.buf, dst, p.a, p.b), now);
    if (!invertFields(inv, p.proto, p.a, p.b)) return undefined;
    const h = this.find(tupleKey(zone, p.v6, p.proto, p.buf, dst, p.buf, src, inv.a, inv.b), now);
    return h && h.conn.halves[h.dir === ORIGINAL ? REPLY : ORIGINAL];
  }

  /** A table lookup; an expired connection found is deleted and not returned (____nf_conntrack_find()). */
  private find(key: string, now: number): Half | undefined {
    const h = this.byKey.get(key);
    if (h && h.conn.expires <= now) {
      this.remove(h.conn);
      return undefined;
    }
    return h;
  }

  private remove(c: Conn): void {
    if (!c.confirmed) return;
    // nf_ct_remove_expectations(): a control connection's announcement goes with it.
    if (c.expecting !== undefined) this.expects.delete(c.expecting);
    if (c.limited) this.limitedConns.get(c.zone)?.delete(c);
    if (this.byKey.get(c.origKey)?.conn === c) this.byKey.delete(c.origKey);
    if (this.byKey.get(c.replyKey)?.conn === c) this.byKey.delete(c.replyKey);
    this.conns.delete(c);
    if (c.natStatus & IPS_SRC_NAT_DONE) {
      const k = sourceKey(c);
      const list = this.bySource.get(k);
      const i = list ? list.indexOf(c) : -1;
      if (i >= 0) list!.splice(i, 1);
      if (list && list.length === 0) this.bySource.delete(k);
    }
  }

  /** Whether a new connection fits its zone's limit; if it has one, it is counted from now on. */
  private admit(c: Conn): boolean {
    const limit = this.zoneLimits.get(c.zone) ?? this.defaultLimit;
    if (limit === 0) return true;
    if (this.zoneCount(c.zone) + 1 > limit) return false;
    c.limited = true;
    return true;
  }

  /**
   * The connections a limited zone counts: alive, and not a TCP connection
   * that is closing down (nf_conncount's already_closed()); the rest are
   * let go as they are found, as its garbage collection does.
   */
  private zoneCount(zone: number): number {
    const set = this.limitedConns.get(zone);
    if (!set) return 0;
    const now = this.clock();
    let n = 0;
    for (const c of set) {
      if (c.expires <= now) this.remove(c);
      else if (c.tcp && (c.tcp.state === TCP_CT_TIME_WAIT || c.tcp.state === TCP_CT_CLOSE)) set.delete(c);
      else n++;
    }
    return n;
  }

  /**
   * ovs_ct_limit SET: zone -1 sets the default; zones outside 0..65535 are
   * skipped, as the module skips them. Limits are enforced from the first SET on.
   */
  setZoneLimits(limits: readonly { zoneId: number; limit: number }[]): void {
    for (const z of limits) {
      if (z.zoneId === DEFAULT_ZONE) this.defaultLimit = z.limit >>> 0;
      else if (z.zoneId >= 0 && z.zoneId <= 0xffff) {
        // A replaced limit keeps its place in its bucket (hlist_replace_rcu).
        this.zoneLimits.set(z.zoneId, z.limit >>> 0);
      }
    }
    this.limitsOn = true;
  }

  /** ovs_ct_limit DEL: zone -1 resets the default to unlimited. */
  deleteZoneLimits(zones: readonly number[]): void {
    for (const z of zones) {
      if (z === DEFAULT_ZONE) this.defaultLimit = 0;
      else this.zoneLimits.delete(z);
    }
  }

  /**
   * ovs_ct_limit GET: the zones asked for (a zone without a limit of its own
   * shows the default; zone -1 is the default itself), or the default and
   * every zone limit, in the module's order (by hash bucket, the newest of a
   * bucket first).
   */
  getZoneLimits(zones?: readonly number[]): ZoneLimit[] {
    const row = (zoneId: number, limit: number): ZoneLimit => ({ zoneId, limit, count: this.zoneCount(zoneId) });
    if (zones) {
      const out: ZoneLimit[] = [];
      for (const z of zones) {
        if (z === DEFAULT_ZONE) out.push({ zoneId: DEFAULT_ZONE, limit: this.defaultLimit, count: 0 });
        else if (z >= 0 && z <= 0xffff) out.push(row(z, this.zoneLimits.get(z) ?? this.defaultLimit));
      }
      return out;
    }
    const buckets: number[][] = [];
    for (const z of this.zoneLimits.keys()) (buckets[z % LIMIT_BUCKETS] ??= []).unshift(z);
    const out: ZoneLimit[] = [{ zoneId: DEFAULT_ZONE, limit: this.defaultLimit, count: 0 }];
    for (const b of buckets) if (b) for (const z of b) out.push(row(z, this.zoneLimits.get(z)!));
    return out;
  }

  /** early_drop(): room for one more by evicting an expired or not yet assured connection. */
  private earlyDrop(now: number): boolean {
    let n = 0;
    for (const c of this.conns) {
      if (n++ >= EVICTION_SCAN) break;
      if (c.expires <= now || !c.assured) {
        this.remove(c);
        return true;
      }
    }
    return false;
  }

  /** Looks at up to `budget` connections, round robin, deleting the expired ones. */
  private sweep(now: number, budget: number): number {
    let removed = 0;
    let it = this.sweeper;
    for (let i = 0; i < budget; i++) {
      if (!it) it = this.conns.values();
      const r = it.next();
      if (r.done) {
        it = undefined;
        if (this.conns.size === 0) break;
        continue;
      }
      if (r.value.expires <= now) {
        this.remove(r.value);
        removed++;
      }
    }
    this.sweeper = it;
    return removed;
  }
}

function sameTuple(a: CtTuple, b: CtTuple): boolean {
  return (
    a.family === b.family &&
    a.src === b.src &&
    a.dst === b.dst &&
    a.proto === b.proto &&
    (a.srcPort ?? 0) === (b.srcPort ?? 0) &&
    (a.dstPort ?? 0) === (b.dstPort ?? 0) &&
    (a.icmpId ?? 0) === (b.icmpId ?? 0) &&
    (a.icmpType ?? 0) === (b.icmpType ?? 0) &&
    (a.icmpCode ?? 0) === (b.icmpCode ?? 0)
  );
}

function viewTuple(c: Conn, src: Uint8Array, dst: Uint8Array, a: number, b: number): CtTuple {
  const t: CtTuple = {
    family: c.v6 ? AF_INET6 : AF_INET,
    src: c.v6 ? ipv6FromBytes(src, 0) : ipv4FromBytes(src, 0),
    dst: c.v6 ? ipv6FromBytes(dst, 0) : ipv4FromBytes(dst, 0),
    proto: c.proto,
  };
  if (isIcmpProto(c.proto)) {
    t.icmpId = a;
    t.icmpType = b >>> 8;
    t.icmpCode = b & 0xff;
  } else if (hasPorts(c.proto)) {
    t.srcPort = a;
    t.dstPort = b;
  }
  return t;
}

/** The key's ct_state bits NAT sets. */
const NAT_BITS = CS_SNAT | CS_DNAT;

/** The status bit that says a manipulation of this kind applies to packets of this direction (nf_nat_packet()). */
function natStatusBit(manip: number, dir: number): number {
  const bit = manip === MANIP_SRC ? IPS_SRC_NAT : IPS_DST_NAT;
  return dir === REPLY ? bit ^ IPS_NAT_MASK : bit;
}

/** hash_by_src()'s identity: zone, protocol, original source address and port (or ICMP id). */
function sourceKey(c: Conn): string {
  return `${c.zone}/${c.proto}/${Array.from(c.orig.src).join('.')}/${c.origA}`;
}
