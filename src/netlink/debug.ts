// OVSNL_DEBUG=1: every message sent and received, decoded to the netlink and
// generic-netlink level, on stderr. Families register their names and fixed
// header sizes as they are resolved, so the dump can name them.
import { HOST_LE, parseAttrs } from './attr.js';
import { GENL_HDRLEN, GENL_ID_CTRL, NLMSG_DONE, NLMSG_ERROR, NLMSG_MIN_TYPE, NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_DUMP } from './constants.js';
import { errnoName } from './errno.js';
import { parseError, parseGenlHeader, type NlMessage } from './message.js';

interface FamilyInfo {
  name: string;
  /** Family-specific header after genlmsghdr (4 for OVS's ovs_header). */
  hdrSize: number;
}

const families = new Map<number, FamilyInfo>([[GENL_ID_CTRL, { name: 'nlctrl', hdrSize: 0 }]]);

export function registerFamily(id: number, name: string, hdrSize: number): void {
  families.set(id, { name, hdrSize });
}

export function debugEnabled(): boolean {
  const v = process.env.OVSNL_DEBUG;
  return v !== undefined && v !== '' && v !== '0';
}

const FLAG_NAMES: [number, string][] = [
  [0x01, 'REQUEST'],
  [0x02, 'MULTI'],
  [0x04, 'ACK'],
  [0x08, 'ECHO'],
  [0x10, 'DUMP_INTR'],
  [0x20, 'DUMP_FILTERED'],
];

function flagText(type: number, flags: number): string {
  const out: string[] = [];
  let rest = flags;
  for (const [bit, name] of FLAG_NAMES) {
    if (flags & bit) {
      out.push(name);
      rest &= ~bit;
    }
  }
  // The 0x100-0x800 bits mean different things for GET, NEW and ACK messages.
  if (type === NLMSG_ERROR || type === NLMSG_DONE) {
    if (rest & 0x100) (out.push('CAPPED'), (rest &= ~0x100));
    if (rest & 0x200) (out.push('ACK_TLVS'), (rest &= ~0x200));
  } else if ((rest & NLM_F_DUMP) === NLM_F_DUMP) {
    out.push('DUMP');
    rest &= ~NLM_F_DUMP;
  } else {
    for (const [bit, name] of [[0x100, 'REPLACE|ROOT'], [0x200, 'EXCL|MATCH'], [0x400, 'CREATE|ATOMIC'], [0x800, 'APPEND']] as const) {
      if (rest & bit) (out.push(name), (rest &= ~bit));
    }
  }
  if (rest) out.push(`0x${rest.toString(16)}`);
  return out.length ? out.join('|') : '0';
}

function typeText(type: number): string {
  switch (type) {
    case NLMSG_NOOP:
      return 'NOOP';
    case NLMSG_ERROR:
      return 'ERROR';
    case NLMSG_DONE:
      return 'DONE';
    case NLMSG_OVERRUN:
      return 'OVERRUN';
  }
  const f = families.get(type);
  return f ? `${f.name}(0x${type.toString(16)})` : `0x${type.toString(16)}`;
}

/** One line describing a message; `raw` is a whole message (header included) or a parsed one. */
export function describeMessage(msg: Uint8Array | NlMessage): string {
  let m: NlMessage;
  if (msg instanceof Uint8Array) {
    const v = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
    m = { type: v.getUint16(4, HOST_LE), flags: v.getUint16(6, HOST_LE), seq: v.getUint32(8, HOST_LE), pid: v.getUint32(12, HOST_LE), payload: msg.subarray(16) };
  } else {
    m = msg;
  }
  let line = `len=${m.payload.length + 16} type=${typeText(m.type)} flags=${flagText(m.type, m.flags)} seq=${m.seq} pid=${m.pid}`;
  try {
    if (m.type === NLMSG_ERROR) {
      const e = parseError(m);
      line += e.error === 0 ? ' ack' : ` error=${e.error} (${errnoName(-e.error)})`;
      if (e.extAck.message) line += ` msg=${JSON.stringify(e.extAck.message)}`;
      if (e.extAck.offset !== undefined) line += ` offset=${e.extAck.offset}`;
      if (e.extAck.missingType !== undefined) line += ` missing-type=${e.extAck.missingType}`;
    } else if (m.type >= NLMSG_MIN_TYPE && m.payload.length >= GENL_HDRLEN) {
      const hdr = GENL_HDRLEN + (families.get(m.type)?.hdrSize ?? 0);
      const g = parseGenlHeader(m.payload);
      line += ` cmd=${g.cmd} version=${g.version}`;
      if (hdr > GENL_HDRLEN && m.payload.length >= hdr) {
        line += ` hdr=${Buffer.from(m.payload.subarray(GENL_HDRLEN, hdr)).toString('hex')}`;
      }
      const attrs = parseAttrs(m.payload, Math.min(hdr, m.payload.length));
      line += ` attrs=[${attrs.map((a) => `${a.type}${a.flags & 0x8000 ? 'N' : ''}:${a.data.length}`).join(' ')}]`;
    }
  } catch (err) {
    line += ` (undecodable: ${(err as Error).message})`;
  }
  return line;
}

export function debugMessage(direction: 'send' | 'recv', msg: Uint8Array | NlMessage): void {
  process.stderr.write(`ovsnl: ${direction} ${describeMessage(msg)}\n`);
}
