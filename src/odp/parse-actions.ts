// ODP action text → Action[], as odp_actions_from_string reads it, plus the
// forms OVS prints but cannot read back (push_mpls, pop_mpls, push_eth,
// pop_eth, hash, dec_ttl, set(nsh), recirc in hex, drop at the end of a
// list, multi-reason slow_path, ERSPAN and GTP-U tnl_push), so that anything
// this library prints it can also read.
import { AttrWriter } from '../netlink/attr.js';
import { hexVal, ipv4ToU32OrNeg, ipv6IntoBytes } from '../ovs/addr.js';
import type { Action, CtAction, CtNat, PushNshAction, SetAction, SetMaskedAction, UserspaceAction } from '../ovs/actions.js';
import { decodeAction, encodeActions } from '../ovs/action-codec.js';
import { keyFieldPayload } from '../ovs/key-codec.js';
import type { FlowKey, NshKey } from '../ovs/keys.js';
import { U128_MAX } from '../ovs/packing.js';
import { encodeCookie, type UserActionCookie } from './cookie.js';
import { OdpParseError } from './errors.js';
import { SLOW_PATH_NAMES } from './flags.js';
import { allBytes } from './numfmt.js';
import { MAX_ODP_NESTED, parseKeyAttr, scanGeneveOpts } from './parse-key.js';
import { Cursor, ScanFail } from './scanner.js';
import { parseTnlPush } from './tnl-push.js';

export interface ParseActionsOptions {
  /** Port names usable in place of output port numbers (ovs-dpctl --names). */
  portNames?: ReadonlyMap<string, number>;
}

type Obj = Record<string, unknown>;

/** Parses an action list ("1,set(ipv4(ttl=63)),2" or "drop"). Throws OdpParseError. */
export function parseOdpActions(text: string, opts: ParseActionsOptions = {}): Action[] {
  // OVS's one explicit drop (OVS_ACTION_ATTR_DROP, reason 0), any case.
  if (text.toLowerCase() === 'drop') return [{ type: 'drop', reason: 0 }];
  const c = new Cursor(text);
  const out: Action[] = [];
  let start = 0;
  try {
    for (;;) {
      c.skipDelims();
      if (c.atEnd()) break;
      start = c.i;
      if (c.lit('drop') && (c.atEnd() || isDelim(c.code()))) {
        c.skipDelims();
        if (!c.atEnd()) c.fail('"drop" can only end an action list', start);
        out.push({ type: 'drop', reason: 0 });
        break;
      }
      c.i = start;
      out.push(parseAction(c, opts));
      if (!c.atEnd() && !isDelim(c.code())) c.fail(`expected "," between actions, found ${c.found()}`);
    }
    if (text.length > 8000) checkSize(out, c, start);
  } catch (e) {
    if (e instanceof ScanFail) throw new OdpParseError(e.reason, e.offset, text.slice(start), text);
    throw e;
  }
  return out;
}

function isDelim(code: number): boolean {
  return code === 44 || code === 32 || code === 9 || code === 13 || code === 10;
}

// A flow's actions travel in one netlink attribute of at most 64 KiB.
function checkSize(actions: Action[], c: Cursor, at: number): void {
  const w = new AttrWriter(1 << 16);
  try {
    encodeActions(w, actions);
  } catch (e) {
    if (e instanceof RangeError) c.fail(e.message, at);
    throw e;
  }
  if (w.length > 65535) c.fail(`actions take ${w.length} bytes, more than one netlink attribute holds`, at);
}

/** A nested list up to (not including) its ")"; a lone "drop" is the empty list. */
function actionList(c: Cursor, opts: ParseActionsOptions): Action[] {
  const out: Action[] = [];
  for (;;) {
    c.skipDelims();
    if (c.peek() === ')') return out;
    if (c.atEnd()) c.fail('action list: missing ")"');
    const start = c.i;
    if (c.lit('drop') && (c.peek() === ')' || isDelim(c.code()))) {
      c.skipDelims();
      if (c.peek() !== ')') c.fail('"drop" can only end an action list', start);
      if (out.length) out.push({ type: 'drop', reason: 0 });
      return out;
    }
    c.i = start;
    out.push(parseAction(c, opts));
  }
}

