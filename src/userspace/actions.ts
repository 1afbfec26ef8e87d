// Executing a flow's actions on one frame, with the kernel's semantics
// (net/openvswitch/actions.c): actions run in order on one packet; output
// and userspace see the packet as it is at that point (cut by a preceding
// trunc); sample, clone and check_pkt_len run nested lists on a copy. Header
// rewrites keep IP and transport checksums right by incremental update.
// Where the packet goes is the caller's (ActionSink).
//
// Nesting follows the module's per-CPU execution level: each run of a
// flow's actions (ovs_execute_actions) is one level deeper, and so is a
// nested list that may change the flow key; up to the deferral threshold a
// recirculation or such a list runs on the spot, past it it waits in a
// FIFO of 10 that the outermost level drains when its own list is done
// (clone_execute, process_deferred_actions); past the recursion limit the
// packet is dropped. Everything here is synchronous, so one level and one
// FIFO for the process are what the module's per-CPU ones are for a CPU.
import type { Action, CtAction, SetAction, SetMaskedAction, UserspaceAction } from '../ovs/actions.js';
import { ipv4ToU32, macIntoBytes, ipv6IntoBytes } from '../ovs/addr.js';
import { AttrWriter } from '../netlink/attr.js';
import { encodeKey, mplsLseValue } from '../ovs/key-codec.js';
import type { FlowKey, NshKey, TunnelKey } from '../ovs/keys.js';
import type { TunnelMeta } from '../packet/tunnel.js';
import { be16, be32, putBe16, putBe32 } from '../packet/bytes.js';
import { adjustChecksum16, adjustChecksum32, adjustChecksumBytes } from '../packet/checksum.js';
import { readSctpChecksum, sctpChecksum, writeSctpChecksum } from '../packet/checksum.js';
import { ETH_HLEN, ETH_P_IP, ETH_P_IPV6, ETH_P_MPLS_MC, ETH_P_MPLS_UC, ETH_P_NSH, ETH_P_TEB, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, MPLS_HLEN, TUN_P_ETHERNET, VLAN_CFI_MASK, VLAN_HLEN } from '../packet/constants.js';
import { nshNextProtoOf, popNsh, pushNsh, type NshHeader } from '../packet/nsh.js';
import { nshMd1Bytes } from '../ovs/nsh-codec.js';
import { isVlanTpid } from '../packet/ethernet.js';
import { parsePacket } from '../packet/parse.js';
import { Layer, ParsedPacket } from '../packet/result.js';
import { isCtHelper } from './conntrack.js';
import type { PacketMeta } from './extract.js';
import { tunnelMetaOf } from './tunnel-key.js';

/** The kernel's OVS_RECURSION_LIMIT: nested lists and recirculations deeper than this drop the packet. */
export const RECURSION_LIMIT = 5;
/** OVS_DEFERRED_ACTION_THRESHOLD: up to this nesting level a recirculation runs at once, past it it waits for its list to end. */
export const DEFERRED_ACTION_THRESHOLD = RECURSION_LIMIT - 2;

/** Where executed packets go. */
export interface ActionSink {
  /** `meta`: what a tunnel port reads its tunnel from (tunnelOut). */
  output(port: number, frame: Uint8Array, meta?: PacketMeta): void;
  /**
   * An ACTION upcall. The key is the whole packet's; `sendLen` is set when a
   * trunc cuts what is sent up (the upcall then carries the original length).
   * `frame` is only valid during the call.
   */
  userspace(frame: Uint8Array, meta: PacketMeta, action: UserspaceAction, sendLen?: number): void;
  /** Meters a packet of `len` bytes; true: the meter drops it (the rest of the list does not run). */
  meter(id: number, len: number): boolean;
  /** Runs the packet through the table again with the new metadata (its actions through executeActions). */
  recirculate(frame: Uint8Array, meta: PacketMeta): void;
  /**
   * ct(): sends the packet through the connection tracker and sets meta.ct
   * to its verdict. False: the packet goes no further (the module frees it
   * when conntrack fails, e.g. a zone over its limit, and holds an IP
   * fragment until its datagram is whole). A frame: the packet is now that
   * reassembled datagram.
   */
  conntrack(frame: Uint8Array, meta: PacketMeta, action: CtAction): boolean | Uint8Array;
}

