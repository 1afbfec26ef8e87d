// Attribute sets described as data. One schema per `enum ovs_*_attr` names
// each attribute's number and payload kind; the generic encoder and decoder
// below follow it, and the TypeScript model it is checked against is written
// by hand (so the public types keep their documentation).
//
// The encoder writes fields in the schema's declaration order, which is the
// order the kernel fills its replies in: a decoded reply re-encodes to the
// same bytes. Unknown attributes are kept (as views) and written after the
// known ones, flags included. Zero-length PAD attributes, which the kernel
// inserts before 64-bit values on some architectures, are skipped.
import { AttrWriter, HOST_LE, parseAttrs, type Attr } from '../netlink/attr.js';
import { MalformedError } from '../netlink/errors.js';

/** A C struct (or packed array of them) carried as one attribute's payload. */
export interface StructCodec<T> {
  /** The C name, for error messages. */
  readonly name: string;
  /** Throws MalformedError when `data` has the wrong size. */
  decode(data: Uint8Array): T;
  encode(value: T): Uint8Array;
}

type IntKind = 'u8' | 'u16' | 'u32' | 's32' | 'be16' | 'be32';
type StructKind<V> = { kind: 'struct'; codec: StructCodec<V> };

// The kinds allowed for a model field of type V. Non-distributive ([V]) so
// that `boolean` maps to 'flag' rather than to a union.
type KindOf<V> = [V] extends [number]
  ? { kind: IntKind }
  : [V] extends [bigint]
    ? { kind: 'u64' | 'be64' }
    : [V] extends [string]
      ? { kind: 'string' }
      : [V] extends [boolean]
        ? { kind: 'flag' }
        : [V] extends [Uint8Array]
          ? { kind: 'bytes' }
          : [V] extends [number[]]
            ? { kind: 'u32s' } | StructKind<V>
            : [V] extends [Array<infer E>]
              ? StructKind<V> | { kind: 'nests'; itemType: number; schema: AttrSchema<E> }
              : StructKind<V> | { kind: 'nest'; schema: AttrSchema<V> };

export type FieldSpec<V> = { type: number } & KindOf<V>;

/** Every model carries the attributes it did not know. */
export interface HasUnknown {
  /** Attributes of types this version does not know, kept as received. */
  unknown?: Attr[];
}

type FieldKeys<M> = Exclude<keyof M, 'unknown'> & string;

export interface AttrSchema<M> {
  /** The attribute set's name, for error messages ("ovs_dp_attr"). */
  readonly name: string;
  /** The set's PAD attribute type, skipped when decoding. */
  readonly pad?: number;
  /** Model field -> attribute; declaration order is encoding order. */
  readonly fields: { readonly [K in FieldKeys<M>]-?: FieldSpec<NonNullable<M[K]>> };
}

// The spec as the generic code sees it, without the per-field typing.
type AnySpec = { type: number; kind: string; codec?: StructCodec<unknown>; schema?: AttrSchema<unknown>; itemType?: number };

const indexCache = new WeakMap<object, Map<number, [string, AnySpec]>>();

function indexOf(schema: AttrSchema<unknown>): Map<number, [string, AnySpec]> {
  let byType = indexCache.get(schema);
  if (!byType) {
    byType = new Map();
    for (const [key, spec] of Object.entries(schema.fields as Record<string, AnySpec>)) byType.set(spec.type, [key, spec]);
    indexCache.set(schema, byType);
  }
  return byType;
}

const INT_SIZE: Record<string, number> = { u8: 1, u16: 2, u32: 4, s32: 4, be16: 2, be32: 4, u64: 8, be64: 8 };

function decodeField(where: string, spec: AnySpec, a: Attr): unknown {
  const d = a.data;
  const size = INT_SIZE[spec.kind];
  if (size !== undefined && d.length !== size) throw new MalformedError(`${where}: ${spec.kind} needs ${size} bytes, got ${d.length}`);
  const view = (): DataView => new DataView(d.buffer, d.byteOffset, d.byteLength);
  switch (spec.kind) {
    case 'u8':
      return d[0];
    case 'u16':
      return view().getUint16(0, HOST_LE);
    case 'be16':
      return view().getUint16(0, false);
    case 'u32':
      return view().getUint32(0, HOST_LE);
    case 's32':
      return view().getInt32(0, HOST_LE);
    case 'be32':
      return view().getUint32(0, false);
    case 'u64':
      return view().getBigUint64(0, HOST_LE);
    case 'be64':
      return view().getBigUint64(0, false);
    case 'flag':
      if (d.length !== 0) throw new MalformedError(`${where}: flag with a ${d.length}-byte payload`);
      return true;
    case 'string': {
      const end = d.indexOf(0);
      return textDecoder.decode(end < 0 ? d : d.subarray(0, end));
    }
    case 'bytes':
      return d;
    case 'u32s': {
      if (d.length % 4) throw new MalformedError(`${where}: u32 array of ${d.length} bytes is not a multiple of 4`);
      const v = view();
      const out: number[] = [];
      for (let i = 0; i < d.length; i += 4) out.push(v.getUint32(i, HOST_LE));
      return out;
    }
    case 'struct':
      try {
        return spec.codec!.decode(d);
      } catch (err) {
        throw rethrow(where, err);
      }
    case 'nest':
      return decodeAttrs(spec.schema!, d);
    case 'nests':
      return parseAttrs(d).map((item) => decodeAttrs(spec.schema!, item.data));
  }
  throw new Error(`schema ${where}: unknown kind ${spec.kind}`);
}

