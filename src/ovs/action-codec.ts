// Action attributes ↔ the Action union. Nested attribute order inside an
// action follows what OVS sends and the kernel echoes back; attributes a
// decoder does not know are kept in `extra` (or as an 'unknown' action) and
// re-encoded after the known ones.
import { AttrWriter, HOST_LE, parseAttrs, type Attr } from '../netlink/attr.js';
import { MalformedError } from '../netlink/errors.js';
import { ipv4FromBytes, ipv4ToU32OrNeg, ipv6FromBytes, ipv6IntoBytes, macFromBytes } from './addr.js';
import type {
  Action, CheckPktLenAction, CtAction, CtNat, DecTtlAction, PsampleAction, RawAttr, SampleAction, SetMaskedAction, UserspaceAction,
} from './actions.js';
import { decodeKey, decodeKeyField, encodeKey, keyFieldPayload, keyFieldType, mplsLseFromValue, mplsLseValue, vlanFromTci, vlanTci } from './key-codec.js';
import type { FlowKey, NshKey } from './keys.js';
import { decodeNshAttrs, encodeNshAttrs, nshBaseBytes, nshMd1Bytes } from './nsh-codec.js';
import { checkBig, checkUint, fixed, Scratch, u128FromBytes, u128IntoBytes } from './packing.js';
import * as A from './uapi-actions.js';
import { OVS_KEY_ATTR_NSH, OVS_NSH_KEY_ATTR_BASE, OVS_NSH_KEY_ATTR_MD1, OVS_NSH_KEY_ATTR_MD2 } from './uapi-keys.js';

const s = new Scratch(40);

/** Nesting deeper than this (sample in clone in ...) is refused; the kernel stops at 16. */
const MAX_DEPTH = 64;

/** Appends the actions (not the enclosing OVS_FLOW_ATTR_ACTIONS nest) to `w`. */
export function encodeActions(w: AttrWriter, actions: readonly Action[]): void {
  encodeList(w, actions, 0);
}

function encodeList(w: AttrWriter, actions: readonly Action[], depth: number): void {
  if (depth > MAX_DEPTH) throw new RangeError(`actions nest deeper than ${MAX_DEPTH}`);
  for (const a of actions) encodeOne(w, a, depth);
}

function nested(w: AttrWriter, type: number, actions: readonly Action[], depth: number): void {
  const tok = w.nestStart(type);
  encodeList(w, actions, depth + 1);
  w.nestEnd(tok);
}

function extras(w: AttrWriter, extra: RawAttr[] | undefined): void {
  if (extra) for (const e of extra) w.bytes(e.type, e.data);
}

function u32(v: number, what: string): number {
  return checkUint(v, 32, what);
}

/** Appends one action. */
export function encodeAction(w: AttrWriter, a: Action): void {
  encodeOne(w, a, 0);
}

