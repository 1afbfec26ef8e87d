// The TCP part of the fallback datapath's connection tracker: the state
// machine and sequence-window tracking of netfilter's TCP tracker as Linux
// 6.1 has it (nf_conntrack_proto_tcp.c, sysctls at their defaults: loose
// pickup on, be_liberal off, window checks on, max_retrans 3). The kernel's
// behaviour is the specification here, odd corners included, because
// ct_state in a flow key must come out the same on both datapaths. Written
// from reading that code, not copied; the function names cited are where to
// compare.
//
// Pure: no I/O, no clock; `now` is passed in and timeouts are written to the
// owner as absolute milliseconds.
import { be16, be32 } from '../packet/bytes.js';

/** enum tcp_conntrack. SYN_SENT2 is the simultaneous-open state (the old LISTEN slot). */
export const TCP_CT_NONE = 0;
export const TCP_CT_SYN_SENT = 1;
export const TCP_CT_SYN_RECV = 2;
export const TCP_CT_ESTABLISHED = 3;
export const TCP_CT_FIN_WAIT = 4;
export const TCP_CT_CLOSE_WAIT = 5;
export const TCP_CT_LAST_ACK = 6;
export const TCP_CT_TIME_WAIT = 7;
export const TCP_CT_CLOSE = 8;
export const TCP_CT_SYN_SENT2 = 9;

/** The kernel's tcp_conntrack_names, for dumps. */
export const TCP_CT_NAMES: readonly string[] = [
  'NONE',
  'SYN_SENT',
  'SYN_RECV',
  'ESTABLISHED',
  'FIN_WAIT',
  'CLOSE_WAIT',
  'LAST_ACK',
  'TIME_WAIT',
  'CLOSE',
  'SYN_SENT2',
];

// Table outcomes beyond the states: TCP_CONNTRACK_MAX (invalid) and IGNORE.
const INV = 10;
const IGN = 11;
// Extra timeout slots (TCP_CONNTRACK_RETRANS, TCP_CONNTRACK_UNACK).
const RETRANS = 12;
const UNACK = 13;

/** Default timeouts in seconds, by state and for the two extra slots (tcp_timeouts[]): a timeout policy for TCP has this layout too. */
export const TIMEOUT_S = [0, 120, 60, 5 * 24 * 3600, 120, 60, 30, 120, 10, 120, 0, 0, 300, 300];
/** nf_conntrack_tcp_max_retrans. */
const MAX_RETRANS = 3;

// enum tcp_bit_set: which of RST/SYN/FIN/ACK decides the transition.
const SYN_SET = 0;
const SYNACK_SET = 1;
const FIN_SET = 2;
const ACK_SET = 3;
const RST_SET = 4;
const NONE_SET = 5;

// IP_CT_TCP_FLAG_* (per direction) and the two flags kept in last_flags.
export const TCP_FLAG_WINDOW_SCALE = 0x01;
export const TCP_FLAG_SACK_PERM = 0x02;
export const TCP_FLAG_CLOSE_INIT = 0x04;
export const TCP_FLAG_BE_LIBERAL = 0x08;
export const TCP_FLAG_DATA_UNACKNOWLEDGED = 0x10;
export const TCP_FLAG_MAXACK_SET = 0x20;
const EXP_CHALLENGE_ACK = 0x40;
const SIMULTANEOUS_OPEN = 0x80;

const ORIGINAL = 0;
const REPLY = 1;

// Header flag bits (the low byte of the data-offset word).
const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;
const URG = 0x20;
const ECE = 0x40;
const CWR = 0x80;

/** MAXACKWINCONST: the least window an ACK may lag by. */
const MAX_ACK_WIN_CONST = 66000;
/** TCP_MAX_WSCALE (RFC 7323). */
const MAX_WSCALE = 14;

const NO = TCP_CT_NONE;
const SS = TCP_CT_SYN_SENT;
const SR = TCP_CT_SYN_RECV;
const ES = TCP_CT_ESTABLISHED;
const FW = TCP_CT_FIN_WAIT;
const CW = TCP_CT_CLOSE_WAIT;
const LA = TCP_CT_LAST_ACK;
const TW = TCP_CT_TIME_WAIT;
const CL = TCP_CT_CLOSE;
const S2 = TCP_CT_SYN_SENT2;

