// Netlink attributes (TLVs): `u16 len | u16 type | payload | pad to 4`.
// The writer grows one buffer and patches lengths in place, so a message is
// built with one allocation in the common case; the reader hands out views of
// the received buffer, never copies.
import { endianness } from 'node:os';
import { NLA_ALIGNTO, NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_HDRLEN, NLA_TYPE_MASK } from './constants.js';
import { MalformedError } from './errors.js';

/** Netlink integers without NLA_F_NET_BYTEORDER are in the host's byte order. */
export const HOST_LE = endianness() === 'LE';

export const align4 = (n: number): number => (n + NLA_ALIGNTO - 1) & ~(NLA_ALIGNTO - 1);

/** One attribute as received: its type (flags removed), flags, and a view of its payload. */
export interface Attr {
  type: number;
  /** NLA_F_NESTED / NLA_F_NET_BYTEORDER bits as they were on the wire. */
  flags: number;
  data: Uint8Array;
}

/** nla_len is a u16: a longer attribute would wrap and corrupt what follows. */
const MAX_ATTR_LEN = 0xffff;

// Kept out of the writers so their hot path is a comparison, not a template string.
function tooLong(type: number, len: number, nest = false): RangeError {
  return new RangeError(`${nest ? 'nested attribute' : 'attribute'} type ${type & NLA_TYPE_MASK}: ${len} bytes exceed the ${MAX_ATTR_LEN}-byte netlink attribute limit`);
}

const textDecoder = new TextDecoder('utf-8', { fatal: false });
const textEncoder = new TextEncoder();

export class AttrWriter {
  private buf: Uint8Array;
  private view: DataView;
  /** Bytes written so far. */
  length = 0;

  constructor(initialSize = 256) {
    // Small requests come from Node's shared 8 KiB pool instead of an
    // ArrayBuffer each: a fresh backing store per request is what the garbage
    // collector pays for under pipelined load. allocUnsafe is safe here because
    // every byte handed out is written (padding explicitly zeroed).
    this.buf = Buffer.allocUnsafe(initialSize);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  private reserve(n: number): number {
    const at = this.length;
    const need = at + n;
    if (need > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < need) size *= 2;
      const next = Buffer.allocUnsafe(size);
      next.set(this.buf.subarray(0, at));
      this.buf = next;
      this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
    }
    this.length = need;
    return at;
  }

  // Every write reserves first and only then touches this.buf/this.view:
  // reserve() may replace both, and `this.buf[this.reserve(n)]` would read the
  // old buffer before the call.

  // Raw (headerless) writes, for fixed headers such as nlmsghdr and genlmsghdr.
  rawU8(v: number): void {
    const at = this.reserve(1);
    this.buf[at] = v;
  }
  rawU16(v: number): void {
    const at = this.reserve(2);
    this.view.setUint16(at, v, HOST_LE);
  }
  rawU32(v: number): void {
    const at = this.reserve(4);
    this.view.setUint32(at, v, HOST_LE);
  }
  rawS32(v: number): void {
    const at = this.reserve(4);
    this.view.setInt32(at, v, HOST_LE);
  }
  rawBytes(data: Uint8Array): void {
    const at = this.reserve(data.length);
    this.buf.set(data, at);
  }
  /** Patch a host-order u32 written earlier (message lengths, sequence numbers). */
  patchU32(at: number, v: number): void {
    this.view.setUint32(at, v, HOST_LE);
  }

  private header(type: number, payloadLen: number): number {
    const len = NLA_HDRLEN + payloadLen;
    // Checked before anything is written, so a caller that catches the error
    // still holds a well-formed message.
    if (len > MAX_ATTR_LEN) throw tooLong(type, len);
    const at = this.reserve(NLA_HDRLEN);
    this.view.setUint16(at, len, HOST_LE);
    this.view.setUint16(at + 2, type, HOST_LE);
    return at + NLA_HDRLEN;
  }

  private padTo4(): void {
    const pad = align4(this.length) - this.length;
    if (pad) {
      const at = this.reserve(pad);
      this.buf.fill(0, at, this.length);
    }
  }

