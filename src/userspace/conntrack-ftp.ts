// The FTP helper (ct(alg=ftp)): reads the control connection's commands
// the way nf_conntrack_ftp does, so that the data connection the peer will
// open is expected and tracked as related. A command counts only at the
// start of a segment that follows a line end the helper saw in the same
// direction (it remembers two), so a PORT split over segments, or in the
// first segment of a direction, is not read. Understood: PORT and EPRT from
// the client, 227 (PASV) and 229 (EPSV) replies from the server; the
// address in them must be the sender's own (no "loose" mode). Pure: no
// clock, no tables; the tracker keeps the expectations.
import { ipv6IntoBytes } from '../ovs/addr.js';

/** Line-end positions per direction (nf_ct_ftp_master.seq_aft_nl), at most NUM_SEQ_TO_REMEMBER each. */
export interface FtpState {
  readonly nl: [number[], number[]];
}

export const newFtpState = (): FtpState => ({ nl: [[], []] });

const NUM_SEQ_TO_REMEMBER = 2;

/** A data connection to expect: to this address and TCP port. */
export interface FtpExpect {
  addr: Uint8Array;
  port: number;
}

/** What a command parser fills in (struct nf_conntrack_man). */
interface Cmd {
  v6: boolean;
  addr: Uint8Array;
  port: number;
}

type GetNum = (d: Uint8Array, at: number, len: number, cmd: Cmd, term: number) => number;

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const lower = (c: number): number => (c >= 0x41 && c <= 0x5a ? c | 0x20 : c);

/** try_number(): `n` numbers separated by `sep`, ended by `term` (0: any other character); the length read, or 0. */
function tryNumber(d: Uint8Array, at: number, len: number, out: number[], n: number, sep: number, term: number): number {
  out.fill(0, 0, n);
  let i = 0;
  for (let k = 0; k < len && i < n; k++) {
    const c = d[at + k];
    if (isDigit(c)) out[i] = (out[i] * 10 + c - 0x30) >>> 0;
    else if (c === sep) i++;
    else return (c === term || !term) && i === n - 1 ? k : 0;
  }
  return 0;
}

const nums: number[] = [0, 0, 0, 0, 0, 0];

/** try_rfc959(): h1,h2,h3,h4,p1,p2. */
const tryRfc959: GetNum = (d, at, len, cmd, term) => {
  const n = tryNumber(d, at, len, nums, 6, 0x2c, term);
  if (!n) return 0;
  const ip = ((nums[0] << 24) | (nums[1] << 16) | (nums[2] << 8) | nums[3]) >>> 0;
  cmd.addr = Uint8Array.of(ip >>> 24, (ip >>> 16) & 0xff, (ip >>> 8) & 0xff, ip & 0xff);
  cmd.port = ((nums[4] << 8) | nums[5]) & 0xffff;
  return n;
};

/** try_rfc1123(): a 227 reply's numbers start at its first digit, whatever comes before. */
const tryRfc1123: GetNum = (d, at, len, cmd) => {
  let i = 0;
  while (i < len && !isDigit(d[at + i])) i++;
  if (i === len) return 0;
  return tryRfc959(d, at + i, len - i, cmd, 0);
};

/** get_port(): digits up to the delimiter (a zero port is none); the offset after it, or 0. */
function getPort(d: Uint8Array, at: number, start: number, len: number, delim: number, cmd: Cmd): number {
  let port = 0;
  for (let i = start; i < len; i++) {
    const c = d[at + i];
    if (c === delim) {
      if (port === 0) return 0;
      cmd.port = port;
      return i + 1;
    }
    if (!isDigit(c)) return 0;
    port = (port * 10 + c - 0x30) & 0xffff;
  }
  return 0;
}

const badDelim = (c: number): boolean => isDigit(c) || c < 33 || c > 126;