function nestedList(c: Cursor, opts: ParseActionsOptions): Action[] {
  const list = actionList(c, opts);
  c.expect(')');
  return list;
}

const noArgs = new Set(['pop_vlan', 'pop_eth', 'ct_clear']);

export function parseAction(c: Cursor, opts: ParseActionsOptions): Action {
  c.depth++;
  if (c.depth >= MAX_ODP_NESTED) c.fail(`actions nest deeper than ${MAX_ODP_NESTED - 1} levels`);
  const a = parseAction__(c, opts);
  c.depth--;
  return a;
}

function parseAction__(c: Cursor, opts: ParseActionsOptions): Action {
  const start = c.i;
  if (c.atNumber()) return { type: 'output', port: c.uint(32, 'output port') };
  if (opts.portNames) {
    // Port names run to the next delimiter, as OVS reads them ("eth0.100", "veth-a").
    const name = /^[^,\s()]+/.exec(c.s.slice(c.i, c.i + 64))?.[0];
    const port = name === undefined ? undefined : opts.portNames.get(name);
    if (port !== undefined) {
      c.i += name!.length;
      return { type: 'output', port };
    }
  }
  const word = c.ident();
  const generic = /^action(\d+)$/.exec(word);
  if (generic) return genericAction(c, Number(generic[1]), start);
  if (noArgs.has(word) && c.peek() !== '(') {
    return word === 'pop_vlan' ? { type: 'popVlan' } : word === 'pop_eth' ? { type: 'popEth' } : { type: 'ctClear' };
  }
  if (word === 'ct' && c.peek() !== '(') return { type: 'ct' };
  if (c.peek() !== '(') {
    c.fail(`unknown action ${JSON.stringify(c.s.slice(start, c.i + 1) || c.found())}`, start);
  }
  c.i++;
  switch (word) {
    case 'lb_output':
      return { type: 'lbOutput', bondId: oneNumber(c, 'lb_output') };
    case 'trunc':
      return { type: 'trunc', maxLen: oneNumber(c, 'trunc') };
    case 'recirc':
      return { type: 'recirc', id: oneNumber(c, 'recirc') };
    case 'meter':
      return { type: 'meter', id: oneNumber(c, 'meter') };
    case 'tnl_pop':
      return { type: 'tnlPop', port: oneNumber(c, 'tnl_pop') };
    case 'userspace':
      return userspace(c);
    case 'set':
      return set(c);
    case 'push_vlan':
      return pushVlan(c);
    case 'sample':
      return sample(c, opts);
    case 'clone': {
      const actions = nestedList(c, opts);
      return { type: 'clone', actions };
    }
    case 'push_nsh':
      return pushNsh(c);
    case 'pop_nsh':
      c.expect(')', 'after pop_nsh(');
      return { type: 'popNsh' };
    case 'check_pkt_len':
      return checkPktLen(c, opts);
    case 'ct':
      return ct(c);
    case 'add_mpls':
    case 'push_mpls': {
      const lse = mplsLse(c, word);
      c.expect(',eth_type=0x');
      const ethertype = c.hex(16, `${word} eth_type`);
      c.expect(')');
      return word === 'add_mpls' ? { type: 'addMpls', lse, ethertype, tunFlags: 0 } : { type: 'pushMpls', lse, ethertype };
    }
    case 'pop_mpls': {
      c.expect('eth_type=0x');
      const ethertype = c.hex(16, 'pop_mpls eth_type');
      c.expect(')');
      return { type: 'popMpls', ethertype };
    }
    case 'push_eth': {
      c.expect('src=');
      const src = c.mac('push_eth src');
      c.expect(',dst=');
      const dst = c.mac('push_eth dst');
      c.expect(')');
      return { type: 'pushEth', src, dst };
    }
    case 'hash': {
      const alg = c.lit('l4(') ? 0 : c.lit('sym_l4(') ? 1 : c.fail('hash: expected l4( or sym_l4(');
      const basis = c.uint(32, 'hash basis');
      c.expect('))');
      return { type: 'hash', alg, basis };
    }
    case 'dec_ttl': {
      c.expect('le_1(');
      const actions = nestedList(c, opts);
      c.expect(')');
      return { type: 'decTtl', actions };
    }
    case 'psample':
      return psample(c);
    case 'tnl_push':
      return parseTnlPush(c, (x) => scanGeneveOpts(x)[0]);
    default:
      return c.fail(`unknown action ${JSON.stringify(word)}`, start);
  }
}

