// Priority classification of flow keys, and the bits of a key that decide
// it. A rule matches a key when the key has every attribute the rule's mask
// reads and agrees with the rule under the mask. The megaflow for a key
// must cover the bits of the rule that matched, and, for every rule above
// it that was examined and did not match, bits that prove the rule fails
// for every key agreeing with this one under the mask.
//
// The proof chosen for a rule that does not match is one bit: the most
// significant bit, inside the rule's mask, of one field where the key
// differs from the rule (any key agreeing on that bit differs there too).
// Of the fields that differ, the cheapest is taken: one whose bit is
// already in the mask costs nothing, then one in an attribute the mask
// already reads, then any. When the rule fails because the key lacks an
// attribute (a TCP rule, a UDP key), the proof is what decides the
// attribute's presence: the EtherType for L3, the IP protocol (or the
// fragment type, for a later fragment) for L4, the ICMPv6 type for ND.
// One bit is the narrowest proof there is, and so the widest megaflow; a
// whole prefix up to the differing bit (what OVS's prefix tries give)
// would make megaflows narrower for no gain in correctness.
import type { FlowKey, FlowMask } from '../ovs/keys.js';
import { flattenKey, forEachField, LazyKey, leafBits, maskFields, maskFromBits } from './classifier-fields.js';
import { completeMask, FRAG_LATER, isTagged, MaskError } from './mask.js';

export interface Term {
  path: string;
  /** `path` split at dots. */
  segs: string[];
  attr: string;
  mask: bigint;
  /** The rule's value under the mask. */
  value: bigint;
}

/** A rule's match as the terms it reads. */
export function compileMatch(match: FlowKey, mask: FlowMask): Term[] {
  const values = flattenKey(match).fields;
  return maskFields(mask).map((f) => ({ path: f.path, segs: f.path.split('.'), attr: f.attr, mask: f.bits, value: (values.get(f.path) ?? 0n) & f.bits }));
}

export function termsMatch(terms: readonly Term[], key: LazyKey): boolean {
  for (const t of terms) {
    const v = key.get(t.path, t.segs);
    if (v === undefined || (v & t.mask) !== t.value) return false;
  }
  return true;
}

/** Mask bits by field path, accumulated over a classification. */
export class MaskBits {
  readonly bits = new Map<string, bigint>();
  /** Attribute paths with any bit. */
  readonly attrs = new Set<string>();

  add(path: string, bits: bigint, attr = attrOf(path)): void {
    if (bits === 0n) return;
    this.bits.set(path, (this.bits.get(path) ?? 0n) | bits);
    this.attrs.add(attr);
  }

  /**
   * Starts from the bits completeMask gives every megaflow of this key
   * (in_port, recirc_id, a tag's TPID and present bit): proofs on them
   * cost nothing.
   */
  static forKey(key: FlowKey): MaskBits {
    const m = new MaskBits();
    if (key.inPort !== undefined) m.add('inPort', 0xffffffffn);
    if (key.recircId !== undefined) m.add('recircId', 0xffffffffn);
    let prefix = '';
    for (let k: FlowKey | undefined = key; k && isTagged(k) && prefix.length < 12; k = k.encap, prefix += 'encap.') {
      m.add(`${prefix}ethertype`, 0xffffn);
      m.add(`${prefix}vlan.cfi`, 1n);
      m.add(`${prefix}encap.ethertype`, 0xffffn);
    }
    return m;
  }

  has(path: string, bits: bigint): boolean {
    return ((this.bits.get(path) ?? 0n) & bits) === bits;
  }

  hasAttr(attr: string): boolean {
    return this.attrs.has(attr);
  }

  addTerms(terms: readonly Term[]): void {
    for (const t of terms) this.add(t.path, t.mask, t.attr);
  }

  /** Every bit of a typed mask. */
  addMask(mask: FlowMask): void {
    forEachField(mask, (path, attr, v) => this.add(path, leafBits(v), attr));
  }

  // An 802.2 frame has no EtherType attribute to carry the bits of a proof
  // on it; the kernel keys it as 0x05ff all the same.
  private ethertypeOf8022(k: FlowKey, m: FlowMask, prefix: string): void {
    if (k.ethertype === undefined && this.bits.has(`${prefix}ethertype`)) m.ethertype = 0xffff;
    if (!k.encap) return;
    const inner = m.encap ?? {};
    this.ethertypeOf8022(k.encap, inner, `${prefix}encap.`);
    if (Object.keys(inner).length) m.encap = inner;
  }

  /** The megaflow mask for `key`: these bits, plus what completeMask adds. */
  toMask(key: FlowKey): FlowMask {
    const m = maskFromBits(key, this.bits, this.attrs);
    this.ethertypeOf8022(key, m, '');
    return completeMask(key, m);
  }
}