/**
 * The transition table (tcp_conntracks): [direction][flag set][current
 * state] -> next state, INV or IGN. Columns in state order NONE, SYN_SENT,
 * SYN_RECV, ESTABLISHED, FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSE,
 * SYN_SENT2; rows in flag-set order SYN, SYN/ACK, FIN, ACK, RST, none.
 */
const TABLE: readonly (readonly (readonly number[])[])[] = [
  [
    [SS, SS, IGN, IGN, IGN, IGN, IGN, SS, SS, S2],
    [INV, INV, SR, INV, INV, INV, INV, INV, INV, SR],
    [INV, INV, FW, FW, LA, LA, LA, TW, CL, INV],
    [ES, INV, ES, ES, CW, CW, TW, TW, CL, INV],
    [INV, CL, CL, CL, CL, CL, CL, CL, CL, CL],
    [INV, INV, INV, INV, INV, INV, INV, INV, INV, INV],
  ],
  [
    [INV, S2, INV, INV, INV, INV, INV, SS, INV, S2],
    [INV, SR, IGN, IGN, IGN, IGN, IGN, IGN, IGN, SR],
    [INV, INV, FW, FW, LA, LA, LA, TW, CL, INV],
    [INV, IGN, SR, ES, CW, CW, TW, TW, CL, IGN],
    [INV, CL, CL, CL, CL, CL, CL, CL, CL, CL],
    [INV, INV, INV, INV, INV, INV, INV, INV, INV, INV],
  ],
];

/** Flag combinations tcp_error() lets through, PSH, ECE and CWR aside (tcp_valid_flags). */
const VALID_FLAGS = new Uint8Array(0x40);
for (const f of [SYN, SYN | URG, SYN | ACK, RST, RST | ACK, FIN | ACK, FIN | ACK | URG, ACK, ACK | URG]) VALID_FLAGS[f] = 1;

/** Sequence-space comparisons on u32 values (the kernel's before()/after()). */
const before = (a: number, b: number): boolean => ((a - b) | 0) < 0;
const after = (a: number, b: number): boolean => ((b - a) | 0) < 0;
const u32 = (x: number): number => x >>> 0;

/** What one direction has sent (struct ip_ct_tcp_state). */
export class TcpSide {
  /** Highest seq + len sent. */
  end = 0;
  /** Highest seq + len the other side's window allows. */
  maxend = 0;
  /** Largest window seen (scaled). */
  maxwin = 0;
  /** Highest ACK sent. */
  maxack = 0;
  scale = 0;
  flags = 0;

  reset(): void {
    this.end = 0;
    this.maxend = 0;
    this.maxwin = 0;
    this.maxack = 0;
    this.scale = 0;
    this.flags &= TCP_FLAG_BE_LIBERAL;
  }
}

/** A TCP connection's tracking state (struct ip_ct_tcp). */
export class TcpConn {
  readonly seen: [TcpSide, TcpSide] = [new TcpSide(), new TcpSide()];
  state = TCP_CT_NONE;
  lastDir = 0;
  retrans = 0;
  lastIndex = 0;
  lastSeq = 0;
  lastAck = 0;
  lastEnd = 0;
  lastWin = 0;
  lastWscale = 0;
  lastFlags = 0;
}

/** What the tracker needs of the connection entry around the TCP state. */
export interface TcpOwner {
  tcp: TcpConn | undefined;
  seenReply: boolean;
  assured: boolean;
  /** Absolute expiry, ms. */
  expires: number;
  /** Seconds by state (TIMEOUT_S's layout: a timeout policy's, or the defaults); absent: the defaults. */
  readonly timeouts?: readonly number[];
}

/** The segment: the buffer, where the TCP header starts, and the bytes from there to the end of the IP packet. */
export interface TcpSegment {
  buf: Uint8Array;
  l4: number;
  l4Len: number;
}

