// The daemon's generic netlink controller: family lookup and dump, encoded as
// the kernel's nlctrl encodes them, so resolveFamily() works unchanged.
import { AttrWriter, getString, getU16, parseAttrs } from '../netlink/attr.js';
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
  CTRL_CMD_NEWFAMILY,
  GENL_ID_CTRL,
  NLM_F_DUMP,
} from '../netlink/constants.js';
import { DaemonError, type GenlCall, type GenlReply, type ServedFamily } from './genl-service.js';

export interface RegisteredFamily {
  id: number;
  family: ServedFamily;
  groups: Map<string, number>;
}

const ENOENT = 2;
const EINVAL = 22;
const EOPNOTSUPP = 95;

function describe(f: RegisteredFamily): GenlReply {
  const w = new AttrWriter(128);
  w.string(CTRL_ATTR_FAMILY_NAME, f.family.name);
  w.u16(CTRL_ATTR_FAMILY_ID, f.id);
  w.u32(CTRL_ATTR_VERSION, f.family.version);
  w.u32(CTRL_ATTR_HDRSIZE, f.family.hdrSize);
  w.u32(CTRL_ATTR_MAXATTR, f.family.maxAttr);
  const ops = w.nestStart(CTRL_ATTR_OPS);
  f.family.ops.forEach((op, i) => {
    const n = w.nestStart(i + 1);
    w.u32(CTRL_ATTR_OP_ID, op);
    w.u32(CTRL_ATTR_OP_FLAGS, 0);
    w.nestEnd(n);
  });
  w.nestEnd(ops);
  if (f.groups.size) {
    const groups = w.nestStart(CTRL_ATTR_MCAST_GROUPS);
    let i = 1;
    for (const [name, id] of f.groups) {
      const n = w.nestStart(i++);
      w.u32(CTRL_ATTR_MCAST_GRP_ID, id);
      w.string(CTRL_ATTR_MCAST_GRP_NAME, name);
      w.nestEnd(n);
    }
    w.nestEnd(groups);
  }
  return { cmd: CTRL_CMD_NEWFAMILY, version: 2, body: w.finish().slice() };
}

/** nlctrl as a served family over the daemon's registry. */
export function controller(families: () => Iterable<RegisteredFamily>): ServedFamily {
  return {
    name: 'nlctrl',
    version: 2,
    hdrSize: 0,
    maxAttr: CTRL_ATTR_MCAST_GROUPS,
    ops: [CTRL_CMD_GETFAMILY],
    handle(call: GenlCall): GenlReply[] {
      if (call.cmd !== CTRL_CMD_GETFAMILY) throw new DaemonError(EOPNOTSUPP, 'nlctrl: only CTRL_CMD_GETFAMILY is served');
      const all = [{ id: GENL_ID_CTRL, family: this, groups: new Map<string, number>() }, ...families()];
      if (call.flags & NLM_F_DUMP) return all.map(describe);
      let name: string | undefined;
      let id: number | undefined;
      for (const a of parseAttrs(call.attrs)) {
        if (a.type === CTRL_ATTR_FAMILY_NAME) name = getString(a);
        else if (a.type === CTRL_ATTR_FAMILY_ID) id = getU16(a);
      }
      if (name === undefined && id === undefined) throw new DaemonError(EINVAL, 'nlctrl: family name or id required');
      const found = all.find((f) => (name !== undefined ? f.family.name === name : f.id === id));
      if (!found) throw new DaemonError(ENOENT);
      return [describe(found)];
    },
  };
}