export interface ExecStats {
  /** Packets dropped for nesting too deep. */
  recursionDrops: number;
  /** Recirculations and nested lists dropped because the deferred-action FIFO was full. */
  deferredDrops?: number;
}

/** DEFERRED_ACTION_FIFO_SIZE. */
export const DEFERRED_ACTION_FIFO_SIZE = 10;

/** A recirculation (no actions) or a nested list left for the outermost level (struct deferred_action). */
interface Deferred {
  sink: ActionSink;
  packet: Packet;
  actions?: readonly Action[];
  stats?: ExecStats;
}

/** exec_actions_level: how deep the current execution is (0: none running). */
let level = 0;
/** action_fifos: what waits for the outermost level to finish. */
const fifo: Deferred[] = [];

interface Packet {
  frame: Uint8Array;
  meta: PacketMeta;
  /** Length the next output/userspace sends (trunc), 0: all. */
  cut: number;
  /** After pop_eth: the L3 packet's EtherType (the frame has no Ethernet header); 0 otherwise. */
  l3Type: number;
  /**
   * The outer VLAN tag (TPID and TCI) of a frame push_nsh put inside NSH.
   * The kernel keeps a frame's outer tag out of its bytes (skb->vlan_tci), so
   * NSH goes around the untagged frame and the tag waits beside it: push_eth
   * refuses to run while it is there (skb_eth_push), and it comes back on the
   * frame that pop_nsh brings out.
   */
  heldTag?: Uint8Array;
  /**
   * The packet as it was when the kernel's flow key stopped following it
   * (invalidate_flow_key: push/pop of MPLS, Ethernet and NSH, a tag pushed
   * over or popped from under another): a userspace action reports that
   * key, with the packet's present mac_proto, until ct() or a recirculation
   * extracts it again.
   */
  stale?: { frame: Uint8Array; l3Type: number };
}

const scratch = new ParsedPacket();

/**
 * Runs `actions` on `frame` (modified in place) one level deeper than the
 * execution that called it, if any (ovs_execute_actions); the outermost one
 * then runs what was deferred.
 */
export function executeActions(sink: ActionSink, frame: Uint8Array, meta: PacketMeta, actions: readonly Action[], stats?: ExecStats): void {
  level++;
  try {
    if (level > RECURSION_LIMIT) {
      if (stats) stats.recursionDrops++;
      return;
    }
    run(sink, { frame, meta: { ...meta }, cut: 0, l3Type: meta.l3Type ?? 0, heldTag: meta.heldTag }, actions, stats);
    if (level === 1) {
      // process_deferred_actions(): at this level, in order, including what they defer in turn.
      for (let d = fifo.shift(); d; d = fifo.shift()) {
        if (d.actions) run(d.sink, d.packet, d.actions, d.stats);
        else d.sink.recirculate(d.packet.frame, d.packet.meta);
      }
    }
  } finally {
    level--;
    // An exception out of the outermost level must not leave work for the next packet.
    if (level === 0) fifo.length = 0;
  }
}

/** The current execution level (0 outside executeActions), for tests. */
export const executionLevel = (): number => level;

/**
 * clone_execute(): a recirculation (no `actions`) or a nested list on `p`.
 * A list that cannot change the flow key, or is its list's last action, runs
 * at this level; otherwise, while a flow key is free (level up to the
 * threshold), on the spot one level deeper (a recirculation: in a new
 * execution), and past it in the FIFO.
 */
function cloneExecute(sink: ActionSink, p: Packet, actions: readonly Action[] | undefined, cloneKey: boolean, stats?: ExecStats): void {
  if (!cloneKey && actions) {
    run(sink, p, actions, stats);
    return;
  }
  if (level <= DEFERRED_ACTION_THRESHOLD) {
    if (!actions) {
      sink.recirculate(p.frame, p.meta);
      return;
    }
    level++;
    try {
      run(sink, p, actions, stats);
    } finally {
      level--;
    }
    return;
  }
  if (fifo.length >= DEFERRED_ACTION_FIFO_SIZE) {
    if (stats) stats.deferredDrops = (stats.deferredDrops ?? 0) + 1;
    return;
  }
  fifo.push({ sink, packet: p, actions, stats });
}

