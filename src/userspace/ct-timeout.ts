// Conntrack timeout policies for the daemon's tracker, as nfnetlink_cttimeout
// keeps them for the kernel's: made, changed, read and deleted with the
// same messages (served here), and bound by name to ct(timeout=NAME)
// actions when their flow is put (ovs_ct_copy_action: a policy that does
// not exist, or is for another protocol, leaves the action without one, and
// the flow is taken all the same). A connection a bound ct() creates keeps
// the policy and reads its timeouts at every packet, so a replaced policy
// applies at once. As the 6.1 and 6.12 modules do (test/diff/conntrack-
// timeout.test.ts): each flow that took a policy counts twice in its use
// count, and a policy in use can still be deleted; its connections go back
// to the defaults (nf_ct_untimeout), while the flows keep it for the
// connections they make.
import { getBe16, getU8 } from '../netlink/attr.js';
import { NLM_F_DUMP, NLM_F_EXCL, NLM_F_MULTI, NLM_F_REPLACE } from '../netlink/constants.js';
import type { NlMessage } from '../netlink/message.js';
import {
  AF_INET,
  AF_INET6,
  CTA_TIMEOUT_DATA,
  CTA_TIMEOUT_L3PROTO,
  CTA_TIMEOUT_L4PROTO,
  IPCTNL_MSG_TIMEOUT_DELETE,
  IPCTNL_MSG_TIMEOUT_GET,
  IPCTNL_MSG_TIMEOUT_NEW,
  IPPROTO_GENERIC_CT,
  IPPROTO_TCP,
  NFNL_SUBSYS_CTNETLINK_TIMEOUT,
  TIMEOUT_ATTRS,
} from '../conntrack/constants.js';
import { readTimeoutData, timeoutMessage, timeoutNameOf, timeoutNameProblem, writeTimeoutPolicy } from '../conntrack/timeout.js';
import type { Action, CtAction } from '../ovs/actions.js';
import type { FlowState } from './action-validate.js';
import { innerActions } from './actions.js';
import { defaultTimeouts } from './conntrack.js';
import { nfCall } from './ctnetlink-service.js';
import { encodeDone } from './genl-service.js';

const ENOENT = 2;
const EINVAL = 22;
const EBUSY = 16;
const EEXIST = 17;
const EOPNOTSUPP = 95;

/** Whether a message is for nfnetlink_cttimeout (NETLINK_NETFILTER subsystem 8). */
export const isCttimeout = (type: number): boolean => type >> 8 === NFNL_SUBSYS_CTNETLINK_TIMEOUT;

/**
 * The array slot of CTA_TIMEOUT_DATA attribute `type`: TCP's follow enum
 * tcp_conntrack (SYN_SENT 1 .. SYN_SENT2 9), then RETRANS and UNACK in the
 * two slots after IGNORE; the others are in attribute order.
 */
const slotOf = (l4proto: number, type: number): number => (l4proto !== IPPROTO_TCP ? type - 1 : type <= 9 ? type : type + 2);

/** A policy as the tracker reads it. */
export class CtTimeoutPolicy {
  constructor(
    readonly name: string,
    readonly l3proto: number,
    readonly l4proto: number,
    /** Seconds, in the layout of defaultTimeouts(l4proto). */
    public seconds: number[],
  ) {}

  /** Seconds by attribute name, every state (as ctnl_timeout_fill_info reports them). */
  byName(): Record<string, number> {
    const out: Record<string, number> = {};
    TIMEOUT_ATTRS[this.l4proto].forEach((n, i) => (out[n] = this.seconds[slotOf(this.l4proto, i + 1)]));
    return out;
  }
}

/** The named policies of one daemon (the kernel's are per network namespace), in the order they were made. */
export class TimeoutPolicies {
  readonly byName = new Map<string, CtTimeoutPolicy>();
}

let processPolicies: TimeoutPolicies | undefined;
/** The process's policies, shared by its datapaths as its connection tracker is. */
export function sharedTimeoutPolicies(): TimeoutPolicies {
  return (processPolicies ??= new TimeoutPolicies());
}

/** The defaults overlaid with CTA_TIMEOUT_DATA (the tracker's nlattr_to_obj). */
function secondsFrom(l4proto: number, data: Uint8Array): number[] {
  const s = defaultTimeouts(l4proto).slice();
  const named = readTimeoutData(data, l4proto);
  TIMEOUT_ATTRS[l4proto].forEach((n, i) => {
    if (named[n] !== undefined) s[slotOf(l4proto, i + 1)] = named[n];
  });
  return s;
}

// ---- binding to ct() actions ------------------------------------------------

const bound = new WeakMap<CtAction, CtTimeoutPolicy>();

/** The policy a ct() action was bound to when its flow was put, if any. */
export function timeoutPolicyOf(a: CtAction): CtTimeoutPolicy | undefined {
  return bound.get(a);
}

/** The tracker a protocol number gets (nf_ct_l4proto_find): its own, or the generic one. */
const trackerOf = (proto: number): number => (TIMEOUT_ATTRS[proto] !== undefined ? proto : IPPROTO_GENERIC_CT);

/**
 * nf_ct_set_timeout() for each ct(timeout=NAME) in the actions (nested ones
 * too): the policy of that name, if it is for the flow's family and its
 * masked IP protocol's tracker. The others stay unbound; the flow is taken.
 */
