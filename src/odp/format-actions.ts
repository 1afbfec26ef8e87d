// Action[] → ODP text, as odp-util.c's format_odp_actions prints it.
import type { Action, CtAction, CtNat } from '../ovs/actions.js';
import type { FlowKey, NshKey } from '../ovs/keys.js';
import { U128_MAX } from '../ovs/packing.js';
import { decodeCookie, formatCookie } from './cookie.js';
import { formatAttr, formatNshMasked, type NshFlat } from './format-key.js';
import { fieldsOf } from './mask-util.js';
import { hx, putHex, spacedHex } from './numfmt.js';
import { formatTnlPush } from './tnl-push.js';
import { byteHex } from '../ovs/addr.js';

export interface FormatActionsOptions {
  /** Print output ports by name. */
  portNames?: ReadonlyMap<number, string>;
}

/** An action list; the empty list is "drop". */
export function formatOdpActions(actions: readonly Action[], opts: FormatActionsOptions = {}): string {
  if (actions.length === 0) return 'drop';
  return actions.map((a) => formatOdpAction(a, opts)).join(',');
}

/** C's "%.1f": round half to even on the exact binary value. */
function fixed1(x: number): string {
  const t = x * 20;
  if (Number.isInteger(t) && !Number.isInteger(x * 10)) {
    const down = Math.floor(x * 10);
    return ((down % 2 === 0 ? down : down + 1) / 10).toFixed(1);
  }
  return x.toFixed(1);
}

export function formatOdpAction(a: Action, opts: FormatActionsOptions = {}): string {
  const port = (p: number): string => opts.portNames?.get(p) ?? String(p);
  switch (a.type) {
    case 'output':
      return port(a.port);
    case 'meter':
      return `meter(${a.id})`;
    case 'lbOutput':
      return `lb_output(${a.bondId})`;
    case 'trunc':
      return `trunc(${a.maxLen})`;
    case 'tnlPop':
      return `tnl_pop(${port(a.port)})`;
    case 'tnlPush':
      return formatTnlPush(a, opts.portNames);
    case 'userspace': {
      let s = `userspace(pid=${a.pid}`;
      if (a.userdata) {
        const cookie = decodeCookie(a.userdata);
        s += cookie ? formatCookie(cookie, port) : `,userdata(${hexBytes(a.userdata)})`;
      }
      if (a.actions) s += ',actions';
      if (a.egressTunPort !== undefined) s += `,tunnel_out_port=${port(a.egressTunPort)}`;
      return s + ')';
    }
    case 'recirc':
      return `recirc(${hx(a.id)})`;
    case 'hash':
      if (a.alg === 0) return `hash(l4(${a.basis}))`;
      if (a.alg === 1) return `hash(sym_l4(${a.basis}))`;
      return `hash(Unknown hash algorithm(${a.alg}))`;
    case 'setMasked':
      return `set(${formatSetMasked(a.key, a.mask)})`;
    case 'set': {
      const names = fieldsOf(a.key);
      if (!names.length) return 'set()';
      const n = names[0];
      return `set(${formatAttr(n, (a.key as Record<string, unknown>)[n], undefined, true, opts.portNames)})`;
    }
    case 'pushEth':
      return `push_eth(src=${a.src},dst=${a.dst})`;
    case 'popEth':
      return 'pop_eth';
    case 'pushVlan': {
      const tpid = a.tpid !== 0x8100 ? `tpid=0x${a.tpid.toString(16).padStart(4, '0')},` : '';
      const parts = [`vid=${a.vid}`, `pcp=${a.pcp}`];
      if (!a.cfi) parts.push('cfi=0');
      return `push_vlan(${tpid}${parts.join(',')})`;
    }
    case 'popVlan':
      return 'pop_vlan';
    case 'pushMpls':
      return `push_mpls(${lse(a.lse)},eth_type=0x${a.ethertype.toString(16)})`;
    case 'popMpls':
      return `pop_mpls(eth_type=0x${a.ethertype.toString(16)})`;
    case 'addMpls':
      return `add_mpls(${lse(a.lse)},eth_type=0x${a.ethertype.toString(16)})`;
    case 'sample':
      return `sample(sample=${fixed1((100.0 * a.probability) / 0xffffffff)}%,actions(${formatOdpActions(a.actions, opts)}))`;
    case 'ct':
      return formatCt(a);
    case 'ctClear':
      return 'ct_clear';
    case 'clone':
      return `clone(${formatOdpActions(a.actions, opts)})`;
    case 'pushNsh':
      return formatPushNsh(a.nsh);
    case 'popNsh':
      return 'pop_nsh()';
    case 'checkPktLen':
      return `check_pkt_len(size=${a.pktLen},gt(${formatOdpActions(a.gt, opts)}),le(${formatOdpActions(a.le, opts)}))`;
    case 'decTtl':
      return `dec_ttl(le_1(${formatOdpActions(a.actions, opts)}))`;
    case 'drop':
      return 'drop';
    case 'psample': {
      let s = `psample(group=${a.group},`;
      if (a.cookie) s += `cookie=${putHex(a.cookie)}`;
      if (s.endsWith(',')) s = s.slice(0, -1);
      return s + ')';
    }
    case 'unknown':
      return `action${a.attrType}${a.data.length ? `(${spacedHex(a.data)})` : ''}`;
  }
}

