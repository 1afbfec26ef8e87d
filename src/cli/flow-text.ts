// Flow text in and out, as ovs-dpctl reads and prints it: the `ufid:` prefix
// (odp_ufid_from_string), the key with its masks and the actions through
// src/odp, into the attribute bytes the Dpif sends; and dump lines back out.
import { AttrWriter } from '../netlink/attr.js';
import { encodeActions } from '../ovs/action-codec.js';
import { encodeKey } from '../ovs/key-codec.js';
import type { Action } from '../ovs/actions.js';
import type { FlowKey } from '../ovs/keys.js';
import { withoutPacketType } from '../ovs/userspace-only.js';
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
}

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
  if (fastKeyRange(s, keyStart, end, portNames)) {
    key = FAST_KEY.key.buf.slice(0, FAST_KEY.key.n);
    mask = FAST_KEY.mask.buf.slice(0, FAST_KEY.mask.n);
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
  return ufid ? { ufid, key, mask, actions } : { key, mask, actions };
}

/** Action texts repeat from line to line of a flow file: their bytes are made once. */
const actionsCache = new Map<string, Uint8Array | null>();

function cachedActions(text: string): Uint8Array | undefined {
  let bytes = actionsCache.get(text);
  if (bytes === undefined) {
    try {
      bytes = actionBytes(parseOdpActions(text)).slice();
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
