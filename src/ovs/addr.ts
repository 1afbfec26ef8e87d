// Addresses in the models are strings in the exact text OVS prints (MACs as
// lowercase xx:xx:xx:xx:xx:xx, IPv4 dotted quad, IPv6 as glibc's inet_ntop
// writes it), so formatting is a copy and equality is string equality. These
// helpers convert between that text and the wire bytes.

const HEX = '0123456789abcdef';
const BYTE_HEX: string[] = Array.from({ length: 256 }, (_, i) => HEX[i >> 4] + HEX[i & 15]);

export type Mac = string;
export type Ipv4 = string;
export type Ipv6 = string;

export const MAC_ZERO: Mac = '00:00:00:00:00:00';
export const MAC_ONES: Mac = 'ff:ff:ff:ff:ff:ff';
export const IPV4_ZERO: Ipv4 = '0.0.0.0';
export const IPV4_ONES: Ipv4 = '255.255.255.255';
export const IPV6_ZERO: Ipv6 = '::';
export const IPV6_ONES: Ipv6 = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';

export function byteHex(b: number): string {
  return BYTE_HEX[b & 0xff];
}

/** Hex digit value of a char code, or -1. */
export function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

// Each byte's two hex digits as character codes.
const HEX_HI = new Uint8Array(256);
const HEX_LO = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  HEX_HI[i] = BYTE_HEX[i].charCodeAt(0);
  HEX_LO[i] = BYTE_HEX[i].charCodeAt(1);
}

export function macFromBytes(b: Uint8Array, off = 0): Mac {
  // One flat string from its 17 character codes: concatenating the parts
  // made rope strings that a Map lookup then flattened (4x the time, and
  // every upcall key has two MACs).
  const x0 = b[off], x1 = b[off + 1], x2 = b[off + 2], x3 = b[off + 3], x4 = b[off + 4], x5 = b[off + 5];
  return String.fromCharCode(
    HEX_HI[x0], HEX_LO[x0], 58, HEX_HI[x1], HEX_LO[x1], 58, HEX_HI[x2], HEX_LO[x2], 58,
    HEX_HI[x3], HEX_LO[x3], 58, HEX_HI[x4], HEX_LO[x4], 58, HEX_HI[x5], HEX_LO[x5],
  );
}

/** Writes a MAC (1 or 2 hex digits per octet) into out[off..off+6); false if the text is not a MAC. */
export function macIntoBytes(s: string, out: Uint8Array, off = 0): boolean {
  let i = 0;
  for (let k = 0; k < 6; k++) {
    if (k > 0) {
      if (s.charCodeAt(i) !== 58) return false;
      i++;
    }
    const a = hexVal(s.charCodeAt(i));
    if (a < 0) return false;
    i++;
    const b = hexVal(s.charCodeAt(i));
    if (b >= 0) {
      out[off + k] = (a << 4) | b;
      i++;
    } else {
      out[off + k] = a;
    }
  }
  return i === s.length;
}

export function macToBytes(s: Mac): Uint8Array {
  const out = new Uint8Array(6);
  if (!macIntoBytes(s, out)) throw new RangeError(`not a MAC address: ${JSON.stringify(s)}`);
  return out;
}