function hexBytes(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += byteHex(b[i]);
  return s;
}

const lse = (l: { label: number; tc: number; ttl: number; bos: number }): string => `label=${l.label},tc=${l.tc},ttl=${l.ttl},bos=${l.bos}`;

function formatSetMasked(key: FlowKey, mask: FlowKey): string {
  const names = fieldsOf(key);
  if (!names.length) return '';
  const n = names[0];
  const k = (key as Record<string, unknown>)[n];
  const m = (mask as Record<string, unknown>)[n];
  if (n === 'nsh') return `nsh(${formatSetNsh(k as NshKey, m as NshKey | undefined)})`;
  return formatAttr(n, k, m, false);
}

/** set(nsh(...)) shows only the fields with a non-zero mask. */
function formatSetNsh(k: NshKey, m: NshKey | undefined): string {
  const key: NshFlat = { flags: 0, ttl: 0, mdtype: 0, np: 0, spi: 0, si: 0, c: [0, 0, 0, 0] };
  const mask: NshFlat = { flags: 0, ttl: 0, mdtype: 0, np: 0, spi: 0, si: 0, c: [0, 0, 0, 0] };
  if (k.base && m?.base) {
    Object.assign(key, k.base);
    Object.assign(mask, m.base);
  }
  if (k.md1 && m?.md1) {
    key.c = [...k.md1];
    mask.c = [...m.md1];
  }
  return formatNshMasked(key, mask);
}

function formatPushNsh(n: NshKey): string {
  const b = n.base ?? { flags: 0, ttl: 63, mdtype: 0, np: 0, spi: 0, si: 0 };
  // The header keeps 2 flag bits and 6 TTL bits.
  let s = `push_nsh(flags=${b.flags & 3},ttl=${b.ttl & 0x3f},mdtype=${b.mdtype},np=${b.np},spi=0x${b.spi.toString(16)},si=${b.si}`;
  if (b.mdtype === 1) {
    const c = n.md1 ?? [0, 0, 0, 0];
    for (let i = 0; i < 4; i++) s += `,c${i + 1}=0x${c[i].toString(16)}`;
  } else if (b.mdtype === 2) {
    s += `,md2=${putHex(n.md2 ?? new Uint8Array(0))}`;
  } else {
    s += ',<error: unknown mdtype>';
  }
  return s + ')';
}

function formatCt(a: CtAction): string {
  const zone = a.zone ?? 0;
  const any = a.commit || a.forceCommit || zone || a.mark || a.labels || a.helper !== undefined || a.timeout !== undefined || a.nat;
  if (!any) return 'ct';
  const parts: string[] = [];
  if (a.commit) parts.push('commit');
  if (a.forceCommit) parts.push('force_commit');
  if (zone) parts.push(`zone=${zone}`);
  if (a.mark) parts.push(`mark=${hx(a.mark.value)}/${hx(a.mark.mask)}`);
  if (a.labels) parts.push(`label=${hx(a.labels.value)}${a.labels.mask !== U128_MAX ? '/' + hx(a.labels.mask) : ''}`);
  if (a.helper !== undefined) parts.push(`helper=${a.helper}`);
  if (a.timeout !== undefined) parts.push(`timeout=${a.timeout}`);
  if (a.nat) parts.push(formatNat(a.nat));
  return `ct(${parts.join(',')})`;
}

function ipLen(ip: string | undefined): number {
  return ip === undefined ? 0 : ip.includes(':') ? 16 : 4;
}

function formatNat(n: CtNat): string {
  const hasOpts = n.ipMin !== undefined || n.ipMax !== undefined || n.protoMin !== undefined || n.protoMax !== undefined || n.persistent || n.protoHash || n.protoRandom;
  if (!(n.src || n.dst) && hasOpts) return 'nat(error: options allowed only with "src" or "dst")';
  if (n.src && n.dst) return 'nat(error: Only one of "src" or "dst" may be present.)';
  if (n.ipMin === undefined && n.protoMin !== undefined) return 'nat(error: proto but no IP.)';
  if ((n.ipMin === undefined && n.ipMax !== undefined) || (n.protoMin === undefined && n.protoMax !== undefined)) return 'nat(error: range max without min.)';
  if (n.ipMin !== undefined && n.ipMax !== undefined && ipLen(n.ipMin) !== ipLen(n.ipMax)) return 'nat(error: IP address sizes do not match)';
  if (!(n.src || n.dst)) return 'nat';
  let s = n.src ? 'src' : 'dst';
  const pmin = n.protoMin ?? 0;
  const pmax = n.protoMax ?? 0;
  if (n.ipMin !== undefined) {
    s += '=';
    const v6 = n.ipMin.includes(':');
    const br = (ip: string): string => (v6 && pmin ? `[${ip}]` : ip);
    s += br(n.ipMin);
    if (n.ipMax !== undefined && n.ipMax !== n.ipMin && n.ipMax !== (v6 ? '::' : '0.0.0.0')) s += '-' + br(n.ipMax);
    if (pmin) {
      s += `:${pmin}`;
      if (pmax && pmax !== pmin) s += `-${pmax}`;
    }
  }
  if (n.persistent) s += ',persistent';
  if (n.protoHash) s += ',hash';
  if (n.protoRandom) s += ',random';
  return `nat(${s})`;
}
