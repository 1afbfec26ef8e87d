// The contract between a forwarding policy (rule table, learning switch) and
// the machinery that turns its decisions into megaflows (handlers,
// revalidator). A policy never touches the datapath: it reads a flow key and
// says what to do and which bits of the key that depended on.
import type { Action } from '../ovs/actions.js';
import type { FlowKey, FlowKeyField, FlowMask } from '../ovs/keys.js';

/**
 * What a policy decided for the packets that share a flow key. Policies may
 * share `actions` and `mask` between decisions (frozen): read them, encode
 * them, never change them.
 */
export interface Decision {
  /** Datapath actions in order; empty drops. */
  actions: Action[];
  /**
   * Every bit of the key the decision read, including the bits of
   * higher-priority rules that were examined and did not match, and the
   * kernel's prerequisites (eth_type under L3 fields, ip proto under L4
   * ports...). Any key that agrees with this one under the mask must get
   * the same decision; bits outside it are wildcarded in the megaflow.
   * Ready to send: src/switch/mask.ts completeMask has been applied.
   */
  mask: FlowMask;
  /** Why, for statistics and logs: a rule's name, 'flood', 'learned', 'drop'. */
  reason: string;
}

export interface Policy {
  /**
   * Decides for a key, from the policy's state at this moment. Pure: the same
   * key and state give the same decision, so the revalidator can re-ask.
   */
  decide(key: FlowKey): Decision;
  /**
   * A packet was seen (a MISS upcall): learn from it (source MAC, port).
   * Returns true when the policy's state changed in a way that can make
   * installed flows stale. `now` is in ms of the caller's monotonic clock.
   * Seeing a known source again only refreshes its age: call it for
   * installed flows that carried packets too, or their MACs age out.
   */
  observe?(key: FlowKey, now: number): boolean;
  /** Ages state (MAC entries) as of `now` (ms, same clock); true when something expired. */
  expire?(now: number): boolean;
  /**
   * The key properties decide, observe and affectedSince read, when that is
   * a few: the handlers then decode only these from an upcall's key (at
   * every encap level), and the keys the policy is given hold no others.
   * Undefined: the whole key. The megaflow is installed with the kernel's
   * whole key either way.
   */
  readonly keyFields?: readonly FlowKeyField[];
  /** Bumped on every state change that can alter decisions; flows translated under an older one get re-translated. */
  readonly generation: number;
  /**
   * Which keys the changes made after `generation` can decide differently: a
   * predicate on a flow's key, or undefined when any key may be (the policy
   * cannot tell, or no longer remembers that far back). A flow the predicate
   * says no to keeps its decision without being re-decided. Read
   * `generation` first: changes noticed while reading it count.
   */
  affectedSince?(generation: number): ((key: FlowKey) => boolean) | undefined;
}