/**
 * Whether a nested list may change the flow key (actions_may_change_flow):
 * anything but output, recirc, trunc, userspace and drop. A list that may
 * not, or that is the last action of its list, runs without a key of its own.
 */
function mayChangeFlow(actions: readonly Action[]): boolean {
  for (const a of actions) if (a.type !== 'output' && a.type !== 'recirc' && a.type !== 'trunc' && a.type !== 'userspace' && a.type !== 'drop') return true;
  return false;
}

function copy(p: Packet): Packet {
  return { frame: p.frame.slice(), meta: { ...p.meta }, cut: p.cut, l3Type: p.l3Type, heldTag: p.heldTag, stale: p.stale };
}

function run(sink: ActionSink, p: Packet, actions: readonly Action[], stats?: ExecStats): void {
  for (let i = 0; i < actions.length; i++) {
    const a = actions[i];
    const last = i === actions.length - 1;
    switch (a.type) {
      case 'output': {
        // An Ethernet port cannot carry a packet without an Ethernet header:
        // the kernel drops it (ovs_vport_send).
        if (!p.l3Type) {
          const f = p.cut && p.cut < p.frame.length ? p.frame.slice(0, p.cut) : last ? p.frame : p.frame.slice();
          sink.output(a.port, f, p.meta);
        }
        // trunc applies to the next output or userspace action only.
        p.cut = 0;
        break;
      }
      case 'userspace': {
        carryToMeta(p);
        const keyFrom = p.stale && { frame: p.stale.frame, l3Type: p.stale.l3Type, eth: !p.l3Type };
        sink.userspace(p.frame, { ...p.meta, keyFrom }, a, p.cut && p.cut < p.frame.length ? p.cut : undefined);
        p.cut = 0;
        break;
      }
      case 'trunc':
        p.cut = a.maxLen;
        break;
      case 'set':
        if (!p.l3Type) setKey(p, a.key, undefined);
        break;
      case 'setMasked':
        if (!p.l3Type) setKey(p, a.key, a.mask);
        break;
      case 'pushVlan':
        if (p.l3Type) return;
        if (isTagged(p.frame, 12)) invalidate(p);
        p.frame = pushVlan(p.frame, a.tpid, ((a.pcp & 7) << 13) | (a.vid & 0xfff) | (a.cfi ? VLAN_CFI_MASK : 0));
        break;
      case 'popVlan':
        if (p.l3Type) return;
        if (isTagged(p.frame, 12) && isTagged(p.frame, 16)) invalidate(p);
        p.frame = popVlan(p.frame);
        break;
      case 'pushMpls':
        if (p.l3Type) return;
        invalidate(p);
        p.frame = pushMpls(p.frame, mplsLseValue(a.lse), a.ethertype);
        break;
      case 'popMpls':
        if (p.l3Type) return;
        invalidate(p);
        p.frame = popMpls(p.frame, a.ethertype);
        break;
      case 'popEth':
        // The kernel refuses to pop a tagged frame's header (skb_eth_pop): the packet is dropped.
        if (p.l3Type || p.frame.length < ETH_HLEN || isVlanTpid(be16(p.frame, 12))) return;
        invalidate(p);
        p.l3Type = be16(p.frame, 12);
        p.frame = p.frame.slice(ETH_HLEN);
        break;
      case 'pushEth': {
        if (!p.l3Type || p.heldTag) return;
        invalidate(p);
        const f = new Uint8Array(p.frame.length + ETH_HLEN);
        macIntoBytes(a.dst, f, 0);
        macIntoBytes(a.src, f, 6);
        putBe16(f, 12, p.l3Type);
        f.set(p.frame, ETH_HLEN);
        p.frame = f;
        p.l3Type = 0;
        break;
      }
      case 'pushNsh': {
        // nsh_push(): a frame with its Ethernet header goes inside whole;
        // an L3 packet names its type. The result has no Ethernet header.
        const np = p.l3Type ? nshNextProtoOf(p.l3Type) : TUN_P_ETHERNET;
        if (!np) return;
        invalidate(p);
        if (!p.l3Type && p.frame.length >= ETH_HLEN + VLAN_HLEN && isVlanTpid(be16(p.frame, 12))) {
          p.heldTag = p.frame.slice(12, 16);
          p.frame = popVlan(p.frame);
        }
        p.frame = pushNsh(p.frame, nshHeaderOf(a.nsh), np);
        p.l3Type = ETH_P_NSH;
        break;
      }
      case 'popNsh': {
        // nsh_pop() reads the header at the packet's start, whatever is there
        // (after pop_eth it is the NSH header); a failure drops the packet.
        const r = popNsh(p.frame);
        if (!r) return;
        invalidate(p);
        p.frame = r.inner;
        p.l3Type = r.ethType === ETH_P_TEB ? 0 : r.ethType;
        if (!p.l3Type && p.heldTag) {
          p.frame = insertTag(p.frame, p.heldTag);
          p.heldTag = undefined;
        }
        break;
      }
      case 'recirc': {
        const q = last ? p : copy(p);
        q.meta.recircId = a.id;
        carryToMeta(q);
        q.cut = 0;
        cloneExecute(sink, q, undefined, true, stats);
        break;
      }
      case 'hash':
        p.meta.dpHash = flowHash(p.frame, a.basis) || 1;
        break;
      case 'sample':
        if (a.probability !== 0xffffffff && (a.probability === 0 || Math.random() * 0x100000000 > a.probability)) break;
        cloneExecute(sink, last ? p : copy(p), a.actions, !last && mayChangeFlow(a.actions), stats);
        break;
      case 'clone':
        cloneExecute(sink, last ? p : copy(p), a.actions, !last && mayChangeFlow(a.actions), stats);
        break;
      case 'checkPktLen': {
        const branch = p.frame.length > a.pktLen ? a.gt : a.le;
        cloneExecute(sink, last ? p : copy(p), branch, !last && mayChangeFlow(branch), stats);
        break;
      }
      case 'decTtl':
        // The exception list runs on the packet itself, at this level (dec_ttl_exception_handler).
        if (!p.l3Type && !decTtl(p.frame)) {
          run(sink, p, a.actions, stats);
          return;
        }
        break;
      case 'meter':
        if (sink.meter(a.id, p.frame.length)) return;
        break;
      case 'ct': {
        // The tracker reads the packet as what it is (after pop_eth, an L3
        // packet); the kernel extracts its key again first.
        p.stale = undefined;
        carryToMeta(p);
        const r = sink.conntrack(p.frame, p.meta, a);
        if (r === false) return;
        if (r !== true) p.frame = r;
        break;
      }
      case 'ctClear':
        // ovs_ct_clear: the packet is untracked again and its key's ct fields zero.
        p.meta.ct = undefined;
        break;
      case 'drop':
        return;
      default:
        // tunnel push/pop and the like: refused when the flow is installed
        // (served-families.ts); reaching here means execute got one: skip it.
        break;
    }
  }
}

