// IPv6 and its extension headers as the kernel's parse_ipv6hdr() reads them:
// ipv6_find_hdr() walks hop-by-hop, routing, fragment, destination options
// and AH headers to the upper-layer header (ESP and "no next header" end the
// walk as upper layers), and get_ipv6_ext_hdrs() sums up which headers were
// seen for OVS_KEY_ATTR_IPV6_EXTHDRS. Their quirks are kept on purpose: keys
// must equal the kernel's.
import { be16, putBe16, putBe32 } from './bytes.js';
import {
  FRAG_FIRST,
  FRAG_LATER,
  FRAG_NONE,
  IPPROTO_AH,
  IPPROTO_DSTOPTS,
  IPPROTO_FRAGMENT,
  IPPROTO_HOPOPTS,
  IPPROTO_NONE,
  IPPROTO_ROUTING,
  IPV6_EXT_AUTH,
  IPV6_EXT_DEST,
  IPV6_EXT_ESP,
  IPV6_EXT_FRAG,
  IPV6_EXT_HOP,
  IPV6_EXT_NONEXT,
  IPV6_EXT_ROUTER,
  IPV6_EXT_UNREP,
  IPV6_EXT_UNSEQ,
  IPV6_HLEN,
} from './constants.js';
import { Layer, type ParsedPacket } from './result.js';

/** The kernel's ipv6_ext_hdr(): the next-header values it steps over (and NONE, which ends a walk). */
export function isIpv6ExtHdr(nh: number): boolean {
  return (
    nh === IPPROTO_HOPOPTS ||
    nh === IPPROTO_ROUTING ||
    nh === IPPROTO_FRAGMENT ||
    nh === IPPROTO_AH ||
    nh === IPPROTO_NONE ||
    nh === IPPROTO_DSTOPTS
  );
}

/** Parses the IPv6 header at p.l3 and its extension headers; true if a transport header should be parsed next. */
export function parseIpv6(p: ParsedPacket): boolean {
  const b = p.buf;
  const l3 = p.l3;
  const len = p.len;
  if (len - l3 < IPV6_HLEN) {
    p.truncated = Layer.IPV6;
    return false;
  }
  p.layers |= Layer.IPV6;
  const w0 = be16(b, l3);
  p.ipTos = (w0 >>> 4) & 0xff;
  p.ipv6Label = ((b[l3 + 1] & 15) << 16) | be16(b, l3 + 2);
  p.ipTotalLen = IPV6_HLEN + be16(b, l3 + 4);
  p.ipTtl = b[l3 + 7];
  p.ipv6Exthdrs = extHdrFlags(b, l3, len);

  // ipv6_find_hdr(target -1). Until the walk ends the key's protocol is NONE,
  // which is what it stays if the chain is cut short.
  p.ipProto = IPPROTO_NONE;
  let nh = b[l3 + 6];
  let off = l3 + IPV6_HLEN;
  let sawFrag = false;
  let walked = false;
  for (;;) {
    if (!isIpv6ExtHdr(nh) || nh === IPPROTO_NONE) break;
    walked = true;
    // Every header needs its next-header and length bytes, a routing header
    // its first four bytes, a fragment header its offset word. A fragment
    // header counts as seen as soon as its first two bytes are there.
    if (nh === IPPROTO_FRAGMENT && len - off >= 2) sawFrag = true;
    if (len - off < 2 || ((nh === IPPROTO_ROUTING || nh === IPPROTO_FRAGMENT) && len - off < 4)) {
      p.ipFrag = sawFrag ? FRAG_FIRST : FRAG_NONE;
      p.truncated = Layer.IPV6_EXT;
      return false;
    }
    let hdrLen: number;
    if (nh === IPPROTO_FRAGMENT) {
      p.ipv6FragHdr = off;
      const fw = be16(b, off + 2);
      p.ipFragOff = fw >>> 3;
      p.ipMoreFrags = fw & 1;
      if (p.ipFragOff !== 0) {
        const next = b[off];
        if (!isIpv6ExtHdr(next) || next === IPPROTO_NONE) {
          // A later fragment: the key's protocol is the fragment header's own
          // number, and nothing past it is keyed.
          p.ipFrag = FRAG_LATER;
          p.ipProto = IPPROTO_FRAGMENT;
          p.ipHdrLen = off + 8 - l3;
          p.l4 = off + 8;
          p.l4Proto = next;
          p.layers |= Layer.IPV6_EXT;
          return false;
        }
        // A later fragment followed by another extension header: the kernel's
        // lookup fails before it records the offset, so such a packet is keyed
        // as a FIRST fragment whose protocol is NONE.
        p.ipFrag = FRAG_FIRST;
        p.malformed = Layer.IPV6_EXT;
        return false;
      }
      hdrLen = 8;
    } else if (nh === IPPROTO_AH) {
      hdrLen = (b[off + 1] + 2) << 2;
    } else {
      hdrLen = (b[off + 1] + 1) << 3;
    }
    nh = b[off];
    off += hdrLen;
  }
  // The 6.1 module (measured in test/diff) keys the upper layer only once
  // the whole chain is in the frame: cut inside the last extension header,
  // the protocol stays NONE and no transport header is keyed. 6.12 does
  // not check: the upper-layer header then starts past the end, absent.
  if (off > len && p.ipv6ChainMustFit) {
    p.ipFrag = sawFrag ? FRAG_FIRST : FRAG_NONE;
    p.truncated = Layer.IPV6_EXT;
    return false;
  }
  if (walked) p.layers |= Layer.IPV6_EXT;
  p.ipFrag = sawFrag ? FRAG_FIRST : FRAG_NONE;
  p.ipProto = nh;
  p.ipHdrLen = off - l3;
  p.l4 = off;
  p.l4Proto = nh;
  return true;
}

