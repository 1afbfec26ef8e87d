// Conntrack entries as ctnetlink carries them: `nlmsghdr | struct nfgenmsg |
// CTA_* attributes`, most integers big-endian. Decoding keeps what OVS's
// netlink-conntrack.c reads (and the raw original tuple, which deletes send
// back); encoding writes the tuples that flush requests name.
import { AttrWriter, getBe16, getBe32, getBe64, getString, getU8, HOST_LE, nested, parseAttrs, type Attr } from '../netlink/attr.js';
import { MalformedError } from '../netlink/errors.js';
import { beginMessage, endMessage, type NlMessage } from '../netlink/message.js';
import { ipv4FromBytes, ipv4ToU32OrNeg, ipv6FromBytes, ipv6IntoBytes } from '../ovs/addr.js';
import {
  AF_INET,
  AF_INET6,
  CTA_COUNTERS_BYTES,
  CTA_COUNTERS_ORIG,
  CTA_COUNTERS_PACKETS,
  CTA_COUNTERS_REPLY,
  CTA_HELP,
  CTA_HELP_NAME,
  CTA_ID,
  CTA_IP_V4_DST,
  CTA_IP_V4_SRC,
  CTA_IP_V6_DST,
  CTA_IP_V6_SRC,
  CTA_LABELS,
  CTA_MARK,
  CTA_PROTOINFO,
  CTA_PROTOINFO_SCTP,
  CTA_PROTOINFO_SCTP_STATE,
  CTA_PROTOINFO_SCTP_VTAG_ORIGINAL,
  CTA_PROTOINFO_SCTP_VTAG_REPLY,
  CTA_PROTOINFO_TCP,
  CTA_PROTOINFO_TCP_FLAGS_ORIGINAL,
  CTA_PROTOINFO_TCP_FLAGS_REPLY,
  CTA_PROTOINFO_TCP_STATE,
  CTA_PROTOINFO_TCP_WSCALE_ORIGINAL,
  CTA_PROTOINFO_TCP_WSCALE_REPLY,
  CTA_PROTO_DST_PORT,
  CTA_PROTO_ICMPV6_CODE,
  CTA_PROTO_ICMPV6_ID,
  CTA_PROTO_ICMPV6_TYPE,
  CTA_PROTO_ICMP_CODE,
  CTA_PROTO_ICMP_ID,
  CTA_PROTO_ICMP_TYPE,
  CTA_PROTO_NUM,
  CTA_PROTO_SRC_PORT,
  CTA_STATUS,
  CTA_TIMEOUT,
  CTA_TIMESTAMP,
  CTA_TIMESTAMP_START,
  CTA_TIMESTAMP_STOP,
  CTA_TUPLE_IP,
  CTA_TUPLE_MASTER,
  CTA_TUPLE_ORIG,
  CTA_TUPLE_PROTO,
  CTA_TUPLE_REPLY,
  CTA_USE,
  CTA_ZONE,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  NFGENMSG_LEN,
  IPCTNL_MSG_CT_NEW,
  NFNETLINK_V0,
  NFNL_SUBSYS_CTNETLINK,
  nfnlType,
} from './constants.js';

/** One direction of a connection. Addresses are text as OVS prints them. */
export interface CtTuple {
  /** AF_INET (2) or AF_INET6 (10). */
  family: number;
  src: string;
  dst: string;
  /** IP protocol number. */
  proto: number;
  /** Ports of TCP, UDP, SCTP, DCCP, UDP-Lite (absent for other protocols). */
  srcPort?: number;
  dstPort?: number;
  /** ICMP / ICMPv6 echo id, type and code. */
  icmpId?: number;
  icmpType?: number;
  icmpCode?: number;
}

export interface CtCounters {
  packets: bigint;
  bytes: bigint;
}

export interface CtTcpInfo {
  /** The kernel's enum tcp_conntrack value. */
  state: number;
  wscaleOrig?: number;
  wscaleReply?: number;
  /** IP_CT_TCP_FLAG_* of each direction. */
  flagsOrig?: number;
  flagsReply?: number;
}

export interface CtSctpInfo {
  /** The kernel's enum sctp_conntrack value. */
  state: number;
  vtagOrig: number;
  vtagReply: number;
}

