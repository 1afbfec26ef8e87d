// The upcall handler: turns a batch of MISS upcalls into megaflows and
// executed packets. One flow put per distinct key in the batch (the rest of
// that key's packets only ride along), all puts of a batch in one pipelined
// putFlows, every packet executed with its decision's actions.
//
// The work of a batch is split so that the event loop never waits: the
// synchronous part (decode, learn, decide, encode, copy out of the receive
// buffer, which is reused once the callback returns) runs in the callback;
// the kernel requests go out together and the returned promise settles when
// they are answered. Unsettled batches count against the channel's
// maxPendingBatches: past that the sockets are not read, the kernel drops
// and counts upcalls, and the switch goes on.
import { AttrWriter } from '../netlink/attr.js';
import { NetlinkError } from '../netlink/errors.js';
import { encodeActions } from '../ovs/action-codec.js';
import type { Action } from '../ovs/actions.js';
import { decodeKey, decodeKeyFields, encodeKey, keyFieldSet, type KeyFieldSet } from '../ovs/key-codec.js';
import { findUserspaceOnlyAttrs } from '../ovs/userspace-only-raw.js';
import type { FlowKey } from '../ovs/keys.js';
import type { PacketExecute, Upcall } from '../ovs/packet.js';
import { randomUfid } from '../ovs/ufid.js';
import type { Dpif, FlowPut } from '../dpif/dpif.js';
import type { Decision, Policy } from './policy.js';
import { bytesEqual, monotonicNowMs, type InstalledFlows } from './switch-flows.js';
import { newHandlerStats, type HandlerStats } from './switch-stats.js';

export interface HandlerOptions {
  dpif: Dpif;
  dpIfindex: number;
  policy: Policy;
  /** Where installed flows are recorded for the revalidator and for clean-up. */
  flows: InstalledFlows;
  /** With this many flows installed, packets are executed without a flow put (the revalidator makes room). */
  flowLimit?: number;
  stats?: HandlerStats;
  /** Kernel monotonic clock, ms; injectable for tests. */
  now?: () => number;
  /**
   * Tests only: hold every batch this long (ms) after copying it, as a slow
   * handler would, so that the kernel's queue overflows.
   */
  delayMs?: number;
  /** Each ACTION upcall (a userspace action fired); counted in any case. */
  onActionUpcall?: (u: Upcall) => void;
  /** A request that failed for another reason than a race; counted in any case. */
  onError?: (err: Error) => void;
}

// Policies hand out the same mask and action objects for decisions of the
// same shape (the learning switch's frozen masks, its flood lists per port):
// their bytes are encoded once per object. Weak keys, so that a policy's
// replaced objects go with it.
const maskBytes = new WeakMap<FlowKey, Uint8Array>();
const actionBytes = new WeakMap<readonly Action[], Uint8Array>();

/** A key or mask as its OVS_KEY_ATTR_* stream (a fresh copy). */
export function encodeKeyBytes(key: FlowKey): Uint8Array {
  const w = new AttrWriter(256);
  encodeKey(w, key);
  return w.finish().slice();
}

export function encodeActionBytes(actions: readonly Action[]): Uint8Array {
  const w = new AttrWriter(64);
  encodeActions(w, actions);
  return w.finish().slice();
}

/** encodeKeyBytes, remembered per mask object. The bytes are shared: never written to. */
export function maskBytesOf(mask: FlowKey): Uint8Array {
  let b = maskBytes.get(mask);
  if (!b) maskBytes.set(mask, (b = encodeKeyBytes(mask)));
  return b;
}

/** encodeActionBytes, remembered per action list object. The bytes are shared: never written to. */
export function actionBytesOf(actions: readonly Action[]): Uint8Array {
  let b = actionBytes.get(actions);
  if (!b) actionBytes.set(actions, (b = encodeActionBytes(actions)));
  return b;
}

// The Dpif scans every put and execute for attributes only OVS's userspace
// datapath has. Upcall keys are the kernel's own; masks and actions are
// shared per decision shape (above), so each is scanned once here and the
// requests made from them skip the Dpif's scan. One that does hold such an
// attribute is left to the Dpif, which refuses it with its reason.
const kernelClean = new WeakSet<Uint8Array>();
const kernelUnclean = new WeakSet<Uint8Array>();

