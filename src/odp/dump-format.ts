// dump-flows at the speed of a dump: flows from one datapath repeat most of
// their key attributes (recirc_id(0/0), in_port(1), eth_type(0x0800)...) and
// actions, so the text of each attribute is kept with its key and mask bytes
// and reused while the next flow has the same bytes there (a byte compare, no
// allocation). Only the attributes that differ are decoded and formatted, with src/odp's own
// functions, following odp_flow_format's loop (src/odp/format-key.ts), so
// the output is the same text, byte for byte (test/unit/cli-dump-format.test.ts
// holds the two side by side). Anything unusual (duplicate attributes,
// packet_type) takes the general path.
import { HOST_LE, type Attr } from '../netlink/attr.js';
import type { Flow } from '../dpif/dpif.js';
import { decodeActions } from '../ovs/action-codec.js';
import { decodeKey, decodeKeyField } from '../ovs/key-codec.js';
import { formatUfid } from '../ovs/ufid.js';
// The formatting modules alone, not index.js: dump-flows loads no parser.
import { formatOdpActions } from './format-actions.js';
import { formatAttr, formatOdpFlow } from './format-key.js';
import { formatTcpFlagLetters } from './flags.js';
import { maskIsConstant, wildcardMaskOf } from './mask-util.js';

const ETHERNET = 4;
const ETHERTYPE = 6;
const ENCAP = 1;
const TUNNEL = 16;
const NSH = 28;
const PACKET_TYPE = 29;
/** Attribute types handled in place (the kernel's go to 32); others take the general path. */
const MAX_FAST_TYPE = 64;
/** Distinct action lists remembered (most datapaths have few). */
const ACTIONS_LIMIT = 4096;

const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

/** A counter as text; most flows of a big table have seen no packet. */
const count = (v: bigint | undefined): string => (!v ? '0' : v < 9007199254740992n ? String(Number(v)) : String(v));

const hx = (v: number): string => (v ? '0x' + v.toString(16) : '0');
const dotted = (b: Uint8Array, o: number): string => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
const be32 = (b: Uint8Array, o: number): number => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
const FRAG_NAMES = ['no', 'first', 'later'];

/**
 * The text of the attributes that differ from flow to flow in most tables
 * (ipv4, and tcp/udp/sctp ports), made from the key and mask bytes directly,
 * as src/odp's Fields prints them. undefined: the general path decides
 * (unusual lengths, a partial frag mask).
 */
function fastText(type: number, k: Uint8Array, ko: number, kl: number, m: Uint8Array, mo: number, ml: number, verbose: boolean): string | undefined {
  if (type === 7) {
    if (kl !== 12 || ml !== 12) return undefined;
    const fm = m[mo + 11];
    if (fm !== 0 && fm !== 0xff) return undefined;
    let wild = true;
    for (let i = 0; i < 12; i++) if (m[mo + i]) wild = false;
    if (wild && !verbose) return '';
    let out = '';
    const ms = be32(m, mo);
    if (verbose || ms) out += `src=${dotted(k, ko)}${ms === 0xffffffff ? '' : '/' + dotted(m, mo)},`;
    const md = be32(m, mo + 4);
    if (verbose || md) out += `dst=${dotted(k, ko + 4)}${md === 0xffffffff ? '' : '/' + dotted(m, mo + 4)},`;
    if (verbose || m[mo + 8]) out += `proto=${k[ko + 8]}${m[mo + 8] === 0xff ? '' : '/' + hx(m[mo + 8])},`;
    if (verbose || m[mo + 9]) out += `tos=${hx(k[ko + 9])}${m[mo + 9] === 0xff ? '' : '/' + hx(m[mo + 9])},`;
    if (verbose || m[mo + 10]) out += `ttl=${k[ko + 10]}${m[mo + 10] === 0xff ? '' : '/' + hx(m[mo + 10])},`;
    if (fm) out += `frag=${FRAG_NAMES[k[ko + 11]] ?? '<error>'},`;
    return `ipv4(${out.endsWith(',') ? out.slice(0, -1) : out})`;
  }
  if (type === 9 || type === 10 || type === 17) {
    if (kl !== 4 || ml !== 4) return undefined;
    const ms = (m[mo + 0] << 8) | m[mo + 1];
    const md = (m[mo + 2] << 8) | m[mo + 3];
    if (!verbose && !ms && !md) return '';
    let out = '';
    if (verbose || ms) out += `src=${(k[ko + 0] << 8) | k[ko + 1]}${ms === 0xffff ? '' : '/' + hx(ms)},`;
    if (verbose || md) out += `dst=${(k[ko + 2] << 8) | k[ko + 3]}${md === 0xffff ? '' : '/' + hx(md)},`;
    return `${type === 9 ? 'tcp' : type === 10 ? 'udp' : 'sctp'}(${out.endsWith(',') ? out.slice(0, -1) : out})`;
  }
  return undefined;
}

