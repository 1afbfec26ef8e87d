// The built-in L2 learning switch, as OVS's NORMAL action behaves on a bridge
// without VLAN configuration: learn which port each source MAC (per VLAN)
// was seen on, send unicast to the learned port, flood what is unknown,
// broadcast or multicast to every port but the input one, and drop what
// would go back out the port it came in on.
import type { Action } from '../ovs/actions.js';
import type { FlowKey, FlowMask } from '../ovs/keys.js';
import { completeMask, isTagged } from './mask.js';
import type { Decision, Policy } from './policy.js';

const MAC_ONES = 'ff:ff:ff:ff:ff:ff';

export interface LearningSwitchOptions {
  /** The datapath's ports, read at every decision (flooding goes to all of them but the input). */
  ports: () => readonly number[];
  /** Seconds an entry lives without being seen again; 300 as in OVS. */
  agingSeconds?: number;
  /** Entries kept at most; the least recently seen goes first. Unlimited by default. */
  maxEntries?: number;
}

interface MacEntry {
  port: number;
  /** When last seen, in the caller's clock (ms). */
  seen: number;
}

export interface LearningStats {
  learned: number;
  moves: number;
  expired: number;
  evicted: number;
}

/** Whether a MAC's group bit is set (broadcast and multicast). */
export const isGroupMac = (mac: string): boolean => (parseInt(mac.slice(0, 2), 16) & 1) === 1;

/** The VLAN a key's frame is on: the outer tag's VID, 0 untagged. */
export const vlanOf = (key: FlowKey): number => (isTagged(key) ? key.vlan!.vid : 0);

export class LearningSwitch implements Policy {
  private readonly table = new Map<string, MacEntry>();
  private readonly ports: () => readonly number[];
  private readonly agingMs: number;
  private readonly maxEntries: number;
  private gen = 0;
  private lastPorts = '';
  readonly stats: LearningStats = { learned: 0, moves: 0, expired: 0, evicted: 0 };

  constructor(opts: LearningSwitchOptions) {
    this.ports = opts.ports;
    this.agingMs = (opts.agingSeconds ?? 300) * 1000;
    this.maxEntries = opts.maxEntries ?? Infinity;
    this.lastPorts = portsText(this.ports());
  }

  /** Bumped on a new MAC, a move, an expiry or eviction, and a change of the port set (noticed when read). */
  get generation(): number {
    const now = portsText(this.ports());
    if (now !== this.lastPorts) {
      this.lastPorts = now;
      this.gen++;
    }
    return this.gen;
  }

  get size(): number {
    return this.table.size;
  }

  /** The learned port of a MAC on a VLAN. */
  lookup(vlan: number, mac: string): number | undefined {
    return this.table.get(entryKey(vlan, mac))?.port;
  }

  decide(key: FlowKey): Decision {
    const eth = key.ethernet;
    const inPort = key.inPort;
    if (!eth || inPort === undefined) return { actions: [], mask: completeMask(key, {}), reason: 'drop' };
    // OVS's NORMAL reads in_port, both MACs and the VLAN. The source MAC is
    // in the mask though forwarding does not depend on it: a new source must
    // miss and come up to be learned.
    const m: FlowMask = { ethernet: { src: MAC_ONES, dst: MAC_ONES } };
    if (isTagged(key)) m.vlan = { vid: 0xfff, pcp: 0, cfi: 1 };
    const mask = completeMask(key, m);
    const vlan = vlanOf(key);
    const port = isGroupMac(eth.dst) ? undefined : this.table.get(entryKey(vlan, eth.dst))?.port;
    if (port === undefined) {
      const actions: Action[] = [];
      for (const p of [...this.ports()].sort((a, b) => a - b)) if (p !== inPort) actions.push({ type: 'output', port: p });
      return { actions, mask, reason: 'flood' };
    }
    if (port === inPort) return { actions: [], mask, reason: 'drop' };
    return { actions: [{ type: 'output', port }], mask, reason: 'learned' };
  }

  /**
   * Learns the source MAC of a packet seen on its input port (`now` in ms).
   * True when the table changed so that decisions can differ: a new entry or
   * a move. Seeing a known MAC on its port again only refreshes its age,
   * which is what a revalidator should do for flows that carried packets
   * (their packets never come up to be seen here).
   */
  observe(key: FlowKey, now: number): boolean {
    const eth = key.ethernet;
    const inPort = key.inPort;
    if (!eth || inPort === undefined || isGroupMac(eth.src)) return false;
    const k = entryKey(vlanOf(key), eth.src);
    const e = this.table.get(k);
    if (e && e.port === inPort) {
      e.seen = now;
      // Most recently seen last: eviction takes from the front.
      this.table.delete(k);
      this.table.set(k, e);
      return false;
    }
    if (e) {
      this.stats.moves++;
      this.table.delete(k);
    } else {
      this.stats.learned++;
      while (this.table.size >= this.maxEntries) {
        const oldest = this.table.keys().next().value as string;
        this.table.delete(oldest);
        this.stats.evicted++;
      }
    }
    this.table.set(k, { port: inPort, seen: now });
    this.gen++;
    return true;
  }

  /** Drops entries not seen for the aging time; true when any went. */
  expire(now: number): boolean {
    let any = false;
    for (const [k, e] of this.table) {
      if (now - e.seen >= this.agingMs) {
        this.table.delete(k);
        this.stats.expired++;
        any = true;
      }
    }
    if (any) this.gen++;
    return any;
  }

  /** Forgets every entry learned on a port (it went away). */
  flushPort(port: number): boolean {
    let any = false;
    for (const [k, e] of this.table) {
      if (e.port === port) {
        this.table.delete(k);
        any = true;
      }
    }
    if (any) this.gen++;
    return any;
  }
}

const entryKey = (vlan: number, mac: string): string => `${vlan}/${mac}`;

const portsText = (ports: readonly number[]): string => [...ports].sort((a, b) => a - b).join(',');