/** Whether a shared mask or action stream holds nothing the kernel lacks; scanned once per object. */
export function isKernelClean(bytes: Uint8Array, stream: 'mask' | 'actions'): boolean {
  if (kernelClean.has(bytes)) return true;
  if (kernelUnclean.has(bytes)) return false;
  const clean = findUserspaceOnlyAttrs(stream === 'mask' ? { mask: bytes } : { actions: bytes }).length === 0;
  (clean ? kernelClean : kernelUnclean).add(bytes);
  return clean;
}

/**
 * UFIDs of this process: a random 16-byte base, then a counter in the last
 * word. Unique among this run's flows without a random draw per flow, and
 * apart from other processes' by the base.
 */
export class UfidSource {
  private readonly base = randomUfid();
  private readonly view = new DataView(this.base.buffer, this.base.byteOffset, 16);
  next(): Uint8Array {
    this.view.setUint32(12, (this.view.getUint32(12) + 1) >>> 0);
    return this.base.slice();
  }
}

/** The packets of one key within a batch. */
interface Miss {
  key: Uint8Array;
  typedKey: FlowKey;
  packets: Uint8Array[];
  mrus: (number | undefined)[];
}

/**
 * A 32-bit hash of the bytes, four at a time (a key is ~150 bytes; a byte
 * at a time was most of collect's own time). Only a hint: a hit is checked
 * byte for byte.
 */
function hashBytes(b: Uint8Array): number {
  let h = 0x811c9dc5 ^ b.length;
  const n = b.length & ~3;
  let i = 0;
  for (; i < n; i += 4) {
    h = Math.imul(h ^ (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)), 0x01000193);
    h ^= h >>> 15;
  }
  for (; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h >>> 0;
}