/** Results of tcpPacket(). */
export const TCP_INVALID = 0;
export const TCP_ACCEPT = 1;
/** An attempt to reopen a closed or aborted connection: delete it and track the packet afresh (-NF_REPEAT). */
export const TCP_REPEAT = 2;
/** Accepted, but a reset before any reply: the connection is to be deleted now (nf_ct_kill_acct). */
export const TCP_ACCEPT_KILL = 3;

// tcp_in_window() verdicts.
const WIN_IGNORE = 0;
const WIN_INVALID = 1;
const WIN_ACCEPT = 2;

/** The header fields of the segment at hand, read once (reused: no allocation per packet). */
const seg = {
  buf: new Uint8Array(0) as Uint8Array,
  l4: 0,
  doff: 0,
  seq: 0,
  ackSeq: 0,
  win: 0,
  /** seq + payload length + SYN + FIN (segment_seq_plus_len). */
  end: 0,
  syn: false,
  ack: false,
  fin: false,
  rst: false,
  index: NONE_SET,
};
type Seg = typeof seg;

/** The flag set that picks the table row (get_conntrack_index). */
function flagIndex(f: number): number {
  if (f & RST) return RST_SET;
  if (f & SYN) return f & ACK ? SYNACK_SET : SYN_SET;
  if (f & FIN) return FIN_SET;
  if (f & ACK) return ACK_SET;
  return NONE_SET;
}

/**
 * tcp_error() apart from the checksum, which the caller checks (all of its
 * failures make the packet invalid alike, before any state changes): the
 * header and its options must be in the packet, and the flags a combination
 * a TCP sends.
 */
function readSegment(s: TcpSegment): Seg | undefined {
  if (s.l4Len < 20) return undefined;
  const b = s.buf;
  const th = s.l4;
  const doff = (b[th + 12] >>> 4) << 2;
  if (doff < 20 || s.l4Len < doff) return undefined;
  const flags = b[th + 13];
  if (!VALID_FLAGS[flags & ~(ECE | CWR | PSH)]) return undefined;
  seg.buf = b;
  seg.l4 = th;
  seg.doff = doff;
  seg.seq = be32(b, th + 4);
  seg.ackSeq = be32(b, th + 8);
  seg.win = be16(b, th + 14);
  seg.syn = (flags & SYN) !== 0;
  seg.ack = (flags & ACK) !== 0;
  seg.fin = (flags & FIN) !== 0;
  seg.rst = (flags & RST) !== 0;
  seg.end = u32(seg.seq + (s.l4Len - doff) + (seg.syn ? 1 : 0) + (seg.fin ? 1 : 0));
  seg.index = flagIndex(flags);
  return seg;
}

/** tcp_options(): window scale and SACK-permitted of a SYN or SYN/ACK. */
function readOptions(s: Seg, side: TcpSide): void {
  let length = s.doff - 20;
  if (!length) return;
  const b = s.buf;
  let p = s.l4 + 20;
  side.scale = 0;
  side.flags &= TCP_FLAG_BE_LIBERAL;
  while (length > 0) {
    const opcode = b[p++];
    if (opcode === 0) return;
    if (opcode === 1) {
      length--;
      continue;
    }
    if (length < 2) return;
    const opsize = b[p++];
    if (opsize < 2 || opsize > length) return;
    if (opcode === 4 && opsize === 2) side.flags |= TCP_FLAG_SACK_PERM;
    else if (opcode === 3 && opsize === 3) {
      side.scale = Math.min(b[p], MAX_WSCALE);
      side.flags |= TCP_FLAG_WINDOW_SCALE;
    }
    p += opsize - 2;
    length -= opsize;
  }
}

/** tcp_sack(): the highest right edge of the SACK blocks, if above `sack`. */
function highestSack(s: Seg, sack: number): number {
  let length = s.doff - 20;
  if (!length) return sack;
  const b = s.buf;
  let p = s.l4 + 20;
  // A lone aligned timestamp option is the common case: nothing to find.
  if (length === 12 && b[p] === 1 && b[p + 1] === 1 && b[p + 2] === 8 && b[p + 3] === 10) return sack;
  while (length > 0) {
    const opcode = b[p++];
    if (opcode === 0) return sack;
    if (opcode === 1) {
      length--;
      continue;
    }
    if (length < 2) return sack;
    const opsize = b[p++];
    if (opsize < 2 || opsize > length) return sack;
    if (opcode === 5 && opsize >= 10 && (opsize - 2) % 8 === 0) {
      for (let i = 0; i < opsize - 2; i += 8) {
        const edge = be32(b, p + i + 4);
        if (after(edge, sack)) sack = edge;
      }
      return sack;
    }
    p += opsize - 2;
    length -= opsize;
  }
  return sack;
}

