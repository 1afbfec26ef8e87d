// Conntrack timeout policies over nfnetlink_cttimeout: named sets of
// per-state timeouts for one L3/L4 protocol pair. A ct(timeout=NAME) action
// gives the connections it creates the policy of that name (ovs-vswitchd
// makes them from OVSDB's CT_Timeout_Policy, "ovs_tp_<id>_<proto><family>").
// The kernel keeps them per network namespace; the ovsnl daemon keeps its
// own, behind the same messages. Pure codec here, requests at the end.
import { getBe16, getBe32, getString, getU8, parseAttrs, type AttrWriter, type Attr } from '../netlink/attr.js';
import type { Connection } from '../netlink/connection.js';
import { NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE } from '../netlink/constants.js';
import { MalformedError } from '../netlink/errors.js';
import type { NlMessage } from '../netlink/message.js';
import {
  AF_UNSPEC,
  CTA_TIMEOUT_DATA,
  CTA_TIMEOUT_L3PROTO,
  CTA_TIMEOUT_L4PROTO,
  CTA_TIMEOUT_NAME,
  CTA_TIMEOUT_USE,
  CTNL_TIMEOUT_NAME_MAX,
  IPCTNL_MSG_TIMEOUT_DELETE,
  IPCTNL_MSG_TIMEOUT_GET,
  IPCTNL_MSG_TIMEOUT_NEW,
  NFNL_SUBSYS_CTNETLINK_TIMEOUT,
  nfnlType,
  TIMEOUT_ATTRS,
} from './constants.js';
import { nfRequest, parseNfMessage } from './entry.js';

/** One policy: seconds per state, by the names of TIMEOUT_ATTRS for its protocol. */
export interface TimeoutPolicy {
  name: string;
  /** AF_INET or AF_INET6. */
  l3proto: number;
  /** The IP protocol, or 255 for the generic tracker. */
  l4proto: number;
  /** Seconds per state; in a request, the states left out keep the tracker's defaults. */
  timeouts: Record<string, number>;
  /** References the kernel holds (1: the policy itself; one more per ct() action using it). Replies only. */
  use?: number;
}

/** The CTA_TIMEOUT_DATA attributes of a protocol's timeouts, in attribute order; unknown names refused. */
export function writeTimeoutData(w: AttrWriter, l4proto: number, timeouts: Record<string, number>): void {
  const names = TIMEOUT_ATTRS[l4proto];
  if (!names) throw new RangeError(`no timeout policy layout for IP protocol ${l4proto} (TCP, UDP, UDP-Lite, ICMP, ICMPv6 or 255 for generic)`);
  for (const k of Object.keys(timeouts)) {
    if (!names.includes(k)) throw new RangeError(`protocol ${l4proto} has no timeout named ${JSON.stringify(k)} (${names.join(', ')})`);
  }
  const nest = w.nestStart(CTA_TIMEOUT_DATA, true);
  names.forEach((n, i) => {
    const v = timeouts[n];
    if (v === undefined) return;
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`timeout ${n}: ${v} is not a number of seconds`);
    w.be32(i + 1, v);
  });
  w.nestEnd(nest);
}

/** CTA_TIMEOUT_DATA as seconds by name; attributes beyond the layout are skipped, as a newer kernel's would be. */
export function readTimeoutData(data: Uint8Array, l4proto: number): Record<string, number> {
  const names = TIMEOUT_ATTRS[l4proto] ?? [];
  const out: Record<string, number> = {};
  for (const a of parseAttrs(data)) {
    const n = names[a.type - 1];
    if (n === undefined) continue;
    if (a.data.length !== 4) throw new MalformedError(`timeout ${n}: ${a.data.length} bytes, not 4`);
    out[n] = getBe32(a);
  }
  return out;
}

/** A cttimeout message: nfgenmsg (AF_UNSPEC, version 0) and what `body` writes. */
export function timeoutMessage(cmd: number, flags: number, body: (w: AttrWriter) => void, hdr: { seq?: number; pid?: number } = {}): Uint8Array {
  const { w, end } = nfRequest(NFNL_SUBSYS_CTNETLINK_TIMEOUT, cmd, AF_UNSPEC, 128, { flags, seq: hdr.seq, pid: hdr.pid });
  body(w);
  return end().slice();
}

/** What is wrong with a policy name (CTNL_TIMEOUT_NAME_MAX: 1 to 31 bytes), or undefined. */
export function timeoutNameProblem(name: string): string | undefined {
  const n = Buffer.byteLength(name);
  return n === 0 || n > CTNL_TIMEOUT_NAME_MAX - 1 ? `a timeout policy name has 1 to ${CTNL_TIMEOUT_NAME_MAX - 1} bytes: ${JSON.stringify(name)}` : undefined;
}

function checkName(name: string): void {
  const problem = timeoutNameProblem(name);
  if (problem) throw new RangeError(problem);
}

