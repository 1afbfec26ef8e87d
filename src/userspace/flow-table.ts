// The fallback datapath's flow table: one hash map per distinct mask
// (subtables, tried in order of hits, as the kernel's mask array and OVS's
// dpcls are), an exact-match cache in front, and a UFID index. Keys are flat
// word arrays (flat-key.ts) masked once at insertion; a lookup hashes only the
// words its subtable's mask has, and compares only those.
import type { Action } from '../ovs/actions.js';
import { FLAT_WORDS, FlatKey } from './flat-key.js';
import { ufidMapKey } from '../ovs/ufid.js';

/** One installed megaflow and its statistics. */
export interface FlowEntry {
  /** Present when the flow was created with a UFID: then it is found by it alone. */
  ufid?: Uint8Array;
  /** The key as the request gave it (the kernel keeps it to answer key-identified requests). */
  keyAttrs: Uint8Array;
  maskAttrs: Uint8Array;
  actionsAttrs: Uint8Array;
  actions: Action[];
  /** The key before masking, for lookups by exact key. */
  unmasked: Uint32Array;
  /** key & mask. */
  masked: Uint32Array;
  hash: number;
  subtable: Subtable;
  packets: number;
  bytes: number;
  /** Milliseconds of the monotonic clock at the last packet; 0: never. */
  used: number;
  tcpFlags: number;
  dead: boolean;
  /** The ports of an action list made of outputs only, for `outputsFor` (see flowOutputs). */
  outputs: Int32Array | undefined;
  outputsFor: Action[] | undefined;
}

/**
 * The output ports when the flow's actions are outputs only (empty: drop),
 * the common case the datapath runs without the action interpreter;
 * undefined otherwise. Recomputed when a flow's actions are replaced.
 */
export function flowOutputs(f: FlowEntry): Int32Array | undefined {
  if (f.outputsFor !== f.actions) {
    f.outputsFor = f.actions;
    f.outputs = f.actions.every((a) => a.type === 'output') ? Int32Array.from(f.actions, (a) => (a as { port: number }).port) : undefined;
  }
  return f.outputs;
}

/** The monotonic clock in milliseconds, the clock the kernel reports `used` in. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1_000_000n);
}

function mix(h: number, w: number): number {
  h = Math.imul(h ^ w, 0x9e3779b1);
  return (h ^ (h >>> 15)) >>> 0;
}

export class Subtable {
  /** Indexes of the mask's nonzero words: the only ones hashed and compared. */
  readonly idx: Int32Array;
  readonly flows = new Map<number, FlowEntry[]>();
  hits = 0;
  count = 0;

  constructor(readonly mask: Uint32Array) {
    const idx: number[] = [];
    for (let i = 0; i < FLAT_WORDS; i++) if (mask[i] !== 0) idx.push(i);
    this.idx = Int32Array.from(idx);
  }

  /** Hash of key & mask. */
  hashOf(key: Uint32Array): number {
    let h = 0x811c9dc5;
    const { idx, mask } = this;
    for (let j = 0; j < idx.length; j++) {
      const i = idx[j];
      h = mix(h, key[i] & mask[i]);
    }
    return h;
  }

  matches(key: Uint32Array, flow: FlowEntry): boolean {
    const { idx, mask } = this;
    const m = flow.masked;
    for (let j = 0; j < idx.length; j++) {
      const i = idx[j];
      // `&` gives a signed word and the stored one is unsigned: compare both unsigned.
      if ((key[i] & mask[i]) >>> 0 !== m[i]) return false;
    }
    return true;
  }

  find(key: Uint32Array): FlowEntry | undefined {
    const bucket = this.flows.get(this.hashOf(key));
    if (!bucket) return undefined;
    for (const f of bucket) if (this.matches(key, f)) return f;
    return undefined;
  }
}

const EMC_SIZE = 8192;

function sameWords(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < FLAT_WORDS; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameWordsAt(store: Uint32Array, base: number, w: Uint32Array): boolean {
  for (let i = 0; i < FLAT_WORDS; i++) if (store[base + i] !== w[i]) return false;
  return true;
}

function fullHash(key: Uint32Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < FLAT_WORDS; i++) h = mix(h, key[i]);
  return h;
}

export interface NewFlow {
  key: FlatKey;
  mask: FlatKey;
  ufid?: Uint8Array;
  keyAttrs: Uint8Array;
  maskAttrs: Uint8Array;
  actionsAttrs: Uint8Array;
  actions: Action[];
}

export class FlowTable {
  private subtables: Subtable[] = [];
  private readonly byUfid = new Map<string, FlowEntry>();
  private readonly all = new Set<FlowEntry>();
  // Exact-match cache: slot by full-key hash, verified against the stored
  // key. Keys live in one preallocated array: a cache fill allocates nothing.
  private readonly emcKeys = new Uint32Array(EMC_SIZE * FLAT_WORDS);
  private readonly emcFlows: (FlowEntry | undefined)[] = new Array(EMC_SIZE).fill(undefined);
  /** Subtables visited by lookups (the kernel's n_mask_hit). */
  maskHits = 0;
  cacheHits = 0;