/** tcp_init_sender(): a SYN or SYN/ACK (re)starts its direction's window. */
function initSender(sender: TcpSide, receiver: TcpSide, s: Seg, end: number, win: number, dir: number): void {
  sender.end = end;
  sender.maxend = end;
  sender.maxwin = win === 0 ? 1 : win;
  readOptions(s, sender);
  // RFC 7323: scaling applies only if both sides offered it.
  if (dir === REPLY && !(sender.flags & TCP_FLAG_WINDOW_SCALE && receiver.flags & TCP_FLAG_WINDOW_SCALE)) {
    sender.scale = 0;
    receiver.scale = 0;
  }
}

/** nf_tcp_log_invalid(): a liberal connection lets what the window checks reject pass. */
function windowFail(sender: TcpSide, verdict: number): number {
  return sender.flags & TCP_FLAG_BE_LIBERAL ? WIN_ACCEPT : verdict;
}

const maxAckWindow = (sender: TcpSide): number => (sender.maxwin > MAX_ACK_WIN_CONST ? sender.maxwin : MAX_ACK_WIN_CONST);

/** tcp_in_window(): the sequence and ACK bounds, and what the segment teaches about both windows. */
function inWindow(t: TcpConn, dir: number, index: number, s: Seg): number {
  const sender = t.seen[dir];
  const receiver = t.seen[dir ^ 1];
  let seq = s.seq;
  let ack = s.ackSeq;
  let sack = ack;
  let win = s.win;
  let end = s.end;

  if (receiver.flags & TCP_FLAG_SACK_PERM) sack = highestSack(s, sack);

  if (sender.maxwin === 0) {
    if (s.syn) {
      initSender(sender, receiver, s, end, win, dir);
      if (!s.ack) return WIN_ACCEPT; // simultaneous open
    } else {
      // Picked up midstream: all we know is this segment.
      sender.end = end;
      const swin = u32(win << sender.scale);
      sender.maxwin = swin === 0 ? 1 : swin;
      sender.maxend = u32(end + sender.maxwin);
      if (receiver.maxwin === 0) {
        receiver.end = sack;
        receiver.maxend = sack;
      } else if (sack === u32(receiver.end + 1)) {
        receiver.end = u32(receiver.end + 1); // likely a keepalive's answer
      }
    }
  } else if (s.syn && after(end, sender.end) && (t.state === TCP_CT_SYN_SENT || t.state === TCP_CT_SYN_RECV)) {
    // A reinitialised sender (RFC 793) starts its window again.
    initSender(sender, receiver, s, end, win, dir);
    if (dir === REPLY && !s.ack) return WIN_ACCEPT;
  }

  if (!s.ack) {
    ack = receiver.end;
    sack = ack;
  } else if (s.rst && ack === 0) {
    // Stacks that send RST|ACK with a zero ACK.
    ack = receiver.end;
    sack = ack;
  }

  if (s.rst && seq === 0 && t.state === TCP_CT_SYN_SENT) {
    // A reset answering a SYN.
    seq = sender.end;
    end = seq;
  }

  if (!before(seq, sender.maxend + 1)) {
    const overshot = u32(end - sender.maxend + 1);
    const ackOk = after(sack, receiver.end - maxAckWindow(sender) - 1);
    const inRecvWin = receiver.maxwin !== 0 && after(end, sender.end - receiver.maxwin - 1);
    if (inRecvWin && ackOk && overshot <= receiver.maxwin && before(sack, receiver.end + 1)) {
      // More than the window allows, but the receiver may still ACK it.
      sender.end = end;
      sender.flags |= TCP_FLAG_DATA_UNACKNOWLEDGED;
      return windowFail(sender, WIN_IGNORE);
    }
    return windowFail(sender, WIN_INVALID); // SEQ over the upper bound
  }
  if (!before(sack, receiver.end + 1)) return windowFail(sender, WIN_INVALID); // ACKs data not seen yet
  if (receiver.maxwin && !after(end, sender.end - receiver.maxwin - 1)) return windowFail(sender, WIN_IGNORE); // retransmission of ACKed data
  if (!after(sack, receiver.end - maxAckWindow(sender) - 1)) return windowFail(sender, WIN_IGNORE); // ACK far below

  if (!s.syn) win = u32(win << sender.scale);

  const swin = u32(win + (sack - ack));
  if (sender.maxwin < swin) sender.maxwin = swin;
  if (after(end, sender.end)) {
    sender.end = end;
    sender.flags |= TCP_FLAG_DATA_UNACKNOWLEDGED;
  }
  if (s.ack) {
    if (!(sender.flags & TCP_FLAG_MAXACK_SET)) {
      sender.maxack = ack;
      sender.flags |= TCP_FLAG_MAXACK_SET;
    } else if (after(ack, sender.maxack)) {
      sender.maxack = ack;
    }
  }

  if (receiver.maxwin !== 0 && after(end, sender.maxend)) receiver.maxwin = u32(receiver.maxwin + (end - sender.maxend));
  if (after(sack + win, receiver.maxend - 1)) {
    receiver.maxend = u32(sack + win);
    if (win === 0) receiver.maxend = u32(receiver.maxend + 1);
  }
  if (ack === receiver.end) receiver.flags &= ~TCP_FLAG_DATA_UNACKNOWLEDGED;

  if (index === ACK_SET) {
    if (t.lastDir === dir && t.lastSeq === seq && t.lastAck === ack && t.lastEnd === end && t.lastWin === s.win) {
      t.retrans++;
    } else {
      t.lastDir = dir;
      t.lastSeq = seq;
      t.lastAck = ack;
      t.lastEnd = end;
      t.lastWin = s.win;
      t.retrans = 0;
    }
  }
  return WIN_ACCEPT;
}