/** action%d(xx xx ...): how OVS prints an action it does not know. */
function genericAction(c: Cursor, attrType: number, start: number): Action {
  if (attrType > 0x3fff) c.fail(`action type ${attrType} out of range`, start);
  const bytes: number[] = [];
  if (c.lit('(')) {
    for (;;) {
      const hi = hexVal(c.code());
      const lo = hexVal(c.s.charCodeAt(c.i + 1));
      if (hi < 0 || lo < 0) c.fail(`action${attrType}: expected hex bytes`);
      bytes.push((hi << 4) | lo);
      c.i += 2;
      if (c.lit(')')) break;
      c.expect(' ');
    }
  }
  try {
    return decodeAction({ type: attrType, flags: 0, data: new Uint8Array(bytes) });
  } catch (e) {
    return c.fail(`action${attrType}: ${(e as Error).message}`, start);
  }
}

function oneNumber(c: Cursor, what: string): number {
  const v = c.uint(32, what);
  c.expect(')', `after the ${what} argument`);
  return v;
}

function mplsLse(c: Cursor, what: string): { label: number; tc: number; ttl: number; bos: number } {
  c.expect('label=');
  const label = c.uint(20, `${what} label`);
  c.expect(',tc=');
  const tc = c.uint(3, `${what} tc`);
  c.expect(',ttl=');
  const ttl = c.uint(8, `${what} ttl`);
  c.expect(',bos=');
  const bos = c.uint(1, `${what} bos`);
  return { label, tc, ttl, bos };
}

function pushVlan(c: Cursor): Action {
  let tpid = 0x8100;
  if (c.lit('tpid=')) {
    tpid = c.uint(16, 'push_vlan tpid');
    c.expect(',');
  }
  c.expect('vid=');
  const vid = c.uint(12, 'push_vlan vid');
  c.expect(',pcp=');
  const pcp = c.uint(3, 'push_vlan pcp');
  let cfi = 1;
  if (c.lit(',cfi=')) cfi = c.uint(1, 'push_vlan cfi');
  c.expect(')');
  return { type: 'pushVlan', tpid, vid, pcp, cfi };
}

function sample(c: Cursor, opts: ParseActionsOptions): Action {
  c.expect('sample=');
  const st = c.i;
  const m = /^(\d+(\.\d*)?|\.\d+)/.exec(c.s.slice(c.i, c.i + 40));
  if (!m) c.fail('sample: expected a percentage');
  c.i += m[0].length;
  const pct = Number(m[0]);
  if (!(pct >= 0 && pct <= 100)) c.fail(`sample: ${m[0]}% is not between 0 and 100`, st);
  c.expect('%,actions(');
  const p = Math.floor(0xffffffff * (pct / 100.0) + 0.5);
  const probability = p <= 0 ? 0 : p >= 0xffffffff ? 0xffffffff : p;
  const actions = nestedList(c, opts);
  c.expect(')');
  return { type: 'sample', probability, actions };
}

function checkPktLen(c: Cursor, opts: ParseActionsOptions): Action {
  c.expect('size=');
  const pktLen = c.uint(16, 'check_pkt_len size');
  c.expect(',gt(');
  const gt = nestedList(c, opts);
  c.expect(',le(');
  const le = nestedList(c, opts);
  c.expect(')');
  return { type: 'checkPktLen', pktLen, gt, le };
}

