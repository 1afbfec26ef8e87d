// Classic pcap (libpcap's file format, little-endian, microsecond
// timestamps), the one every version of Wireshark and tcpdump reads. Pure:
// bytes out, the caller writes them.
//
// File header (24 bytes): magic a1b2c3d4, version 2.4, thiszone 0,
// sigfigs 0, snaplen, link type. Record: ts_sec, ts_usec, incl_len,
// orig_len (16 bytes), then incl_len bytes of frame.

export const PCAP_MAGIC = 0xa1b2c3d4;
/** LINKTYPE_ETHERNET: the frames start with an Ethernet header. */
export const LINKTYPE_ETHERNET = 1;
/** tcpdump's default: more than any frame an upcall carries (64 KiB). */
export const PCAP_SNAPLEN = 262144;
export const PCAP_HEADER_BYTES = 24;
export const PCAP_RECORD_HEADER_BYTES = 16;

export interface PcapHeaderOptions {
  snaplen?: number;
  linktype?: number;
}

export function pcapFileHeader(opts: PcapHeaderOptions = {}): Uint8Array {
  const b = new Uint8Array(PCAP_HEADER_BYTES);
  const v = new DataView(b.buffer);
  v.setUint32(0, PCAP_MAGIC, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  // thiszone and sigfigs stay 0: timestamps are UTC.
  v.setUint32(16, opts.snaplen ?? PCAP_SNAPLEN, true);
  v.setUint32(20, opts.linktype ?? LINKTYPE_ETHERNET, true);
  return b;
}

export interface PcapRecord {
  /** Microseconds since the Unix epoch. */
  timeMicros: bigint;
  frame: Uint8Array;
  /** The frame's length on the wire, when `frame` was cut short (a trunc action); default frame.length. */
  origLen?: number;
}

/** One record; frames longer than the snaplen are cut to it (orig_len keeps the length). */
export function pcapRecord(r: PcapRecord, snaplen = PCAP_SNAPLEN): Uint8Array {
  if (r.timeMicros < 0n) throw new RangeError(`pcap: negative timestamp ${r.timeMicros}`);
  const incl = Math.min(r.frame.length, snaplen);
  const orig = Math.max(r.origLen ?? r.frame.length, r.frame.length);
  const b = new Uint8Array(PCAP_RECORD_HEADER_BYTES + incl);
  const v = new DataView(b.buffer);
  v.setUint32(0, Number(r.timeMicros / 1_000_000n), true);
  v.setUint32(4, Number(r.timeMicros % 1_000_000n), true);
  v.setUint32(8, incl, true);
  v.setUint32(12, orig, true);
  b.set(r.frame.subarray(0, incl), PCAP_RECORD_HEADER_BYTES);
  return b;
}