function encodeOne(w: AttrWriter, a: Action, depth: number): void {
  switch (a.type) {
    case 'output':
      w.u32(A.OVS_ACTION_ATTR_OUTPUT, u32(a.port, 'output port'));
      return;
    case 'userspace': {
      const tok = w.nestStart(A.OVS_ACTION_ATTR_USERSPACE);
      w.u32(A.OVS_USERSPACE_ATTR_PID, u32(a.pid, 'userspace pid'));
      if (a.userdata) w.bytes(A.OVS_USERSPACE_ATTR_USERDATA, a.userdata);
      if (a.egressTunPort !== undefined) w.u32(A.OVS_USERSPACE_ATTR_EGRESS_TUN_PORT, u32(a.egressTunPort, 'userspace egressTunPort'));
      if (a.actions) w.flag(A.OVS_USERSPACE_ATTR_ACTIONS);
      extras(w, a.extra);
      w.nestEnd(tok);
      return;
    }
    case 'set': {
      const tok = w.nestStart(A.OVS_ACTION_ATTR_SET);
      encodeKey(w, a.key);
      w.nestEnd(tok);
      return;
    }
    case 'setMasked':
      encodeSetMasked(w, a);
      return;
    case 'pushVlan': {
      const b = s.take(4);
      s.be16(0, a.tpid, 'push_vlan tpid');
      s.be16(2, vlanTci(a), 'push_vlan tci');
      w.bytes(A.OVS_ACTION_ATTR_PUSH_VLAN, b);
      return;
    }
    case 'popVlan':
      w.flag(A.OVS_ACTION_ATTR_POP_VLAN);
      return;
    case 'sample': {
      const tok = w.nestStart(A.OVS_ACTION_ATTR_SAMPLE);
      w.u32(A.OVS_SAMPLE_ATTR_PROBABILITY, u32(a.probability, 'sample probability'));
      nested(w, A.OVS_SAMPLE_ATTR_ACTIONS, a.actions, depth);
      extras(w, a.extra);
      w.nestEnd(tok);
      return;
    }
    case 'recirc':
      w.u32(A.OVS_ACTION_ATTR_RECIRC, u32(a.id, 'recirc id'));
      return;
    case 'hash': {
      const b = s.take(8);
      s.u32(0, a.alg, 'hash alg');
      s.u32(4, a.basis, 'hash basis');
      w.bytes(A.OVS_ACTION_ATTR_HASH, b);
      return;
    }
    case 'pushMpls': {
      const b = s.take(8);
      s.be32(0, mplsLseValue(a.lse), 'push_mpls lse');
      s.be16(4, a.ethertype, 'push_mpls ethertype');
      w.bytes(A.OVS_ACTION_ATTR_PUSH_MPLS, b);
      return;
    }
    case 'popMpls':
      w.be16(A.OVS_ACTION_ATTR_POP_MPLS, checkUint(a.ethertype, 16, 'pop_mpls ethertype'));
      return;
    case 'ct':
      encodeCt(w, a);
      return;
    case 'trunc':
      w.u32(A.OVS_ACTION_ATTR_TRUNC, u32(a.maxLen, 'trunc max_len'));
      return;
    case 'pushEth': {
      const b = s.take(12);
      s.mac(0, a.src, 'push_eth src');
      s.mac(6, a.dst, 'push_eth dst');
      w.bytes(A.OVS_ACTION_ATTR_PUSH_ETH, b);
      return;
    }
    case 'popEth':
      w.flag(A.OVS_ACTION_ATTR_POP_ETH);
      return;
    case 'ctClear':
      w.flag(A.OVS_ACTION_ATTR_CT_CLEAR);
      return;
    case 'pushNsh': {
      const outer = w.nestStart(A.OVS_ACTION_ATTR_PUSH_NSH);
      const inner = w.nestStart(OVS_KEY_ATTR_NSH);
      encodeNshAttrs(w, a.nsh);
      w.nestEnd(inner);
      w.nestEnd(outer);
      return;
    }
    case 'popNsh':
      w.flag(A.OVS_ACTION_ATTR_POP_NSH);
      return;
    case 'meter':
      w.u32(A.OVS_ACTION_ATTR_METER, u32(a.id, 'meter id'));
      return;
    case 'clone':
      nested(w, A.OVS_ACTION_ATTR_CLONE, a.actions, depth);
      return;
    case 'checkPktLen': {
      const tok = w.nestStart(A.OVS_ACTION_ATTR_CHECK_PKT_LEN);
      w.u16(A.OVS_CHECK_PKT_LEN_ATTR_PKT_LEN, checkUint(a.pktLen, 16, 'check_pkt_len size'));
      nested(w, A.OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_GREATER, a.gt, depth);
      nested(w, A.OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_LESS_EQUAL, a.le, depth);
      extras(w, a.extra);
      w.nestEnd(tok);
      return;
    }
    case 'addMpls': {
      const b = s.take(8);
      s.be32(0, mplsLseValue(a.lse), 'add_mpls lse');
      s.be16(4, a.ethertype, 'add_mpls ethertype');
      s.u16(6, a.tunFlags, 'add_mpls tun_flags');
      w.bytes(A.OVS_ACTION_ATTR_ADD_MPLS, b);
      return;
    }
    case 'decTtl': {
      const tok = w.nestStart(A.OVS_ACTION_ATTR_DEC_TTL);
      nested(w, A.OVS_DEC_TTL_ATTR_ACTION, a.actions, depth);
      extras(w, a.extra);
      w.nestEnd(tok);
      return;
    }
    case 'drop':
      w.u32(A.OVS_ACTION_ATTR_DROP, u32(a.reason, 'drop reason'));
      return;
    case 'psample': {
      // OVS marks this nest with NLA_F_NESTED (the kernel's policy is strict here).
      const tok = w.nestStart(A.OVS_ACTION_ATTR_PSAMPLE, true);
      w.u32(A.OVS_PSAMPLE_ATTR_GROUP, u32(a.group, 'psample group'));
      if (a.cookie) {
        if (a.cookie.length > A.OVS_PSAMPLE_COOKIE_MAX_SIZE) throw new RangeError(`psample cookie of ${a.cookie.length} bytes exceeds ${A.OVS_PSAMPLE_COOKIE_MAX_SIZE}`);
        w.bytes(A.OVS_PSAMPLE_ATTR_COOKIE, a.cookie);
      }
      extras(w, a.extra);
      w.nestEnd(tok);
      return;
    }
    case 'tnlPush': {
      const b = new Uint8Array(A.TNL_PUSH_HEADER_OFFSET + a.header.length);
      const v = new DataView(b.buffer);
      v.setUint32(0, u32(a.tnlPort, 'tnl_push tnl_port'), HOST_LE);
      v.setUint32(4, u32(a.outPort, 'tnl_push out_port'), HOST_LE);
      v.setUint32(8, u32(a.headerLen, 'tnl_push header_len'), HOST_LE);
      v.setUint32(12, u32(a.tnlType, 'tnl_push tnl_type'), HOST_LE);
      b.set(a.header, A.TNL_PUSH_HEADER_OFFSET);
      w.bytes(A.OVS_ACTION_ATTR_TUNNEL_PUSH, b);
      return;
    }
    case 'tnlPop':
      w.u32(A.OVS_ACTION_ATTR_TUNNEL_POP, u32(a.port, 'tnl_pop port'));
      return;
    case 'lbOutput':
      w.u32(A.OVS_ACTION_ATTR_LB_OUTPUT, u32(a.bondId, 'lb_output bond id'));
      return;
    case 'unknown':
      w.bytes(checkUint(a.attrType, 14, 'unknown action type'), a.data);
      return;
  }
  throw new RangeError(`unknown action type ${JSON.stringify((a as { type: unknown }).type)}`);
}