/** try_eprt(): |1|a.b.c.d|port| or |2|ipv6|port|, the protocol the connection's own. */
const tryEprt: GetNum = (d, at, len, cmd) => {
  if (len <= 3) return 0;
  const delim = d[at];
  if (badDelim(delim) || d[at + 2] !== delim) return 0;
  if (d[at + 1] !== (cmd.v6 ? 0x32 : 0x31)) return 0;
  let n: number;
  if (!cmd.v6) {
    n = tryNumber(d, at + 3, len - 3, nums, 4, 0x2e, delim);
    if (n) cmd.addr = Uint8Array.of(nums[0] & 0xff, nums[1] & 0xff, nums[2] & 0xff, nums[3] & 0xff);
  } else {
    // in6_pton() up to the delimiter.
    let end = 3;
    while (end < len && d[at + end] !== delim) end++;
    const addr = new Uint8Array(16);
    n = end < len && ipv6IntoBytes(Buffer.from(d.subarray(at + 3, at + end)).toString('latin1'), addr) ? end - 3 : 0;
    if (n) cmd.addr = addr;
  }
  if (!n) return 0;
  return getPort(d, at, 3 + n + 1, len, delim, cmd);
};

/** try_epsv_response(): |||port|. */
const tryEpsv: GetNum = (d, at, len, cmd) => {
  if (len <= 3) return 0;
  const delim = d[at];
  if (badDelim(delim) || d[at + 1] !== delim || d[at + 2] !== delim) return 0;
  return getPort(d, at, 3, len, delim, cmd);
};

interface Search {
  pattern: number[];
  skip: number;
  term: number;
  getnum: GetNum;
}
const bytes = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
/** What each direction is searched for, in order (search[] in nf_conntrack_ftp.c). */
const SEARCH: [Search[], Search[]] = [
  [
    { pattern: bytes('PORT'), skip: 0x20, term: 0x0d, getnum: tryRfc959 },
    { pattern: bytes('EPRT'), skip: 0x20, term: 0x0d, getnum: tryEprt },
  ],
  [
    { pattern: bytes('227 '), skip: 0, term: 0, getnum: tryRfc1123 },
    { pattern: bytes('229 '), skip: 0x28, term: 0x29, getnum: tryEpsv },
  ],
];

/** find_pattern(): 1 matched, 0 not this command, -1 a partial match (the packet is dropped). */
function findPattern(d: Uint8Array, at: number, len: number, s: Search, cmd: Cmd): number {
  const plen = s.pattern.length;
  const prefix = (n: number): boolean => {
    for (let i = 0; i < n; i++) if (lower(d[at + i]) !== lower(s.pattern[i])) return false;
    return true;
  };
  if (len <= plen) return prefix(len) ? -1 : 0;
  if (!prefix(plen)) return 0;
  let i = plen;
  if (s.skip) {
    for (; d[at + i] !== s.skip; i++) if (i === len - 1) return -1;
    i++;
  }
  return s.getnum(d, at + i, len - i, cmd, s.term) ? 1 : -1;
}

const before = (a: number, b: number): boolean => ((a - b) | 0) < 0;

/** update_nl_seq(): remembers where a segment ending in a line end leaves off (the two newest). */
function updateNl(st: FtpState, dir: number, seq: number): void {
  const l = st.nl[dir];
  if (l.includes(seq)) return;
  if (l.length < NUM_SEQ_TO_REMEMBER) {
    l.push(seq);
    return;
  }
  const oldest = before(l[0], l[1]) ? 0 : 1;
  if (before(l[oldest], seq)) l[oldest] = seq;
}

/**
 * help() for one segment of an established control connection, in `dir`
 * (0 original, 1 reply): `payload` is its TCP data, `seq` its sequence
 * number, `sender` the sender's address as the connection has it. Returns
 * the data connection to expect, 'drop' for a command cut short (the
 * kernel drops such a packet), or undefined.
 */
export function ftpHelp(st: FtpState, dir: number, v6: boolean, payload: Uint8Array, seq: number, sender: Uint8Array): FtpExpect | 'drop' | undefined {
  const len = payload.length;
  if (len === 0) return undefined;
  const endsInNl = payload[len - 1] === 0x0a;
  const next = (seq + len) >>> 0;
  let result: FtpExpect | undefined;
  if (st.nl[dir].includes(seq >>> 0)) {
    const cmd: Cmd = { v6, addr: sender, port: 0 };
    let found = 0;
    for (const s of SEARCH[dir]) {
      found = findPattern(payload, 0, len, s, cmd);
      if (found) break;
    }
    if (found === -1) return 'drop';
    // An address other than the sender's is not expected (nf_conntrack_ftp's loose=0).
    if (found === 1 && cmd.addr.length === sender.length && cmd.addr.every((b, i) => b === sender[i])) result = { addr: cmd.addr, port: cmd.port };
  }
  if (endsInNl) updateNl(st, dir, next);
  return result;
}
