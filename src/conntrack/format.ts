// Conntrack entries and statistics as ovs-dpctl prints them: OVS 3.1's
// ct_dpif_format_entry (lib/ct-dpif.c) over what netlink-conntrack.c makes of
// the kernel's attributes, rule for rule.
import { HOST_LE } from '../netlink/attr.js';
import {
  AF_INET,
  AF_INET6,
  IPPROTO_DCCP,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_IGMP,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPPROTO_UDPLITE,
  IPS_NAMES,
  SCTP_CONNTRACK_COOKIE_ECHOED,
  SCTP_CONNTRACK_COOKIE_WAIT,
  SCTP_CONNTRACK_ESTABLISHED,
  SCTP_CONNTRACK_HEARTBEAT_ACKED,
  SCTP_CONNTRACK_HEARTBEAT_SENT,
  SCTP_CONNTRACK_SHUTDOWN_ACK_SENT,
  SCTP_CONNTRACK_SHUTDOWN_RECD,
  SCTP_CONNTRACK_SHUTDOWN_SENT,
  TCP_CONNTRACK_CLOSE,
  TCP_CONNTRACK_CLOSE_WAIT,
  TCP_CONNTRACK_ESTABLISHED,
  TCP_CONNTRACK_FIN_WAIT,
  TCP_CONNTRACK_LAST_ACK,
  TCP_CONNTRACK_SYN_RECV,
  TCP_CONNTRACK_SYN_SENT,
  TCP_CONNTRACK_SYN_SENT2,
  TCP_CONNTRACK_TIME_WAIT,
} from './constants.js';
import type { CtCounters, CtEntry, CtTuple } from './entry.js';

/** OVS's CT_DPIF_TCPS_* names, by OVS's numbering (not the kernel's). */
export const OVS_TCP_STATES = ['CLOSED', 'LISTEN', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'CLOSE_WAIT', 'FIN_WAIT_1', 'CLOSING', 'LAST_ACK', 'FIN_WAIT_2', 'TIME_WAIT', 'MAX_NUM'];
const TCPS = Object.fromEntries(OVS_TCP_STATES.map((n, i) => [n, i])) as Record<string, number>;

/** OVS's CT_DPIF_SCTP_STATE_* names. */
export const OVS_SCTP_STATES = ['CLOSED', 'COOKIE_WAIT', 'COOKIE_ECHOED', 'ESTABLISHED', 'SHUTDOWN_SENT', 'SHUTDOWN_RECD', 'SHUTDOWN_ACK_SENT', 'HEARTBEAT_SENT', 'HEARTBEAT_ACKED', 'MAX_NUM'];

/** CT_DPIF_TCPF_* names (the kernel's IP_CT_TCP_FLAG_* bits 0-5, same order). */
const TCP_FLAG_NAMES = ['WINDOW_SCALE', 'SACK_PERM', 'CLOSE_INIT', 'BE_LIBERAL', 'DATA_UNACKNOWLEDGED', 'MAXACK_SET'];

/** The kernel's TCP state in OVS's numbering (nl_ct_tcp_state_to_dpif). */
export function ovsTcpState(kernelState: number): number {
  switch (kernelState) {
    case TCP_CONNTRACK_SYN_SENT:
    case TCP_CONNTRACK_SYN_SENT2:
      return TCPS.SYN_SENT;
    case TCP_CONNTRACK_SYN_RECV:
      return TCPS.SYN_RECV;
    case TCP_CONNTRACK_ESTABLISHED:
      return TCPS.ESTABLISHED;
    case TCP_CONNTRACK_FIN_WAIT:
      return TCPS.FIN_WAIT_1;
    case TCP_CONNTRACK_CLOSE_WAIT:
      return TCPS.CLOSE_WAIT;
    case TCP_CONNTRACK_LAST_ACK:
      return TCPS.LAST_ACK;
    case TCP_CONNTRACK_TIME_WAIT:
      return TCPS.TIME_WAIT;
    case TCP_CONNTRACK_CLOSE:
      return TCPS.CLOSING;
    default:
      return TCPS.CLOSED;
  }
}

/**
 * What the non-verbose output prints: the kernel and OVS's userspace tracker
 * see some states differently, so OVS folds FIN_WAIT_2 into TIME_WAIT and
 * SYN_RECV into ESTABLISHED there.
 */
export function coalesceTcpState(ovsState: number): number {
  if (ovsState === TCPS.FIN_WAIT_2) return TCPS.TIME_WAIT;
  if (ovsState === TCPS.SYN_RECV) return TCPS.ESTABLISHED;
  return ovsState;
}