/** Whether `b[off..off+len]` holds the bytes of `a`. */
function equalAt(a: Uint8Array, b: Uint8Array, off: number, len: number): boolean {
  if (a.length !== len) return false;
  for (let i = 0; i < len; i++) if (a[i] !== b[off + i]) return false;
  return true;
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The last text made for one attribute type, with the bytes it was made from. */
interface Memo {
  key: Uint8Array;
  mask: Uint8Array | undefined;
  hasMask: boolean;
  text: string;
}

const hx4 = (v: number): string => '0x' + v.toString(16).padStart(4, '0');

/**
 * Attribute types printed as nothing in the terse form when their mask is
 * absent or all zeros (odp_flow_format: a wildcarded field is left out;
 * eth() and the nested encap, tunnel and nsh are not in this set):
 * priority, in_port, eth_type, vlan, ipv4, ipv6, tcp, udp, icmp, icmpv6,
 * arp, nd, skb_mark, sctp, tcp_flags, dp_hash, recirc_id, ct_state,
 * ct_zone, ct_mark, ct_labels.
 */
const TERSE_OMITS_WHEN_WILD = [2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 18, 19, 20, 22, 23, 24, 25].reduce((bits, t) => bits | (1 << t), 0);

function allZero(b: Uint8Array, off: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (b[off + i] !== 0) return false;
  return true;
}

/** An attribute header's u16 (host order) read from the bytes: no DataView per flow. */
const hostU16 = HOST_LE ? (b: Uint8Array, o: number): number => b[o] | (b[o + 1] << 8) : (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];

/**
 * Dumped flows as `ovs-dpctl dump-flows` prints them (`-m` with verbose),
 * straight from their attribute bytes: the fast path for text. Keep one per
 * dump: it remembers the text of attributes and actions that repeat from flow
 * to flow. `ports` names ports for `--names`.
 */
export class DumpFormatter {
  private readonly memo: (Memo | undefined)[] = [];
  /** Per attribute type: where the current flow's mask has it (-1: nowhere). */
  private readonly mOff = new Int32Array(MAX_FAST_TYPE).fill(-1);
  private readonly mLen = new Int32Array(MAX_FAST_TYPE);
  private readonly touched: number[] = [];
  private readonly actionTexts = new Map<string, string>();
  private lastActions?: { bytes: Uint8Array; text: string };

  constructor(
    private readonly verbose: boolean,
    private readonly ports?: ReadonlyMap<number, string>,
  ) {}

  /** One attribute's text ('' when the terse form leaves it out). */
  private attr(a: Attr, m: Attr | undefined, hasMask: boolean): string {
    let text: string | undefined;
    const [name, k] = decodeKeyField(a);
    let mv = m ? decodeKeyField(m)[1] : undefined;
    const nested = a.type === ENCAP || a.type === TUNNEL || a.type === NSH;
    const wildcard = hasMask ? (mv === undefined ? true : maskIsConstant(name, mv, false)) : false;
    if (this.verbose || !wildcard || nested) {
      if (wildcard && mv === undefined) mv = wildcardMaskOf(k);
      text = formatAttr(name, k, mv, this.verbose, this.ports);
    } else if (a.type === ETHERNET) {
      // A kernel flow with eth() matches Ethernet frames: it shows even when wildcarded.
      text = 'eth()';
    } else {
      text = '';
    }
    // The bytes are views of the reply being dumped: keep copies.
    this.memo[a.type] = { key: a.data.slice(), mask: m?.data.slice(), hasMask, text };
    return text;
  }

  /** The key and mask as odp_flow_format prints them. */
  key(key: Uint8Array | undefined, mask: Uint8Array | undefined): string {
    if (!key || !key.length) return '<empty>';
    // Index the mask's attributes by type, in place (no attribute objects).
    const mOff = this.mOff;
    const mLen = this.mLen;
    const touched = this.touched;
    touched.length = 0;
    let hasMask = false;
    let ok = true;
    if (mask) {
      for (let off = 0; off < mask.length; ) {
        if (mask.length - off < 4) {
          ok = false;
          break;
        }
        const len = hostU16(mask, off);
        const type = hostU16(mask, off + 2) & 0x3fff;
        if (len < 4 || off + len > mask.length || type >= MAX_FAST_TYPE || mOff[type] >= 0) {
          ok = false;
          break;
        }
        mOff[type] = off + 4;
        mLen[type] = len - 4;
        touched.push(type);
        hasMask = true;
        off += (len + 3) & ~3;
      }
    }
    let out = '';
    let hasEthtype = false;
    if (ok) {
      let seenLo = 0;
      let seenHi = 0;
      for (let off = 0; off < key.length; ) {
        if (key.length - off < 4) {
          ok = false;
          break;
        }
        const len = hostU16(key, off);
        const type = hostU16(key, off + 2) & 0x3fff;
        if (len < 4 || off + len > key.length || type >= MAX_FAST_TYPE || type === PACKET_TYPE) {
          ok = false;
          break;
        }
        const bit = 1 << (type & 31);
        if (type < 32 ? seenLo & bit : seenHi & bit) {
          ok = false;
          break;
        }
        if (type < 32) seenLo |= bit;
        else seenHi |= bit;
        if (type === ETHERTYPE) hasEthtype = true;
        const t = this.attrAt(type, key, off + 4, len - 4, mask, mOff[type], mLen[type], hasMask);
        if (t) out = out ? `${out},${t}` : t;
        off += (len + 3) & ~3;
      }
    }
    const me = ok ? mOff[ETHERTYPE] : -1;
    const meLen = ok ? mLen[ETHERTYPE] : 0;
    for (const t of touched) mOff[t] = -1;
    if (!ok) return this.general(key, mask);
    if (!hasEthtype && hasMask && me >= 0 && meLen === 2) out += `,eth_type(0/${hx4((mask![me] << 8) | mask![me + 1])})`;
    return out;
  }

  /** One attribute's text from bytes in place: the memo when they match, else made (and remembered). */
  private attrAt(type: number, key: Uint8Array, kOff: number, kLen: number, mask: Uint8Array | undefined, mOff: number, mLen: number, hasMask: boolean): string {
    // The terse form leaves out a field its mask wildcards whatever the key
    // holds (most of a kernel key's metadata): no need to look at the key.
    if (!this.verbose && hasMask && type < 32 && (TERSE_OMITS_WHEN_WILD & (1 << type)) !== 0 && (mOff < 0 || allZero(mask!, mOff, mLen))) return '';
    // ipv4 and ports differ from flow to flow: made from the bytes in place, not remembered.
    if (mOff >= 0 && (type === 7 || type === 9 || type === 10 || type === 17)) {
      const t = fastText(type, key, kOff, kLen, mask!, mOff, mLen, this.verbose);
      if (t !== undefined) return t;
    }
    const prev = this.memo[type];
    if (prev && prev.hasMask === hasMask && equalAt(prev.key, key, kOff, kLen) && (mOff < 0 ? prev.mask === undefined : prev.mask !== undefined && equalAt(prev.mask, mask!, mOff, mLen))) {
      return prev.text;
    }
    const a: Attr = { type, flags: 0, data: key.subarray(kOff, kOff + kLen) };
    const m: Attr | undefined = mOff < 0 ? undefined : { type, flags: 0, data: mask!.subarray(mOff, mOff + mLen) };
    return this.attr(a, m, hasMask);
  }

  private general(key: Uint8Array | undefined, mask: Uint8Array | undefined): string {
    const k = key ? decodeKey(key) : {};
    const m = mask ? decodeKey(mask) : undefined;
    return formatOdpFlow(k, m, { verbose: this.verbose, portNames: this.ports });
  }

  actions(bytes: Uint8Array | undefined): string {
    if (!bytes || !bytes.length) return 'drop';
    if (this.lastActions && sameBytes(this.lastActions.bytes, bytes)) return this.lastActions.text;
    const id = latin1(bytes);
    let text = this.actionTexts.get(id);
    if (text === undefined) {
      text = formatOdpActions(decodeActions(bytes), { portNames: this.ports });
      if (this.actionTexts.size >= ACTIONS_LIMIT) this.actionTexts.clear();
      this.actionTexts.set(id, text);
    }
    this.lastActions = { bytes: bytes.slice(), text };
    return text;
  }

  /**
   * format_dpif_flow: one dump-flows (or get-flow) line. `now`: the
   * monotonic clock in ms (the kernel's clock for `used`), read once per dump.
   */
  line(f: Flow, now: bigint = process.hrtime.bigint() / 1_000_000n): string {
    let s = this.verbose && f.ufid ? `${formatUfid(f.ufid)}, ` : '';
    s += this.key(f.key, f.mask);
    const used = f.used ? `${(Number(now - f.used) / 1000).toFixed(3)}s` : 'never';
    s += `, packets:${count(f.stats?.packets)}, bytes:${count(f.stats?.bytes)}, used:${used}`;
    if (f.tcpFlags) s += `, flags:${formatTcpFlagLetters(f.tcpFlags)}`;
    if (this.verbose) s += ', dp:ovs';
    return `${s}, actions:${this.actions(f.actions)}`;
  }
}