/**
 * What the packet is now (an Ethernet frame or an L3 packet, and a tag held
 * beside it), for what reads it from its metadata: a recirculation, the
 * tracker, an upcall.
 */
function carryToMeta(p: Packet): void {
  p.meta.l3Type = p.l3Type || undefined;
  p.meta.heldTag = p.heldTag;
}

/** nsh_hdr_from_nlattr(): the header push_nsh writes (its checks passed when the actions came in). */
function nshHeaderOf(n: NshKey): NshHeader {
  const b = n.base ?? { flags: 0, ttl: 0, mdtype: 0, np: 0, spi: 0, si: 0 };
  const md = n.md1 ? nshMd1Bytes(n.md1).slice() : (n.md2 ?? new Uint8Array(0));
  return { flags: b.flags, ttl: b.ttl, mdtype: b.mdtype, path: ((b.spi << 8) | (b.si & 0xff)) >>> 0, md };
}

/** The action types this file implements; flows with others are refused. */
export const SUPPORTED_ACTIONS: ReadonlySet<Action['type']> = new Set([
  'output',
  'userspace',
  'trunc',
  'set',
  'setMasked',
  'pushVlan',
  'popVlan',
  'pushMpls',
  'popMpls',
  'pushEth',
  'popEth',
  'pushNsh',
  'popNsh',
  'recirc',
  'hash',
  'sample',
  'clone',
  'checkPktLen',
  'decTtl',
  'meter',
  'drop',
  'ct',
  'ctClear',
]);

