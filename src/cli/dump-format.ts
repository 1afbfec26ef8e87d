// dump-flows at the speed of a dump: flows from one datapath repeat most of
// their key attributes (recirc_id(0/0), in_port(1), eth_type(0x0800)...) and
// actions, so the text of each attribute is kept with its key and mask bytes
// and reused while the next flow has the same bytes there (a byte compare, no
// allocation). Only the attributes that differ are decoded and formatted, with src/odp's own
// functions, following odp_flow_format's loop (src/odp/format-key.ts), so
// the output is the same text, byte for byte (test/unit/cli-dump-format.test.ts
// holds the two side by side). Anything unusual (duplicate attributes,
// packet_type) takes the general path.
import { parseAttrs, type Attr } from '../netlink/attr.js';
import type { Flow } from '../dpif/dpif.js';
import { decodeActions } from '../ovs/action-codec.js';
import { decodeKey, decodeKeyField } from '../ovs/key-codec.js';
import { formatUfid } from '../ovs/ufid.js';
import { formatOdpActions, formatOdpFlow, formatTcpFlagLetters } from '../odp/index.js';
import { formatAttr } from '../odp/format-key.js';
import { maskIsConstant, wildcardMaskOf } from '../odp/mask-util.js';

const ETHERNET = 4;
const ETHERTYPE = 6;
const ENCAP = 1;
const TUNNEL = 16;
const NSH = 28;
const PACKET_TYPE = 29;
/** Distinct action lists remembered (most datapaths have few). */
const ACTIONS_LIMIT = 4096;

const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

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

export class DumpFormatter {
  private readonly memo = new Map<number, Memo>();
  private readonly actionTexts = new Map<string, string>();
  private lastActions?: { bytes: Uint8Array; text: string };

  constructor(
    private readonly verbose: boolean,
    private readonly ports?: ReadonlyMap<number, string>,
  ) {}

  /** One attribute's text ('' when the terse form leaves it out). */
  private attr(a: Attr, m: Attr | undefined, hasMask: boolean): string {
    const prev = this.memo.get(a.type);
    if (prev && prev.hasMask === hasMask && sameBytes(prev.key, a.data) && sameBytes(prev.mask, m?.data)) return prev.text;
    let text: string;
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
    this.memo.set(a.type, { key: a.data.slice(), mask: m?.data.slice(), hasMask, text });
    return text;
  }

  /** The key and mask as odp_flow_format prints them. */
  key(key: Uint8Array | undefined, mask: Uint8Array | undefined): string {
    const ka = key ? parseAttrs(key) : [];
    const ma = mask ? parseAttrs(mask) : [];
    if (!ka.length) return '<empty>';
    const byType = new Map<number, Attr>();
    for (const a of ma) {
      if (byType.has(a.type)) return this.general(key, mask);
      byType.set(a.type, a);
    }
    const seen = new Set<number>();
    const hasMask = ma.length > 0;
    let out = '';
    let hasEthtype = false;
    for (const a of ka) {
      if (seen.has(a.type) || a.type === PACKET_TYPE) return this.general(key, mask);
      seen.add(a.type);
      if (a.type === ETHERTYPE) hasEthtype = true;
      const t = this.attr(a, byType.get(a.type), hasMask);
      if (t) out = out ? `${out},${t}` : t;
    }
    const me = byType.get(ETHERTYPE);
    if (!hasEthtype && hasMask && me && me.data.length === 2) out += `,eth_type(0/${hx4((me.data[0] << 8) | me.data[1])})`;
    return out;
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

  /** format_dpif_flow: one dump-flows (or get-flow) line. */
  line(f: Flow, now: bigint): string {
    let s = this.verbose && f.ufid ? `${formatUfid(f.ufid)}, ` : '';
    s += this.key(f.key, f.mask);
    const used = f.used ? `${(Number(now - f.used) / 1000).toFixed(3)}s` : 'never';
    s += `, packets:${f.stats?.packets ?? 0n}, bytes:${f.stats?.bytes ?? 0n}, used:${used}`;
    if (f.tcpFlags) s += `, flags:${formatTcpFlagLetters(f.tcpFlags)}`;
    if (this.verbose) s += ', dp:ovs';
    return `${s}, actions:${this.actions(f.actions)}`;
  }
}