/** A conntrack entry (struct nf_conn as ctnetlink reports it). */
export interface CtEntry {
  /** nfgen_family of the message: the entry's L3 family. */
  family: number;
  orig: CtTuple;
  reply: CtTuple;
  /** The connection this one was expected by (related connections). */
  master?: CtTuple;
  id: number;
  zone: number;
  /** IPS_* bits as the kernel sent them. */
  status: number;
  /** Seconds left. */
  timeout?: number;
  mark?: number;
  /** CTA_LABELS bytes as received (the kernel's bitmap, 16 bytes for OVS). */
  labels?: Uint8Array;
  countersOrig?: CtCounters;
  countersReply?: CtCounters;
  /** Nanoseconds since the epoch (with net.netfilter.nf_conntrack_timestamp=1). */
  start?: bigint;
  stop?: bigint;
  tcp?: CtTcpInfo;
  sctp?: CtSctpInfo;
  helper?: string;
  use?: number;
  /** CTA_TUPLE_ORIG's payload as received: a delete names the entry with it. */
  origTupleBytes: Uint8Array;
}

/** A CTA_TUPLE_* attribute of an entry (or a request) of this address family. */
export function decodeTuple(a: Attr, family: number, what: string): CtTuple {
  let ip: Attr | undefined;
  let proto: Attr | undefined;
  for (const x of nested(a)) {
    if (x.type === CTA_TUPLE_IP) ip = x;
    else if (x.type === CTA_TUPLE_PROTO) proto = x;
  }
  if (!ip || !proto) throw new MalformedError(`conntrack ${what} tuple without ${ip ? 'CTA_TUPLE_PROTO' : 'CTA_TUPLE_IP'}`);
  if (family !== AF_INET && family !== AF_INET6) throw new MalformedError(`conntrack ${what} tuple of unsupported address family ${family}`);
  const t: CtTuple = { family, src: family === AF_INET ? '0.0.0.0' : '::', dst: family === AF_INET ? '0.0.0.0' : '::', proto: 0 };
  for (const x of nested(ip)) {
    if (family === AF_INET && (x.type === CTA_IP_V4_SRC || x.type === CTA_IP_V4_DST)) {
      if (x.data.length !== 4) throw new MalformedError(`conntrack ${what} tuple: IPv4 address of ${x.data.length} bytes`);
      if (x.type === CTA_IP_V4_SRC) t.src = ipv4FromBytes(x.data);
      else t.dst = ipv4FromBytes(x.data);
    } else if (family === AF_INET6 && (x.type === CTA_IP_V6_SRC || x.type === CTA_IP_V6_DST)) {
      if (x.data.length !== 16) throw new MalformedError(`conntrack ${what} tuple: IPv6 address of ${x.data.length} bytes`);
      if (x.type === CTA_IP_V6_SRC) t.src = ipv6FromBytes(x.data);
      else t.dst = ipv6FromBytes(x.data);
    }
  }
  const p = new Map<number, Attr>();
  for (const x of nested(proto)) p.set(x.type, x);
  const num = p.get(CTA_PROTO_NUM);
  if (!num) throw new MalformedError(`conntrack ${what} tuple without CTA_PROTO_NUM`);
  t.proto = getU8(num);
  const icmp =
    family === AF_INET && t.proto === IPPROTO_ICMP
      ? [CTA_PROTO_ICMP_ID, CTA_PROTO_ICMP_TYPE, CTA_PROTO_ICMP_CODE]
      : family === AF_INET6 && t.proto === IPPROTO_ICMPV6
        ? [CTA_PROTO_ICMPV6_ID, CTA_PROTO_ICMPV6_TYPE, CTA_PROTO_ICMPV6_CODE]
        : undefined;
  if (icmp) {
    const [id, type, code] = icmp.map((k) => p.get(k));
    if (!id || !type || !code) throw new MalformedError(`conntrack ${what} tuple: ICMP id, type or code missing`);
    t.icmpId = getBe16(id);
    t.icmpType = getU8(type);
    t.icmpCode = getU8(code);
  } else {
    const sp = p.get(CTA_PROTO_SRC_PORT);
    const dp = p.get(CTA_PROTO_DST_PORT);
    // OVS takes ports only when both are there; other protocols keep none.
    if (sp && dp) {
      t.srcPort = getBe16(sp);
      t.dstPort = getBe16(dp);
    }
  }
  return t;
}