/** Set keys this file can write. */
const SETTABLE: ReadonlySet<string> = new Set(['ethernet', 'ipv4', 'ipv6', 'tcp', 'udp', 'sctp', 'mpls', 'priority', 'skbMark', 'tunnel']);

/** The first action (searched through nested lists) the fallback cannot run, or undefined. */
export function unsupportedAction(actions: readonly Action[]): string | undefined {
  for (const a of actions) {
    if (!SUPPORTED_ACTIONS.has(a.type)) return a.type;
    if (a.type === 'ct') {
      // FTP's and TFTP's are the ALG helpers the tracker has. A
      // timeout policy is bound by name when the flow is put (ct-timeout.ts);
      // one that does not exist leaves the defaults, as in the module.
      if (a.helper !== undefined && !isCtHelper(a.helper)) return `ct(helper=${a.helper})`;
      if (a.extra?.length) return `ct attribute ${a.extra[0].type}`;
    }
    if (a.type === 'set' || a.type === 'setMasked') {
      // set(nsh) is refused as the module refuses it, with its reason (action-validate.ts).
      for (const k of Object.keys(a.key)) if (!SETTABLE.has(k) && k !== 'nsh') return `set(${k})`;
    }
    const inner = innerActions(a);
    if (inner) {
      const u = unsupportedAction(inner);
      if (u) return u;
    }
  }
  return undefined;
}

/** The action lists nested in an action (sample, clone, dec_ttl, check_pkt_len), or undefined. */
export const innerActions = (a: Action): readonly Action[] | undefined =>
  a.type === 'sample' || a.type === 'clone' || a.type === 'decTtl' ? a.actions : a.type === 'checkPktLen' ? [...a.gt, ...a.le] : undefined;

const keyBytes = (key: FlowKey): Uint8Array => {
  const w = new AttrWriter(64);
  encodeKey(w, key);
  return w.finish();
};

/**
 * The first set_masked (searched through nested lists) whose value has bits
 * outside its mask, or undefined. The module refuses such a flow (EINVAL,
 * validate_masked() in flow_netlink.c): the bits could never be written, so
 * the flow would not do what it says.
 */
export function setMaskedOutsideMask(actions: readonly Action[]): string | undefined {
  for (const a of actions) {
    if (a.type === 'setMasked') {
      const v = keyBytes(a.key);
      const m = keyBytes(a.mask);
      // Attribute headers are equal (same field, same length); compare payloads byte by byte.
      if (v.length !== m.length) return `set_masked(${Object.keys(a.key).join(',')}): value and mask differ in length`;
      for (let i = 4; i < v.length; i++) if (v[i] & ~m[i]) return `set_masked(${Object.keys(a.key).join(',')}): value has bits outside the mask`;
    }
    const inner = innerActions(a);
    if (inner) {
      const bad = setMaskedOutsideMask(inner);
      if (bad) return bad;
    }
  }
  return undefined;
}

// ---- header rewrites ------------------------------------------------------

/** value under mask: new = (old & ~mask) | (value & mask). */
const m32 = (old: number, v: number, m: number | undefined): number => (m === undefined ? v : ((old & ~m) | (v & m))) >>> 0;

/** Each set(tunnel(...)) action's metadata, made once (the action objects live as long as their flow). */
const tunnelOuts = new WeakMap<TunnelKey, TunnelMeta>();