function onlyField(k: FlowKey, what: string): [string, unknown] {
  const names = Object.keys(k).filter((n) => (k as Record<string, unknown>)[n] !== undefined);
  if (names.length !== 1) throw new RangeError(`${what} must hold exactly one key attribute, has ${names.length}`);
  return [names[0], (k as Record<string, unknown>)[names[0]]];
}

// The inner attribute carries value then mask (twice the usual length); for
// NSH each sub-attribute is doubled instead.
function encodeSetMasked(w: AttrWriter, a: SetMaskedAction): void {
  const [name, value] = onlyField(a.key, 'set_masked key');
  const [mname, mvalue] = onlyField(a.mask, 'set_masked mask');
  if (name !== mname) throw new RangeError(`set_masked key (${name}) and mask (${mname}) differ`);
  const tok = w.nestStart(A.OVS_ACTION_ATTR_SET_MASKED);
  const type = keyFieldType(name);
  if (type === OVS_KEY_ATTR_NSH) {
    const inner = w.nestStart(OVS_KEY_ATTR_NSH);
    encodeNshMasked(w, value as NshKey, mvalue as NshKey);
    w.nestEnd(inner);
  } else {
    const kp = keyFieldPayload(name, value);
    const mp = keyFieldPayload(name, mvalue);
    if (kp.length !== mp.length) throw new RangeError(`set_masked ${name}: key (${kp.length} bytes) and mask (${mp.length} bytes) differ in size`);
    const both = new Uint8Array(kp.length * 2);
    both.set(kp, 0);
    both.set(mp, kp.length);
    w.bytes(type, both);
  }
  w.nestEnd(tok);
}

function encodeNshMasked(w: AttrWriter, k: NshKey, m: NshKey): void {
  const pair = (type: number, kb: Uint8Array, mb: Uint8Array | undefined): void => {
    if (!mb || mb.length !== kb.length) throw new RangeError(`set_masked nsh: attribute ${type} needs a mask of ${kb.length} bytes`);
    const both = new Uint8Array(kb.length * 2);
    both.set(kb, 0);
    both.set(mb, kb.length);
    w.bytes(type, both);
  };
  for (const name of Object.keys(k)) {
    if (name === 'base' && k.base) pair(OVS_NSH_KEY_ATTR_BASE, nshBaseBytes(k.base).slice(), m.base && nshBaseBytes(m.base).slice());
    else if (name === 'md1' && k.md1) pair(OVS_NSH_KEY_ATTR_MD1, nshMd1Bytes(k.md1).slice(), m.md1 && nshMd1Bytes(m.md1).slice());
    else if (name === 'md2' && k.md2) pair(OVS_NSH_KEY_ATTR_MD2, k.md2, m.md2);
  }
}

