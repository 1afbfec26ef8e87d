// Small helpers for the fixed C structs inside OVS attributes: a scratch
// buffer to lay a struct out in (attributes are copied into the writer, so one
// buffer serves every call) and range-checked stores, so a model value that
// does not fit its field is an error rather than silently truncated.
import { HOST_LE, type Attr } from '../netlink/attr.js';
import { MalformedError } from '../netlink/errors.js';
import { ipv4ToU32OrNeg, ipv6IntoBytes, macIntoBytes } from './addr.js';

export class Scratch {
  readonly buf: Uint8Array;
  readonly view: DataView;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }
  /** Zeroes the first n bytes (struct padding must be zero on the wire) and returns their view. */
  take(n: number): Uint8Array {
    this.buf.fill(0, 0, n);
    return this.buf.subarray(0, n);
  }
  u8(off: number, v: number, what: string): void {
    this.buf[off] = checkUint(v, 8, what);
  }
  u16(off: number, v: number, what: string): void {
    this.view.setUint16(off, checkUint(v, 16, what), HOST_LE);
  }
  be16(off: number, v: number, what: string): void {
    this.view.setUint16(off, checkUint(v, 16, what), false);
  }
  u32(off: number, v: number, what: string): void {
    this.view.setUint32(off, checkUint(v, 32, what), HOST_LE);
  }
  s32(off: number, v: number, what: string): void {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) throw new RangeError(`${what}: ${v} is not a 32-bit integer`);
    this.view.setInt32(off, v | 0, HOST_LE);
  }
  be32(off: number, v: number, what: string): void {
    this.view.setUint32(off, checkUint(v, 32, what), false);
  }
  mac(off: number, s: string, what: string): void {
    if (typeof s !== 'string' || !macIntoBytes(s, this.buf, off)) throw new RangeError(`${what}: not a MAC address: ${JSON.stringify(s)}`);
  }
  ipv4(off: number, s: string, what: string): void {
    const v = typeof s === 'string' ? ipv4ToU32OrNeg(s) : -1;
    if (v < 0) throw new RangeError(`${what}: not an IPv4 address: ${JSON.stringify(s)}`);
    this.view.setUint32(off, v, false);
  }
  ipv6(off: number, s: string, what: string): void {
    if (typeof s !== 'string' || !ipv6IntoBytes(s, this.buf, off)) throw new RangeError(`${what}: not an IPv6 address: ${JSON.stringify(s)}`);
  }
}

export function checkUint(v: number, bits: number, what: string): number {
  const max = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${what}: ${v} does not fit in ${bits} bits`);
  return v;
}

export function checkBig(v: bigint, bits: number, what: string): bigint {
  if (typeof v !== 'bigint' || v < 0n || v >> BigInt(bits) !== 0n) throw new RangeError(`${what}: ${String(v)} does not fit in ${bits} bits`);
  return v;
}

/** A view over an attribute's payload that insists on its exact size. */
export function fixed(a: Attr, size: number, what: string): DataView {
  if (a.data.length !== size) throw new MalformedError(`${what} (attribute ${a.type}) needs ${size} bytes, got ${a.data.length}`);
  return new DataView(a.data.buffer, a.data.byteOffset, size);
}

/** A host-order unsigned 128-bit integer from 16 bytes (OVS's ovs_u128 in memory). */
export function u128FromBytes(b: Uint8Array, off = 0): bigint {
  const v = new DataView(b.buffer, b.byteOffset + off, 16);
  if (HOST_LE) return (v.getBigUint64(8, true) << 64n) | v.getBigUint64(0, true);
  return (v.getBigUint64(0, false) << 64n) | v.getBigUint64(8, false);
}

export function u128IntoBytes(x: bigint, b: Uint8Array, off = 0): void {
  const v = new DataView(b.buffer, b.byteOffset + off, 16);
  const hi = BigInt.asUintN(64, x >> 64n);
  const lo = BigInt.asUintN(64, x);
  if (HOST_LE) {
    v.setBigUint64(0, lo, true);
    v.setBigUint64(8, hi, true);
  } else {
    v.setBigUint64(0, hi, false);
    v.setBigUint64(8, lo, false);
  }
}

export const U128_MAX = (1n << 128n) - 1n;
export const U64_MAX = (1n << 64n) - 1n;