function decodeCounters(a: Attr): CtCounters {
  const c: Partial<CtCounters> = {};
  for (const x of nested(a)) {
    if (x.type === CTA_COUNTERS_PACKETS) c.packets = getBe64(x);
    else if (x.type === CTA_COUNTERS_BYTES) c.bytes = getBe64(x);
  }
  if (c.packets === undefined || c.bytes === undefined) throw new MalformedError('conntrack counters without packets or bytes');
  return c as CtCounters;
}

// nf_ct_tcp_flags: { u8 flags; u8 mask; }
const tcpFlags = (x: Attr): number => {
  if (x.data.length < 1) throw new MalformedError('conntrack TCP flags attribute is empty');
  return x.data[0];
};

function decodeProtoinfo(a: Attr, e: CtEntry): void {
  for (const x of nested(a)) {
    if (x.type === CTA_PROTOINFO_TCP) {
      let state: number | undefined;
      const tcp: Partial<CtTcpInfo> = {};
      for (const y of nested(x)) {
        switch (y.type) {
          case CTA_PROTOINFO_TCP_STATE:
            state = getU8(y);
            break;
          case CTA_PROTOINFO_TCP_WSCALE_ORIGINAL:
            tcp.wscaleOrig = getU8(y);
            break;
          case CTA_PROTOINFO_TCP_WSCALE_REPLY:
            tcp.wscaleReply = getU8(y);
            break;
          case CTA_PROTOINFO_TCP_FLAGS_ORIGINAL:
            tcp.flagsOrig = tcpFlags(y);
            break;
          case CTA_PROTOINFO_TCP_FLAGS_REPLY:
            tcp.flagsReply = tcpFlags(y);
            break;
        }
      }
      if (state === undefined) throw new MalformedError('conntrack TCP protoinfo without its state');
      e.tcp = { state, ...tcp };
      return;
    }
    if (x.type === CTA_PROTOINFO_SCTP) {
      const m = new Map<number, Attr>();
      for (const y of nested(x)) m.set(y.type, y);
      const st = m.get(CTA_PROTOINFO_SCTP_STATE);
      const vo = m.get(CTA_PROTOINFO_SCTP_VTAG_ORIGINAL);
      const vr = m.get(CTA_PROTOINFO_SCTP_VTAG_REPLY);
      if (!st || !vo || !vr) throw new MalformedError('conntrack SCTP protoinfo without state or verification tags');
      e.sctp = { state: getU8(st), vtagOrig: getBe32(vo), vtagReply: getBe32(vr) };
      return;
    }
  }
}

/** The family, message type and attributes of a ctnetlink message. */
export function parseNfMessage(m: NlMessage): { family: number; version: number; resId: number; attrs: Attr[] } {
  const p = m.payload;
  if (p.length < NFGENMSG_LEN) throw new MalformedError(`netfilter message of ${p.length} bytes has no struct nfgenmsg`);
  return { family: p[0], version: p[1], resId: (p[2] << 8) | p[3], attrs: parseAttrs(p, NFGENMSG_LEN) };
}

/**
 * Decodes an IPCTNL_MSG_CT_NEW message (a dump part or an event). Throws
 * MalformedError where OVS would skip the entry: a tuple, the status or the id
 * missing, an address family other than IPv4 or IPv6.
 */