/** tcp_new(): only a SYN, or (loose pickup) an ACK, can start a connection. */
function tcpNew(o: TcpOwner, s: Seg): boolean {
  const next = TABLE[ORIGINAL][s.index][TCP_CT_NONE];
  if (next >= INV) return false;
  const t = new TcpConn();
  o.tcp = t;
  const first = t.seen[0];
  first.end = s.end;
  first.maxwin = s.win === 0 ? 1 : s.win;
  if (next === TCP_CT_SYN_SENT) {
    first.maxend = first.end;
    readOptions(s, first);
  } else {
    // Midstream pickup: the history is lost; assume SACK and be liberal
    // about windows, since the scale factors were never seen.
    first.maxend = u32(first.end + first.maxwin);
    first.flags = TCP_FLAG_SACK_PERM | TCP_FLAG_BE_LIBERAL;
    t.seen[1].flags = TCP_FLAG_SACK_PERM | TCP_FLAG_BE_LIBERAL;
  }
  t.lastIndex = NONE_SET;
  return true;
}

const canEarlyDrop = (state: number): boolean =>
  state === TCP_CT_FIN_WAIT || state === TCP_CT_LAST_ACK || state === TCP_CT_TIME_WAIT || state === TCP_CT_CLOSE || state === TCP_CT_CLOSE_WAIT;

/** nf_conntrack_tcp_established(). */
export function tcpEstablished(o: TcpOwner): boolean {
  return o.tcp !== undefined && o.tcp.state === TCP_CT_ESTABLISHED && o.assured;
}

/** nf_ct_set_tcp_be_liberal(): what the OVS module does to established connections. */
export function tcpSetLiberal(t: TcpConn): void {
  t.seen[0].flags |= TCP_FLAG_BE_LIBERAL;
  t.seen[1].flags |= TCP_FLAG_BE_LIBERAL;
}

/**
 * nf_tcp_handle_invalid(): a FIN or RST out of window on an assured
 * connection, answering one from the other side, shortens its timeout so a
 * dead connection does not linger for days.
 */