export function bindTimeoutPolicies(actions: readonly Action[], flow: FlowState, policies: TimeoutPolicies): void {
  const family = flow.l3Type === 0x0800 ? AF_INET : flow.l3Type === 0x86dd ? AF_INET6 : 0;
  for (const a of actions) {
    if (a.type === 'ct' && a.timeout !== undefined) {
      const p = policies.byName.get(a.timeout);
      if (p && p.l3proto === family && p.l4proto === trackerOf(flow.proto)) bound.set(a, p);
    }
    const inner = innerActions(a);
    if (inner) bindTimeoutPolicies(inner, flow, policies);
  }
}

/** How many ct() actions in these action lists are bound to `p`. */
function usesIn(lists: Iterable<readonly Action[]>, p: CtTimeoutPolicy): number {
  let n = 0;
  const walk = (actions: readonly Action[]): void => {
    for (const a of actions) {
      if (a.type === 'ct' && bound.get(a) === p) n++;
      const inner = innerActions(a);
      if (inner) walk(inner);
    }
  };
  for (const l of lists) walk(l);
  return n;
}

// ---- the messages -------------------------------------------------------------

/** What serving cttimeout needs of the daemon. */
export interface CttimeoutEnv {
  policies: TimeoutPolicies;
  /** The installed flows' actions: a policy's use count is 1 plus 2 per ct() action bound to it. */
  actionLists: () => Iterable<readonly Action[]>;
  /** A deleted policy's connections go back to the defaults. */
  untimeout: (p: CtTimeoutPolicy) => void;
}

/** Every message that answers a cttimeout request. */
export function serveCttimeout(req: NlMessage, pid: number, env: CttimeoutEnv): Uint8Array[] {
  const { policies } = env;
  const call = nfCall(req, pid, 'cttimeout');
  if (Array.isArray(call)) return call;
  const { attrs, attr, fail, ack } = call;
  const use = (p: CtTimeoutPolicy) => 1 + 2 * usesIn(env.actionLists(), p);
  const reply = (p: CtTimeoutPolicy, flags: number) =>
    timeoutMessage(IPCTNL_MSG_TIMEOUT_NEW, flags, (w) => writeTimeoutPolicy(w, { name: p.name, l3proto: p.l3proto, l4proto: p.l4proto, use: use(p), timeouts: p.byName() }), { seq: req.seq, pid });
  const name = timeoutNameOf(attrs);
  const nameProblem = name === undefined ? undefined : timeoutNameProblem(name);
  if (nameProblem) return fail(EINVAL, nameProblem);
  switch (req.type & 0xff) {
    case IPCTNL_MSG_TIMEOUT_NEW: {
      const l3 = attr(CTA_TIMEOUT_L3PROTO);
      const l4 = attr(CTA_TIMEOUT_L4PROTO);
      const data = attr(CTA_TIMEOUT_DATA);
      if (name === undefined || !l3 || !l4 || !data || l3.data.length < 2 || l4.data.length < 1) return fail(EINVAL, 'a timeout policy needs a name, an L3 and an L4 protocol, and timeouts');
      const l3proto = getBe16(l3);
      const l4proto = getU8(l4);
      const matching = policies.byName.get(name);
      if (matching && req.flags & NLM_F_EXCL) return fail(EEXIST, `timeout policy ${name} exists`);
      // nf_ct_l4proto_find(): a protocol without a tracker of its own is the generic one's (255) to hold.
      if (trackerOf(l4proto) !== l4proto) return fail(EOPNOTSUPP, `no connection tracker for IP protocol ${l4proto} (255 for the generic one)`);
      let seconds: number[];
      try {
        seconds = secondsFrom(l4proto, data.data);
      } catch (err) {
        return fail(EINVAL, (err as Error).message);
      }
      if (matching) {
        if (!(req.flags & NLM_F_REPLACE)) return fail(EBUSY, `timeout policy ${name} exists (NLM_F_REPLACE to change it)`);
        if (matching.l3proto !== l3proto || matching.l4proto !== l4proto) return fail(EINVAL, `timeout policy ${name} is for another protocol`);
        matching.seconds = seconds;
        return ack();
      }
      policies.byName.set(name, new CtTimeoutPolicy(name, l3proto, l4proto, seconds));
      return ack();
    }
    case IPCTNL_MSG_TIMEOUT_GET: {
      if (req.flags & NLM_F_DUMP) return [...[...policies.byName.values()].map((p) => reply(p, NLM_F_MULTI)), encodeDone(req.seq, pid)];
      if (name === undefined) return fail(EINVAL, 'a timeout policy GET names the policy');
      const p = policies.byName.get(name);
      if (!p) return fail(ENOENT, `no timeout policy ${name}`);
      // ctnl_timeout_fill_info marks it MULTI (the requester's port id is not 0), then the ACK.
      return [reply(p, NLM_F_MULTI), ...ack()];
    }
    case IPCTNL_MSG_TIMEOUT_DELETE: {
      const remove = (p: CtTimeoutPolicy): void => {
        policies.byName.delete(p.name);
        env.untimeout(p);
      };
      if (name === undefined) {
        for (const p of [...policies.byName.values()]) remove(p);
        return ack();
      }
      const p = policies.byName.get(name);
      if (!p) return fail(ENOENT, `no timeout policy ${name}`);
      remove(p);
      return ack();
    }
    default:
      return fail(EOPNOTSUPP, `cttimeout message ${req.type & 0xff} is not served by the ovsnl datapath daemon (default timeouts cannot be changed)`);
  }
}