export function decodeCtEntry(m: NlMessage): CtEntry {
  const { family, version, attrs } = parseNfMessage(m);
  if (m.type >> 8 !== NFNL_SUBSYS_CTNETLINK) throw new MalformedError(`netfilter message of subsystem ${m.type >> 8}, not ctnetlink`);
  if (version !== NFNETLINK_V0) throw new MalformedError(`nfnetlink version ${version}`);
  const by = new Map<number, Attr>();
  for (const a of attrs) by.set(a.type, a);
  const orig = by.get(CTA_TUPLE_ORIG);
  const reply = by.get(CTA_TUPLE_REPLY);
  const status = by.get(CTA_STATUS);
  const id = by.get(CTA_ID);
  if (!orig || !reply || !status || !id) {
    const missing = [
      [orig, 'CTA_TUPLE_ORIG'],
      [reply, 'CTA_TUPLE_REPLY'],
      [status, 'CTA_STATUS'],
      [id, 'CTA_ID'],
    ]
      .filter(([a]) => !a)
      .map(([, n]) => n);
    throw new MalformedError(`conntrack entry without ${missing.join(', ')}`);
  }
  const e: CtEntry = {
    family,
    orig: decodeTuple(orig, family, 'original'),
    reply: decodeTuple(reply, family, 'reply'),
    id: getBe32(id),
    zone: 0,
    status: getBe32(status),
    origTupleBytes: orig.data,
  };
  for (const a of attrs) {
    switch (a.type) {
      case CTA_ZONE:
        e.zone = getBe16(a);
        break;
      case CTA_TIMEOUT:
        e.timeout = getBe32(a);
        break;
      case CTA_MARK:
        e.mark = getBe32(a);
        break;
      case CTA_USE:
        e.use = getBe32(a);
        break;
      case CTA_LABELS:
        e.labels = a.data;
        break;
      case CTA_COUNTERS_ORIG:
        e.countersOrig = decodeCounters(a);
        break;
      case CTA_COUNTERS_REPLY:
        e.countersReply = decodeCounters(a);
        break;
      case CTA_TIMESTAMP:
        for (const x of nested(a)) {
          if (x.type === CTA_TIMESTAMP_START) e.start = getBe64(x);
          else if (x.type === CTA_TIMESTAMP_STOP) e.stop = getBe64(x);
        }
        if (e.start === undefined) throw new MalformedError('conntrack timestamp without its start');
        break;
      case CTA_PROTOINFO:
        decodeProtoinfo(a, e);
        break;
      case CTA_HELP:
        for (const x of nested(a)) if (x.type === CTA_HELP_NAME) e.helper = getString(x);
        if (e.helper === undefined) throw new MalformedError('conntrack helper without its name');
        break;
      case CTA_TUPLE_MASTER:
        e.master = decodeTuple(a, family, 'master');
        break;
    }
  }
  return e;
}

// ---- requests -----------------------------------------------------------

/**
 * Starts a netfilter message of subsystem `subsys`: nlmsghdr (flags,
 * sequence and port id for a reply; zeros for a request the connection
 * numbers) and nfgenmsg; returns the writer and a finisher.
 */
export function nfRequest(subsys: number, cmd: number, family: number, sizeHint = 64, hdr: { flags?: number; seq?: number; pid?: number } = {}): { w: AttrWriter; end: () => Uint8Array } {
  const w = new AttrWriter(sizeHint);
  const start = beginMessage(w, nfnlType(subsys, cmd), hdr.flags ?? 0, hdr.seq, hdr.pid);
  w.rawU8(family);
  w.rawU8(NFNETLINK_V0);
  w.rawU16(0); // res_id, big-endian zero
  return {
    w,
    end: () => {
      endMessage(w, start);
      return w.finish();
    },
  };
}

/** nfRequest() for ctnetlink (subsystem 1). */
export function ctRequest(cmd: number, family: number, sizeHint = 64, hdr: { flags?: number; seq?: number; pid?: number } = {}): { w: AttrWriter; end: () => Uint8Array } {
  return nfRequest(NFNL_SUBSYS_CTNETLINK, cmd, family, sizeHint, hdr);
}

function addrBytes(family: number, text: string): Uint8Array {
  if (family === AF_INET) {
    const v = ipv4ToU32OrNeg(text);
    if (v < 0) throw new RangeError(`not an IPv4 address: ${JSON.stringify(text)}`);
    return new Uint8Array([v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]);
  }
  const out = new Uint8Array(16);
  if (!ipv6IntoBytes(text, out)) throw new RangeError(`not an IPv6 address: ${JSON.stringify(text)}`);
  return out;
}