function handleInvalid(o: TcpOwner, t: TcpConn, dir: number, index: number, now: number): void {
  if (!o.assured || (index !== RST_SET && index !== FIN_SET)) return;
  if (t.lastDir !== dir && (t.lastIndex === FIN_SET || t.lastIndex === RST_SET)) {
    const left = o.expires - now;
    if (left < 120_000) return;
    const unack = TIMEOUT_S[UNACK] * 1000;
    if (left > unack) o.expires = now + unack;
  } else {
    t.lastIndex = index;
    t.lastDir = dir;
  }
}

/** The ignored-packet bookkeeping of nf_conntrack_tcp_packet(): annotate, accept, change nothing else. */
function ignore(t: TcpConn, dir: number, index: number, oldState: number, s: Seg): number {
  t.lastIndex = index;
  t.lastDir = dir;
  t.lastSeq = s.seq;
  t.lastEnd = s.end;
  t.lastWin = s.win;
  if (index === SYN_SET && dir === ORIGINAL) {
    // A SYN on a connection we think open: the ends may be in sync while we
    // are not. Keep its options in case a SYN/ACK answers it.
    const opts = scratchSide;
    opts.reset();
    opts.flags = 0;
    readOptions(s, opts);
    t.lastFlags = opts.flags & (TCP_FLAG_WINDOW_SCALE | TCP_FLAG_SACK_PERM);
    t.lastWscale = opts.flags & TCP_FLAG_WINDOW_SCALE ? opts.scale : 0;
    // An RFC 5961 challenge ACK may follow: it must not count as the last ACK.
    if (oldState === TCP_CT_LAST_ACK) t.lastFlags |= EXP_CHALLENGE_ACK;
  }
  if (oldState === TCP_CT_SYN_SENT && index === ACK_SET && dir === REPLY) t.lastAck = s.ackSeq;
  return TCP_ACCEPT;
}
const scratchSide = new TcpSide();

/**
 * nf_conntrack_tcp_packet() on one segment in direction `dir` (0 original,
 * 1 reply). `fresh`: the entry is not in the table yet (tcp_new() decides if
 * the segment may start it). The caller has checked the checksum. Updates the
 * owner's TCP state, seenReply is the caller's, assured and expires are set
 * here. Returns TCP_INVALID, TCP_ACCEPT, TCP_REPEAT or TCP_ACCEPT_KILL.
 */