/** Attributes in the order ctnl_timeout_fill_info writes them (use only when given: replies). */
export function writeTimeoutPolicy(w: AttrWriter, p: TimeoutPolicy): void {
  checkName(p.name);
  w.string(CTA_TIMEOUT_NAME, p.name);
  w.be16(CTA_TIMEOUT_L3PROTO, p.l3proto);
  w.u8(CTA_TIMEOUT_L4PROTO, p.l4proto);
  if (p.use !== undefined) w.be32(CTA_TIMEOUT_USE, p.use);
  writeTimeoutData(w, p.l4proto, p.timeouts);
}

/** A policy from an IPCTNL_MSG_TIMEOUT_NEW message (a GET reply or dump part). */
export function decodeTimeoutPolicy(m: NlMessage): TimeoutPolicy {
  if (m.type !== nfnlType(NFNL_SUBSYS_CTNETLINK_TIMEOUT, IPCTNL_MSG_TIMEOUT_NEW)) throw new MalformedError(`message type 0x${m.type.toString(16)} is not a cttimeout policy`);
  const by = new Map<number, Attr>();
  for (const a of parseNfMessage(m).attrs) by.set(a.type, a);
  const name = by.get(CTA_TIMEOUT_NAME);
  const l3 = by.get(CTA_TIMEOUT_L3PROTO);
  const l4 = by.get(CTA_TIMEOUT_L4PROTO);
  if (!name || !l3 || !l4) throw new MalformedError('cttimeout policy without its name, L3 or L4 protocol');
  const l4proto = getU8(l4);
  const data = by.get(CTA_TIMEOUT_DATA);
  const use = by.get(CTA_TIMEOUT_USE);
  const p: TimeoutPolicy = { name: getString(name), l3proto: getBe16(l3), l4proto, timeouts: data ? readTimeoutData(data.data, l4proto) : {} };
  if (use) p.use = getBe32(use);
  return p;
}

/** The name a request carries, if any (GET and DELETE of one policy). */
export function timeoutNameOf(attrs: readonly Attr[]): string | undefined {
  const a = attrs.find((x) => x.type === CTA_TIMEOUT_NAME);
  return a && getString(a);
}

// ---- requests ---------------------------------------------------------------

export interface TimeoutPutOptions {
  /** Replace the timeouts of an existing policy of that name (NLM_F_REPLACE); otherwise one that exists is EBUSY. */
  replace?: boolean;
  /** Fail with EEXIST if a policy of that name exists (NLM_F_EXCL). */
  exclusive?: boolean;
}

/** Creates a policy (or, with `replace`, changes one: its protocols must stay). */
export async function putTimeoutPolicy(conn: Connection, p: Omit<TimeoutPolicy, 'use'>, opts: TimeoutPutOptions = {}): Promise<void> {
  const flags = NLM_F_CREATE | (opts.replace ? NLM_F_REPLACE : 0) | (opts.exclusive ? NLM_F_EXCL : 0);
  await conn.request(timeoutMessage(IPCTNL_MSG_TIMEOUT_NEW, flags, (w) => writeTimeoutPolicy(w, p)), { operation: 'timeout policy put' });
}

/** One policy by name; ENOENT when there is none. */
export async function getTimeoutPolicy(conn: Connection, name: string): Promise<TimeoutPolicy> {
  checkName(name);
  const replies = await conn.request(timeoutMessage(IPCTNL_MSG_TIMEOUT_GET, 0, (w) => w.string(CTA_TIMEOUT_NAME, name)), { operation: 'timeout policy get' });
  const m = replies.find((r) => r.type === nfnlType(NFNL_SUBSYS_CTNETLINK_TIMEOUT, IPCTNL_MSG_TIMEOUT_NEW));
  if (!m) throw new MalformedError('timeout policy get: no reply before the ACK');
  return decodeTimeoutPolicy(m);
}

/** Every policy, in the order they were made. */
export async function dumpTimeoutPolicies(conn: Connection): Promise<TimeoutPolicy[]> {
  const out: TimeoutPolicy[] = [];
  for await (const m of conn.dump(timeoutMessage(IPCTNL_MSG_TIMEOUT_GET, 0, () => {}), { operation: 'timeout policy dump' })) out.push(decodeTimeoutPolicy(m));
  return out;
}

/** Deletes a policy (EBUSY while a flow uses it, ENOENT if none), or without a name every unused one. */
export async function deleteTimeoutPolicy(conn: Connection, name?: string): Promise<void> {
  if (name !== undefined) checkName(name);
  await conn.request(
    timeoutMessage(IPCTNL_MSG_TIMEOUT_DELETE, 0, (w) => {
      if (name !== undefined) w.string(CTA_TIMEOUT_NAME, name);
    }),
    { operation: 'timeout policy delete' },
  );
}