function setKey(p: Packet, key: FlowKey, mask: FlowKey | undefined): void {
  // The module takes set(tunnel) unmasked only: the packet's tx tunnel, which tunnel ports read.
  if (key.tunnel !== undefined && mask === undefined) {
    let t = tunnelOuts.get(key.tunnel);
    if (!t) tunnelOuts.set(key.tunnel, (t = tunnelMetaOf(key.tunnel)));
    p.meta.tunnelOut = t;
  }
  if (key.priority !== undefined) p.meta.priority = m32(p.meta.priority ?? 0, key.priority, mask?.priority);
  if (key.skbMark !== undefined) p.meta.skbMark = m32(p.meta.skbMark ?? 0, key.skbMark, mask?.skbMark);
  const b = p.frame;
  if (key.ethernet) {
    setBytes(b, 0, mac(key.ethernet.dst), mask?.ethernet ? mac(mask.ethernet.dst) : undefined);
    setBytes(b, 6, mac(key.ethernet.src), mask?.ethernet ? mac(mask.ethernet.src) : undefined);
  }
  if (key.mpls && key.mpls.length) setMpls(b, mplsLseValue(key.mpls[0]), mask?.mpls?.length ? mplsLseValue(mask.mpls[0]) : undefined);
  if (!key.ipv4 && !key.ipv6 && !key.tcp && !key.udp && !key.sctp) return;
  const pp = parsePacket(b, b.length, scratch);
  if (key.ipv4 && pp.ethType === ETH_P_IP && pp.has(Layer.IPV4)) setIpv4(pp, key, mask);
  if (key.ipv6 && pp.ethType === ETH_P_IPV6 && pp.has(Layer.IPV6)) setIpv6(pp, key, mask);
  if (key.sctp && pp.ipProto === IPPROTO_SCTP && pp.l4HdrLen > 0) setSctp(pp, key.sctp, mask?.sctp);
  const ports = key.tcp ?? key.udp;
  const pm = mask?.tcp ?? mask?.udp;
  if (ports && pp.l4HdrLen > 0 && ((key.tcp && pp.ipProto === IPPROTO_TCP) || (key.udp && pp.ipProto === IPPROTO_UDP))) {
    const udp = pp.ipProto === IPPROTO_UDP;
    const csum = pp.l4 + (udp ? 6 : 16);
    for (const [off, v, m] of [
      [pp.l4, ports.src, pm?.src],
      [pp.l4 + 2, ports.dst, pm?.dst],
    ] as const) {
      const old = be16(b, off);
      const nv = m === undefined ? v : (old & ~m) | (v & m);
      if (nv === old) continue;
      adjustChecksum16(b, csum, old, nv & 0xffff, udp);
      putBe16(b, off, nv);
    }
  }
}

/**
 * set(sctp): the ports, then the CRC32c recomputed; a checksum that was wrong
 * before stays wrong by the same difference (the kernel's set_sctp).
 */
function setSctp(pp: ParsedPacket, k: { src: number; dst: number }, m: { src: number; dst: number } | undefined): void {
  const b = pp.buf;
  const l4 = pp.l4;
  const len = b.length - l4;
  const old = readSctpChecksum(b, l4);
  const oldCorrect = sctpChecksum(b, l4, len);
  const src = be16(b, l4);
  const dst = be16(b, l4 + 2);
  putBe16(b, l4, m ? (src & ~m.src) | (k.src & m.src) : k.src);
  putBe16(b, l4 + 2, m ? (dst & ~m.dst) | (k.dst & m.dst) : k.dst);
  writeSctpChecksum(b, l4, (old ^ oldCorrect ^ sctpChecksum(b, l4, len)) >>> 0);
}

function l4Csum(pp: ParsedPacket): { off: number; udp: boolean } | undefined {
  if (pp.l4HdrLen === 0) return undefined;
  if (pp.ipProto === IPPROTO_TCP) return { off: pp.l4 + 16, udp: false };
  if (pp.ipProto === IPPROTO_UDP) return { off: pp.l4 + 6, udp: true };
  return undefined;
}

