// Unique flow identifiers: 16 bytes which OVS treats as four host-order u32
// (ovs_u128) and prints as `ufid:%08x-%04x-%04x-%04x-%04x%08x`.
import { HOST_LE } from '../netlink/attr.js';
import { MAX_UFID_LENGTH } from './uapi.js';

/** A UFID as carried in OVS_FLOW_ATTR_UFID: 1-16 bytes, 16 in practice. */
export type Ufid = Uint8Array;

export function ufidFromWords(words: readonly [number, number, number, number]): Ufid {
  const out = new Uint8Array(16);
  const v = new DataView(out.buffer);
  words.forEach((w, i) => v.setUint32(i * 4, w >>> 0, HOST_LE));
  return out;
}

/** The four host-order u32 of a 16-byte UFID. */
export function ufidWords(ufid: Ufid): [number, number, number, number] {
  if (ufid.length !== 16) throw new RangeError(`a UFID of ${ufid.length} bytes has no u32[4] form`);
  const v = new DataView(ufid.buffer, ufid.byteOffset, 16);
  return [v.getUint32(0, HOST_LE), v.getUint32(4, HOST_LE), v.getUint32(8, HOST_LE), v.getUint32(12, HOST_LE)];
}

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

/**
 * OVS's text form. UFIDs of another length than 16 (legal for the kernel,
 * never made by OVS) print as `ufid:` and their bytes in hex.
 */
export function formatUfid(ufid: Ufid): string {
  if (ufid.length !== 16) return `ufid:${Buffer.from(ufid.buffer, ufid.byteOffset, ufid.length).toString('hex')}`;
  const [a, b, c, d] = ufidWords(ufid);
  return `ufid:${hex(a, 8)}-${hex(b >>> 16, 4)}-${hex(b & 0xffff, 4)}-${hex(c >>> 16, 4)}-${hex(c & 0xffff, 4)}${hex(d, 8)}`;
}

const UUID_FORM = /^ufid:([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})([0-9a-f]{8})$/i;
const HEX_FORM = /^ufid:((?:[0-9a-f]{2}){1,16})$/i;

/** Parses the text form (as printed by formatUfid and ovs-dpctl). Throws SyntaxError. */
export function parseUfid(text: string): Ufid {
  const m = UUID_FORM.exec(text.trim());
  if (m) {
    const n = m.slice(1).map((s) => parseInt(s, 16));
    return ufidFromWords([n[0], ((n[1] << 16) | n[2]) >>> 0, ((n[3] << 16) | n[4]) >>> 0, n[5]]);
  }
  const h = HEX_FORM.exec(text.trim());
  if (h && h[1].length !== 32) return new Uint8Array(Buffer.from(h[1], 'hex'));
  throw new SyntaxError(`'${text}' is not a UFID (expected ufid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)`);
}

/** A random 16-byte UFID. */
export function randomUfid(): Ufid {
  // Web Crypto's global, not node:crypto: loading that module was a tenth of
  // every command's start under emulation, and most commands draw no UFID.
  return globalThis.crypto.getRandomValues(new Uint8Array(MAX_UFID_LENGTH));
}

export function ufidEquals(a: Ufid, b: Ufid): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * A UFID as a Map key: its length, then its bytes two to a UTF-16 code
 * unit. Flow tables keyed by UFID make one per flow; this costs no Buffer
 * and no hex text.
 */
export function ufidMapKey(u: Ufid): string {
  const n = u.length;
  // Every UFID the switch makes is 16 bytes: one call, no string concatenation (3% of a switch's time, profiled).
  if (n === 16) {
    return String.fromCharCode(16, (u[0] << 8) | u[1], (u[2] << 8) | u[3], (u[4] << 8) | u[5], (u[6] << 8) | u[7], (u[8] << 8) | u[9], (u[10] << 8) | u[11], (u[12] << 8) | u[13], (u[14] << 8) | u[15]);
  }
  let s = String.fromCharCode(n);
  let i = 0;
  for (; i + 1 < n; i += 2) s += String.fromCharCode((u[i] << 8) | u[i + 1]);
  if (i < n) s += String.fromCharCode(u[i]);
  return s;
}