/** Writes a CTA_TUPLE_* nest (ip then proto), as OVS's nl_ct_put_ct_tuple does. */
export function writeTuple(w: AttrWriter, type: number, t: CtTuple): void {
  const outer = w.nestStart(type);
  const ip = w.nestStart(CTA_TUPLE_IP);
  if (t.family === AF_INET) {
    w.bytes(CTA_IP_V4_SRC, addrBytes(AF_INET, t.src));
    w.bytes(CTA_IP_V4_DST, addrBytes(AF_INET, t.dst));
  } else if (t.family === AF_INET6) {
    w.bytes(CTA_IP_V6_SRC, addrBytes(AF_INET6, t.src));
    w.bytes(CTA_IP_V6_DST, addrBytes(AF_INET6, t.dst));
  } else {
    throw new RangeError(`conntrack tuple of unsupported address family ${t.family}`);
  }
  w.nestEnd(ip);
  const proto = w.nestStart(CTA_TUPLE_PROTO);
  w.u8(CTA_PROTO_NUM, t.proto);
  if (t.family === AF_INET && t.proto === IPPROTO_ICMP) {
    w.be16(CTA_PROTO_ICMP_ID, t.icmpId ?? 0);
    w.u8(CTA_PROTO_ICMP_TYPE, t.icmpType ?? 0);
    w.u8(CTA_PROTO_ICMP_CODE, t.icmpCode ?? 0);
  } else if (t.family === AF_INET6 && t.proto === IPPROTO_ICMPV6) {
    w.be16(CTA_PROTO_ICMPV6_ID, t.icmpId ?? 0);
    w.u8(CTA_PROTO_ICMPV6_TYPE, t.icmpType ?? 0);
    w.u8(CTA_PROTO_ICMPV6_CODE, t.icmpCode ?? 0);
  } else if (t.srcPort !== undefined || t.dstPort !== undefined) {
    w.be16(CTA_PROTO_SRC_PORT, t.srcPort ?? 0);
    w.be16(CTA_PROTO_DST_PORT, t.dstPort ?? 0);
  }
  w.nestEnd(proto);
  w.nestEnd(outer);
}

// ---- entries, as a ctnetlink server writes them --------------------------

/** What an entry message carries (the userspace datapath's tracker has no counters or timestamps). */
export interface CtEntryOut {
  family: number;
  orig: CtTuple;
  reply: CtTuple;
  zone: number;
  status: number;
  /** Seconds left. */
  timeout: number;
  /** enum tcp_conntrack, for TCP. */
  tcpState?: number;
  mark: number;
  /** ct_labels as a 128-bit number. */
  labels: bigint;
  /** The connection's helper (CTA_HELP), if it has one. */
  helper?: string;
  id: number;
}

/**
 * An IPCTNL_MSG_CT_NEW message for one entry, in the order the kernel's
 * ctnetlink_fill_info() writes its attributes: tuples, zone (when not the
 * default), status, timeout, TCP state, helper, mark and labels (when set),
 * id, use.
 */
export function encodeCtEntry(e: CtEntryOut, flags: number, seq: number, pid: number): Uint8Array {
  const { w, end } = ctRequest(IPCTNL_MSG_CT_NEW, e.family, 256, { flags, seq, pid });
  writeTuple(w, CTA_TUPLE_ORIG, e.orig);
  writeTuple(w, CTA_TUPLE_REPLY, e.reply);
  if (e.zone) w.be16(CTA_ZONE, e.zone);
  w.be32(CTA_STATUS, e.status);
  w.be32(CTA_TIMEOUT, e.timeout);
  if (e.tcpState !== undefined) {
    const pi = w.nestStart(CTA_PROTOINFO);
    const tcp = w.nestStart(CTA_PROTOINFO_TCP);
    w.u8(CTA_PROTOINFO_TCP_STATE, e.tcpState);
    w.nestEnd(tcp);
    w.nestEnd(pi);
  }
  if (e.helper !== undefined) {
    const h = w.nestStart(CTA_HELP);
    w.string(CTA_HELP_NAME, e.helper);
    w.nestEnd(h);
  }
  if (e.mark) w.be32(CTA_MARK, e.mark);
  if (e.labels) {
    // The kernel's label bitmap as it lies in memory: bit 0 first on a little-endian host.
    const b = new Uint8Array(16);
    let v = e.labels;
    for (let i = 0; i < 16; i++, v >>= 8n) b[i] = Number(v & 0xffn);
    if (!HOST_LE) b.reverse();
    w.bytes(CTA_LABELS, b);
  }
  w.be32(CTA_ID, e.id);
  w.be32(CTA_USE, 1);
  return end().slice();
}
