// The built-in L2 learning switch, as OVS's NORMAL action behaves on a bridge
// without VLAN configuration: learn which port each source MAC (per VLAN)
// was seen on, send unicast to the learned port, flood what is unknown,
// broadcast or multicast to every port but the input one, and drop what
// would go back out the port it came in on.
import type { Action } from '../ovs/actions.js';
import type { FlowKey, FlowKeyField, FlowMask } from '../ovs/keys.js';
import { completeMask, isTagged } from './mask.js';
import type { Decision, Policy } from './policy.js';

const MAC_ONES = 'ff:ff:ff:ff:ff:ff';

export interface LearningSwitchOptions {
  /** The datapath's ports, read at every decision (flooding goes to all of them but the input); a new array when they change. */
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
export function isGroupMac(mac: string): boolean {
  // The first octet's low digit, read from the text: the key's MACs stay strings.
  const second = mac.charCodeAt(1);
  const c = second === 58 /* ':' a one-digit octet */ ? mac.charCodeAt(0) : second;
  return ((c <= 57 ? c - 48 : (c | 32) - 87) & 1) === 1;
}

/** The VLAN a key's frame is on: the outer tag's VID, 0 untagged. */
export const vlanOf = (key: FlowKey): number => (isTagged(key) ? key.vlan!.vid : 0);

/** What NORMAL reads of a key, with what completeMask and the mask shapes read: the rest is never decoded. */
const LEARNING_KEY_FIELDS: readonly FlowKeyField[] = Object.freeze(['inPort', 'recircId', 'ethernet', 'vlan', 'ethertype', 'encap']);

export class LearningSwitch implements Policy {
  readonly keyFields = LEARNING_KEY_FIELDS;
  private readonly table = new Map<string, MacEntry>();
  private readonly ports: () => readonly number[];
  private readonly agingMs: number;
  private readonly maxEntries: number;
  private gen = 0;
  /** The port set as last read, sorted; flood lists by input port for it. */
  private lastPorts: number[] = [];
  /** The array ports() last returned. */
  private portsSeen?: readonly number[];
  private floods = new Map<number, Action[]>();
  // The mask depends only on the key's shape; shared, frozen.
  private readonly masks = new Map<number, FlowMask>();
  readonly stats: LearningStats = { learned: 0, moves: 0, expired: 0, evicted: 0 };
  /** Table entries changed, oldest first, each with the generation it made. */
  private changes: { gen: number; entry: string }[] = [];
  /** Every change after this generation is in `changes` (older ones were let go). */
  private changesFrom = 0;
  /** The last generation that changed what any key may get (the port set). */
  private allFrom = 0;

  constructor(opts: LearningSwitchOptions) {
    this.ports = opts.ports;
    this.agingMs = (opts.agingSeconds ?? 300) * 1000;
    this.maxEntries = opts.maxEntries ?? Infinity;
    this.portsChanged();
  }

  /**
   * Reads the port set; true (and flood lists forgotten) when it differs
   * from the last one read. A changed set must come as a new array.
   */
  private portsChanged(): boolean {
    const now = this.ports();
    // The same array as last time: unchanged (a caller replaces it on a change).
    if (now === this.portsSeen) return false;
    this.portsSeen = now;
    const last = this.lastPorts;
    if (now.length === last.length) {
      let same = true;
      const sorted = isSorted(now) ? now : [...now].sort((a, b) => a - b);
      for (let i = 0; i < last.length && same; i++) same = sorted[i] === last[i];
      if (same) return false;
    }
    this.lastPorts = [...now].sort((a, b) => a - b);
    this.floods.clear();
    return true;
  }

  private floodFrom(inPort: number): Action[] {
    let a = this.floods.get(inPort);
    if (!a) {
      a = this.lastPorts.filter((p) => p !== inPort).map((port): Action => ({ type: 'output', port }));
      Object.freeze(a);
      this.floods.set(inPort, a);
    }
    return a;
  }