/** The kernel's SCTP state in OVS's numbering (nl_ct_sctp_state_to_dpif). */
export function ovsSctpState(kernelState: number): number {
  switch (kernelState) {
    case SCTP_CONNTRACK_COOKIE_WAIT:
      return 1;
    case SCTP_CONNTRACK_COOKIE_ECHOED:
      return 2;
    case SCTP_CONNTRACK_ESTABLISHED:
      return 3;
    case SCTP_CONNTRACK_SHUTDOWN_SENT:
      return 4;
    case SCTP_CONNTRACK_SHUTDOWN_RECD:
      return 5;
    case SCTP_CONNTRACK_SHUTDOWN_ACK_SENT:
      return 6;
    case SCTP_CONNTRACK_HEARTBEAT_SENT:
      return 7;
    case SCTP_CONNTRACK_HEARTBEAT_ACKED:
      return 8;
    default:
      return 0;
  }
}

const enumName = (names: string[], v: number): string => (v < names.length ? names[v] : `[${v}]`);

/** ct_dpif_format_ipproto */
export function formatIpProto(proto: number): string {
  switch (proto) {
    case IPPROTO_ICMP:
      return 'icmp';
    case IPPROTO_ICMPV6:
      return 'icmpv6';
    case IPPROTO_TCP:
      return 'tcp';
    case IPPROTO_UDP:
      return 'udp';
    case IPPROTO_SCTP:
      return 'sctp';
    case IPPROTO_UDPLITE:
      return 'udplite';
    case IPPROTO_DCCP:
      return 'dccp';
    case IPPROTO_IGMP:
      return 'igmp';
  }
  return String(proto);
}

/** ct_dpif_format_tuple: "src=A,dst=B" then ports, or ICMP id/type/code. */
export function formatCtTuple(t: CtTuple): string {
  if (t.family !== AF_INET && t.family !== AF_INET6) return `Unsupported address family: ${t.family}.`;
  const addrs = `src=${t.src},dst=${t.dst}`;
  if (t.proto === IPPROTO_ICMP || t.proto === IPPROTO_ICMPV6) return `${addrs},id=${t.icmpId ?? 0},type=${t.icmpType ?? 0},code=${t.icmpCode ?? 0}`;
  return `${addrs},sport=${t.srcPort ?? 0},dport=${t.dstPort ?? 0}`;
}

/** format_flags with '|': names of the set bits, lowest first; "0" for none. */
function formatFlags(bits: number, names: readonly string[]): string {
  if (!bits) return '0';
  const out: string[] = [];
  for (let i = 0; i < names.length; i++) if (bits & (1 << i)) out.push(names[i]);
  return out.join('|');
}

/** The IPS_* bits OVS knows (0-12), the rest dropped as ips_status_to_dpif_flags does. */
export function formatCtStatus(status: number): string {
  return formatFlags(status & ((1 << IPS_NAMES.length) - 1), IPS_NAMES);
}

