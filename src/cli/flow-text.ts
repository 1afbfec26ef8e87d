// Flow text in and out, as ovs-dpctl reads and prints it: the `ufid:` prefix
// (odp_ufid_from_string), the key with its masks and the actions through
// src/odp, into the attribute bytes the Dpif sends; and dump lines back out.
import { AttrWriter } from '../netlink/attr.js';
import { encodeActions } from '../ovs/action-codec.js';
import { encodeKey } from '../ovs/key-codec.js';
import type { Action } from '../ovs/actions.js';
import type { FlowKey } from '../ovs/keys.js';
import { withoutPacketType } from '../ovs/userspace-only.js';
import { findUserspaceOnlyAttrs } from '../ovs/userspace-only-raw.js';
import { parseUfid, type Ufid } from '../ovs/ufid.js';
import { OdpParseError, parseOdpActions, parseOdpFlow } from '../odp/index.js';
import { dpctlMessage } from './errors.js';
import { FAST_KEY, fastKeyBytes, fastKeyRange } from './fast-key.js';

const UUID_PREFIX = /^ufid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/;

/**
 * odp_ufid_from_string: a leading `ufid:UUID` and what follows it (a comma
 * or space may separate them), `{}` when there is none, or `error` when
 * `ufid:` is not followed by a UUID.
 */
export function splitUfid(text: string): { ufid?: Ufid; rest: string; error?: boolean } {
  if (!text.startsWith('ufid:')) return { rest: text };
  const m = UUID_PREFIX.exec(text);
  if (!m) return { rest: text, error: true };
  return { ufid: parseUfid(m[0]), rest: text.slice(m[0].length) };
}

export function keyBytes(key: FlowKey): Uint8Array {
  const w = new AttrWriter(256);
  encodeKey(w, withoutPacketType(key));
  return w.finish();
}

export function actionBytes(actions: readonly Action[]): Uint8Array {
  // OVS parses a lone "drop" to the explicit drop action, which kernels
  // before 6.4 refuse; the empty list drops everywhere and prints the same.
  if (actions.length === 1 && actions[0].type === 'drop' && !actions[0].reason) return new Uint8Array(0);
  const w = new AttrWriter(64);
  encodeActions(w, actions);
  return w.finish();
}

export interface ParsedPut {
  ufid?: Ufid;
  key: Uint8Array;
  mask: Uint8Array;
  actions: Uint8Array;
  /**
   * Key and mask came from the fast scanner (kernel attributes only, by its
   * make) and the actions hold nothing only OVS's userspace datapath has:
   * the Dpif need not scan the put again.
   */
  kernelChecked?: boolean;
}

/**
 * Key and mask bytes of parsed lines, copied into shared slabs: a typed
 * array of its own per key (over 64 bytes, so outside V8's heap) cost an
 * allocation and a free each, and add-flows parses 100k of them.
 */
class Slab {
  private buf = new Uint8Array(0);
  private at = 0;
  copy(src: Uint8Array, n: number): Uint8Array {
    if (this.at + n > this.buf.length) {
      this.buf = new Uint8Array(Math.max(256 * 1024, n));
      this.at = 0;
    }
    const b = this.buf;
    const at = this.at;
    for (let k = 0; k < n; k++) b[at + k] = src[k];
    this.at = (at + n + 7) & ~7;
    return b.subarray(at, at + n);
  }
}
const slab = new Slab();

function syntaxText(err: unknown): string {
  return err instanceof OdpParseError ? err.ovsMessage : (err as Error).message;
}

const EINVAL = { code: 'EINVAL' };

/**
 * dpctl_put_flow_dpif's parsing: the UFID, the key (port names allowed),
 * the actions (numbers only, as in OVS). Returns ovs-dpctl's error line on failure.
 */
export function parsePut(keyText: string, actionsText: string, portNames: ReadonlyMap<string, number>): ParsedPut | { error: string } {
  return parsePutRange(keyText, 0, keyText.length, actionsText, portNames);
}

const UUID_AT = new RegExp(UUID_PREFIX.source.slice(1), 'y');

/**
 * parsePut of the key text s[start, end), inside a larger string (a chunk
 * of a flow file): a line that takes the fast key scanner costs no copy of
 * its text. The range must end where the key token does (whitespace or the
 * end of s).
 */
export function parsePutRange(s: string, start: number, end: number, actionsText: string, portNames: ReadonlyMap<string, number>): ParsedPut | { error: string } {
  let ufid: Ufid | undefined;
  let keyStart = start;
  if (s.startsWith('ufid:', start)) {
    UUID_AT.lastIndex = start;
    const m = UUID_AT.exec(s);
    if (!m || start + m[0].length > end) return { error: dpctlMessage('parsing flow ufid', EINVAL) };
    ufid = parseUfid(m[0]);
    keyStart = start + m[0].length;
  }
  let key: Uint8Array;
  let mask: Uint8Array;
  const fast = fastKeyRange(s, keyStart, end, portNames);
  if (fast) {
    key = slab.copy(FAST_KEY.key.buf, FAST_KEY.key.n);
    mask = slab.copy(FAST_KEY.mask.buf, FAST_KEY.mask.n);
  } else {
    try {
      const f = parseOdpFlow(s.slice(keyStart, end), { portNames });
      key = keyBytes(f.key);
      mask = keyBytes(f.mask);
    } catch (err) {
      return { error: dpctlMessage(`parsing flow key (${syntaxText(err)})`, EINVAL) };
    }
  }
  const actions = cachedActions(actionsText);
  if (!actions) return { error: dpctlMessage('parsing actions', EINVAL) };
  const kernelChecked = fast && kernelActions.has(actions);
  return ufid ? { ufid, key, mask, actions, kernelChecked } : { key, mask, actions, kernelChecked };
}

/** Action texts repeat from line to line of a flow file: their bytes are made once. */
const actionsCache = new Map<string, Uint8Array | null>();
/** Cached action bytes with nothing only OVS's userspace datapath has (scanned once, when cached). */
const kernelActions = new WeakSet<Uint8Array>();

function cachedActions(text: string): Uint8Array | undefined {
  let bytes = actionsCache.get(text);
  if (bytes === undefined) {
    try {
      bytes = actionBytes(parseOdpActions(text)).slice();
      if (findUserspaceOnlyAttrs({ actions: bytes }).length === 0) kernelActions.add(bytes);
    } catch {
      bytes = null;
    }
    if (actionsCache.size >= 1024) actionsCache.clear();
    actionsCache.set(text, bytes);
  }
  return bytes ?? undefined;
}

/** dpctl_del_flow_dpif's parsing: UFID and/or key (its masks ignored). */
export function parseDel(keyText: string, portNames: ReadonlyMap<string, number>): { ufid?: Ufid; key?: Uint8Array } | { error: string } {
  const u = splitUfid(keyText);
  if (u.error) return { error: dpctlMessage('parsing flow ufid', EINVAL) };
  try {
    const key = fastKeyBytes(u.rest, portNames)?.key ?? keyBytes(parseOdpFlow(u.rest, { portNames }).key);
    const id: { ufid?: Ufid; key?: Uint8Array } = {};
    if (u.ufid) id.ufid = u.ufid;
    // With a UFID alone ("ufid:..."), the kernel finds the flow by it.
    if (key.length || !u.ufid) id.key = key;
    return id;
  } catch (err) {
    // del-flow prints the parser's text alone, without "parsing flow key".
    return { error: dpctlMessage(syntaxText(err), EINVAL) };
  }
}

export { flowJson, formatStats, monotonicMs } from './flow-out.js';