function setIpv4(pp: ParsedPacket, key: FlowKey, mask: FlowKey | undefined): void {
  const b = pp.buf;
  const l3 = pp.l3;
  const k = key.ipv4!;
  const m = mask?.ipv4;
  const l4 = l4Csum(pp);
  for (const [off, v, mv] of [
    [l3 + 12, ipv4ToU32(k.src), m ? ipv4ToU32(m.src) : undefined],
    [l3 + 16, ipv4ToU32(k.dst), m ? ipv4ToU32(m.dst) : undefined],
  ] as const) {
    const old = be32(b, off);
    const nv = m32(old, v, mv);
    if (nv === old) continue;
    adjustChecksum32(b, l3 + 10, old, nv);
    if (l4) adjustChecksum32(b, l4.off, old, nv, l4.udp);
    putBe32(b, off, nv);
  }
  // TOS and TTL share their 16-bit words with IHL and protocol.
  const tos = m ? (b[l3 + 1] & ~m.tos) | (k.tos & m.tos) : k.tos;
  const ttl = m ? (b[l3 + 8] & ~m.ttl) | (k.ttl & m.ttl) : k.ttl;
  setByteInWord(b, l3, l3 + 1, tos & 0xff, l3 + 10);
  setByteInWord(b, l3 + 8, l3 + 8, ttl & 0xff, l3 + 10);
}

function setByteInWord(b: Uint8Array, wordOff: number, byteOff: number, v: number, csumOff: number): void {
  if (b[byteOff] === v) return;
  const old = be16(b, wordOff);
  b[byteOff] = v;
  adjustChecksum16(b, csumOff, old, be16(b, wordOff));
}

function setIpv6(pp: ParsedPacket, key: FlowKey, mask: FlowKey | undefined): void {
  const b = pp.buf;
  const l3 = pp.l3;
  const k = key.ipv6!;
  const m = mask?.ipv6;
  const l4 = l4Csum(pp);
  for (const [off, v, mv] of [
    [l3 + 8, k.src, m?.src],
    [l3 + 24, k.dst, m?.dst],
  ] as const) {
    const want = new Uint8Array(16);
    ipv6IntoBytes(v, want);
    const old = b.slice(off, off + 16);
    if (mv !== undefined) {
      const mb = new Uint8Array(16);
      ipv6IntoBytes(mv, mb);
      for (let i = 0; i < 16; i++) want[i] = (old[i] & ~mb[i]) | (want[i] & mb[i]);
    }
    if (l4) adjustChecksumBytes(b, l4.off, old, 0, want, 0, 16, l4.udp);
    b.set(want, off);
  }
  const tc = m ? (pp.ipTos & ~m.tclass) | (k.tclass & m.tclass) : k.tclass;
  const label = m ? (pp.ipv6Label & ~m.label) | (k.label & m.label) : k.label;
  putBe32(b, l3, (6 << 28) | ((tc & 0xff) << 20) | (label & 0xfffff));
  b[l3 + 7] = m ? (b[l3 + 7] & ~m.hlimit) | (k.hlimit & m.hlimit) : k.hlimit;
}

function mac(s: string): Uint8Array {
  const out = new Uint8Array(6);
  macIntoBytes(s, out);
  return out;
}

function setBytes(b: Uint8Array, off: number, v: Uint8Array, m: Uint8Array | undefined): void {
  for (let i = 0; i < v.length; i++) b[off + i] = m ? (b[off + i] & ~m[i]) | (v[i] & m[i]) : v[i];
}

// ---- VLAN, TTL, hash ------------------------------------------------------

function pushVlan(f: Uint8Array, tpid: number, tci: number): Uint8Array {
  if (f.length < 12) return f;
  const out = new Uint8Array(f.length + 4);
  out.set(f.subarray(0, 12));
  putBe16(out, 12, tpid);
  // On the wire the CFI/DEI bit is the frame's, not the key's "present" bit.
  putBe16(out, 14, tci & ~VLAN_CFI_MASK);
  out.set(f.subarray(12), 16);
  return out;
}

/**
 * Keeps the packet the flow key was last extracted from (the first
 * invalidation counts). No copy: the actions that invalidate build a new
 * frame, so this one is left as it was (one they leave unchanged stays
 * p.frame, and a set then writes both, as the kernel's set writes its stale key).
 */
function invalidate(p: Packet): void {
  if (!p.stale) p.stale = { frame: p.frame, l3Type: p.l3Type };
}

const isTagged = (f: Uint8Array, off: number): boolean => f.length >= off + 4 && isVlanTpid(be16(f, off));