/** `encap.ipv4.dst` → `encap.ipv4` */
export function attrOf(path: string): string {
  const parts = path.split('.');
  let i = 0;
  while (parts[i] === 'encap') i++;
  return parts.slice(0, i + 1).join('.');
}

/** Field paths, bits, and the attribute of each. */
type Proof = Array<[string, bigint, string]>;

/**
 * Adds to `acc` the cheapest proof that the rule with these terms does not
 * match any key agreeing with `key` under the mask. The rule must not
 * match `key`.
 */
export function proveNoMatch(terms: readonly Term[], key: FlowKey, flat: LazyKey, acc: MaskBits): void {
  let best: Proof | undefined;
  let bestCost = Infinity;
  for (const t of terms) {
    const v = flat.get(t.path, t.segs);
    let proof: Proof;
    if (v === undefined) {
      proof = absenceProof(key, t.attr);
    } else {
      const diff = (v & t.mask) ^ t.value;
      if (diff === 0n) continue;
      const known = diff & (acc.bits.get(t.path) ?? 0n);
      if (known !== 0n) return; // already proven
      proof = [[t.path, topBit(diff), t.attr]];
    }
    const c = cost(proof, acc);
    if (c === 0) return;
    if (c < bestCost) {
      bestCost = c;
      best = proof;
    }
  }
  if (!best) throw new Error('proveNoMatch: the rule matches the key');
  for (const [path, bits, attr] of best) acc.add(path, bits, attr);
}

function cost(proof: Proof, acc: MaskBits): number {
  let c = 0;
  for (const [path, bits, attr] of proof) {
    if (acc.has(path, bits)) continue;
    c += popcount(bits & ~(acc.bits.get(path) ?? 0n));
    // A field of an attribute not read yet brings that attribute's
    // prerequisites (EtherType, IP protocol...) into the mask too.
    if (!acc.hasAttr(attr)) c += 64;
  }
  return c;
}

function popcount(x: bigint): number {
  let n = 0;
  while (x) {
    x &= x - 1n;
    n++;
  }
  return n;
}

function topBit(x: bigint): bigint {
  let b = 1n;
  while (x > 1n) {
    x >>= 1n;
    b <<= 1n;
  }
  return b;
}

const L3 = new Set(['ipv4', 'ipv6', 'arp', 'mpls', 'nsh', 'ctOrigTupleIpv4', 'ctOrigTupleIpv6', 'ipv6Exthdrs']);
const L4 = new Set(['tcp', 'udp', 'sctp', 'icmp', 'icmpv6', 'tcpFlags']);

/**
 * Bits that show every key agreeing with `key` under them lacks `attr`
 * (an attribute path such as `tcp` or `encap.ipv4`), which `key` lacks.
 */
function absenceProof(key: FlowKey, attr: string): Proof {
  const parts = attr.split('.');
  const name = parts[parts.length - 1];
  let k = key;
  let prefix = '';
  for (let i = 0; i < parts.length - 1; i++) {
    // Untagged at this level: the kernel keeps the TCI of a megaflow
    // without a VLAN mask exact, so no tagged packet can match it.
    if (!isTagged(k)) return [];
    k = k.encap!;
    prefix += 'encap.';
  }
  const ethertype: [string, bigint, string] = [`${prefix}ethertype`, 0xffffn, `${prefix}ethertype`];
  if (L3.has(name) || L4.has(name) || name === 'nd') {
    // Tagged here: the headers are inside encap(); the tag's present bit says so.
    if (isTagged(k)) return [[`${prefix}vlan.cfi`, 1n, `${prefix}vlan`]];
    if (L3.has(name)) return [ethertype];
    const ip = k.ipv4 ? 'ipv4' : k.ipv6 ? 'ipv6' : undefined;
    if (!ip) return [ethertype];
    if (k[ip]!.frag === FRAG_LATER) return [ethertype, [`${prefix}${ip}.frag`, 0xffn, `${prefix}${ip}`]];
    if (name === 'nd' && k.icmpv6) return [[`${prefix}icmpv6.type`, 0xffn, `${prefix}icmpv6`]];
    return [ethertype, [`${prefix}${ip}.proto`, 0xffn, `${prefix}${ip}`]];
  }
  // No tag at this level (see above); no Ethernet header: the kernel keeps
  // the packet type (mac_proto) of every megaflow exact.
  if (name === 'vlan' || name === 'encap' || name === 'ethernet') return [];
  if (name === 'ethertype') return [ethertype];
  throw new MaskError(`cannot tell packets without ${attr} apart in a megaflow (the flow key lacks it)`);
}
