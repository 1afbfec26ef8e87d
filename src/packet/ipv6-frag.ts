// IPv6 fragments as ct() sees them in the module: reassembled first
// (ovs_ct_handle_fragments → nf_ct_frag6_gather, one queue per zone, id,
// source and destination; the fragment header is taken out of the whole
// datagram), and cut again on output (do_output → ovs_fragment →
// ip6_fragment), never into pieces under IPv6's minimum MTU. Pure: the clock
// and the fragment ids are the caller's.
import { FragQueues, type Piece } from './frag-queues.js';
import { be16, putBe16, putBe32 } from './bytes.js';
import { IPPROTO_FRAGMENT } from './constants.js';

/** IPV6_FRAG_TIMEOUT (nf_conntrack_frag6_timeout): an incomplete datagram is dropped after this long. */
export const IPV6_FRAG_TIME_MS = 60_000;
/** Datagrams being reassembled at once (the kernel bounds memory instead). */
export const MAX_QUEUES6 = 1024;
const IPV6_MAXPLEN = 0xffff;
const IPV6_MIN_MTU = 1280;
const NEXTHDR_HOP = 0;
const NEXTHDR_ROUTING = 43;
const NEXTHDR_AUTH = 51;
const NEXTHDR_NONE = 59;
const NEXTHDR_DEST = 60;

interface Queue {
  pieces: Piece[];
  /** Bytes of fragment data held (the kernel's meat). */
  meat: number;
  /** The datagram's length as known so far, final once the last fragment came. */
  len: number;
  lastIn: boolean;
  /** The offset-0 fragment up to its fragment header, and where the byte naming that header is. */
  head?: Uint8Array;
  prevNh: number;
  nexthdr: number;
  /** Largest fragment payload length seen (the kernel's max_size). */
  maxPayload: number;
  expires: number;
}

/**
 * A whole datagram with its largest fragment's size; 'queued' (held for the
 * rest); 'dropped'; or 'as-is' (no fragment header to reassemble by, or a
 * fragment the kernel lets through untouched after killing its queue).
 */
export type Defrag6Result = { frame: Uint8Array; mru: number } | 'queued' | 'dropped' | 'as-is';

/** ipv6_ext_hdr(): a header that chains to another. */
const isExtHdr = (nh: number): boolean => nh === NEXTHDR_HOP || nh === NEXTHDR_ROUTING || nh === IPPROTO_FRAGMENT || nh === NEXTHDR_AUTH || nh === NEXTHDR_NONE || nh === NEXTHDR_DEST || nh === 135 || nh === 139 || nh === 140 || nh === 253 || nh === 254;