function encodeCt(w: AttrWriter, a: CtAction): void {
  const tok = w.nestStart(A.OVS_ACTION_ATTR_CT);
  if (a.commit) w.flag(A.OVS_CT_ATTR_COMMIT);
  if (a.forceCommit) w.flag(A.OVS_CT_ATTR_FORCE_COMMIT);
  if (a.zone !== undefined) w.u16(A.OVS_CT_ATTR_ZONE, checkUint(a.zone, 16, 'ct zone'));
  if (a.mark) {
    const b = s.take(8);
    s.u32(0, a.mark.value, 'ct mark');
    s.u32(4, a.mark.mask, 'ct mark mask');
    w.bytes(A.OVS_CT_ATTR_MARK, b);
  }
  if (a.labels) {
    const b = s.take(32);
    u128IntoBytes(checkBig(a.labels.value, 128, 'ct labels'), b, 0);
    u128IntoBytes(checkBig(a.labels.mask, 128, 'ct labels mask'), b, 16);
    w.bytes(A.OVS_CT_ATTR_LABELS, b);
  }
  if (a.helper !== undefined) w.string(A.OVS_CT_ATTR_HELPER, a.helper);
  if (a.eventmask !== undefined) w.u32(A.OVS_CT_ATTR_EVENTMASK, u32(a.eventmask, 'ct eventmask'));
  if (a.timeout !== undefined) w.string(A.OVS_CT_ATTR_TIMEOUT, a.timeout);
  if (a.nat) encodeNat(w, a.nat);
  extras(w, a.extra);
  w.nestEnd(tok);
}

function natAddr(ip: string, what: string): Uint8Array {
  const v4 = ipv4ToU32OrNeg(ip);
  if (v4 >= 0) {
    const b = s.take(4);
    s.view.setUint32(0, v4, false);
    return b;
  }
  const b = s.take(16);
  if (!ipv6IntoBytes(ip, b)) throw new RangeError(`${what}: not an IP address: ${JSON.stringify(ip)}`);
  return b;
}

function encodeNat(w: AttrWriter, n: CtNat): void {
  const tok = w.nestStart(A.OVS_CT_ATTR_NAT);
  if (n.src) w.flag(A.OVS_NAT_ATTR_SRC);
  if (n.dst) w.flag(A.OVS_NAT_ATTR_DST);
  if (n.ipMin !== undefined) w.bytes(A.OVS_NAT_ATTR_IP_MIN, natAddr(n.ipMin, 'nat ip min'));
  if (n.ipMax !== undefined) w.bytes(A.OVS_NAT_ATTR_IP_MAX, natAddr(n.ipMax, 'nat ip max'));
  if (n.protoMin !== undefined) w.u16(A.OVS_NAT_ATTR_PROTO_MIN, checkUint(n.protoMin, 16, 'nat proto min'));
  if (n.protoMax !== undefined) w.u16(A.OVS_NAT_ATTR_PROTO_MAX, checkUint(n.protoMax, 16, 'nat proto max'));
  if (n.persistent) w.flag(A.OVS_NAT_ATTR_PERSISTENT);
  if (n.protoHash) w.flag(A.OVS_NAT_ATTR_PROTO_HASH);
  if (n.protoRandom) w.flag(A.OVS_NAT_ATTR_PROTO_RANDOM);
  extras(w, n.extra);
  w.nestEnd(tok);
}

// ---- decoding ----

/** Decodes a buffer of action attributes. */
export function decodeActions(bytes: Uint8Array): Action[] {
  return decodeActionAttrs(bytes, 0);
}

function decodeActionAttrs(bytes: Uint8Array, depth: number): Action[] {
  if (depth > MAX_DEPTH) throw new MalformedError(`actions nest deeper than ${MAX_DEPTH}`);
  const out: Action[] = [];
  for (const a of parseAttrs(bytes)) out.push(decodeOne(a, depth));
  return out;
}

function flagOnly(a: Attr, what: string): void {
  if (a.data.length !== 0) throw new MalformedError(`${what} (attribute ${a.type}) takes no payload, got ${a.data.length} bytes`);
}

const raw = (a: Attr): RawAttr => ({ type: a.type, data: a.data.slice() });

function once<T>(cur: T | undefined, what: string): void {
  if (cur !== undefined) throw new MalformedError(`duplicate ${what} attribute`);
}

/** One action attribute. */
export function decodeAction(a: Attr): Action {
  return decodeOne(a, 0);
}