  flag(type: number): void {
    this.header(type, 0);
  }
  u8(type: number, v: number): void {
    this.header(type, 1);
    const at = this.reserve(1);
    this.buf[at] = v;
    this.padTo4();
  }
  u16(type: number, v: number): void {
    this.header(type, 2);
    const at = this.reserve(2);
    this.view.setUint16(at, v, HOST_LE);
    this.padTo4();
  }
  be16(type: number, v: number): void {
    this.header(type, 2);
    const at = this.reserve(2);
    this.view.setUint16(at, v, false);
    this.padTo4();
  }
  u32(type: number, v: number): void {
    this.header(type, 4);
    const at = this.reserve(4);
    this.view.setUint32(at, v >>> 0, HOST_LE);
  }
  s32(type: number, v: number): void {
    this.header(type, 4);
    const at = this.reserve(4);
    this.view.setInt32(at, v, HOST_LE);
  }
  be32(type: number, v: number): void {
    this.header(type, 4);
    const at = this.reserve(4);
    this.view.setUint32(at, v >>> 0, false);
  }
  u64(type: number, v: bigint): void {
    this.header(type, 8);
    const at = this.reserve(8);
    this.view.setBigUint64(at, BigInt.asUintN(64, v), HOST_LE);
  }
  be64(type: number, v: bigint): void {
    this.header(type, 8);
    const at = this.reserve(8);
    this.view.setBigUint64(at, BigInt.asUintN(64, v), false);
  }
  /** A NUL-terminated string, as the kernel's NLA_NUL_STRING / NLA_STRING expect. */
  string(type: number, s: string): void {
    const bytes = textEncoder.encode(s);
    this.header(type, bytes.length + 1);
    const at = this.reserve(bytes.length + 1);
    this.buf.set(bytes, at);
    this.buf[at + bytes.length] = 0;
    this.padTo4();
  }
  bytes(type: number, data: Uint8Array): void {
    this.header(type, data.length);
    const at = this.reserve(data.length);
    this.buf.set(data, at);
    this.padTo4();
  }
  /** Re-emit an attribute exactly as it was received (unknown attributes round-trip). */
  attr(a: Attr): void {
    this.bytes(a.type | a.flags, a.data);
  }

  /**
   * Opens a nested attribute; returns a token for nestEnd. OVS's kernel module
   * does not set NLA_F_NESTED on its nests, so the flag is opt-in.
   */
  nestStart(type: number, nestedFlag = false): number {
    const at = this.reserve(NLA_HDRLEN);
    this.view.setUint16(at + 2, nestedFlag ? type | NLA_F_NESTED : type, HOST_LE);
    return at;
  }
  nestEnd(token: number): void {
    const len = this.length - token;
    if (len > MAX_ATTR_LEN) throw tooLong(this.view.getUint16(token + 2, HOST_LE), len, true);
    this.view.setUint16(token, len, HOST_LE);
  }

  /** The bytes written, as a view of the writer's buffer (do not keep writing after). */
  finish(): Uint8Array {
    // A plain Uint8Array, not the pool's Buffer: Buffer#slice shares memory
    // where Uint8Array#slice copies, and callers should not need to know.
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.length);
  }
}

/**
 * Walks the attributes of buf[start, end). Throws MalformedError on a length
 * below the header size or past the end, or on trailing bytes that are not an
 * attribute.
 */
