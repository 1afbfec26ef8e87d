// Flow keys and masks as flat lists of fields, each field's bits a bigint,
// so that matching a rule and proving it does not match are the same few
// lines for every field type (ports, MACs, IPv6 addresses, VLAN TCI...).
//
// A field's path is its attribute and member, with `encap.` for each VLAN
// level: `ipv4.dst`, `encap.tcp.dst`, `mpls.0.label`. Its attribute path
// (`ipv4`, `encap.tcp`) names what must be present in a key for the field
// to exist at all.
import { IPV4_ZERO, IPV6_ZERO, ipv4ToU32, ipv6FromBytes, ipv6ToBytes, MAC_ZERO, macFromBytes, macIntoBytes } from '../ovs/addr.js';
import type { FlowKey } from '../ovs/keys.js';

export interface Field {
  /** Full path, e.g. `encap.ipv4.dst`. */
  path: string;
  /** The attribute it belongs to, e.g. `encap.ipv4`. */
  attr: string;
  bits: bigint;
}

// The models write MACs as six 2-digit groups; an IPv6 text with colons at
// exactly those places would have six groups and no "::", which is not one.
const isMac = (v: string): boolean =>
  v.length === 17 && v[2] === ':' && v[5] === ':' && v[8] === ':' && v[11] === ':' && v[14] === ':' && !v.includes('::');

/** A leaf value's bits. Addresses are text in the models; their bits are the wire bytes. */
export function leafBits(v: unknown): bigint {
  if (typeof v === 'number') return BigInt(v >>> 0);
  if (typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'string') {
    if (isMac(v)) {
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
    if (isMac(like)) return bits === 0n ? MAC_ZERO : macFromBytes(bitsBytes(bits, 6));
    if (like.includes(':')) return bits === 0n ? IPV6_ZERO : ipv6FromBytes(bitsBytes(bits, 16));
    if (bits === 0n) return IPV4_ZERO;
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

/**
 * A key whose fields are turned into bits when first asked for: a rule
 * table reads a handful of a key's thirty-odd fields, and converting
 * addresses from text is most of the cost of a decision.
 */
export class LazyKey {
  private readonly cache = new Map<string, bigint | undefined>();
  constructor(readonly key: FlowKey) {}

  /** The field's bits, or undefined when the key does not have it. `segs`: the path split at dots. */
  get(path: string, segs: readonly string[] = path.split('.')): bigint | undefined {
    if (this.cache.has(path)) return this.cache.get(path);
    let v: unknown = this.key;
    for (const seg of segs) {
      v = v === undefined || v === null ? undefined : (v as Record<string, unknown>)[seg];
      if (v === undefined) break;
    }
    const bits = v === undefined ? undefined : leafBits(v);
    this.cache.set(path, bits);
    return bits;
  }
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
export function maskFromBits(key: FlowKey, bits: ReadonlyMap<string, bigint>, attrs?: ReadonlySet<string>, prefix = ''): FlowKey {
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(key)) {
    if (v === undefined) continue;
    if (name === 'encap') {
      const inner = maskFromBits(v as FlowKey, bits, attrs, `${prefix}encap.`);
      if (Object.keys(inner).length) out.encap = inner;
      continue;
    }
    // Attributes without a bit need no walk (building zero addresses costs).
    if (attrs && !attrs.has(`${prefix}${name}`)) continue;
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