/**
 * OVS_KEY_ATTR_IPV6_EXTHDRS as the kernel's get_ipv6_ext_hdrs() computes it,
 * quirks included: ESP never counts (ipv6_ext_hdr() stops the walk before it);
 * the ordering check for AH lists IPPROTO_FRAGMENT (44) where the
 * FRAG bit was meant, so a fragment header before AH sets UNSEQ; and every
 * header, AH and fragment included, is stepped over as (len + 1) * 8 bytes.
 */
export function extHdrFlags(b: Uint8Array, l3: number, len: number): number {
  let f = 0;
  let dest = 0;
  let nh = b[l3 + 6];
  let off = l3 + IPV6_HLEN;
  const FRAG_AS_WRITTEN = IPPROTO_FRAGMENT; // sic: the kernel's mask
  while (isIpv6ExtHdr(nh)) {
    switch (nh) {
      case IPPROTO_NONE:
        return f | IPV6_EXT_NONEXT;
      case IPPROTO_AH:
        if (f & IPV6_EXT_AUTH) f |= IPV6_EXT_UNREP;
        if (f & ~(IPV6_EXT_HOP | IPV6_EXT_DEST | IPV6_EXT_ROUTER | FRAG_AS_WRITTEN | IPV6_EXT_UNREP) || dest >= 2) f |= IPV6_EXT_UNSEQ;
        f |= IPV6_EXT_AUTH;
        break;
      case IPPROTO_DSTOPTS:
        if (dest === 0) {
          if (f & ~(IPV6_EXT_HOP | IPV6_EXT_UNREP)) f |= IPV6_EXT_UNSEQ;
          f |= IPV6_EXT_DEST;
        } else if (dest === 1) {
          const allowed =
            IPV6_EXT_HOP | IPV6_EXT_DEST | IPV6_EXT_ROUTER | IPV6_EXT_FRAG | IPV6_EXT_AUTH | IPV6_EXT_ESP | IPV6_EXT_UNREP;
          if (f & ~allowed) f |= IPV6_EXT_UNSEQ;
        } else {
          f |= IPV6_EXT_UNREP;
        }
        dest++;
        break;
      case IPPROTO_FRAGMENT:
        if (f & IPV6_EXT_FRAG) f |= IPV6_EXT_UNREP;
        if (f & ~(IPV6_EXT_HOP | IPV6_EXT_DEST | IPV6_EXT_ROUTER | IPV6_EXT_UNREP) || dest >= 2) f |= IPV6_EXT_UNSEQ;
        f |= IPV6_EXT_FRAG;
        break;
      case IPPROTO_ROUTING:
        if (f & IPV6_EXT_ROUTER) f |= IPV6_EXT_UNREP;
        if (f & ~(IPV6_EXT_HOP | IPV6_EXT_DEST | IPV6_EXT_UNREP) || dest >= 2) f |= IPV6_EXT_UNSEQ;
        f |= IPV6_EXT_ROUTER;
        break;
      case IPPROTO_HOPOPTS:
        if (f & IPV6_EXT_HOP) f |= IPV6_EXT_UNREP;
        // Hop-by-hop counts as HOP only as the first header.
        f |= f === 0 ? IPV6_EXT_HOP : IPV6_EXT_UNSEQ;
        break;
    }
    if (len - off < 2) break;
    nh = b[off];
    off += (b[off + 1] + 1) << 3;
  }
  return f;
}