/** Reassembly queues for one network namespace's conntrack (nf_ct_frag6_gather with IP6_DEFRAG_CONNTRACK_IN + zone). */
export class Ipv6Defrag extends FragQueues<Queue> {
  /** Takes one packet whose IPv6 header is at `l3`. */
  add(frame: Uint8Array, l3: number, zone: number, now: number): Defrag6Result {
    this.expire(now);
    if (l3 + 40 > frame.length) return 'as-is';
    const payloadLen = be16(frame, l3 + 4);
    // A jumbogram has no fragment header.
    if (payloadLen === 0 || l3 + 40 + payloadLen > frame.length) return 'as-is';
    // find_prev_fhdr(): the headers before the fragment header.
    let nh = frame[l3 + 6];
    let prevNh = l3 + 6;
    let at = l3 + 40;
    const end = l3 + 40 + payloadLen;
    while (nh !== IPPROTO_FRAGMENT) {
      if (!isExtHdr(nh) || nh === NEXTHDR_NONE || at + 8 > end) return 'as-is';
      const hlen = nh === NEXTHDR_AUTH ? (frame[at + 1] + 2) << 2 : (frame[at + 1] + 1) << 3;
      prevNh = at;
      nh = frame[at];
      at += hlen;
    }
    if (at + 8 > end) return 'dropped';
    const fo = be16(frame, at + 2);
    const off = fo & ~7;
    const more = (fo & 1) !== 0;
    const dataStart = at + 8;
    const fragEnd = off + (end - dataStart);
    if (fragEnd > IPV6_MAXPLEN) return 'dropped';
    const key = `${zone}|${frame[at + 4]}.${frame[at + 5]}.${frame[at + 6]}.${frame[at + 7]}|${Array.from(frame.subarray(l3 + 8, l3 + 40)).join('.')}`;
    let q = this.queues.get(key);
    if (!q) {
      if (this.queues.size >= MAX_QUEUES6) return 'dropped';
      q = { pieces: [], meat: 0, len: 0, lastIn: false, prevNh: 0, nexthdr: 0, maxPayload: 0, expires: now + IPV6_FRAG_TIME_MS };
      this.queues.set(key, q);
    }
    if (!more) {
      // A second, different end, or data past it: this fragment is bad (the queue stays).
      if (fragEnd < q.len || (q.lastIn && fragEnd !== q.len)) return 'dropped';
      q.lastIn = true;
      q.len = fragEnd;
    } else {
      // Not a multiple of 8: the queue dies and the packet goes on as it is (-EPROTO).
      if (fragEnd & 7) {
        this.queues.delete(key);
        return 'as-is';
      }
      if (fragEnd > q.len) {
        if (q.lastIn) return 'dropped';
        q.len = fragEnd;
      }
    }
    if (fragEnd === off) return 'dropped';
    // inet_frag_queue_insert(): inside what is held already, a duplicate; across its edge, an overlap that kills the datagram.
    let covered = 0;
    for (const p of q.pieces) {
      if (off < p.end && p.off < fragEnd) {
        if (p.off <= off && fragEnd <= p.end) return 'queued';
        covered += Math.min(p.end, fragEnd) - Math.max(p.off, off);
      }
    }
    if (covered === fragEnd - off) return 'queued';
    if (covered > 0) return this.kill(key);
    q.pieces.push({ off, end: fragEnd, data: frame.slice(dataStart, end) });
    q.meat += fragEnd - off;
    q.maxPayload = Math.max(q.maxPayload, payloadLen);
    if (off === 0) {
      q.head = frame.slice(0, at);
      q.prevNh = prevNh;
      q.nexthdr = frame[at];
    }
    if (!q.lastIn || !q.head || q.meat !== q.len) return 'queued';
    this.queues.delete(key);
    // nf_ct_frag6_reasm(): the fragment header goes, its next header takes its place in the chain.
    const head = q.head;
    const unfrag = head.length - l3 - 40;
    if (unfrag + q.len > IPV6_MAXPLEN) return 'dropped';
    const out = new Uint8Array(head.length + q.len);
    out.set(head, 0);
    for (const p of q.pieces) out.set(p.data, head.length + p.off);
    out[q.prevNh] = q.nexthdr;
    putBe16(out, l3 + 4, unfrag + q.len);
    return { frame: out, mru: 40 + q.maxPayload };
  }
}

/** ip6_find_1stfragopt(): the length of the part every fragment repeats (IPv6 header, hop-by-hop, routing, and destination options before a routing header). */
function unfragmentableLength(frame: Uint8Array, l3: number, end: number): { hlen: number; prevNh: number } {
  let off = 40;
  let prevNh = l3 + 6;
  let nh = frame[l3 + 6];
  let foundRouting = false;
  while (l3 + off + 2 <= end) {
    if (nh === NEXTHDR_ROUTING) foundRouting = true;
    else if (nh === NEXTHDR_DEST) {
      if (foundRouting) break;
    } else if (nh !== NEXTHDR_HOP) break;
    const hlen = (frame[l3 + off + 1] + 1) << 3;
    prevNh = l3 + off;
    nh = frame[l3 + off];
    off += hlen;
  }
  return { hlen: off, prevNh };
}

/**
 * The datagram in `frame` (IPv6 header at `l3`) cut as ip6_fragment's slow
 * path cuts it for a received datagram: pieces of at most `mru` bytes of
 * IPv6 (but not under 1280), each with the link-layer header, the
 * unfragmentable headers and a fragment header with `id`.
 */
export function fragmentIpv6(frame: Uint8Array, l3: number, mru: number, id: number): Uint8Array[] {
  const end = l3 + 40 + be16(frame, l3 + 4);
  const { hlen, prevNh } = unfragmentableLength(frame, l3, end);
  const mtu = Math.max(mru, IPV6_MIN_MTU) - hlen - 8;
  if (mtu < 8) return [];
  const nexthdr = frame[prevNh];
  const payload = frame.subarray(l3 + hlen, end);
  const out: Uint8Array[] = [];
  for (let off = 0; off < payload.length; ) {
    let len = Math.min(payload.length - off, mtu);
    if (len < payload.length - off) len &= ~7;
    const f = new Uint8Array(l3 + hlen + 8 + len);
    f.set(frame.subarray(0, l3 + hlen), 0);
    f[prevNh] = IPPROTO_FRAGMENT;
    putBe16(f, l3 + 4, hlen - 40 + 8 + len);
    const fh = l3 + hlen;
    f[fh] = nexthdr;
    f[fh + 1] = 0;
    putBe16(f, fh + 2, off | (off + len < payload.length ? 1 : 0));
    putBe32(f, fh + 4, id);
    f.set(payload.subarray(off, off + len), fh + 8);
    out.push(f);
    off += len;
  }
  return out;
}