function set(c: Cursor): SetAction | SetMaskedAction {
  const k: Obj = {};
  const m: Obj = {};
  const [name] = parseKeyAttr(c, k, m);
  c.expect(')', 'after the one attribute of set(...)');
  const key = k as FlowKey;
  const mask = m as FlowKey;
  // OVS's own masked sets of NSH are all it ever prints: keep the mask.
  if (name === 'nsh') return { type: 'setMasked', key, mask };
  const kp = keyFieldPayload(name, k[name]);
  const mp = keyFieldPayload(name, m[name]);
  if (kp.length === mp.length && !allBytes(mp, 0xff)) return { type: 'setMasked', key, mask };
  return { type: 'set', key };
}

function userspace(c: Cursor): UserspaceAction {
  c.expect('pid=');
  const pid = c.uint(32, 'userspace pid');
  const out: UserspaceAction = { type: 'userspace', pid };
  let cookie: UserActionCookie | undefined;
  let userdata: Uint8Array | undefined;
  if (c.lit(',sFlow(vid=')) {
    const vid = c.uint(12, 'sFlow vid');
    c.expect(',pcp=');
    const pcp = c.uint(3, 'sFlow pcp');
    c.expect(',output=');
    const output = c.uint(32, 'sFlow output');
    c.expect(')');
    let tci = vid | (pcp << 13);
    if (tci) tci |= 0x1000;
    cookie = { type: 'sflow', vlanTci: tci, output };
  } else if (c.lit(',slow_path(')) {
    // OVS reads "a|b" but prints "a,b": take either.
    let reason = 0;
    while (!c.lit(')')) {
      if (c.atNumber()) {
        const v = c.uint(32, 'slow_path reason');
        if (v & ~0x7f) c.fail('slow_path: unknown reason bits');
        reason |= v;
      } else {
        const hit = SLOW_PATH_NAMES.find(([, n]) => c.s.startsWith(n, c.i) && /^[|,)]/.test(c.s[c.i + n.length] ?? ''));
        if (!hit) c.fail(`slow_path: unknown reason at ${c.found()}`);
        c.i += hit[1].length;
        reason |= hit[0];
      }
      if (!c.lit('|') && !c.lit(',') && c.peek() !== ')') c.fail(`slow_path: expected "|" or ")", found ${c.found()}`);
    }
    cookie = { type: 'slowPath', reason: reason >>> 0 };
  } else if (c.lit(',flow_sample(probability=')) {
    const probability = c.uint(16, 'flow_sample probability');
    c.expect(',collector_set_id=');
    const collectorSetId = c.uint(32, 'collector_set_id');
    c.expect(',obs_domain_id=');
    const obsDomainId = c.uint(32, 'obs_domain_id');
    c.expect(',obs_point_id=');
    const obsPointId = c.uint(32, 'obs_point_id');
    c.expect(',output_port=');
    const outputPort = c.uint(32, 'output_port');
    const direction = c.lit(',ingress') ? 1 : c.lit(',egress') ? 2 : 0;
    c.expect(')');
    cookie = { type: 'flowSample', probability, collectorSetId, obsDomainId, obsPointId, outputPort, direction };
  } else if (c.lit(',ipfix(output_port=')) {
    const outputPort = c.uint(32, 'ipfix output_port');
    c.expect(')');
    cookie = { type: 'ipfix', outputPort };
  } else if (c.lit(',controller(reason=')) {
    const reason = c.dec(16, 'controller reason');
    c.expect(',dont_send=');
    const dontSend = c.dec(8, 'dont_send');
    c.expect(',continuation=');
    const continuation = c.dec(8, 'continuation');
    c.expect(',recirc_id=');
    const recircId = c.dec(32, 'controller recirc_id');
    c.expect(',rule_cookie=');
    const ruleCookie = hex64(c);
    c.expect(',controller_id=');
    const controllerId = c.dec(16, 'controller_id');
    c.expect(',max_len=');
    const maxLen = c.dec(16, 'max_len');
    c.expect(')');
    cookie = { type: 'controller', dontSend, continuation, reason, recircId, ruleCookie, controllerId, maxLen };
  } else if (c.lit(',userdata(')) {
    const bytes: number[] = [];
    while (hexVal(c.code()) >= 0) {
      const hi = hexVal(c.code());
      c.i++;
      const lo = hexVal(c.code());
      if (lo < 0) c.fail('userdata: odd number of hex digits');
      c.i++;
      bytes.push((hi << 4) | lo);
    }
    c.expect(')', 'after userdata hex');
    userdata = new Uint8Array(bytes);
  }
  if (!userdata) userdata = cookie ? encodeCookie(cookie) : new Uint8Array(48);
  // OVS pads userdata to 8 bytes for kernels that wanted exactly that.
  if (userdata.length < 8) {
    const padded = new Uint8Array(8);
    padded.set(userdata);
    userdata = padded;
  }
  out.userdata = userdata;
  if (c.lit(',actions')) out.actions = true;
  if (c.lit(',tunnel_out_port=')) out.egressTunPort = c.uint(32, 'tunnel_out_port');
  c.expect(')', 'to end userspace(...)');
  // Keep the model's property order stable for comparisons.
  const ordered: UserspaceAction = { type: 'userspace', pid, userdata: out.userdata };
  if (out.egressTunPort !== undefined) ordered.egressTunPort = out.egressTunPort;
  if (out.actions) ordered.actions = true;
  return ordered;
}

