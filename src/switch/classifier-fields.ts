// Flow keys and masks as flat lists of fields, each field's bits a bigint,
// so that matching a rule and proving it does not match are the same few
// lines for every field type (ports, MACs, IPv6 addresses, VLAN TCI...).
//
// A field's path is its attribute and member, with `encap.` for each VLAN
// level: `ipv4.dst`, `encap.tcp.dst`, `mpls.0.label`. Its attribute path
// (`ipv4`, `encap.tcp`) names what must be present in a key for the field
// to exist at all.
import { ipv4ToU32, ipv6FromBytes, ipv6ToBytes, macFromBytes, macIntoBytes } from '../ovs/addr.js';
import type { FlowKey } from '../ovs/keys.js';

export interface Field {
  /** Full path, e.g. `encap.ipv4.dst`. */
  path: string;
  /** The attribute it belongs to, e.g. `encap.ipv4`. */
  attr: string;
  bits: bigint;
}

const MAC_RE = /^[0-9a-f]{1,2}(:[0-9a-f]{1,2}){5}$/i;

/** A leaf value's bits. Addresses are text in the models; their bits are the wire bytes. */
export function leafBits(v: unknown): bigint {
  if (typeof v === 'number') return BigInt(v >>> 0);
  if (typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'string') {
    if (MAC_RE.test(v)) {
      const b = new Uint8Array(6);
      macIntoBytes(v, b);
      return bytesBits(b);
    }
    if (v.includes(':')) return bytesBits(ipv6ToBytes(v));
    return BigInt(ipv4ToU32(v));
  }
  if (v instanceof Uint8Array) return bytesBits(v);
  throw new TypeError(`not a flow key field value: ${String(v)}`);
}

function bytesBits(b: Uint8Array): bigint {
  let x = 0n;
  for (const byte of b) x = (x << 8n) | BigInt(byte);
  return x;
}

/** Bits back into a leaf of the same kind as `like`. */
export function leafFromBits(like: unknown, bits: bigint): unknown {
  if (typeof like === 'number') return Number(bits);
  if (typeof like === 'bigint') return bits;
  if (typeof like === 'boolean') return bits !== 0n;
  if (typeof like === 'string') {
    if (MAC_RE.test(like)) return macFromBytes(bitsBytes(bits, 6));
    if (like.includes(':')) return ipv6FromBytes(bitsBytes(bits, 16));
    const n = Number(bits);
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  if (like instanceof Uint8Array) return bitsBytes(bits, like.length);
  throw new TypeError(`not a flow key field value: ${String(like)}`);
}

function bitsBytes(bits: bigint, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = n - 1; i >= 0; i--) {
    b[i] = Number(bits & 0xffn);
    bits >>= 8n;
  }
  return b;
}

/** Calls `fn` for every leaf of the key (or mask), in property order. */
export function forEachField(key: FlowKey, fn: (path: string, attr: string, value: unknown) => void, prefix = ''): void {
  for (const [name, v] of Object.entries(key)) {
    if (v === undefined) continue;
    if (name === 'encap') {
      forEachField(v as FlowKey, fn, `${prefix}encap.`);
      continue;
    }
    walk(`${prefix}${name}`, `${prefix}${name}`, v, fn);
  }
}

function walk(path: string, attr: string, v: unknown, fn: (path: string, attr: string, value: unknown) => void): void {
  if (v === undefined) return;
  if (typeof v === 'object' && v !== null && !(v instanceof Uint8Array)) {
    for (const [k, x] of Object.entries(v)) walk(`${path}.${k}`, attr, x, fn);
    return;
  }
  fn(path, attr, v);
}

/** A key's fields by path, and the attributes it has. */
export interface FlatKey {
  fields: Map<string, bigint>;
  attrs: Set<string>;
}

export function flattenKey(key: FlowKey): FlatKey {
  const fields = new Map<string, bigint>();
  const attrs = new Set<string>();
  forEachField(key, (path, attr, v) => {
    fields.set(path, leafBits(v));
    attrs.add(attr);
  });
  return { fields, attrs };
}

/** The mask's fields with at least one bit set. */
export function maskFields(mask: FlowKey): Field[] {
  const out: Field[] = [];
  forEachField(mask, (path, attr, v) => {
    const bits = leafBits(v);
    if (bits !== 0n) out.push({ path, attr, bits });
  });
  return out;
}

/**
 * A mask of the key's shape holding `bits` (by path, zero elsewhere);
 * attributes with no bit set are left out.
 */
export function maskFromBits(key: FlowKey, bits: ReadonlyMap<string, bigint>, prefix = ''): FlowKey {
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(key)) {
    if (v === undefined) continue;
    if (name === 'encap') {
      const inner = maskFromBits(v as FlowKey, bits, `${prefix}encap.`);
      if (Object.keys(inner).length) out.encap = inner;
      continue;
    }
    const [m, any] = build(`${prefix}${name}`, v, bits);
    if (any) out[name] = m;
  }
  return out as FlowKey;
}

function build(path: string, v: unknown, bits: ReadonlyMap<string, bigint>): [unknown, boolean] {
  if (typeof v === 'object' && v !== null && !(v instanceof Uint8Array)) {
    const arr = Array.isArray(v);
    const o: Record<string, unknown> | unknown[] = arr ? [] : {};
    let any = false;
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) continue;
      const [m, a] = build(`${path}.${k}`, x, bits);
      (o as Record<string, unknown>)[k] = m;
      any ||= a;
    }
    return [o, any];
  }
  const b = bits.get(path) ?? 0n;
  return [leafFromBits(v, b), b !== 0n];
}
