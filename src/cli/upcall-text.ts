// One upcall as upcall-monitor prints it: a line of ODP text, or a JSON
// object (docs/cli-json.md). Pure: the upcall's bytes in, text out.
//
//   miss: <key> len=98
//   action: <key> len=60 orig_len=1514 userdata=0102 actions=output:2
//
// The key is every attribute the kernel extracted, as odp_flow_key_format
// prints a key without a mask (what ovs-vswitchd logs for an upcall). The
// fields after it, separated by blanks, appear only when the upcall has them.
import { HOST_LE } from '../netlink/attr.js';
import { NLA_F_NESTED } from '../netlink/constants.js';
import type { Upcall } from '../ovs/packet.js';
import { decodeActions } from '../ovs/action-codec.js';
import { decodeKey } from '../ovs/key-codec.js';
import { OVS_KEY_ATTR_TUNNEL } from '../ovs/uapi-keys.js';
import { formatOdpActions, formatOdpKey } from '../odp/index.js';

export interface UpcallTextOptions {
  /** Port numbers to print by name (--names). */
  portNames?: ReadonlyMap<number, string>;
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Text that stands for bytes that would not decode: the reader still sees them. */
function safely(what: string, bytes: Uint8Array, fn: () => string): string {
  try {
    return fn();
  } catch {
    return `${what}_hex(${hex(bytes)})`;
  }
}

/** The upcall's key in ODP text. */
export function upcallKeyText(u: Upcall, opts: UpcallTextOptions = {}): string {
  return safely('key', u.key, () => formatOdpKey(decodeKey(u.key), { portNames: opts.portNames }));
}

/** OVS_PACKET_ATTR_EGRESS_TUN_KEY holds a tunnel key's attributes: printed as the key's tunnel(...). */
function egressText(b: Uint8Array): string {
  return safely('tunnel', b, () => {
    const a = new Uint8Array(4 + b.length);
    const v = new DataView(a.buffer);
    v.setUint16(0, a.length, HOST_LE);
    v.setUint16(2, OVS_KEY_ATTR_TUNNEL | NLA_F_NESTED, HOST_LE);
    a.set(b, 4);
    return formatOdpKey(decodeKey(a));
  });
}

function actionsText(b: Uint8Array, opts: UpcallTextOptions): string {
  if (!b.length) return 'drop';
  return safely('actions', b, () => formatOdpActions(decodeActions(b), { portNames: opts.portNames }));
}

/** The text line (without its newline). */
export function formatUpcall(u: Upcall, opts: UpcallTextOptions = {}): string {
  let s = `${u.kind}: ${upcallKeyText(u, opts)} len=${u.packet.length}`;
  if (u.len !== undefined) s += ` orig_len=${u.len}`;
  if (u.mru !== undefined) s += ` mru=${u.mru}`;
  if (u.hash !== undefined) s += ` hash=0x${u.hash.toString(16)}`;
  if (u.userdata) s += ` userdata=${hex(u.userdata)}`;
  if (u.actions) s += ` actions=${actionsText(u.actions, opts)}`;
  if (u.egressTunKey) s += ` egress=${egressText(u.egressTunKey)}`;
  return s;
}

/** The JSON object of one upcall (docs/cli-json.md, `upcall-monitor`). */
export interface UpcallJson {
  event: 'upcall';
  kind: 'miss' | 'action';
  /** ISO 8601, when ovsnl read it. */
  time: string;
  datapath: string;
  key: string;
  packet_len: number;
  orig_len: number | null;
  packet: string;
  mru: number | null;
  hash: string | null;
  userdata: string | null;
  actions: string | null;
  egress_tun_key: string | null;
}

export function upcallJson(u: Upcall, datapath: string, time: Date, opts: UpcallTextOptions = {}): UpcallJson {
  return {
    event: 'upcall',
    kind: u.kind,
    time: time.toISOString(),
    datapath,
    key: upcallKeyText(u, opts),
    packet_len: u.packet.length,
    orig_len: u.len ?? null,
    packet: hex(u.packet),
    mru: u.mru ?? null,
    hash: u.hash === undefined ? null : `0x${u.hash.toString(16)}`,
    userdata: u.userdata ? hex(u.userdata) : null,
    actions: u.actions ? actionsText(u.actions, opts) : null,
    egress_tun_key: u.egressTunKey ? egressText(u.egressTunKey) : null,
  };
}