const isCode = (err: unknown, code: string): boolean => err instanceof NetlinkError && err.code === code;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class UpcallHandler {
  readonly stats: HandlerStats;
  private readonly now: () => number;
  private readonly pending = new Set<Promise<void>>();
  private readonly ufids = new UfidSource();
  /** The policy's keyFields as a set, when it reads only some. */
  private readonly keyFields?: KeyFieldSet;

  constructor(private readonly opts: HandlerOptions) {
    this.stats = opts.stats ?? newHandlerStats();
    this.now = opts.now ?? monotonicNowMs;
    if (opts.policy.keyFields) this.keyFields = keyFieldSet(opts.policy.keyFields);
  }

  /** The channel's onBatch. */
  readonly onBatch = (batch: readonly Upcall[]): Promise<void> | void => {
    const misses = this.collect(batch);
    if (misses.length === 0) return;
    this.stats.batches++;
    const p = (this.opts.delayMs ? sleep(this.opts.delayMs).then(() => this.handle(misses)) : this.handle(misses)).finally(() => this.pending.delete(p));
    this.pending.add(p);
    return p;
  };

  /** Resolves when the batches under way are done. */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  /** Copies the batch's misses out of the receive buffer, one entry per distinct key. */
  private collect(batch: readonly Upcall[]): Miss[] {
    const s = this.stats;
    // By a hash of the key bytes, checked byte for byte on a hit: a string
    // of the whole key as the map key cost a conversion and a hash of ~150
    // characters per upcall. Two different keys with one hash are both
    // kept (the second is not deduplicated: at worst a put that races).
    const byHash = new Map<number, Miss>();
    const out: Miss[] = [];
    // The packets live until their executes are encoded: one buffer for the
    // batch's, not one each. (Keys get their own: installed flows keep them.)
    let packetBytes = 0;
    for (let i = 0; i < batch.length; i++) if (batch[i].kind === 'miss') packetBytes += batch[i].packet.length;
    const packets = new Uint8Array(packetBytes);
    let at = 0;
    const copyPacket = (p: Uint8Array): Uint8Array => {
      packets.set(p, at);
      return packets.subarray(at, (at += p.length));
    };
    for (let i = 0; i < batch.length; i++) {
      const u = batch[i];
      if (u.kind === 'action') {
        s.actionUpcalls++;
        this.opts.onActionUpcall?.(u);
        continue;
      }
      s.misses++;
      const h = hashBytes(u.key);
      const seen = byHash.get(h);
      if (seen && bytesEqual(seen.key, u.key)) {
        s.deduped++;
        seen.packets.push(copyPacket(u.packet));
        seen.mrus.push(u.mru);
        continue;
      }
      let typedKey: FlowKey;
      try {
        typedKey = this.keyFields ? decodeKeyFields(u.key, this.keyFields) : decodeKey(u.key);
      } catch {
        s.badKeys++;
        continue;
      }
      const m: Miss = { key: u.key.slice(), typedKey, packets: [copyPacket(u.packet)], mrus: [u.mru] };
      if (!seen) byHash.set(h, m);
      out.push(m);
    }
    return out;
  }

  private async handle(misses: Miss[]): Promise<void> {
    const { policy, dpif, dpIfindex, flows } = this.opts;
    const s = this.stats;
    const now = this.now();
    // Learning from the whole batch before deciding: a reply that came up
    // with its request gets forwarded, not flooded.
    if (policy.observe) for (const m of misses) policy.observe(m.typedKey, now);
    const generation = policy.generation;
    const puts: FlowPut[] = [];
    const decided: { m: Miss; actions: Uint8Array; mask: Uint8Array; reason: string }[] = [];
    for (const m of misses) {
      let d: Decision;
      let actions: Uint8Array;
      let mask: Uint8Array;
      try {
        d = policy.decide(m.typedKey);
        actions = actionBytesOf(d.actions);
        mask = maskBytesOf(d.mask);
      } catch (err) {
        s.policyErrors++;
        this.opts.onError?.(err instanceof Error ? err : new Error(String(err)));
        continue;
      }
      s.reasons.set(d.reason, (s.reasons.get(d.reason) ?? 0) + 1);
      decided.push({ m, actions, mask, reason: d.reason });
    }
    const room = (this.opts.flowLimit ?? Infinity) - flows.size;
    if (room < decided.length) s.overLimit += decided.length - Math.max(0, room);
    const installing = room >= decided.length ? decided : decided.slice(0, Math.max(0, room));
    for (const d of installing) {
      const kernelChecked = isKernelClean(d.mask, 'mask') && isKernelClean(d.actions, 'actions');
      puts.push({ key: d.m.key, mask: d.mask, actions: d.actions, ufid: this.ufids.next(), mode: 'create', kernelChecked });
    }
    s.flowPuts += puts.length;
    // Puts first, executes after, all pipelined on the one connection: the
    // kernel handles them in order, so later packets of the flow find it.
    const putting = dpif.putFlows(dpIfindex, puts);
    const executes: PacketExecute[] = [];
    for (const { m, actions } of decided) {
      const kernelChecked = isKernelClean(actions, 'actions');
      for (let i = 0; i < m.packets.length; i++) executes.push({ packet: m.packets[i], key: m.key, actions, mru: m.mrus[i], kernelChecked });
    }
    const executing = executes.length
      ? dpif.executeMany(dpIfindex, executes).then(
          (errors) => {
            for (const err of errors) {
              if (!err) s.executed++;
              else {
                s.executeErrors++;
                this.opts.onError?.(err);
              }
            }
          },
          (err: unknown) => {
            s.executeErrors += executes.length;
            this.opts.onError?.(err instanceof Error ? err : new Error(String(err)));
          },
        )
      : undefined;
    const results = await putting;
    for (let i = 0; i < results.length; i++) {
      const r = results[i];
      const d = decided[i];
      if (r.ok) {
        s.installed++;
        flows.add({ ufid: puts[i].ufid!, key: d.m.key, typedKey: d.m.typedKey, mask: d.mask, actions: d.actions, generation, installedAt: now, reason: d.reason });
      } else if (isCode(r.error, 'EEXIST')) {
        // Another batch installed a flow that covers this key while this one was on its way up.
        s.raced++;
      } else {
        s.putErrors++;
        this.opts.onError?.(r.error);
      }
    }
    await executing;
  }
}
