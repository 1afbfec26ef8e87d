// Generic netlink: request building and family resolution through nlctrl.
import { AttrWriter, getString, getU16, getU32, nested, parseAttrs } from './attr.js';
import {
  CTRL_ATTR_FAMILY_ID,
  CTRL_ATTR_FAMILY_NAME,
  CTRL_ATTR_HDRSIZE,
  CTRL_ATTR_MAXATTR,
  CTRL_ATTR_MCAST_GROUPS,
  CTRL_ATTR_MCAST_GRP_ID,
  CTRL_ATTR_MCAST_GRP_NAME,
  CTRL_ATTR_OPS,
  CTRL_ATTR_OP_FLAGS,
  CTRL_ATTR_OP_ID,
  CTRL_ATTR_VERSION,
  CTRL_CMD_GETFAMILY,
  CTRL_VERSION,
  GENL_HDRLEN,
  GENL_ID_CTRL,
} from './constants.js';
import type { Connection } from './connection.js';
import { registerFamily } from './debug.js';
import { MalformedError, NetlinkError } from './errors.js';
import { beginMessage, endMessage, parseGenlHeader, writeGenlHeader, type NlMessage } from './message.js';

export interface GenlFamily {
  id: number;
  name: string;
  version: number;
  /** Size of the family's own header after genlmsghdr. */
  hdrSize: number;
  maxAttr: number;
  /** Operations the family accepts (command id and GENL_* flags). */
  ops: { id: number; flags: number }[];
  /** Multicast group name -> id. */
  groups: Map<string, number>;
}

/**
 * Starts a generic netlink request: returns the writer, positioned after
 * genlmsghdr, and a function that closes the message and returns its bytes.
 */
export function genlRequest(family: number, cmd: number, version: number, flags = 0, sizeHint = 128): { w: AttrWriter; end: () => Uint8Array } {
  const w = new AttrWriter(sizeHint);
  const start = beginMessage(w, family, flags);
  writeGenlHeader(w, cmd, version);
  return {
    w,
    end: () => {
      endMessage(w, start);
      return w.finish();
    },
  };
}

/** Decodes a CTRL_CMD_NEWFAMILY message (the reply to GETFAMILY). */
export function decodeFamily(m: NlMessage): GenlFamily {
  const f: GenlFamily = { id: 0, name: '', version: 0, hdrSize: 0, maxAttr: 0, ops: [], groups: new Map() };
  // For its length check only: the attributes do not depend on the command.
  parseGenlHeader(m.payload);
  for (const a of parseAttrs(m.payload, GENL_HDRLEN)) {
    switch (a.type) {
      case CTRL_ATTR_FAMILY_ID:
        f.id = getU16(a);
        break;
      case CTRL_ATTR_FAMILY_NAME:
        f.name = getString(a);
        break;
      case CTRL_ATTR_VERSION:
        f.version = getU32(a);
        break;
      case CTRL_ATTR_HDRSIZE:
        f.hdrSize = getU32(a);
        break;
      case CTRL_ATTR_MAXATTR:
        f.maxAttr = getU32(a);
        break;
      case CTRL_ATTR_OPS:
        for (const op of nested(a)) {
          let id = 0;
          let flags = 0;
          for (const x of nested(op)) {
            if (x.type === CTRL_ATTR_OP_ID) id = getU32(x);
            else if (x.type === CTRL_ATTR_OP_FLAGS) flags = getU32(x);
          }
          f.ops.push({ id, flags });
        }
        break;
      case CTRL_ATTR_MCAST_GROUPS:
        for (const g of nested(a)) {
          let name = '';
          let id = 0;
          for (const x of nested(g)) {
            if (x.type === CTRL_ATTR_MCAST_GRP_NAME) name = getString(x);
            else if (x.type === CTRL_ATTR_MCAST_GRP_ID) id = getU32(x);
          }
          f.groups.set(name, id);
        }
        break;
    }
  }
  if (!f.id || !f.name) throw new MalformedError('nlctrl reply lacks the family id or name');
  registerFamily(f.id, f.name, f.hdrSize);
  return f;
}

/** Looks a family up by name. A family that is not registered fails with NetlinkError ENOENT. */
export async function resolveFamily(conn: Connection, name: string): Promise<GenlFamily> {
  const { w, end } = genlRequest(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_VERSION);
  w.string(CTRL_ATTR_FAMILY_NAME, name);
  const replies = await conn.request(end(), { operation: `resolve generic netlink family ${name}` });
  const reply = replies.find((m) => m.type === GENL_ID_CTRL);
  if (!reply) throw new NetlinkError({ errno: 2, operation: `resolve generic netlink family ${name}: the controller acknowledged without a reply` });
  return decodeFamily(reply);
}

/** Every generic netlink family the kernel has registered. */
export async function listFamilies(conn: Connection): Promise<GenlFamily[]> {
  const { end } = genlRequest(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_VERSION);
  const msgs = await conn.dumpAll(end(), { operation: 'dump generic netlink families' });
  return msgs.filter((m) => m.type === GENL_ID_CTRL).map(decodeFamily);
}