  get size(): number {
    return this.all.size;
  }
  get maskCount(): number {
    return this.subtables.length;
  }

  /** The flow a packet with this (unmasked) key takes, or undefined: a miss. */
  lookup(key: FlatKey): FlowEntry | undefined {
    const w = key.words;
    const h = fullHash(w);
    const slot = h & (EMC_SIZE - 1);
    const cached = this.emcFlows[slot];
    const base = slot * FLAT_WORDS;
    if (cached !== undefined && !cached.dead && sameWordsAt(this.emcKeys, base, w)) {
      this.cacheHits++;
      return cached;
    }
    const subtables = this.subtables;
    for (let i = 0; i < subtables.length; i++) {
      const st = subtables[i];
      this.maskHits++;
      const f = st.find(w);
      if (f) {
        st.hits++;
        this.emcKeys.set(w, base);
        this.emcFlows[slot] = f;
        return f;
      }
    }
    return undefined;
  }

  findUfid(ufid: Uint8Array): FlowEntry | undefined {
    return this.byUfid.get(ufidMapKey(ufid));
  }

  /** A flow created without a UFID whose key, as given, is exactly this one (ovs_flow_tbl_lookup_exact). */
  findExact(unmasked: FlatKey): FlowEntry | undefined {
    for (const f of this.all) {
      if (f.ufid) continue;
      if (sameWords(f.unmasked, unmasked.words)) return f;
    }
    return undefined;
  }

  /** Any flow whose masked key the given masked key hits (the kernel's overlap check on NEW). */
  findOverlap(key: FlatKey, mask: FlatKey): FlowEntry | undefined {
    const masked = key.words.map((w, i) => w & mask.words[i]);
    for (const st of this.subtables) {
      const f = st.find(masked);
      if (f) return f;
    }
    return undefined;
  }

  insert(n: NewFlow): FlowEntry {
    const st = this.subtableFor(n.mask.words);
    const masked = n.key.words.map((w, i) => w & n.mask.words[i]);
    const f: FlowEntry = {
      ufid: n.ufid,
      keyAttrs: n.keyAttrs,
      maskAttrs: n.maskAttrs,
      actionsAttrs: n.actionsAttrs,
      actions: n.actions,
      unmasked: n.key.words.slice(),
      masked,
      hash: st.hashOf(masked),
      subtable: st,
      packets: 0,
      bytes: 0,
      used: 0,
      tcpFlags: 0,
      dead: false,
      outputs: undefined,
      outputsFor: undefined,
    };
    const bucket = st.flows.get(f.hash);
    if (bucket) bucket.push(f);
    else st.flows.set(f.hash, [f]);
    st.count++;
    this.all.add(f);
    if (f.ufid) this.byUfid.set(ufidMapKey(f.ufid), f);
    return f;
  }

  remove(f: FlowEntry): void {
    if (f.dead) return;
    f.dead = true;
    const st = f.subtable;
    const bucket = st.flows.get(f.hash)!;
    const i = bucket.indexOf(f);
    if (i >= 0) bucket.splice(i, 1);
    if (!bucket.length) st.flows.delete(f.hash);
    if (--st.count === 0) this.subtables = this.subtables.filter((s) => s !== st);
    this.all.delete(f);
    if (f.ufid) this.byUfid.delete(ufidMapKey(f.ufid));
  }

  flush(): void {
    for (const f of this.all) f.dead = true;
    this.all.clear();
    this.byUfid.clear();
    this.subtables = [];
    this.emcFlows.fill(undefined);
  }

  flows(): IterableIterator<FlowEntry> {
    return this.all.values();
  }

  /** Puts the most hit subtables first; hits restart so the order follows current traffic. */
  rank(): void {
    this.subtables.sort((a, b) => b.hits - a.hits);
    for (const s of this.subtables) s.hits = 0;
  }

  private subtableFor(mask: Uint32Array): Subtable {
    for (const s of this.subtables) if (sameWords(s.mask, mask)) return s;
    const s = new Subtable(mask.slice());
    this.subtables.push(s);
    return s;
  }
}

/** Stats of one packet (or a batch of them) on a flow. */
export function hitFlow(f: FlowEntry, bytes: number, tcpFlags: number, now: number): void {
  f.packets++;
  f.bytes += bytes;
  f.used = now;
  f.tcpFlags |= tcpFlags;
}

export function clearStats(f: FlowEntry): void {
  f.packets = 0;
  f.bytes = 0;
  f.used = 0;
  f.tcpFlags = 0;
}