  private maskFor(key: FlowKey): FlowMask {
    const tagged = isTagged(key);
    const shape = (tagged ? 1 : 0) | (key.recircId !== undefined ? 2 : 0) | (tagged && isTagged(key.encap!) ? 4 : 0);
    let m = this.masks.get(shape);
    if (!m) {
      // OVS's NORMAL reads in_port, both MACs and the VLAN. The source MAC is
      // in the mask though forwarding does not depend on it: a new source must
      // miss and come up to be learned.
      const read: FlowMask = { ethernet: { src: MAC_ONES, dst: MAC_ONES } };
      if (tagged) read.vlan = { vid: 0xfff, pcp: 0, cfi: 1 };
      m = deepFreeze(completeMask(key, read));
      this.masks.set(shape, m);
    }
    return m;
  }

  /** Bumped on a new MAC, a move, an expiry or eviction, and a change of the port set (noticed when read). */
  get generation(): number {
    if (this.portsChanged()) this.allFrom = ++this.gen;
    return this.gen;
  }

  /**
   * A flow's decision reads the table only at its destination MAC (on its
   * VLAN): the flows a changed entry can touch are those towards it. A new
   * port set changes every flood list, so every key.
   */
  affectedSince(generation: number): ((key: FlowKey) => boolean) | undefined {
    if (generation < this.allFrom || generation < this.changesFrom) return undefined;
    const entries = new Set<string>();
    const c = this.changes;
    for (let i = c.length - 1; i >= 0 && c[i].gen > generation; i--) entries.add(c[i].entry);
    return (key) => {
      const eth = key.ethernet;
      return entries.size > 0 && eth !== undefined && !isGroupMac(eth.dst) && entries.has(entryKey(vlanOf(key), eth.dst));
    };
  }

  private changed(entry: string): void {
    const c = this.changes;
    c.push({ gen: this.gen, entry });
    if (c.length > CHANGES_KEPT) {
      const drop = c.length - CHANGES_KEPT / 2;
      this.changesFrom = c[drop - 1].gen;
      this.changes = c.slice(drop);
    }
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
    const mask = this.maskFor(key);
    const vlan = vlanOf(key);
    const port = isGroupMac(eth.dst) ? undefined : this.table.get(entryKey(vlan, eth.dst))?.port;
    if (port === undefined) {
      if (this.portsChanged()) this.allFrom = ++this.gen;
      return { actions: this.floodFrom(inPort), mask, reason: 'flood' };
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
        this.gen++;
        this.changed(oldest);
      }
    }
    this.table.set(k, { port: inPort, seen: now });
    this.gen++;
    this.changed(k);
    return true;
  }

  /** Drops entries not seen for the aging time; true when any went. */
  expire(now: number): boolean {
    let any = false;
    for (const [k, e] of this.table) {
      if (now - e.seen >= this.agingMs) {
        this.table.delete(k);
        this.stats.expired++;
        if (!any) this.gen++;
        any = true;
        this.changed(k);
      }
    }
    return any;
  }

  /** Forgets every entry learned on a port (it went away). */
  flushPort(port: number): boolean {
    let any = false;
    for (const [k, e] of this.table) {
      if (e.port === port) {
        this.table.delete(k);
        if (!any) this.gen++;
        any = true;
        this.changed(k);
      }
    }
    return any;
  }
}

// Untagged, the MAC alone: most entries are, and a concatenation per
// lookup was a string to build and hash each time. A MAC has no '/'.
const entryKey = (vlan: number, mac: string): string => (vlan === 0 ? mac : `${vlan}/${mac}`);

/** Table changes remembered for affectedSince; past that, the older half goes (and flows that old are all re-decided). */
const CHANGES_KEPT = 8192;

function isSorted(a: readonly number[]): boolean {
  for (let i = 1; i < a.length; i++) if (a[i - 1] > a[i]) return false;
  return true;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
