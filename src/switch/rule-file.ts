// The rule file (docs/rules.md): one rule a line,
//
//   [name=NAME] [priority=N] MATCH actions:ACTIONS
//   table-miss actions:ACTIONS
//
// MATCH is an ODP flow key with masks as ovs-dpctl reads it; ACTIONS is an
// ODP action list, `drop`, or `normal`. `#` starts a comment. Errors name
// FILE:LINE:COLUMN, as OVS's parsers of files do.
import type { Action } from '../ovs/actions.js';
import type { FlowKey } from '../ovs/keys.js';
import { OdpParseError } from '../odp/errors.js';
import { parseOdpActions } from '../odp/parse-actions.js';
import { parseOdpFlow } from '../odp/parse-key.js';
import { anyBits } from './mask.js';
import type { Rule } from './rules.js';

/** OpenFlow's default priority (ovs-ofctl's), for rules that give none. */
export const DEFAULT_PRIORITY = 32768;
export const MAX_PRIORITY = 65535;
/** Below any priority a rule can have. */
export const TABLE_MISS_PRIORITY = -1;

export class RuleFileError extends Error {
  override readonly name = 'RuleFileError';
  constructor(
    readonly origin: string,
    readonly line: number,
    readonly column: number,
    readonly reason: string,
  ) {
    super(`${origin}:${line}:${column}: ${reason}`);
  }
}

export interface RuleFileOptions {
  /** Port names usable in in_port(...) and output actions. */
  portNames?: ReadonlyMap<string, number>;
}

// Rules match packet headers and the metadata of a MISS upcall; these are
// keyed by tunnels or by OVS userspace only, and a megaflow cannot tell
// packets apart by them when the upcall's key lacks them.
const UNSUPPORTED: ReadonlySet<string> = new Set(['tunnel', 'nsh', 'packetType', 'ndExtensions', 'ctOrigTupleIpv4', 'ctOrigTupleIpv6', 'dpHash', 'recircId']);

const ACTIONS_RE = /(^|\s)actions[:=]/;

/** Parses a rule file. Throws RuleFileError at the first bad line. */
export function parseRuleFile(text: string, origin = 'rules', opts: RuleFileOptions = {}): Rule[] {
  const rules: Rule[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const rule = parseLine(lines[i], origin, i + 1, opts);
    if (rule) rules.push(rule);
  }
  return rules;
}

function parseLine(raw: string, origin: string, lineNo: number, opts: RuleFileOptions): Rule | undefined {
  const hash = raw.indexOf('#');
  const line = (hash >= 0 ? raw.slice(0, hash) : raw).replace(/\r$/, '');
  const fail = (col: number, reason: string): never => {
    throw new RuleFileError(origin, lineNo, col + 1, reason);
  };
  if (!line.trim()) return undefined;
  const a = ACTIONS_RE.exec(line);
  if (!a) fail(line.length, 'expected "actions:" at the end of the rule');
  const actionsAt = a!.index + a![0].length;
  const head = line.slice(0, a!.index + a![1].length);

  let name: string | undefined;
  let priority: number | undefined;
  let tableMiss = false;
  // Leading words: name=, priority=, table-miss; the match starts at the first other one.
  let i = 0;
  for (;;) {
    while (i < head.length && /\s/.test(head[i])) i++;
    const m = /^(name=(\S+)|priority=(\S*)|table-miss(?=\s|$))/.exec(head.slice(i));
    if (!m) break;
    if (m[2] !== undefined) {
      if (name !== undefined) fail(i, 'name given twice');
      name = m[2];
    } else if (m[3] !== undefined) {
      if (priority !== undefined) fail(i, 'priority given twice');
      const p = m[3];
      if (!/^\d+$/.test(p) || Number(p) > MAX_PRIORITY) fail(i + 9, `priority must be an integer from 0 to ${MAX_PRIORITY}, got ${JSON.stringify(p)}`);
      priority = Number(p);
    } else {
      tableMiss = true;
    }
    i += m[0].length;
  }
  const matchText = head.slice(i);
  if (tableMiss) {
    if (priority !== undefined) fail(line.indexOf('priority='), 'table-miss has no priority: it is below every rule');
    if (matchText.trim()) fail(i + matchText.search(/\S/), 'table-miss matches every packet: no match goes with it');
  }

  let match: FlowKey = {};
  let mask: FlowKey = {};
  if (matchText.trim()) {
    try {
      ({ key: match, mask } = parseOdpFlow(matchText, { portNames: opts.portNames }));
    } catch (e) {
      if (e instanceof OdpParseError) fail(i + e.offset, e.reason);
      throw e;
    }
    if (/^\s*ufid:/.test(matchText)) fail(i + matchText.indexOf('ufid:'), 'a rule has no UFID');
    for (const f of unsupported(mask)) fail(i + Math.max(0, matchText.indexOf(f.text)), `rules cannot match on ${f.text}`);
  }

  const actionsText = line.slice(actionsAt).trim();
  const actionsCol = actionsAt + (line.slice(actionsAt).length - line.slice(actionsAt).trimStart().length);
  if (!actionsText) fail(actionsCol, 'no actions (write "drop" to drop)');
  let actions: Action[] = [];
  let normal = false;
  if (actionsText.toLowerCase() === 'normal') {
    normal = true;
  } else {
    try {
      actions = parseOdpActions(actionsText, { portNames: opts.portNames });
    } catch (e) {
      if (e instanceof OdpParseError) fail(actionsCol + e.offset, e.reason);
      throw e;
    }
    // Drop is the empty list: the explicit drop action is refused before Linux 6.4.
    if (actions.length && actions[actions.length - 1].type === 'drop') actions = actions.slice(0, -1);
  }
  const rule: Rule = {
    priority: tableMiss ? TABLE_MISS_PRIORITY : (priority ?? DEFAULT_PRIORITY),
    match,
    mask,
    actions,
    name: name ?? (tableMiss ? 'table-miss' : `${origin}:${lineNo}`),
  };
  if (normal) rule.normal = true;
  return rule;
}

const ODP_NAMES: Record<string, string> = {
  tunnel: 'tunnel', nsh: 'nsh', packetType: 'packet_type', ndExtensions: 'nd_ext', ctOrigTupleIpv4: 'ct_tuple4', ctOrigTupleIpv6: 'ct_tuple6', dpHash: 'dp_hash', recircId: 'recirc_id',
};

function unsupported(mask: FlowKey): { text: string }[] {
  const out: { text: string }[] = [];
  const walk = (m: FlowKey): void => {
    for (const [k, v] of Object.entries(m)) {
      if (k === 'encap') walk(v as FlowKey);
      else if ((UNSUPPORTED.has(k) || k.startsWith('key')) && anyBits(v)) out.push({ text: ODP_NAMES[k] ?? k });
    }
  };
  walk(mask);
  return out;
}
