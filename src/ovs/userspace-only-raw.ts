// Finds, in raw key / mask / action attribute streams, the attributes that
// exist only in OVS's userspace datapath. The kernel module either rejects
// them with a bare EINVAL (its reason goes to the kernel log only) or, for
// the numbers it reuses, reads them as something else: tunnel attribute 16
// is its IPV4_INFO_BRIDGE flag, OVS's GTP-U options. Scanning the bytes
// (rather than a typed model) lets the kernel Dpif check whatever it is
// handed, however it was built, just before it is sent.
import { HOST_LE } from '../netlink/attr.js';
import { NLA_HDRLEN, NLA_TYPE_MASK } from '../netlink/constants.js';

// linux/openvswitch.h numbers, as OVS's copy of the header extends them
// (shared/reference/uapi-and-dpctl.md §5-§10).
const KEY_ENCAP = 1;
const KEY_TUNNEL = 16;
const KEY_PACKET_TYPE = 29;
const KEY_ND_EXTENSIONS = 30;
const TUNNEL_VXLAN_OPTS = 11;
const TUNNEL_GTPU_OPTS = 16;
const VXLAN_EXT_GPE = 8;
const ACTION_SET = 3;
const ACTION_SAMPLE = 6;
const ACTION_HASH = 8;
const ACTION_SET_MASKED = 11;
const ACTION_CLONE = 20;
const ACTION_CHECK_PKT_LEN = 21;
const ACTION_DEC_TTL = 23;
const ACTION_TUNNEL_PUSH = 26;
const ACTION_TUNNEL_POP = 27;
const ACTION_LB_OUTPUT = 28;
const SAMPLE_ACTIONS = 2;
const CHECK_PKT_LEN_IF_GREATER = 2;
const CHECK_PKT_LEN_IF_LESS_EQUAL = 3;
const DEC_TTL_ACTION = 1;
const HASH_ALG_SYM_L4 = 1;

/** One userspace-only attribute found, named as OVS's ODP text names it. */
export interface UserspaceOnlyAttr {
  /** Which stream it is in. */
  in: 'key' | 'mask' | 'actions';
  /** ODP name with the path of enclosing attributes: `packet_type`, `clone.tnl_push`, `set.tunnel.gtpu`. */
  path: string;
  /** What it is, for messages: "key attribute 29". */
  what: string;
}

export interface ScanOptions {
  /** Accept hash(sym_l4): kernels that implement it (a probe says so) take it. */
  allowSymL4?: boolean;
}

type Found = (path: string, what: string) => void;

/**
 * Calls fn(type, start, end) for each attribute of buf[start, end), by
 * offsets: this runs on every flow put, so it allocates nothing per
 * attribute. A malformed stream ends the walk quietly; the kernel judges it.
 */
function walk(buf: Uint8Array, start: number, end: number, fn: (type: number, from: number, to: number) => void): void {
  let off = start;
  while (end - off >= NLA_HDRLEN) {
    const len = HOST_LE ? buf[off] | (buf[off + 1] << 8) : (buf[off] << 8) | buf[off + 1];
    const raw = HOST_LE ? buf[off + 2] | (buf[off + 3] << 8) : (buf[off + 2] << 8) | buf[off + 3];
    if (len < NLA_HDRLEN || off + len > end) return;
    fn(raw & NLA_TYPE_MASK, off + NLA_HDRLEN, off + len);
    off += (len + 3) & ~3;
  }
}

function u32At(buf: Uint8Array, at: number): number {
  return new DataView(buf.buffer, buf.byteOffset + at, 4).getUint32(0, HOST_LE);
}

function scanTunnel(buf: Uint8Array, start: number, end: number, where: string, found: Found): void {
  walk(buf, start, end, (type, from, to) => {
    // The kernel's attribute 16 is a flag; OVS's GTP-U options have a payload.
    if (type === TUNNEL_GTPU_OPTS && to > from) found(`${where}tunnel.gtpu`, 'tunnel key attribute 16 with a payload (GTP-U options)');
    if (type === TUNNEL_VXLAN_OPTS) {
      walk(buf, from, to, (x) => {
        if (x === VXLAN_EXT_GPE) found(`${where}tunnel.vxlan.gpe`, 'VXLAN extension 8 (GPE)');
      });
    }
  });
}

