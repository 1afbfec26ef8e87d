// IPv4 fragments as ct() sees them in the module: reassembled first
// (ovs_ct_handle_fragments → ip_defrag, one queue per zone, source,
// destination, protocol and id), and cut again on output to the largest
// fragment's size (do_output → ovs_fragment → ip_do_fragment). Pure: the
// clock is the caller's.
import { FragQueues, type Piece } from './frag-queues.js';
import { be16, putBe16 } from './bytes.js';
import { setIpv4HeaderChecksum } from './checksum.js';
import { IP_DF, IP_MF, IP_OFFSET } from './constants.js';

/** net.ipv4.ipfrag_time: an incomplete datagram is dropped after this long. */
export const IPFRAG_TIME_MS = 30_000;
/** Datagrams being reassembled at once (the kernel bounds memory instead: ipfrag_high_thresh). */
export const MAX_QUEUES = 1024;
/** The largest IPv4 datagram. */
const IP_MAX = 0xffff;

interface Queue {
  pieces: Piece[];
  /** End of the datagram's payload, once the last fragment (MF clear) came. */
  end: number;
  /** The offset-0 fragment's link-layer and IP headers. */
  head?: Uint8Array;
  headL3: number;
  /** Largest fragment seen (IP length), and the largest with DF set. */
  maxSize: number;
  maxDfSize: number;
  expires: number;
}

export type DefragResult = { frame: Uint8Array; mru: number } | 'queued' | 'dropped';

/** Reassembly queues for one network namespace's conntrack (ip_defrag with IP_DEFRAG_CONNTRACK_IN + zone). */
export class Ipv4Defrag extends FragQueues<Queue> {
  /**
   * Takes one fragment (its IPv4 header at `l3`). Returns the whole datagram
   * with the link-layer header of its first fragment and the size of its
   * largest fragment, or 'queued' (held for the rest), or 'dropped'.
   */
  add(frame: Uint8Array, l3: number, zone: number, now: number): DefragResult {
    this.expire(now);
    const ihl = (frame[l3] & 0x0f) * 4;
    const total = be16(frame, l3 + 2);
    if (ihl < 20 || total < ihl || l3 + total > frame.length) return 'dropped';
    const fo = be16(frame, l3 + 6);
    const off = (fo & IP_OFFSET) * 8;
    const len = total - ihl;
    const end = off + len;
    const more = (fo & IP_MF) !== 0;
    // A fragment that is not the last carries a multiple of 8 bytes (ip_frag_queue).
    if (end > IP_MAX || (more && len % 8) || (more && len === 0)) return 'dropped';
    const key = `${zone}|${Array.from(frame.subarray(l3 + 12, l3 + 20)).join('.')}|${frame[l3 + 9]}|${be16(frame, l3 + 4)}`;
    let q = this.queues.get(key);
    if (!q) {
      if (this.queues.size >= MAX_QUEUES) return 'dropped';
      q = { pieces: [], end: -1, headL3: 0, maxSize: 0, maxDfSize: 0, expires: now + IPFRAG_TIME_MS };
      this.queues.set(key, q);
    }
    if (!more) {
      // A second, different end, or data past it: the datagram is bad.
      if ((q.end >= 0 && q.end !== end) || q.pieces.some((p) => p.end > end)) return this.kill(key);
      q.end = end;
    } else if (q.end >= 0 && end > q.end) {
      return this.kill(key);
    }
    for (const p of q.pieces) {
      if (p.off === off && p.end === end) return 'dropped'; // a duplicate: dropped alone
      if (off < p.end && p.off < end) return this.kill(key); // an overlap: the whole datagram goes
    }
    q.pieces.push({ off, end, data: frame.slice(l3 + ihl, l3 + total) });
    if (off === 0) {
      q.head = frame.slice(0, l3 + ihl);
      q.headL3 = l3;
    }
    q.maxSize = Math.max(q.maxSize, total);
    if (fo & IP_DF) q.maxDfSize = Math.max(q.maxDfSize, total);
    if (q.end < 0 || !q.head) return 'queued';
    q.pieces.sort((a, b) => a.off - b.off);
    let at = 0;
    for (const p of q.pieces) {
      if (p.off !== at) return 'queued';
      at = p.end;
    }
    if (at !== q.end) return 'queued';
    this.queues.delete(key);
    const { head, headL3 } = q;
    const hlen = head.length - headL3;
    if (hlen + q.end > IP_MAX) return 'dropped';
    const out = new Uint8Array(head.length + q.end);
    out.set(head, 0);
    for (const p of q.pieces) out.set(p.data, head.length + p.off);
    putBe16(out, headL3 + 2, hlen + q.end);
    // ip_frag_reasm: DF only if the largest fragment had it.
    putBe16(out, headL3 + 6, q.maxDfSize === q.maxSize ? IP_DF : 0);
    setIpv4HeaderChecksum(out, headL3);
    return { frame: out, mru: q.maxSize };
  }
}

/**
 * The datagram in `frame` (IPv4 header at `l3`, no options past what the
 * first fragment keeps) cut into fragments of at most `mru` bytes of IP, as
 * ip_do_fragment's slow path cuts it; each with the link-layer header.
 */
export function fragmentIpv4(frame: Uint8Array, l3: number, mru: number): Uint8Array[] {
  const ihl = (frame[l3] & 0x0f) * 4;
  const total = be16(frame, l3 + 2);
  const df = be16(frame, l3 + 6) & IP_DF;
  const payload = frame.subarray(l3 + ihl, l3 + total);
  const step = (mru - ihl) & ~7;
  if (step <= 0) return [];
  const out: Uint8Array[] = [];
  for (let off = 0; off < payload.length; off += step) {
    const len = Math.min(step, payload.length - off);
    const f = new Uint8Array(l3 + ihl + len);
    f.set(frame.subarray(0, l3 + ihl), 0);
    f.set(payload.subarray(off, off + len), l3 + ihl);
    putBe16(f, l3 + 2, ihl + len);
    putBe16(f, l3 + 6, df | (off >> 3) | (off + len < payload.length ? IP_MF : 0));
    setIpv4HeaderChecksum(f, l3);
    out.push(f);
  }
  return out;
}