function decodeOne(a: Attr, depth: number): Action {
  const d = a.data;
  switch (a.type) {
    case A.OVS_ACTION_ATTR_OUTPUT:
      return { type: 'output', port: fixed(a, 4, 'output').getUint32(0, HOST_LE) };
    case A.OVS_ACTION_ATTR_USERSPACE:
      return decodeUserspace(d);
    case A.OVS_ACTION_ATTR_SET:
      return { type: 'set', key: decodeKey(d) };
    case A.OVS_ACTION_ATTR_SET_MASKED:
      return decodeSetMasked(d);
    case A.OVS_ACTION_ATTR_PUSH_VLAN: {
      const v = fixed(a, 4, 'push_vlan');
      return { type: 'pushVlan', tpid: v.getUint16(0, false), ...vlanFromTci(v.getUint16(2, false)) };
    }
    case A.OVS_ACTION_ATTR_POP_VLAN:
      flagOnly(a, 'pop_vlan');
      return { type: 'popVlan' };
    case A.OVS_ACTION_ATTR_SAMPLE:
      return decodeSample(d, depth);
    case A.OVS_ACTION_ATTR_RECIRC:
      return { type: 'recirc', id: fixed(a, 4, 'recirc').getUint32(0, HOST_LE) };
    case A.OVS_ACTION_ATTR_HASH: {
      const v = fixed(a, 8, 'hash');
      return { type: 'hash', alg: v.getUint32(0, HOST_LE), basis: v.getUint32(4, HOST_LE) };
    }
    case A.OVS_ACTION_ATTR_PUSH_MPLS: {
      const v = fixed(a, 8, 'push_mpls');
      return { type: 'pushMpls', lse: mplsLseFromValue(v.getUint32(0, false)), ethertype: v.getUint16(4, false) };
    }
    case A.OVS_ACTION_ATTR_POP_MPLS:
      return { type: 'popMpls', ethertype: fixed(a, 2, 'pop_mpls').getUint16(0, false) };
    case A.OVS_ACTION_ATTR_CT:
      return decodeCt(d);
    case A.OVS_ACTION_ATTR_TRUNC:
      return { type: 'trunc', maxLen: fixed(a, 4, 'trunc').getUint32(0, HOST_LE) };
    case A.OVS_ACTION_ATTR_PUSH_ETH:
      fixed(a, 12, 'push_eth');
      return { type: 'pushEth', src: macFromBytes(d, 0), dst: macFromBytes(d, 6) };
    case A.OVS_ACTION_ATTR_POP_ETH:
      flagOnly(a, 'pop_eth');
      return { type: 'popEth' };
    case A.OVS_ACTION_ATTR_CT_CLEAR:
      flagOnly(a, 'ct_clear');
      return { type: 'ctClear' };
    case A.OVS_ACTION_ATTR_PUSH_NSH: {
      const inner = parseAttrs(d);
      if (inner.length !== 1 || inner[0].type !== OVS_KEY_ATTR_NSH) throw new MalformedError('push_nsh must hold exactly one nsh key attribute');
      return { type: 'pushNsh', nsh: decodeNshAttrs(inner[0].data) };
    }
    case A.OVS_ACTION_ATTR_POP_NSH:
      flagOnly(a, 'pop_nsh');
      return { type: 'popNsh' };
    case A.OVS_ACTION_ATTR_METER:
      return { type: 'meter', id: fixed(a, 4, 'meter').getUint32(0, HOST_LE) };
    case A.OVS_ACTION_ATTR_CLONE:
      return { type: 'clone', actions: decodeActionAttrs(d, depth + 1) };
    case A.OVS_ACTION_ATTR_CHECK_PKT_LEN:
      return decodeCheckPktLen(d, depth);
    case A.OVS_ACTION_ATTR_ADD_MPLS: {
      const v = fixed(a, 8, 'add_mpls');
      return { type: 'addMpls', lse: mplsLseFromValue(v.getUint32(0, false)), ethertype: v.getUint16(4, false), tunFlags: v.getUint16(6, HOST_LE) };
    }
    case A.OVS_ACTION_ATTR_DEC_TTL:
      return decodeDecTtl(d, depth);
    case A.OVS_ACTION_ATTR_DROP:
      return { type: 'drop', reason: fixed(a, 4, 'drop').getUint32(0, HOST_LE) };
    case A.OVS_ACTION_ATTR_PSAMPLE:
      return decodePsample(d);
    case A.OVS_ACTION_ATTR_TUNNEL_PUSH: {
      if (d.length < A.TNL_PUSH_HEADER_OFFSET) throw new MalformedError(`tnl_push needs at least ${A.TNL_PUSH_HEADER_OFFSET} bytes, got ${d.length}`);
      const v = new DataView(d.buffer, d.byteOffset, d.length);
      return {
        type: 'tnlPush',
        tnlPort: v.getUint32(0, HOST_LE),
        outPort: v.getUint32(4, HOST_LE),
        headerLen: v.getUint32(8, HOST_LE),
        tnlType: v.getUint32(12, HOST_LE),
        header: d.slice(A.TNL_PUSH_HEADER_OFFSET),
      };
    }
    case A.OVS_ACTION_ATTR_TUNNEL_POP:
      return { type: 'tnlPop', port: fixed(a, 4, 'tnl_pop').getUint32(0, HOST_LE) };
    case A.OVS_ACTION_ATTR_LB_OUTPUT:
      return { type: 'lbOutput', bondId: fixed(a, 4, 'lb_output').getUint32(0, HOST_LE) };
    default:
      return { type: 'unknown', attrType: a.type, data: d.slice() };
  }
}