export function tcpPacket(o: TcpOwner, dir: number, segment: TcpSegment, fresh: boolean, now: number): number {
  const s = readSegment(segment);
  if (!s) return TCP_INVALID;
  if (fresh && !tcpNew(o, s)) return TCP_INVALID;
  const t = o.tcp;
  if (!t) return TCP_INVALID;

  const index = s.index;
  let oldState = t.state;
  let newState = TABLE[dir][index][oldState];
  let checkWindow = true;

  switch (newState) {
    case TCP_CT_SYN_SENT:
      if (oldState < TCP_CT_TIME_WAIT) break;
      // A SYN after a close or an abort (RFC 1122 4.2.2.13 allows reopening
      // from TIME_WAIT): drop the old entry and track the SYN as new.
      if ((t.seen[dir].flags | t.seen[dir ^ 1].flags) & TCP_FLAG_CLOSE_INIT || (t.lastDir === dir && t.lastIndex === RST_SET)) return TCP_REPEAT;
      return ignore(t, dir, index, oldState, s);
    case IGN:
      if (index === SYNACK_SET && t.lastIndex === SYN_SET && t.lastDir !== dir && s.ackSeq === t.lastEnd) {
        // This SYN/ACK answers a SYN we ignored: the ends are in sync, so
        // take up that SYN's window and restart this side.
        oldState = TCP_CT_SYN_SENT;
        newState = TCP_CT_SYN_RECV;
        const syn = t.seen[t.lastDir];
        syn.end = t.lastEnd;
        syn.maxend = t.lastEnd;
        syn.maxwin = t.lastWin === 0 ? 1 : t.lastWin;
        syn.scale = t.lastWscale;
        t.lastFlags &= ~EXP_CHALLENGE_ACK;
        syn.flags = t.lastFlags;
        t.seen[dir].reset();
        break;
      }
      return ignore(t, dir, index, oldState, s);
    case INV:
      return TCP_INVALID;
    case TCP_CT_TIME_WAIT:
      if (oldState === TCP_CT_LAST_ACK && index === ACK_SET && t.lastDir !== dir && t.lastIndex === SYN_SET && t.lastFlags & EXP_CHALLENGE_ACK) {
        // A challenge ACK (RFC 5961), not the last ACK: no state change.
        t.lastFlags &= ~EXP_CHALLENGE_ACK;
        return TCP_ACCEPT;
      }
      break;
    case TCP_CT_SYN_SENT2:
      t.lastFlags |= SIMULTANEOUS_OPEN;
      break;
    case TCP_CT_SYN_RECV:
      if (dir === REPLY && index === ACK_SET && t.lastFlags & SIMULTANEOUS_OPEN) newState = TCP_CT_ESTABLISHED;
      break;
    case TCP_CT_CLOSE: {
      if (index !== RST_SET) break;
      if (canEarlyDrop(t.state)) {
        // Closing already: the tuple may have been reused, skip the checks.
        checkWindow = false;
        break;
      }
      const other = t.seen[dir ^ 1];
      if (other.flags & TCP_FLAG_MAXACK_SET && t.lastIndex !== SYN_SET) {
        const seq = s.seq;
        if (seq === 0 && !tcpEstablished(o)) break;
        if (before(seq, other.maxack)) return TCP_INVALID; // a reset below what was acknowledged
        if (!tcpEstablished(o) || seq === other.maxack) break;
        if (t.lastIndex === ACK_SET && t.lastDir === dir && seq === t.lastEnd) break;
        // Not an exact match: keep the state so a challenge ACK can follow.
        newState = oldState;
      }
      if (((o.seenReply && t.lastIndex === SYN_SET) || (!o.assured && t.lastIndex === ACK_SET)) && s.ackSeq === t.lastEnd) {
        // A reset answering a SYN or ACK let through while out of sync.
        checkWindow = false;
        break;
      }
      if (oldState === TCP_CT_SYN_SENT && t.lastIndex === ACK_SET && t.lastDir === REPLY && s.seq === t.lastAck) {
        // A reset answering a challenge ACK.
        checkWindow = false;
        break;
      }
      break;
    }
    default:
      break;
  }

  if (checkWindow) {
    const w = inWindow(t, dir, index, s);
    if (w === WIN_IGNORE) return TCP_ACCEPT;
    if (w === WIN_INVALID) {
      handleInvalid(o, t, dir, index, now);
      return TCP_INVALID;
    }
  }

  t.lastIndex = index;
  t.lastDir = dir;
  t.state = newState;
  if (oldState !== newState && newState === TCP_CT_FIN_WAIT) t.seen[dir].flags |= TCP_FLAG_CLOSE_INIT;

  const T = o.timeouts ?? TIMEOUT_S;
  let timeout: number;
  if (t.retrans >= MAX_RETRANS && T[newState] > T[RETRANS]) timeout = T[RETRANS];
  else if (index === RST_SET) timeout = T[TCP_CT_CLOSE];
  else if ((t.seen[0].flags | t.seen[1].flags) & TCP_FLAG_DATA_UNACKNOWLEDGED && T[newState] > T[UNACK]) timeout = T[UNACK];
  else if (t.lastWin === 0 && T[newState] > T[RETRANS]) timeout = T[RETRANS];
  else timeout = T[newState];

  if (!o.seenReply) {
    // A reset as the only answer: no connection to keep.
    if (s.rst) return TCP_ACCEPT_KILL;
    // A retransmitted SYN does not extend the entry (port reuse would keep it forever).
    if (index === SYN_SET && oldState === TCP_CT_SYN_SENT) return TCP_ACCEPT;
    // Picked up midstream and never answered: not the long ESTABLISHED timeout.
    if (newState === TCP_CT_ESTABLISHED && timeout > T[UNACK]) timeout = T[UNACK];
  } else if (!o.assured && (oldState === TCP_CT_SYN_RECV || oldState === TCP_CT_ESTABLISHED) && newState === TCP_CT_ESTABLISHED) {
    o.assured = true;
  }
  o.expires = now + timeout * 1000;
  return TCP_ACCEPT;
}