export function parseAttrs(buf: Uint8Array, start = 0, end = buf.length): Attr[] {
  const out: Attr[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = start;
  while (off < end) {
    if (end - off < NLA_HDRLEN) throw new MalformedError(`${end - off} trailing bytes after the last attribute`, off);
    const len = view.getUint16(off, HOST_LE);
    const rawType = view.getUint16(off + 2, HOST_LE);
    if (len < NLA_HDRLEN) throw new MalformedError(`attribute ${rawType & NLA_TYPE_MASK} has length ${len}, below the 4-byte header`, off);
    if (off + len > end) {
      throw new MalformedError(`attribute ${rawType & NLA_TYPE_MASK} of length ${len} runs past the end of its buffer (${end - off} bytes left)`, off);
    }
    out.push({ type: rawType & NLA_TYPE_MASK, flags: rawType & (NLA_F_NESTED | NLA_F_NET_BYTEORDER), data: buf.subarray(off + NLA_HDRLEN, off + len) });
    off += align4(len);
  }
  return out;
}

/** Nested attributes of an attribute's payload. */
export const nested = (a: Attr): Attr[] => parseAttrs(a.data);

function expectLen(a: Attr, n: number, what: string): DataView {
  if (a.data.length !== n) throw new MalformedError(`attribute ${a.type}: ${what} needs ${n} bytes, got ${a.data.length}`);
  return new DataView(a.data.buffer, a.data.byteOffset, n);
}

function checkLen(a: Attr, n: number, what: string): Uint8Array {
  if (a.data.length !== n) throw new MalformedError(`attribute ${a.type}: ${what} needs ${n} bytes, got ${a.data.length}`);
  return a.data;
}

// Integer reads by byte arithmetic at an offset: these run per attribute on
// dumps and upcalls, and a DataView per read is an allocation each.
/** Host-order u16 at b[o]. */
export const u16At = (b: Uint8Array, o: number): number => (HOST_LE ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1]);
/** Host-order u32 at b[o]. */
export const u32At = (b: Uint8Array, o: number): number =>
  (HOST_LE ? b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24) : (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
/** Network-order u16 at b[o]. */
export const be16At = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];
/** Network-order u32 at b[o]. */
export const be32At = (b: Uint8Array, o: number): number => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

export const getU8 = (a: Attr): number => checkLen(a, 1, 'u8')[0];
export const getU16 = (a: Attr): number => u16At(checkLen(a, 2, 'u16'), 0);
export const getBe16 = (a: Attr): number => be16At(checkLen(a, 2, 'be16'), 0);
export const getU32 = (a: Attr): number => u32At(checkLen(a, 4, 'u32'), 0);
export const getS32 = (a: Attr): number => getU32(a) | 0;
export const getBe32 = (a: Attr): number => be32At(checkLen(a, 4, 'be32'), 0);
export const getU64 = (a: Attr): bigint => expectLen(a, 8, 'u64').getBigUint64(0, HOST_LE);
export const getBe64 = (a: Attr): bigint => expectLen(a, 8, 'be64').getBigUint64(0, false);
export const getFlag = (a: Attr): true => {
  expectLen(a, 0, 'flag');
  return true;
};
/** A string attribute; the terminating NUL (and anything after it) is dropped. */
export function getString(a: Attr): string {
  let end = a.data.indexOf(0);
  if (end < 0) end = a.data.length;
  return textDecoder.decode(a.data.subarray(0, end));
}
/** An array of host-order u32 (e.g. upcall port ids). */
export function getU32Array(a: Attr): number[] {
  if (a.data.length % 4) throw new MalformedError(`attribute ${a.type}: u32 array of ${a.data.length} bytes is not a multiple of 4`);
  const view = new DataView(a.data.buffer, a.data.byteOffset, a.data.length);
  const out: number[] = [];
  for (let i = 0; i < a.data.length; i += 4) out.push(view.getUint32(i, HOST_LE));
  return out;
}

/**
 * An iterator-style decoder in the manner of mdlayher/netlink's
 * AttributeDecoder: `while (d.next()) switch (d.type) {...}` keeps decoding
 * code linear; errors are thrown as MalformedError.
 */
export class AttrDecoder {
  private readonly attrs: Attr[];
  private i = -1;
  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.attrs = parseAttrs(buf, start, end);
  }
  next(): boolean {
    return ++this.i < this.attrs.length;
  }
  get attr(): Attr {
    return this.attrs[this.i];
  }
  get type(): number {
    return this.attrs[this.i].type;
  }
  get data(): Uint8Array {
    return this.attrs[this.i].data;
  }
  u8 = (): number => getU8(this.attr);
  u16 = (): number => getU16(this.attr);
  u32 = (): number => getU32(this.attr);
  s32 = (): number => getS32(this.attr);
  u64 = (): bigint => getU64(this.attr);
  be16 = (): number => getBe16(this.attr);
  be32 = (): number => getBe32(this.attr);
  be64 = (): bigint => getBe64(this.attr);
  string = (): string => getString(this.attr);
  nested = (): AttrDecoder => new AttrDecoder(this.attr.data);
}