function decodeUserspace(bytes: Uint8Array): UserspaceAction {
  let pid: number | undefined;
  let userdata: Uint8Array | undefined;
  let egressTunPort: number | undefined;
  let actions = false;
  let extra: RawAttr[] | undefined;
  for (const a of parseAttrs(bytes)) {
    switch (a.type) {
      case A.OVS_USERSPACE_ATTR_PID:
        once(pid, 'userspace pid');
        pid = fixed(a, 4, 'userspace pid').getUint32(0, HOST_LE);
        break;
      case A.OVS_USERSPACE_ATTR_USERDATA:
        once(userdata, 'userspace userdata');
        userdata = a.data.slice();
        break;
      case A.OVS_USERSPACE_ATTR_EGRESS_TUN_PORT:
        once(egressTunPort, 'userspace egress tunnel port');
        egressTunPort = fixed(a, 4, 'userspace egress tunnel port').getUint32(0, HOST_LE);
        break;
      case A.OVS_USERSPACE_ATTR_ACTIONS:
        flagOnly(a, 'userspace actions');
        actions = true;
        break;
      default:
        (extra ??= []).push(raw(a));
    }
  }
  if (pid === undefined) throw new MalformedError('userspace action without a pid');
  const out: UserspaceAction = { type: 'userspace', pid };
  if (userdata) out.userdata = userdata;
  if (egressTunPort !== undefined) out.egressTunPort = egressTunPort;
  if (actions) out.actions = true;
  if (extra) out.extra = extra;
  return out;
}

function decodeSetMasked(bytes: Uint8Array): SetMaskedAction {
  const inner = parseAttrs(bytes);
  if (inner.length !== 1) throw new MalformedError(`set_masked must hold exactly one key attribute, has ${inner.length}`);
  const a = inner[0];
  if (a.type === OVS_KEY_ATTR_NSH) {
    const key: NshKey = {};
    const mask: NshKey = {};
    for (const sub of parseAttrs(a.data)) {
      const half = halves(sub, 'set_masked nsh');
      if (sub.type === OVS_NSH_KEY_ATTR_BASE || sub.type === OVS_NSH_KEY_ATTR_MD1) {
        const k = decodeNshAttrs(attrBytes(sub.type, half[0]));
        const m = decodeNshAttrs(attrBytes(sub.type, half[1]));
        Object.assign(key, k);
        Object.assign(mask, m);
      } else if (sub.type === OVS_NSH_KEY_ATTR_MD2) {
        key.md2 = half[0].slice();
        mask.md2 = half[1].slice();
      } else {
        throw new MalformedError(`set_masked nsh: unknown sub-attribute ${sub.type}`);
      }
    }
    return { type: 'setMasked', key: { nsh: key }, mask: { nsh: mask } };
  }
  const [kd, md] = halves(a, 'set_masked');
  const [name, kv] = decodeKeyField({ type: a.type, flags: a.flags, data: kd });
  const [, mv] = decodeKeyField({ type: a.type, flags: a.flags, data: md });
  return { type: 'setMasked', key: { [name]: kv } as FlowKey, mask: { [name]: mv } as FlowKey };
}

