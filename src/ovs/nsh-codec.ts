// OVS_KEY_ATTR_NSH: nested OVS_NSH_KEY_ATTR_* (flow keys, push_nsh, set).
import { AttrWriter, parseAttrs } from '../netlink/attr.js';
import { MalformedError } from '../netlink/errors.js';
import type { NshBase, NshKey } from './keys.js';
import { unknownAttrName, unknownAttrType } from './keys.js';
import { checkUint, fixed, Scratch } from './packing.js';
import * as K from './uapi-keys.js';

const scratch = new Scratch(16);

export function nshBaseBytes(b: NshBase): Uint8Array {
  const out = scratch.take(K.NSH_BASE_SIZE);
  scratch.u8(0, b.flags, 'nsh flags');
  scratch.u8(1, b.ttl, 'nsh ttl');
  scratch.u8(2, b.mdtype, 'nsh mdtype');
  scratch.u8(3, b.np, 'nsh np');
  scratch.be32(4, ((checkUint(b.spi, 24, 'nsh spi') << 8) | checkUint(b.si, 8, 'nsh si')) >>> 0, 'nsh path header');
  return out;
}

export function nshBaseFromBytes(d: Uint8Array, off = 0): NshBase {
  const v = new DataView(d.buffer, d.byteOffset + off, K.NSH_BASE_SIZE);
  const path = v.getUint32(4, false);
  return { flags: d[off], ttl: d[off + 1], mdtype: d[off + 2], np: d[off + 3], spi: path >>> 8, si: path & 0xff };
}

export function nshMd1Bytes(c: readonly number[]): Uint8Array {
  if (c.length !== 4) throw new RangeError(`nsh md1 needs 4 context words, got ${c.length}`);
  const out = scratch.take(K.NSH_MD1_SIZE);
  for (let i = 0; i < 4; i++) scratch.be32(4 * i, c[i], `nsh c${i + 1}`);
  return out;
}

export function nshMd1FromBytes(d: Uint8Array, off = 0): [number, number, number, number] {
  const v = new DataView(d.buffer, d.byteOffset + off, K.NSH_MD1_SIZE);
  return [v.getUint32(0, false), v.getUint32(4, false), v.getUint32(8, false), v.getUint32(12, false)];
}

/** Writes the NSH sub-attributes (without the enclosing nest). */
export function encodeNshAttrs(w: AttrWriter, n: NshKey): void {
  for (const name of Object.keys(n)) {
    const v = (n as Record<string, unknown>)[name];
    if (v === undefined) continue;
    if (name === 'base') w.bytes(K.OVS_NSH_KEY_ATTR_BASE, nshBaseBytes(v as NshBase));
    else if (name === 'md1') w.bytes(K.OVS_NSH_KEY_ATTR_MD1, nshMd1Bytes(v as number[]));
    else if (name === 'md2') w.bytes(K.OVS_NSH_KEY_ATTR_MD2, v as Uint8Array);
    else {
      const type = unknownAttrType(name);
      if (type < 0) throw new RangeError(`nsh key: unknown field ${JSON.stringify(name)}`);
      w.bytes(type, v as Uint8Array);
    }
  }
}

export function decodeNshAttrs(bytes: Uint8Array): NshKey {
  const n: NshKey = {};
  const r = n as Record<string, unknown>;
  const put = (name: string, value: unknown): void => {
    if (name in r) throw new MalformedError(`duplicate nsh key attribute ${name}`);
    r[name] = value;
  };
  for (const a of parseAttrs(bytes)) {
    if (a.type === K.OVS_NSH_KEY_ATTR_BASE) {
      fixed(a, K.NSH_BASE_SIZE, 'nsh base');
      put('base', nshBaseFromBytes(a.data));
    } else if (a.type === K.OVS_NSH_KEY_ATTR_MD1) {
      fixed(a, K.NSH_MD1_SIZE, 'nsh md1');
      put('md1', nshMd1FromBytes(a.data));
    } else if (a.type === K.OVS_NSH_KEY_ATTR_MD2) {
      put('md2', a.data.slice());
    } else {
      put(unknownAttrName(a.type), a.data.slice());
    }
  }
  return n;
}