function hex64(c: Cursor): bigint {
  const start = c.i;
  if (c.s.startsWith('0x', c.i) || c.s.startsWith('0X', c.i)) c.i += 2;
  const st = c.i;
  while (hexVal(c.code()) >= 0) c.i++;
  if (st === c.i) c.fail('rule_cookie: expected hex digits', start);
  const v = BigInt('0x' + c.s.slice(st, c.i));
  if (v >> 64n) c.fail('rule_cookie: more than 64 bits', start);
  return v;
}

function pushNsh(c: Cursor): PushNshAction {
  const base = { flags: 0, ttl: 63, mdtype: 1, np: 3, spi: 0, si: 255 };
  const ctx: [number, number, number, number] = [0, 0, 0, 0];
  let md2: Uint8Array | undefined;
  for (;;) {
    c.skipDelims();
    if (c.lit(')')) break;
    if (c.lit('flags=')) base.flags = c.uint(8, 'push_nsh flags');
    else if (c.lit('ttl=')) base.ttl = c.uint(8, 'push_nsh ttl');
    else if (c.lit('mdtype=')) {
      base.mdtype = c.uint(8, 'push_nsh mdtype');
      if (base.mdtype !== 1 && base.mdtype !== 2) c.fail(`push_nsh: mdtype ${base.mdtype} is neither 1 nor 2`);
      if (base.mdtype === 2) md2 = undefined;
    } else if (c.lit('np=')) base.np = c.uint(8, 'push_nsh np');
    else if (c.lit('spi=0x')) base.spi = c.hex(24, 'push_nsh spi');
    else if (c.lit('si=')) base.si = c.uint(8, 'push_nsh si');
    else if (base.mdtype === 1 && /^c[1-4]=0x/.test(c.s.slice(c.i, c.i + 5))) {
      const i = Number(c.s[c.i + 1]) - 1;
      c.i += 5;
      ctx[i] = c.hex(32, `push_nsh c${i + 1}`);
    } else if (base.mdtype === 2 && c.lit('md2=0x')) {
      const st = c.i;
      while (hexVal(c.code()) >= 0) c.i++;
      // Printed as one number (leading zero digit dropped): read an odd count as such.
      let hex = c.s.slice(st, c.i);
      if (hex.length % 2) hex = '0' + hex;
      if (!hex.length || hex.length > 488) c.fail('push_nsh: md2 must be 1 to 244 bytes of hex');
      const b = new Uint8Array(Math.ceil(hex.length / 2 / 4) * 4);
      for (let i = 0; i < hex.length / 2; i++) b[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
      md2 = b;
    } else c.fail(`push_nsh: unknown field at ${c.found()}`);
  }
  const nsh: NshKey = { base };
  if (base.mdtype === 1) nsh.md1 = ctx;
  else if (md2 && md2.length) nsh.md2 = md2;
  return { type: 'pushNsh', nsh };
}

function psample(c: Cursor): Action {
  let group: number | undefined;
  let cookie: Uint8Array | undefined;
  for (;;) {
    c.skipDelims();
    if (c.lit(')')) break;
    if (group === undefined && c.lit('group=')) group = c.uint(32, 'psample group');
    else if (cookie === undefined && c.lit('cookie=0x')) {
      const st = c.i;
      while (hexVal(c.code()) >= 0 && c.i - st < 32) c.i++;
      // OVS prints the cookie as a number ("0x1"): read an odd digit count as such.
      let hex = c.s.slice(st, c.i);
      if (!hex.length) c.fail('psample cookie: expected hex digits', st);
      if (hex.length % 2) hex = '0' + hex;
      cookie = new Uint8Array(hex.length / 2);
      for (let i = 0; i < cookie.length; i++) cookie[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    } else c.fail(`psample: unexpected ${c.found()}`);
  }
  if (group === undefined) c.fail('psample: group= is required');
  return cookie ? { type: 'psample', group, cookie } : { type: 'psample', group };
}

// ---- ct ----

function ct(c: Cursor): CtAction {
  const a: CtAction = { type: 'ct' };
  let commit = false;
  let force = false;
  let zone = 0;
  let mark: { value: number; mask: number } | undefined;
  let labels: { value: bigint; mask: bigint } | undefined;
  let helper: string | undefined;
  let timeout: string | undefined;
  let nat: CtNat | undefined;
  for (;;) {
    c.skipDelims();
    if (c.lit(')')) break;
    const start = c.i;
    const name = /^[a-z_]*/.exec(c.s.slice(c.i, c.i + 16))![0];
    c.i += name.length;
    switch (name) {
      case 'commit':
        commit = true;
        break;
      case 'force_commit':
        force = true;
        break;
      case 'zone':
        c.expect('=');
        zone = c.uint(16, 'ct zone');
        break;
      case 'mark': {
        c.expect('=');
        const value = c.hex(32, 'ct mark');
        const mask = c.lit('/') ? c.hex(32, 'ct mark mask') : 0xffffffff;
        mark = { value, mask };
        break;
      }
      case 'label': {
        c.expect('=');
        const value = u128(c, 'ct label');
        const mask = c.lit('/') ? u128(c, 'ct label mask') : U128_MAX;
        labels = { value, mask };
        break;
      }
      case 'helper':
        c.expect('=');
        helper = word(c, 15, 'ct helper');
        break;
      case 'timeout':
        c.expect('=');
        timeout = word(c, 31, 'ct timeout');
        break;
      case 'nat':
        nat = natSpec(c);
        break;
      default:
        c.fail(`ct: unknown option ${JSON.stringify(c.s.slice(start, start + 16))}`, start);
    }
    if (!isEnd(c)) c.fail(`ct: expected "," or ")" after ${name}, found ${c.found()}`);
  }
  if (commit && force) c.fail('ct: commit and force_commit together');
  if (commit) a.commit = true;
  if (force) a.forceCommit = true;
  if (zone) a.zone = zone;
  if (mark && mark.mask) a.mark = mark;
  if (labels && labels.mask) a.labels = labels;
  if (helper !== undefined) a.helper = helper;
  if (timeout !== undefined) a.timeout = timeout;
  if (nat) a.nat = nat;
  return a;
}

function isEnd(c: Cursor): boolean {
  const p = c.peek();
  return p === ')' || p === '' || isDelim(c.code());
}

function word(c: Cursor, max: number, what: string): string {
  const st = c.i;
  while (!c.atEnd() && !isEnd(c)) c.i++;
  const w = c.s.slice(st, c.i);
  if (!w.length || w.length > max) c.fail(`${what}: 1 to ${max} characters`, st);
  return w;
}

function u128(c: Cursor, what: string): bigint {
  if (c.s.startsWith('0x', c.i) || c.s.startsWith('0X', c.i)) {
    const start = c.i;
    c.i += 2;
    const st = c.i;
    while (hexVal(c.code()) >= 0) c.i++;
    const digits = c.s.slice(st, c.i).replace(/^0+/, '');
    if (st === c.i) c.fail(`${what}: expected hex digits`, start);
    if (digits.length > 32) c.fail(`${what}: more than 128 bits`, start);
    return digits ? BigInt('0x' + digits) : 0n;
  }
  return c.big(64, what);
}

function natAddr(c: Cursor): { ip: string; v6: boolean } {
  if (c.lit('[')) {
    const ip = c.ipv6('nat address');
    c.expect(']');
    return { ip, v6: true };
  }
  const m = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}/.exec(c.s.slice(c.i, c.i + 16));
  if (m) return { ip: c.ipv4('nat address'), v6: false };
  return { ip: c.ipv6('nat address'), v6: true };
}

function natSpec(c: Cursor): CtNat {
  const n: CtNat = {};
  if (!c.lit('(')) return n;
  let snat = false;
  let dnat = false;
  let min: { ip: string; v6: boolean } | undefined;
  let max: { ip: string; v6: boolean } | undefined;
  let pmin = 0;
  let pmax = 0;
  let persistent = false;
  let hash = false;
  let random = false;
  const range = (): void => {
    if (!c.lit('=')) return;
    min = natAddr(c);
    if (c.lit('-')) {
      max = natAddr(c);
      if (max.v6 !== min.v6) c.fail('nat: range mixes IPv4 and IPv6');
    }
    if (c.lit(':')) {
      pmin = c.dec(16, 'nat port');
      if (c.lit('-')) pmax = c.dec(16, 'nat port');
    }
  };
  for (;;) {
    c.skipDelims();
    if (c.lit(')')) break;
    if (c.lit('src')) {
      range();
      snat = true;
    } else if (c.lit('dst')) {
      range();
      dnat = true;
    } else if (c.lit('persistent')) persistent = true;
    else if (c.lit('hash')) hash = true;
    else if (c.lit('random')) random = true;
    else c.fail(`nat: unknown option at ${c.found()}`);
  }
  if (snat && dnat) c.fail('nat: src and dst together');
  if (min && max && cmpIp(max.ip, min.ip) < 0 && !isZeroIp(max.ip)) c.fail('nat: address range runs backwards');
  if (pmax && pmax < pmin) c.fail('nat: port range runs backwards');
  if (hash && random) c.fail('nat: hash and random together');
  if (snat) n.src = true;
  else if (dnat) n.dst = true;
  else return n;
  if (min) {
    n.ipMin = min.ip;
    if (max && cmpIp(max.ip, min.ip) > 0) n.ipMax = max.ip;
    if (pmin) {
      n.protoMin = pmin;
      if (pmax && pmax > pmin) n.protoMax = pmax;
    }
    if (persistent) n.persistent = true;
    if (hash) n.protoHash = true;
    if (random) n.protoRandom = true;
  }
  return n;
}

function ipBytes(ip: string): Uint8Array {
  const b = new Uint8Array(ip.includes(':') ? 16 : 4);
  if (b.length === 4) new DataView(b.buffer).setUint32(0, ipv4ToU32OrNeg(ip), false);
  else ipv6IntoBytes(ip, b);
  return b;
}

function cmpIp(a: string, b: string): number {
  const x = ipBytes(a);
  const y = ipBytes(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}

function isZeroIp(a: string): boolean {
  return ipBytes(a).every((x) => x === 0);
}