function halves(a: Attr, what: string): [Uint8Array, Uint8Array] {
  if (a.data.length % 2) throw new MalformedError(`${what}: attribute ${a.type} of ${a.data.length} bytes cannot be split into value and mask`);
  const h = a.data.length / 2;
  return [a.data.subarray(0, h), a.data.subarray(h)];
}

function attrBytes(type: number, payload: Uint8Array): Uint8Array {
  const w = new AttrWriter(payload.length + 8);
  w.bytes(type, payload);
  return w.finish();
}

function decodeSample(bytes: Uint8Array, depth: number): SampleAction {
  let probability: number | undefined;
  let actions: Action[] | undefined;
  let extra: RawAttr[] | undefined;
  for (const a of parseAttrs(bytes)) {
    if (a.type === A.OVS_SAMPLE_ATTR_PROBABILITY) {
      once(probability, 'sample probability');
      probability = fixed(a, 4, 'sample probability').getUint32(0, HOST_LE);
    } else if (a.type === A.OVS_SAMPLE_ATTR_ACTIONS) {
      once(actions, 'sample actions');
      actions = decodeActionAttrs(a.data, depth + 1);
    } else (extra ??= []).push(raw(a));
  }
  if (probability === undefined || actions === undefined) throw new MalformedError('sample action needs a probability and actions');
  return extra ? { type: 'sample', probability, actions, extra } : { type: 'sample', probability, actions };
}

function decodeCheckPktLen(bytes: Uint8Array, depth: number): CheckPktLenAction {
  let pktLen: number | undefined;
  let gt: Action[] | undefined;
  let le: Action[] | undefined;
  let extra: RawAttr[] | undefined;
  for (const a of parseAttrs(bytes)) {
    if (a.type === A.OVS_CHECK_PKT_LEN_ATTR_PKT_LEN) {
      once(pktLen, 'check_pkt_len size');
      pktLen = fixed(a, 2, 'check_pkt_len size').getUint16(0, HOST_LE);
    } else if (a.type === A.OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_GREATER) {
      once(gt, 'check_pkt_len gt');
      gt = decodeActionAttrs(a.data, depth + 1);
    } else if (a.type === A.OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_LESS_EQUAL) {
      once(le, 'check_pkt_len le');
      le = decodeActionAttrs(a.data, depth + 1);
    } else (extra ??= []).push(raw(a));
  }
  if (pktLen === undefined || gt === undefined || le === undefined) throw new MalformedError('check_pkt_len needs a size and both action lists');
  return extra ? { type: 'checkPktLen', pktLen, gt, le, extra } : { type: 'checkPktLen', pktLen, gt, le };
}

function decodeDecTtl(bytes: Uint8Array, depth: number): DecTtlAction {
  let actions: Action[] | undefined;
  let extra: RawAttr[] | undefined;
  for (const a of parseAttrs(bytes)) {
    if (a.type === A.OVS_DEC_TTL_ATTR_ACTION) {
      once(actions, 'dec_ttl action');
      actions = decodeActionAttrs(a.data, depth + 1);
    } else (extra ??= []).push(raw(a));
  }
  if (actions === undefined) throw new MalformedError('dec_ttl needs an action list');
  return extra ? { type: 'decTtl', actions, extra } : { type: 'decTtl', actions };
}

function decodePsample(bytes: Uint8Array): PsampleAction {
  let group: number | undefined;
  let cookie: Uint8Array | undefined;
  let extra: RawAttr[] | undefined;
  for (const a of parseAttrs(bytes)) {
    if (a.type === A.OVS_PSAMPLE_ATTR_GROUP) {
      once(group, 'psample group');
      group = fixed(a, 4, 'psample group').getUint32(0, HOST_LE);
    } else if (a.type === A.OVS_PSAMPLE_ATTR_COOKIE) {
      once(cookie, 'psample cookie');
      if (a.data.length > A.OVS_PSAMPLE_COOKIE_MAX_SIZE) throw new MalformedError(`psample cookie of ${a.data.length} bytes exceeds ${A.OVS_PSAMPLE_COOKIE_MAX_SIZE}`);
      cookie = a.data.slice();
    } else (extra ??= []).push(raw(a));
  }
  if (group === undefined) throw new MalformedError('psample needs a group');
  const out: PsampleAction = { type: 'psample', group };
  if (cookie) out.cookie = cookie;
  if (extra) out.extra = extra;
  return out;
}