/** Writes the 40-byte IPv6 header; returns the offset after it. */
export function writeIpv6Header(
  b: Uint8Array,
  off: number,
  tclass: number,
  flowLabel: number,
  payloadLen: number,
  nextHeader: number,
  hopLimit: number,
  src: Uint8Array,
  dst: Uint8Array,
): number {
  putBe32(b, off, ((6 << 28) | ((tclass & 0xff) << 20) | (flowLabel & 0xfffff)) >>> 0);
  putBe16(b, off + 4, payloadLen);
  b[off + 6] = nextHeader;
  b[off + 7] = hopLimit;
  b.set(src.subarray(0, 16), off + 8);
  b.set(dst.subarray(0, 16), off + 24);
  return off + IPV6_HLEN;
}

/**
 * Writes a hop-by-hop or destination options header around `opts`, padded to
 * a multiple of 8 with a Pad1/PadN option; returns the offset after it.
 */
export function writeIpv6Options(b: Uint8Array, off: number, nextHeader: number, opts: Uint8Array): number {
  const total = ipv6OptionsLen(opts.length);
  b[off] = nextHeader;
  b[off + 1] = total / 8 - 1;
  b.set(opts, off + 2);
  const pad = total - 2 - opts.length;
  const at = off + 2 + opts.length;
  if (pad === 1) b[at] = 0;
  else if (pad > 1) {
    b[at] = 1;
    b[at + 1] = pad - 2;
    b.fill(0, at + 2, at + pad);
  }
  return off + total;
}

export function ipv6OptionsLen(optsLen: number): number {
  return (optsLen + 2 + 7) & ~7;
}

/** Writes an 8-byte fragment header; `offset` in 8-byte units. */
export function writeIpv6Fragment(b: Uint8Array, off: number, nextHeader: number, offset: number, more: boolean, id: number): number {
  b[off] = nextHeader;
  b[off + 1] = 0;
  putBe16(b, off + 2, ((offset & 0x1fff) << 3) | (more ? 1 : 0));
  putBe32(b, off + 4, id);
  return off + 8;
}

/**
 * Whether the kernel of this release cuts a short IPv6 extension chain to
 * protocol 59 (ParsedPacket.ipv6ChainMustFit). Measured: 6.1 (Debian
 * 6.1.0-56) and 6.12.117 do, 6.12.107 does not: the 6.12 series reached it
 * through a stable update after 107, a fix from mainline, so later mainline
 * releases are taken to cut too, as are those before 6.12 (not measured).
 */
export function kernelCutsShortIpv6Chain(release: string): boolean {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  if (!m) return true;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  return !(major === 6 && minor === 12 && patch < UNCUT_6_12_BEFORE);
}

/** The first 6.12 stable release measured to cut a short chain again (6.12.107 did not). */
const UNCUT_6_12_BEFORE = 117;
