// printf-style number formats OVS's text uses.
import { byteHex } from '../ovs/addr.js';

/** %#x: "0" for zero, else "0x" + hex. */
export const hx = (v: number | bigint): string => (v ? '0x' + v.toString(16) : '0');

/** 0x%04x */
export const hx4 = (v: number): string => '0x' + v.toString(16).padStart(4, '0');

/** ds_put_hex: the bytes as one big-endian number, leading zero bytes dropped ("0" if all zero). */
export function putHex(b: Uint8Array): string {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  if (i === b.length) return '0';
  let s = '0x' + b[i].toString(16);
  for (i++; i < b.length; i++) s += byteHex(b[i]);
  return s;
}

/** Bytes as "%02x" separated by spaces (OVS's generic attribute form). */
export function spacedHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (i ? ' ' : '') + byteHex(b[i]);
  return s;
}

export function allBytes(b: Uint8Array, v: number): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== v) return false;
  return true;
}