function decodeCt(bytes: Uint8Array): CtAction {
  const ct: CtAction = { type: 'ct' };
  for (const a of parseAttrs(bytes)) {
    switch (a.type) {
      case A.OVS_CT_ATTR_COMMIT:
        flagOnly(a, 'ct commit');
        ct.commit = true;
        break;
      case A.OVS_CT_ATTR_FORCE_COMMIT:
        flagOnly(a, 'ct force_commit');
        ct.forceCommit = true;
        break;
      case A.OVS_CT_ATTR_ZONE:
        once(ct.zone, 'ct zone');
        ct.zone = fixed(a, 2, 'ct zone').getUint16(0, HOST_LE);
        break;
      case A.OVS_CT_ATTR_MARK: {
        once(ct.mark, 'ct mark');
        const v = fixed(a, 8, 'ct mark');
        ct.mark = { value: v.getUint32(0, HOST_LE), mask: v.getUint32(4, HOST_LE) };
        break;
      }
      case A.OVS_CT_ATTR_LABELS:
        once(ct.labels, 'ct labels');
        fixed(a, 32, 'ct labels');
        ct.labels = { value: u128FromBytes(a.data, 0), mask: u128FromBytes(a.data, 16) };
        break;
      case A.OVS_CT_ATTR_HELPER:
        once(ct.helper, 'ct helper');
        ct.helper = cString(a);
        break;
      case A.OVS_CT_ATTR_EVENTMASK:
        once(ct.eventmask, 'ct eventmask');
        ct.eventmask = fixed(a, 4, 'ct eventmask').getUint32(0, HOST_LE);
        break;
      case A.OVS_CT_ATTR_TIMEOUT:
        once(ct.timeout, 'ct timeout');
        ct.timeout = cString(a);
        break;
      case A.OVS_CT_ATTR_NAT:
        once(ct.nat, 'ct nat');
        ct.nat = decodeNat(a.data);
        break;
      default:
        (ct.extra ??= []).push(raw(a));
    }
  }
  return ct;
}

const textDecoder = new TextDecoder('utf-8', { fatal: false });

/** A NUL-terminated string attribute; anything but exactly one trailing NUL is refused, so re-encoding is exact. */
function cString(a: Attr): string {
  const d = a.data;
  if (d.length === 0 || d[d.length - 1] !== 0 || d.indexOf(0) !== d.length - 1) {
    throw new MalformedError(`string attribute ${a.type} is not a single NUL-terminated string`);
  }
  return textDecoder.decode(d.subarray(0, d.length - 1));
}

function natIp(a: Attr): string {
  if (a.data.length === 4) return ipv4FromBytes(a.data);
  if (a.data.length === 16) return ipv6FromBytes(a.data);
  throw new MalformedError(`nat address (attribute ${a.type}) must be 4 or 16 bytes, got ${a.data.length}`);
}

function decodeNat(bytes: Uint8Array): CtNat {
  const n: CtNat = {};
  for (const a of parseAttrs(bytes)) {
    switch (a.type) {
      case A.OVS_NAT_ATTR_SRC:
        flagOnly(a, 'nat src');
        n.src = true;
        break;
      case A.OVS_NAT_ATTR_DST:
        flagOnly(a, 'nat dst');
        n.dst = true;
        break;
      case A.OVS_NAT_ATTR_IP_MIN:
        once(n.ipMin, 'nat ip min');
        n.ipMin = natIp(a);
        break;
      case A.OVS_NAT_ATTR_IP_MAX:
        once(n.ipMax, 'nat ip max');
        n.ipMax = natIp(a);
        break;
      case A.OVS_NAT_ATTR_PROTO_MIN:
        once(n.protoMin, 'nat proto min');
        n.protoMin = fixed(a, 2, 'nat proto min').getUint16(0, HOST_LE);
        break;
      case A.OVS_NAT_ATTR_PROTO_MAX:
        once(n.protoMax, 'nat proto max');
        n.protoMax = fixed(a, 2, 'nat proto max').getUint16(0, HOST_LE);
        break;
      case A.OVS_NAT_ATTR_PERSISTENT:
        flagOnly(a, 'nat persistent');
        n.persistent = true;
        break;
      case A.OVS_NAT_ATTR_PROTO_HASH:
        flagOnly(a, 'nat hash');
        n.protoHash = true;
        break;
      case A.OVS_NAT_ATTR_PROTO_RANDOM:
        flagOnly(a, 'nat random');
        n.protoRandom = true;
        break;
      default:
        (n.extra ??= []).push(raw(a));
    }
  }
  return n;
}