const bswap32 = (v: number): number => (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;

/**
 * CTA_LABELS as OVS prints them: the first 16 bytes copied into an ovs_u128
 * (host order) and printed as one hex number without leading zeros.
 */
export function formatCtLabels(labels: Uint8Array): string | undefined {
  const b = new Uint8Array(16);
  b.set(labels.subarray(0, 16));
  if (HOST_LE) b.reverse();
  let i = 0;
  while (i < 16 && b[i] === 0) i++;
  if (i === 16) return undefined;
  let s = '0x' + b[i].toString(16);
  for (i++; i < 16; i++) s += b[i].toString(16).padStart(2, '0');
  return s;
}

const counters = (c: CtCounters | undefined): string => (c && (c.packets || c.bytes) ? `,packets=${c.packets},bytes=${c.bytes}` : '');

const p2 = (n: number): string => String(n).padStart(2, '0');

/** %Y-%m-%dT%H:%M:%S.### in local time, from nanoseconds (ds_put_strftime_msec, utc=false). */
export function formatCtTime(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const d = new Date(ms);
  return (
    `${String(d.getFullYear()).padStart(4, '0')}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}` +
    `T${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.${String(((ms % 1000) + 1000) % 1000).padStart(3, '0')}`
  );
}

function protoinfo(e: CtEntry, verbose: boolean): string {
  if (e.tcp) {
    const state = ovsTcpState(e.tcp.state);
    if (!verbose) return `,protoinfo=(state=${enumName(OVS_TCP_STATES, coalesceTcpState(state))})`;
    // The kernel keeps one state; OVS reports it for both directions.
    let s = `,protoinfo=(state_orig=${enumName(OVS_TCP_STATES, state)},state_reply=${enumName(OVS_TCP_STATES, state)}`;
    const wo = e.tcp.wscaleOrig ?? 0;
    const wr = e.tcp.wscaleReply ?? 0;
    if (wo || wr) s += `,wscale_orig=${wo},wscale_reply=${wr}`;
    s += `,flags_orig=${formatFlags((e.tcp.flagsOrig ?? 0) & 0x3f, TCP_FLAG_NAMES)}`;
    s += `,flags_reply=${formatFlags((e.tcp.flagsReply ?? 0) & 0x3f, TCP_FLAG_NAMES)}`;
    return s + ')';
  }
  if (e.sctp) {
    // OVS 3.1 reads the verification tags, which the kernel sends big-endian,
    // as host-order u32s; printed as it prints them.
    const tag = (v: number): number => (HOST_LE ? bswap32(v) : v);
    return `,protoinfo=(state=${enumName(OVS_SCTP_STATES, ovsSctpState(e.sctp.state))},vtag_orig=${tag(e.sctp.vtagOrig)},vtag_reply=${tag(e.sctp.vtagReply)})`;
  }
  return '';
}

export interface CtFormatOptions {
  /** -m: id, status, verbose TCP state, parent tuple. */
  verbose?: boolean;
  /** -s: counters, timestamps, timeout. */
  stats?: boolean;
}

/** One line of `ovs-dpctl dump-conntrack` (without the newline). */
export function formatCtEntry(e: CtEntry, opts: CtFormatOptions = {}): string {
  const { verbose = false, stats = false } = opts;
  let s = formatIpProto(e.orig.proto);
  s += `,orig=(${formatCtTuple(e.orig)}${stats ? counters(e.countersOrig) : ''})`;
  s += `,reply=(${formatCtTuple(e.reply)}${stats ? counters(e.countersReply) : ''})`;
  if (stats && (e.start || e.stop)) {
    s += `,start=${formatCtTime(e.start ?? 0n)}`;
    if (e.stop) s += `,stop=${formatCtTime(e.stop)}`;
  }
  if (verbose) s += `,id=${e.id}`;
  if (e.zone) s += `,zone=${e.zone}`;
  if (verbose) s += `,status=${formatCtStatus(e.status)}`;
  if (stats) s += `,timeout=${e.timeout ?? 0}`;
  if (e.mark) s += `,mark=${e.mark}`;
  const labels = e.labels && formatCtLabels(e.labels);
  if (labels) s += `,labels=${labels}`;
  s += protoinfo(e, verbose);
  if (e.helper !== undefined) s += `,helper=${e.helper}`;
  if (verbose && e.master) s += `,parent=(${formatCtTuple(e.master)})`;
  return s;
}

/** Counts for ct-stats-show, as dpctl_ct_stats_show gathers them. */
export interface CtStats {
  total: number;
  tcp: number;
  udp: number;
  udplite: number;
  sctp: number;
  icmp: number;
  icmpv6: number;
  dccp: number;
  igmp: number;
  other: number;
  /** TCP connections per (coalesced) state, by OVS state name. */
  tcpStates: Record<string, number>;
}

export function ctStats(entries: Iterable<CtEntry>): CtStats {
  const st: CtStats = { total: 0, tcp: 0, udp: 0, udplite: 0, sctp: 0, icmp: 0, icmpv6: 0, dccp: 0, igmp: 0, other: 0, tcpStates: {} };
  for (const e of entries) {
    st.total++;
    switch (e.orig.proto) {
      case IPPROTO_ICMP:
        st.icmp++;
        break;
      case IPPROTO_ICMPV6:
        st.icmpv6++;
        break;
      case IPPROTO_TCP: {
        st.tcp++;
        const name = enumName(OVS_TCP_STATES, coalesceTcpState(ovsTcpState(e.tcp?.state ?? 0)));
        st.tcpStates[name] = (st.tcpStates[name] ?? 0) + 1;
        break;
      }
      case IPPROTO_UDP:
        st.udp++;
        break;
      case IPPROTO_SCTP:
        st.sctp++;
        break;
      case IPPROTO_UDPLITE:
        st.udplite++;
        break;
      case IPPROTO_DCCP:
        st.dccp++;
        break;
      case IPPROTO_IGMP:
        st.igmp++;
        break;
      default:
        st.other++;
    }
  }
  return st;
}

/**
 * The text of `ovs-dpctl ct-stats-show` (newline-terminated lines). ICMPv6
 * connections count in the total but, as in OVS 3.1, get no line of their own.
 */
export function formatCtStats(st: CtStats, verbose = false): string {
  let s = `Connections Stats:\n    Total: ${st.total}\n`;
  if (st.tcp) {
    s += `  TCP: ${st.tcp}\n`;
    if (verbose) {
      s += '    Conn per TCP states:\n';
      for (const name of OVS_TCP_STATES) if (st.tcpStates[name]) s += `\t  [${name}]=${st.tcpStates[name]}\n`;
    }
  }
  if (st.udp) s += `  UDP: ${st.udp}\n`;
  if (st.udplite) s += `  UDPLITE: ${st.udplite}\n`;
  if (st.sctp) s += `  SCTP: ${st.sctp}\n`;
  if (st.icmp) s += `  ICMP: ${st.icmp}\n`;
  if (st.dccp) s += `  DCCP: ${st.dccp}\n`;
  if (st.igmp) s += `  IGMP: ${st.igmp}\n`;
  if (st.other) s += `  Other: ${st.other}\n`;
  return s;
}
