// Bit-flag fields (ct_state, tcp_flags, tunnel flags, slow_path reasons):
// their names and OVS's three text forms, "a|b" (exact), "+a-b" (masked)
// and "0x2/0x12" (numeric masked), both ways.
import type { Cursor } from './scanner.js';

/** bit → name, lowest bit first (the order OVS prints in). */
export type FlagNames = ReadonlyArray<readonly [number, string]>;

export const CT_STATE_NAMES: FlagNames = [
  [0x01, 'new'],
  [0x02, 'est'],
  [0x04, 'rel'],
  [0x08, 'rpl'],
  [0x10, 'inv'],
  [0x20, 'trk'],
  [0x40, 'snat'],
  [0x80, 'dnat'],
];

export const TCP_FLAG_NAMES: FlagNames = [
  [0x001, 'fin'],
  [0x002, 'syn'],
  [0x004, 'rst'],
  [0x008, 'psh'],
  [0x010, 'ack'],
  [0x020, 'urg'],
  [0x040, 'ece'],
  [0x080, 'cwr'],
  [0x100, 'ns'],
  [0x200, '[200]'],
  [0x400, '[400]'],
  [0x800, '[800]'],
];

/** FLOW_TNL_F_*: the "key" bit stands for "a tunnel id is present". */
export const TUN_FLAG_NAMES: FlagNames = [
  [0x1, 'oam'],
  [0x2, 'df'],
  [0x4, 'csum'],
  [0x8, 'key'],
];

export const SLOW_PATH_NAMES: FlagNames = [
  [0x01, 'cfm'],
  [0x02, 'bfd'],
  [0x04, 'lacp'],
  [0x08, 'stp'],
  [0x10, 'lldp'],
  [0x20, 'action'],
  [0x40, 'match'],
];

function nameOf(names: FlagNames, bit: number): string | undefined {
  for (const [b, n] of names) if (b === bit) return n;
  return undefined;
}

/** format_flags: names of the set bits joined by `del`, unknown bits as one hex number, "0" for none. */
export function formatFlags(names: FlagNames, flags: number, del = '|'): string {
  if (!flags) return '0';
  const parts: string[] = [];
  let bad = 0;
  for (let f = flags >>> 0; f; ) {
    const bit = (f & -f) >>> 0;
    const n = nameOf(names, bit);
    if (n) parts.push(n);
    else bad = (bad | bit) >>> 0;
    f = (f & ~bit) >>> 0;
  }
  if (bad) parts.push(`0x${bad.toString(16)}`);
  return parts.join(del);
}

/** format_flags_masked: exact masks as plain flags, otherwise "+set-clear" for each masked bit. */
export function formatFlagsMasked(names: FlagNames, flags: number, mask: number, maxMask: number): string {
  if (mask >>> 0 === maxMask >>> 0) return formatFlags(names, flags, '|');
  if (!mask) return '0/0';
  let out = '';
  for (let m = mask >>> 0; m; ) {
    const bit = (m & -m) >>> 0;
    out += (flags & bit ? '+' : '-') + (nameOf(names, bit) ?? '[Unknown]');
    m = (m & ~bit) >>> 0;
  }
  return out;
}

/**
 * parse_flags up to (not including) `end`: "0x2/0x12", "+syn-ack" (only
 * when `masked`), or "syn|ack" / numbers (mask all ones).
 */
export function scanFlags(c: Cursor, names: FlagNames, allowed: number, masked: boolean, what: string, end = ')'): { flags: number; mask: number } {
  const start = c.i;
  if (masked && c.atNumber()) {
    const v = c.uint(32, what);
    if (c.lit('/')) {
      const m = c.uint(32, what);
      if (v & ~allowed || m & ~allowed) c.fail(`${what}: unknown flag bits`, start);
      return { flags: v, mask: m };
    }
    c.i = start;
  }
  if (masked && (c.peek() === '+' || c.peek() === '-')) {
    let flags = 0;
    let mask = 0;
    while (c.peek() !== end) {
      const sign = c.peek();
      if (sign !== '+' && sign !== '-') c.fail(`${what}: each flag must be preceded by '+' or '-'`);
      c.i++;
      const bit = matchName(c, names, (ch) => ch === '+' || ch === '-' || ch === end);
      if (bit === 0) c.fail(`${what}: unknown flag at ${c.found()}`);
      if (mask & bit) c.fail(`${what}: a flag given twice`);
      if (!(bit & allowed)) c.fail(`${what}: flag not allowed here`);
      if (sign === '+') flags |= bit;
      mask |= bit;
    }
    return { flags: flags >>> 0, mask: mask >>> 0 };
  }
  let flags = 0;
  while (c.peek() !== end) {
    if (c.atNumber()) {
      const v = c.uint(32, what);
      if (v & ~allowed) c.fail(`${what}: unknown flag bits`, start);
      flags |= v;
      c.lit('|');
      continue;
    }
    const bit = matchName(c, names, (ch) => ch === '|' || ch === end);
    if (bit === 0) c.fail(`${what}: unknown flag at ${c.found()}`);
    if (!(bit & allowed)) c.fail(`${what}: flag not allowed here`);
    flags |= bit;
    c.lit('|');
  }
  return { flags: flags >>> 0, mask: 0xffffffff };
}

function matchName(c: Cursor, names: FlagNames, endsName: (ch: string) => boolean): number {
  for (const [bit, name] of names) {
    if (c.s.startsWith(name, c.i) && endsName(c.s[c.i + name.length] ?? '')) {
      c.i += name.length;
      return bit;
    }
  }
  return 0;
}

/** packet_format_tcp_flags: tcpdump's letters. */
export function formatTcpFlagLetters(f: number): string {
  if (!f) return 'none';
  let s = '';
  if (f & 0x002) s += 'S';
  if (f & 0x001) s += 'F';
  if (f & 0x008) s += 'P';
  if (f & 0x004) s += 'R';
  if (f & 0x020) s += 'U';
  if (f & 0x010) s += '.';
  if (f & 0x040) s += 'E';
  if (f & 0x080) s += 'C';
  if (f & 0x100) s += 'N';
  if (f & 0x200) s += '[200]';
  if (f & 0x400) s += '[400]';
  if (f & 0x800) s += '[800]';
  return s;
}