/** A tag as it was on the wire (DEI bit included) put back after the MAC addresses. */
export function insertTag(f: Uint8Array, tag: Uint8Array): Uint8Array {
  if (f.length < 12) return f;
  const out = new Uint8Array(f.length + VLAN_HLEN);
  out.set(f.subarray(0, 12));
  out.set(tag, 12);
  out.set(f.subarray(12), 12 + VLAN_HLEN);
  return out;
}

/** The length of the L2 header: Ethernet and the VLAN tags in the frame (the kernel's mac_len). */
function macLen(f: Uint8Array): number {
  let off = 12;
  while (off + 6 <= f.length && isVlanTpid(be16(f, off))) off += VLAN_HLEN;
  return off + 2;
}

/** Puts a label stack entry right after the L2 header and sets the type before it. */
function pushMpls(f: Uint8Array, lse: number, ethertype: number): Uint8Array {
  if (f.length < ETH_HLEN) return f;
  const ml = macLen(f);
  const out = new Uint8Array(f.length + MPLS_HLEN);
  out.set(f.subarray(0, ml));
  putBe32(out, ml, lse);
  out.set(f.subarray(ml), ml + MPLS_HLEN);
  putBe16(out, ml - 2, ethertype);
  return out;
}

function popMpls(f: Uint8Array, ethertype: number): Uint8Array {
  const ml = macLen(f);
  const t = be16(f, ml - 2);
  if ((t !== ETH_P_MPLS_UC && t !== ETH_P_MPLS_MC) || f.length < ml + MPLS_HLEN) return f;
  const out = new Uint8Array(f.length - MPLS_HLEN);
  out.set(f.subarray(0, ml));
  out.set(f.subarray(ml + MPLS_HLEN), ml);
  putBe16(out, ml - 2, ethertype);
  return out;
}

/** Rewrites the top label stack entry (under a mask). */
function setMpls(f: Uint8Array, lse: number, mask: number | undefined): void {
  const ml = macLen(f);
  const t = be16(f, ml - 2);
  if ((t !== ETH_P_MPLS_UC && t !== ETH_P_MPLS_MC) || f.length < ml + MPLS_HLEN) return;
  putBe32(f, ml, m32(be32(f, ml), lse, mask));
}

function popVlan(f: Uint8Array): Uint8Array {
  if (f.length < 18 || !isVlanTpid(be16(f, 12))) return f;
  const out = new Uint8Array(f.length - 4);
  out.set(f.subarray(0, 12));
  out.set(f.subarray(16), 12);
  return out;
}

/** Decrements the IP TTL; false when it was already 1 or less (the nested actions run instead). */
function decTtl(f: Uint8Array): boolean {
  const pp = parsePacket(f, f.length, scratch);
  if (pp.ethType === ETH_P_IP && pp.has(Layer.IPV4)) {
    const ttl = f[pp.l3 + 8];
    if (ttl <= 1) return false;
    setByteInWord(f, pp.l3 + 8, pp.l3 + 8, ttl - 1, pp.l3 + 10);
    return true;
  }
  if (pp.ethType === ETH_P_IPV6 && pp.has(Layer.IPV6)) {
    const h = f[pp.l3 + 7];
    if (h <= 1) return false;
    f[pp.l3 + 7] = h - 1;
  }
  return true;
}

/** A 5-tuple hash standing in for skb_get_hash(), mixed with the action's basis. */
export function flowHash(f: Uint8Array, basis: number): number {
  const pp = parsePacket(f, f.length, scratch);
  let h = basis >>> 0;
  const mixIn = (w: number) => {
    h = Math.imul(h ^ w, 0x5bd1e995) >>> 0;
    h ^= h >>> 13;
  };
  if (pp.has(Layer.IPV4)) {
    mixIn(pp.ipv4Src());
    mixIn(pp.ipv4Dst());
  } else if (pp.has(Layer.IPV6)) {
    for (let i = 8; i < 40; i += 4) mixIn(be32(f, pp.l3 + i));
  }
  mixIn(pp.ipProto);
  mixIn((pp.tpSrc << 16) | pp.tpDst);
  return h >>> 0;
}