function scanKey(buf: Uint8Array, start: number, end: number, where: string, found: Found): void {
  walk(buf, start, end, (type, from, to) => {
    switch (type) {
      case KEY_PACKET_TYPE:
        found(`${where}packet_type`, 'key attribute 29');
        break;
      case KEY_ND_EXTENSIONS:
        found(`${where}nd_ext`, 'key attribute 30');
        break;
      case KEY_ENCAP:
        scanKey(buf, from, to, `${where}encap.`, found);
        break;
      case KEY_TUNNEL:
        scanTunnel(buf, from, to, where, found);
        break;
    }
  });
}

function scanActions(buf: Uint8Array, start: number, end: number, where: string, opts: ScanOptions, found: Found): void {
  walk(buf, start, end, (type, from, to) => {
    switch (type) {
      case ACTION_TUNNEL_PUSH:
        found(`${where}tnl_push`, 'action 26');
        break;
      case ACTION_TUNNEL_POP:
        found(`${where}tnl_pop`, 'action 27');
        break;
      case ACTION_LB_OUTPUT:
        found(`${where}lb_output`, 'action 28');
        break;
      case ACTION_HASH:
        if (!opts.allowSymL4 && to - from >= 4 && u32At(buf, from) === HASH_ALG_SYM_L4) found(`${where}hash(sym_l4)`, 'hash algorithm 1 (sym_l4)');
        break;
      case ACTION_SET:
      case ACTION_SET_MASKED:
        scanKey(buf, from, to, `${where}set.`, found);
        break;
      case ACTION_SAMPLE:
        walk(buf, from, to, (x, f, t) => {
          if (x === SAMPLE_ACTIONS) scanActions(buf, f, t, `${where}sample.`, opts, found);
        });
        break;
      case ACTION_CLONE:
        scanActions(buf, from, to, `${where}clone.`, opts, found);
        break;
      case ACTION_CHECK_PKT_LEN:
        walk(buf, from, to, (x, f, t) => {
          if (x === CHECK_PKT_LEN_IF_GREATER) scanActions(buf, f, t, `${where}check_pkt_len.gt.`, opts, found);
          if (x === CHECK_PKT_LEN_IF_LESS_EQUAL) scanActions(buf, f, t, `${where}check_pkt_len.le.`, opts, found);
        });
        break;
      case ACTION_DEC_TTL:
        walk(buf, from, to, (x, f, t) => {
          if (x === DEC_TTL_ACTION) scanActions(buf, f, t, `${where}dec_ttl.`, opts, found);
        });
        break;
    }
  });
}

/** Every userspace-only attribute in the given streams; empty when the kernel can take them. */
export function findUserspaceOnlyAttrs(streams: { key?: Uint8Array; mask?: Uint8Array; actions?: Uint8Array }, opts: ScanOptions = {}): UserspaceOnlyAttr[] {
  const out: UserspaceOnlyAttr[] = [];
  const into =
    (stream: UserspaceOnlyAttr['in']): Found =>
    (path, what) =>
      out.push({ in: stream, path, what });
  const { key, mask, actions } = streams;
  if (key) scanKey(key, 0, key.length, '', into('key'));
  if (mask) scanKey(mask, 0, mask.length, '', into('mask'));
  if (actions) scanActions(actions, 0, actions.length, '', opts, into('actions'));
  return out;
}

/** "key packet_type (key attribute 29), actions clone.tnl_push (action 26)". */
export function describeUserspaceOnly(found: readonly UserspaceOnlyAttr[]): string {
  return found.map((f) => `${f.in} ${f.path} (${f.what})`).join(', ');
}