export function ipv4FromU32(v: number): Ipv4 {
  return `${(v >>> 24) & 0xff}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

export function ipv4FromBytes(b: Uint8Array, off = 0): Ipv4 {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** Dotted quad to a u32 in host arithmetic (network order value), or -1 if malformed. */
export function ipv4ToU32OrNeg(s: string): number {
  let v = 0;
  let i = 0;
  for (let k = 0; k < 4; k++) {
    if (k > 0) {
      if (s.charCodeAt(i) !== 46) return -1;
      i++;
    }
    let n = 0;
    let digits = 0;
    for (;;) {
      const c = s.charCodeAt(i);
      if (!(c >= 48 && c <= 57)) break;
      n = n * 10 + (c - 48);
      digits++;
      i++;
      if (digits > 3) return -1;
    }
    if (digits === 0 || n > 255) return -1;
    v = v * 256 + n;
  }
  return i === s.length ? v : -1;
}

export function ipv4ToU32(s: Ipv4): number {
  const v = ipv4ToU32OrNeg(s);
  if (v < 0) throw new RangeError(`not an IPv4 address: ${JSON.stringify(s)}`);
  return v;
}

export function ipv4ToBytes(s: Ipv4): Uint8Array {
  const v = ipv4ToU32(s);
  return new Uint8Array([v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]);
}

/** inet_ntop(AF_INET6) as glibc writes it: longest zero run (≥ 2 groups, first wins) as "::", IPv4 tail for ::a.b.c.d and ::ffff:a.b.c.d. */
export function ipv6FromBytes(b: Uint8Array, off = 0): Ipv6 {
  const w = new Array<number>(8);
  for (let i = 0; i < 8; i++) w[i] = (b[off + 2 * i] << 8) | b[off + 2 * i + 1];
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (w[i] === 0) {
      if (curBase < 0) {
        curBase = i;
        curLen = 1;
      } else curLen++;
    } else if (curBase >= 0) {
      if (bestBase < 0 || curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (curBase >= 0 && (bestBase < 0 || curLen > bestLen)) {
    bestBase = curBase;
    bestLen = curLen;
  }
  if (bestBase >= 0 && bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
      out += ipv4FromBytes(b, off + 12);
      return out;
    }
    out += w[i].toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) out += ':';
  return out;
}

/** inet_pton(AF_INET6) into out[off..off+16); false if the text is not an IPv6 address. */
export function ipv6IntoBytes(s: string, out: Uint8Array, off = 0): boolean {
  const words: number[] = [];
  let gap = -1;
  let i = 0;
  const n = s.length;
  if (n === 0) return false;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
    if (i === n) {
      out.fill(0, off, off + 16);
      return true;
    }
  }
  let v4 = -1;
  for (;;) {
    // One group: hex digits, or a dotted quad ending the address.
    let j = i;
    let val = 0;
    while (j < n && hexVal(s.charCodeAt(j)) >= 0 && j - i < 5) {
      val = val * 16 + hexVal(s.charCodeAt(j));
      j++;
    }
    if (j < n && s.charCodeAt(j) === 46) {
      const q = ipv4ToU32OrNeg(s.slice(i));
      if (q < 0 || !ipv4NoLeadingZeros(s.slice(i))) return false;
      v4 = q;
      if (words.length > 6) return false;
      break;
    }
    if (j === i || j - i > 4) return false;
    words.push(val);
    if (words.length > 8) return false;
    if (j === n) break;
    if (s.charCodeAt(j) !== 58) return false;
    j++;
    if (j < n && s.charCodeAt(j) === 58) {
      if (gap >= 0) return false;
      gap = words.length;
      j++;
      if (j === n) break;
    } else if (j === n) {
      return false;
    }
    i = j;
  }
  if (v4 >= 0) {
    words.push(v4 >>> 16, v4 & 0xffff);
  }
  if (gap < 0) {
    if (words.length !== 8) return false;
  } else if (words.length > 7) {
    return false;
  }
  const full = new Array<number>(8).fill(0);
  if (gap < 0) {
    for (let k = 0; k < 8; k++) full[k] = words[k];
  } else {
    for (let k = 0; k < gap; k++) full[k] = words[k];
    const tail = words.length - gap;
    for (let k = 0; k < tail; k++) full[8 - tail + k] = words[gap + k];
  }
  for (let k = 0; k < 8; k++) {
    out[off + 2 * k] = full[k] >> 8;
    out[off + 2 * k + 1] = full[k] & 0xff;
  }
  return true;
}

// glibc's inet_pton rejects "01" inside an embedded IPv4 part.
function ipv4NoLeadingZeros(s: string): boolean {
  return !/(^|\.)0\d/.test(s);
}

export function ipv6ToBytes(s: Ipv6): Uint8Array {
  const out = new Uint8Array(16);
  if (!ipv6IntoBytes(s, out)) throw new RangeError(`not an IPv6 address: ${JSON.stringify(s)}`);
  return out;
}

/** Any accepted IPv6 text to the canonical form used in models. */
export function canonicalIpv6(s: string): Ipv6 {
  return ipv6FromBytes(ipv6ToBytes(s));
}

/** Any accepted MAC text to the canonical form used in models. */
export function canonicalMac(s: string): Mac {
  return macFromBytes(macToBytes(s));
}

export function bytesToHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += BYTE_HEX[b[i]];
  return s;
}