function rethrow(where: string, err: unknown): unknown {
  return err instanceof MalformedError ? new MalformedError(`${where}: ${err.message}`) : err;
}

const textDecoder = new TextDecoder('utf-8', { fatal: false });

/**
 * Decodes the attributes of buf[start, end) into a model. Byte payloads
 * (`bytes` fields and unknown attributes) are views of `buf`, not copies.
 * Throws MalformedError, and nothing else, on bytes that do not decode.
 */
export function decodeAttrs<M extends HasUnknown>(schema: AttrSchema<M>, buf: Uint8Array, start = 0, end = buf.length): M {
  const byType = indexOf(schema as AttrSchema<unknown>);
  const out: Record<string, unknown> = {};
  let unknown: Attr[] | undefined;
  let attrs: Attr[];
  try {
    attrs = parseAttrs(buf, start, end);
  } catch (err) {
    throw rethrow(schema.name, err);
  }
  for (const a of attrs) {
    const field = byType.get(a.type);
    if (field) {
      // A repeated attribute: the last one wins, as in the kernel's nla_parse.
      out[field[0]] = decodeField(`${schema.name}.${field[0]} (type ${a.type})`, field[1], a);
    } else if (a.type !== schema.pad) {
      (unknown ??= []).push(a);
    }
  }
  if (unknown) out.unknown = unknown;
  return out as M;
}

const INT_RANGE: Record<string, [number, number]> = {
  u8: [0, 0xff],
  u16: [0, 0xffff],
  be16: [0, 0xffff],
  u32: [0, 0xffffffff],
  be32: [0, 0xffffffff],
  s32: [-0x80000000, 0x7fffffff],
};

function checkInt(where: string, kind: string, v: unknown): number {
  const [min, max] = INT_RANGE[kind];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new RangeError(`${where}: ${String(v)} is not a ${kind}`);
  return v;
}

function checkBig(where: string, v: unknown): bigint {
  if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn) throw new RangeError(`${where}: ${String(v)} is not a u64`);
  return v;
}

/** Writes a model's attributes. Throws RangeError on values that do not fit their field. */
export function encodeAttrs<M extends HasUnknown>(w: AttrWriter, schema: AttrSchema<M>, value: M): void {
  const fields = schema.fields as unknown as Record<string, AnySpec>;
  const values = value as Record<string, unknown>;
  for (const key in fields) {
    const v = values[key];
    if (v === undefined) continue;
    const spec = fields[key];
    const t = spec.type;
    const where = `${schema.name}.${key}`;
    switch (spec.kind) {
      case 'u8':
        w.u8(t, checkInt(where, 'u8', v));
        break;
      case 'u16':
        w.u16(t, checkInt(where, 'u16', v));
        break;
      case 'be16':
        w.be16(t, checkInt(where, 'be16', v));
        break;
      case 'u32':
        w.u32(t, checkInt(where, 'u32', v));
        break;
      case 's32':
        w.s32(t, checkInt(where, 's32', v));
        break;
      case 'be32':
        w.be32(t, checkInt(where, 'be32', v));
        break;
      case 'u64':
        w.u64(t, checkBig(where, v));
        break;
      case 'be64':
        w.be64(t, checkBig(where, v));
        break;
      case 'flag':
        // false means absent: a flag attribute has no "off" form.
        if (v) w.flag(t);
        break;
      case 'string':
        w.string(t, v as string);
        break;
      case 'bytes':
        w.bytes(t, v as Uint8Array);
        break;
      case 'u32s':
        w.bytes(t, u32sBytes(where, v as number[]));
        break;
      case 'struct':
        w.bytes(t, spec.codec!.encode(v));
        break;
      case 'nest': {
        const token = w.nestStart(t);
        encodeAttrs(w, spec.schema!, v as HasUnknown);
        w.nestEnd(token);
        break;
      }
      case 'nests': {
        const outer = w.nestStart(t);
        for (const item of v as HasUnknown[]) {
          const inner = w.nestStart(spec.itemType!);
          encodeAttrs(w, spec.schema!, item);
          w.nestEnd(inner);
        }
        w.nestEnd(outer);
        break;
      }
      default:
        throw new Error(`schema ${where}: unknown kind ${spec.kind}`);
    }
  }
  if (value.unknown) for (const a of value.unknown) w.attr(a);
}

function u32sBytes(where: string, list: number[]): Uint8Array {
  const out = new Uint8Array(list.length * 4);
  const view = new DataView(out.buffer);
  list.forEach((n, i) => view.setUint32(i * 4, checkInt(where, 'u32', n), HOST_LE));
  return out;
}

/** The attributes of a model alone (no message header): handy for nests and tests. */
export function encodeAttrsToBytes<M extends HasUnknown>(schema: AttrSchema<M>, value: M): Uint8Array {
  const w = new AttrWriter(128);
  encodeAttrs(w, schema, value);
  return w.finish().slice();
}
