// ovs_datapath, ovs_vport, ovs_flow and ovs_packet as the daemon serves them:
// requests decoded and replies encoded by the same codecs the client uses,
// with the kernel's lookups, errnos and reply rules (datapath.c's
// ovs_*_cmd_* functions), so a client cannot tell this datapath from the module.
import { AttrWriter } from '../netlink/attr.js';
import { GENL_HDRLEN, NLM_F_CREATE, NLM_F_DUMP, NLM_F_ECHO, NLM_F_EXCL } from '../netlink/constants.js';
import type { NlMessage } from '../netlink/message.js';
import type { Action } from '../ovs/actions.js';
import { decodeActions } from '../ovs/action-codec.js';
import { decodeDatapathMessage, encodeDatapathMessage, type DatapathAttrs } from '../ovs/datapath.js';
import { OVS_DATAPATH_FAMILY, OVS_FLOW_FAMILY, OVS_HEADER_SIZE, OVS_PACKET_FAMILY, OVS_VPORT_FAMILY } from '../ovs/families.js';
import { decodeFlowMessage, encodeFlowMessage, type FlowAttrs } from '../ovs/flow.js';
import { decodeKey, encodeKey } from '../ovs/key-codec.js';
import type { FlowKey } from '../ovs/keys.js';
import { decodePacketMessage } from '../ovs/packet.js';
import * as U from '../ovs/uapi.js';
import { decodeVportMessage, encodeVportMessage, type VportAttrs } from '../ovs/vport.js';
import { setMaskedOutsideMask, unsupportedAction } from './actions.js';
import { actionLimitBreach, flowState, flowStateOfPacket, refusalErrno, refusedAction, type FlowState } from './action-validate.js';
import { bindTimeoutPolicies, sharedTimeoutPolicies } from './ct-timeout.js';
import { Datapath, MAX_PORTS, sharedConnTracker, type UpcallSend } from './datapath.js';
import { tunnelMetaOf } from './tunnel-key.js';
import { exactMaskOf, FlatKey, UnsupportedKeyError, widenMaskAsKernel, writeFlatFromKey } from './flat-key.js';
import { clearStats, type FlowEntry } from './flow-table.js';
import { deviceStats } from './device-stats.js';
import { DaemonError, replyOf, type GenlCall, type GenlReply, type ServedFamily } from './genl-service.js';
import { validateMatch } from './match-validate.js';
import { meterFamily } from './meter-family.js';
import { ctLimitFamily } from './ct-limit-family.js';
import type { Port } from './port.js';
import { keyExtractionFails, type CtMeta, type PacketMeta } from './extract.js';
import { parsePacket } from '../packet/parse.js';
import { ParsedPacket } from '../packet/result.js';
import { ipv4ToBytes, ipv6ToBytes } from '../ovs/addr.js';

const ENOENT = 2;
const EEXIST = 17;
const ENODEV = 19;
const EINVAL = 22;
const EFBIG = 27;
const EOPNOTSUPP = 95;
const EOVERFLOW = 75;

const KNOWN_FEATURES = U.OVS_DP_F_UNALIGNED | U.OVS_DP_F_VPORT_PIDS | U.OVS_DP_F_TC_RECIRC_SHARING | U.OVS_DP_F_DISPATCH_UPCALL_PER_CPU;

/** The generic netlink message a call was, for the family decoders. */
function asMessage(c: GenlCall): NlMessage {
  const payload = new Uint8Array(GENL_HDRLEN + c.header.length + c.attrs.length);
  payload[0] = c.cmd;
  payload[1] = c.version;
  payload.set(c.header, GENL_HDRLEN);
  payload.set(c.attrs, GENL_HDRLEN + c.header.length);
  return { type: 0, flags: c.flags, seq: c.seq, pid: c.portId, payload };
}

const isDump = (c: GenlCall): boolean => (c.flags & NLM_F_DUMP) === NLM_F_DUMP;

/** All the fallback datapaths of a daemon, and the families served over them. */
export class DatapathRegistry {
  readonly datapaths = new Map<string, Datapath>();
  packetFamilyId = 0;

  constructor(private readonly send: UpcallSend) {}

  byIfindex(ifindex: number): Datapath | undefined {
    for (const dp of this.datapaths.values()) if (dp.ifindex === ifindex) return dp;
    return undefined;
  }

  portInUse(name: string): boolean {
    for (const dp of this.datapaths.values()) if (dp.portByName(name)) return true;
    return false;
  }

  destroy(): void {
    for (const dp of this.datapaths.values()) dp.destroy();
    this.datapaths.clear();
  }

  createDatapath(name: string, upcallPid: number): Datapath {
    return Datapath.create(name, upcallPid, { packetFamilyId: this.packetFamilyId, send: this.send, portInUse: (n) => this.portInUse(n) });
  }

  families(): ServedFamily[] {
    return [
      datapathFamily(this),
      vportFamily(this),
      flowFamily(this),
      packetFamily(this),
      meterFamily({ lookupDp: (i) => lookupDp(this, i), asMessage }),
      // The tracker every datapath of the daemon shares (Datapath's default).
      ctLimitFamily({ tracker: sharedConnTracker, asMessage }),
    ];
  }
}

// ---- ovs_datapath ----------------------------------------------------------

function dpInfo(dp: Datapath): DatapathAttrs {
  const a: DatapathAttrs = {
    name: dp.name,
    stats: dp.stats(),
    megaflowStats: dp.megaflowStats(),
    userFeatures: dp.userFeatures,
    masksCacheSize: dp.masksCacheSize,
  };
  if (dp.userFeatures & U.OVS_DP_F_DISPATCH_UPCALL_PER_CPU && dp.perCpuPids.length) a.perCpuPids = dp.perCpuPids;
  return a;
}

function dpReply(cmd: number, dp: Datapath): GenlReply {
  return replyOf(cmd, U.OVS_DATAPATH_VERSION, encodeDatapathMessage(0, { cmd, dpIfindex: dp.ifindex, attrs: dpInfo(dp) }));
}

/** The kernel's lookup_datapath(): by name if given, else by dp_ifindex. */
/** The execute handler's parse result, reused: handlers run one at a time. */
const executeParse = new ParsedPacket();

function lookupDp(reg: DatapathRegistry, dpIfindex: number, name?: string): Datapath {
  const dp = name !== undefined ? reg.datapaths.get(name) : reg.byIfindex(dpIfindex);
  if (!dp) throw new DaemonError(ENODEV, 'no such datapath');
  return dp;
}

function applyDpChanges(dp: Datapath, a: DatapathAttrs): void {
  if (a.userFeatures !== undefined && a.userFeatures & ~KNOWN_FEATURES) {
    throw new DaemonError(EOPNOTSUPP, `unsupported user features 0x${(a.userFeatures & ~KNOWN_FEATURES).toString(16)}`);
  }
  if (a.masksCacheSize !== undefined) {
    const n = a.masksCacheSize;
    if (n !== 0 && (n & (n - 1)) !== 0) throw new DaemonError(EINVAL, 'masks cache size must be 0 or a power of two');
    dp.masksCacheSize = n;
  }
  dp.userFeatures = a.userFeatures ?? 0;
  if (a.perCpuPids) dp.perCpuPids = a.perCpuPids;
}

function datapathFamily(reg: DatapathRegistry): ServedFamily {
  return {
    name: OVS_DATAPATH_FAMILY,
    version: U.OVS_DATAPATH_VERSION,
    hdrSize: OVS_HEADER_SIZE,
    maxAttr: U.OVS_DP_ATTR_IFINDEX,
    groups: [U.OVS_DATAPATH_MCGROUP],
    ops: [U.OVS_DP_CMD_NEW, U.OVS_DP_CMD_DEL, U.OVS_DP_CMD_GET, U.OVS_DP_CMD_SET],
    notify: { cmds: [U.OVS_DP_CMD_NEW, U.OVS_DP_CMD_DEL, U.OVS_DP_CMD_SET] },
    handle(call) {
      const m = decodeDatapathMessage(asMessage(call));
      const a = m.attrs;
      switch (call.cmd) {
        case U.OVS_DP_CMD_NEW: {
          if (a.name === undefined || a.upcallPid === undefined) throw new DaemonError(EINVAL, 'datapath NEW needs a name and an upcall pid');
          // Features are checked before the name, which is how user-feature probes work.
          const scratch = { userFeatures: 0, masksCacheSize: 256, perCpuPids: [] as number[] };
          applyDpChanges(scratch as unknown as Datapath, a);
          if (reg.datapaths.has(a.name)) throw new DaemonError(EEXIST, `datapath ${a.name} exists`);
          const dp = reg.createDatapath(a.name, a.upcallPid);
          applyDpChanges(dp, a);
          reg.datapaths.set(a.name, dp);
          return [dpReply(U.OVS_DP_CMD_NEW, dp)];
        }
        case U.OVS_DP_CMD_DEL: {
          const dp = lookupDp(reg, m.dpIfindex, a.name);
          const reply = dpReply(U.OVS_DP_CMD_DEL, dp);
          reg.datapaths.delete(dp.name);
          dp.destroy();
          return [reply];
        }
        case U.OVS_DP_CMD_SET: {
          const dp = lookupDp(reg, m.dpIfindex, a.name);
          applyDpChanges(dp, a);
          return [dpReply(U.OVS_DP_CMD_SET, dp)];
        }
        case U.OVS_DP_CMD_GET:
          if (isDump(call)) return [...reg.datapaths.values()].map((dp) => dpReply(U.OVS_DP_CMD_GET, dp));
          return [dpReply(U.OVS_DP_CMD_GET, lookupDp(reg, m.dpIfindex, a.name))];
      }
      throw new DaemonError(EOPNOTSUPP, `ovs_datapath command ${call.cmd}`);
    },
  };
}

// ---- ovs_vport ---------------------------------------------------------------

export function vportReply(cmd: number, dp: Datapath, p: Port): GenlReply {
  const attrs: VportAttrs = {
    portNo: p.portNo,
    type: p.type,
    name: p.name,
    ifindex: p.ifindex,
    // The device's counters, as the kernel reports them; the port's own if the device just went
    // (a tunnel port has no device: a host interface of its name is another's).
    stats: (!p.tunnel && deviceStats(p.name)) || p.stats(),
    upcallStats: { success: BigInt(p.upcallSuccess), fail: BigInt(p.upcallFail) },
    upcallPids: p.upcallPids,
    // As the module's tunnel vports report theirs (vxlan_get_options).
    options: p.tunnel?.dstPort !== undefined ? { dstPort: p.tunnel.dstPort, extensions: p.tunnel.gbp ? { gbp: true } : undefined } : undefined,
  };
  return replyOf(cmd, U.OVS_VPORT_VERSION, encodeVportMessage(0, { cmd, dpIfindex: dp.ifindex, attrs }));
}

/** The kernel's lookup_vport(): by name (in any datapath), else by dp_ifindex and port number. */
function lookupVport(reg: DatapathRegistry, dpIfindex: number, a: VportAttrs): { dp: Datapath; port: Port } {
  if (a.name !== undefined) {
    for (const dp of reg.datapaths.values()) {
      const port = dp.portByName(a.name);
      if (port) {
        if (dpIfindex && dp.ifindex !== dpIfindex) break;
        return { dp, port };
      }
    }
    throw new DaemonError(ENODEV, `no vport named ${a.name}`);
  }
  if (a.portNo !== undefined) {
    if (a.portNo >= MAX_PORTS) throw new DaemonError(EFBIG, `port number ${a.portNo} is not below ${MAX_PORTS}`);
    const dp = lookupDp(reg, dpIfindex);
    const port = dp.ports.get(a.portNo);
    if (!port) throw new DaemonError(ENODEV, `no port ${a.portNo}`);
    return { dp, port };
  }
  throw new DaemonError(EINVAL, 'a vport is named by OVS_VPORT_ATTR_NAME or OVS_VPORT_ATTR_PORT_NO');
}

function vportFamily(reg: DatapathRegistry): ServedFamily {
  return {
    name: OVS_VPORT_FAMILY,
    version: U.OVS_VPORT_VERSION,
    hdrSize: OVS_HEADER_SIZE,
    maxAttr: U.OVS_VPORT_ATTR_UPCALL_STATS,
    groups: [U.OVS_VPORT_MCGROUP],
    ops: [U.OVS_VPORT_CMD_NEW, U.OVS_VPORT_CMD_DEL, U.OVS_VPORT_CMD_GET, U.OVS_VPORT_CMD_SET],
    notify: { cmds: [U.OVS_VPORT_CMD_NEW, U.OVS_VPORT_CMD_DEL, U.OVS_VPORT_CMD_SET] },
    handle(call) {
      const m = decodeVportMessage(asMessage(call));
      const a = m.attrs;
      switch (call.cmd) {
        case U.OVS_VPORT_CMD_NEW: {
          if (a.name === undefined || a.type === undefined || !a.upcallPids) throw new DaemonError(EINVAL, 'vport NEW needs a name, a type and upcall pids');
          const dp = lookupDp(reg, m.dpIfindex);
          // GPE is OVS's userspace datapath's alone (the module's VXLAN ports know only GBP).
          if (a.options?.extensions?.gpe) throw new DaemonError(EINVAL, 'the ovsnl userspace datapath has no VXLAN GPE extension');
          const port = dp.addPort({ name: a.name, type: a.type, portNo: a.portNo, upcallPids: a.upcallPids, dstPort: a.options?.dstPort, gbp: a.options?.extensions?.gbp });
          return [vportReply(U.OVS_VPORT_CMD_NEW, dp, port)];
        }
        case U.OVS_VPORT_CMD_DEL: {
          const { dp, port } = lookupVport(reg, m.dpIfindex, a);
          if (port.portNo === U.OVSP_LOCAL) throw new DaemonError(EINVAL, 'the local port goes with its datapath');
          const reply = vportReply(U.OVS_VPORT_CMD_DEL, dp, port);
          dp.removePort(port);
          return [reply];
        }
        case U.OVS_VPORT_CMD_SET: {
          const { dp, port } = lookupVport(reg, m.dpIfindex, a);
          if (a.type !== undefined && a.type !== port.type) throw new DaemonError(EINVAL, 'a vport keeps its type');
          if (a.upcallPids) port.upcallPids = a.upcallPids;
          return [vportReply(U.OVS_VPORT_CMD_SET, dp, port)];
        }
        case U.OVS_VPORT_CMD_GET: {
          if (isDump(call)) {
            const dp = lookupDp(reg, m.dpIfindex);
            return [...dp.ports.values()].sort((x, y) => x.portNo - y.portNo).map((p) => vportReply(U.OVS_VPORT_CMD_GET, dp, p));
          }
          const { dp, port } = lookupVport(reg, m.dpIfindex, a);
          return [vportReply(U.OVS_VPORT_CMD_GET, dp, port)];
        }
      }
      throw new DaemonError(EOPNOTSUPP, `ovs_vport command ${call.cmd}`);
    },
  };
}

// ---- ovs_flow ------------------------------------------------------------------

interface ParsedMatch {
  key: FlatKey;
  mask: FlatKey;
  /** The same key and mask typed (an absent mask: the exact one), for the action checks. */
  typedKey: FlowKey;
  typedMask: FlowKey;
}

/** `forPut`: the match of a new flow (mask checks apply); otherwise a key naming a flow. */
function parseMatch(keyBytes: Uint8Array, maskBytes: Uint8Array | undefined, forPut: boolean): ParsedMatch {
  // The kernel's prerequisite checks first, so errors match its errors.
  validateMatch(keyBytes, forPut ? maskBytes : null);
  let key: FlowKey;
  let mask: FlowKey;
  try {
    key = decodeKey(keyBytes);
    mask = maskBytes ? decodeKey(maskBytes) : exactMaskOf(key);
  } catch (err) {
    throw new DaemonError(EINVAL, `flow key: ${(err as Error).message}`);
  }
  const k = new FlatKey();
  const mk = new FlatKey();
  try {
    writeFlatFromKey(key, k);
    writeFlatFromKey(mask, mk, true);
    widenMaskAsKernel(mask, mk, key);
  } catch (err) {
    if (err instanceof UnsupportedKeyError) throw new DaemonError(EINVAL, err.message);
    throw new DaemonError(EINVAL, `flow key: ${(err as Error).message}`);
  }
  return { key: k, mask: mk, typedKey: key, typedMask: mask };
}

/**
 * The actions of a put, refused as the module refuses them; `flow` (the
 * state flowState() makes of the put's key and mask) for the checks that
 * read the flow.
 */
function parseActions(bytes: Uint8Array, flow?: FlowState): Action[] {
  let actions: Action[];
  try {
    actions = decodeActions(bytes);
  } catch (err) {
    throw new DaemonError(EINVAL, `flow actions: ${(err as Error).message}`);
  }
  const limit = actionLimitBreach(actions);
  if (limit) throw new DaemonError(limit.errno === 'EOVERFLOW' ? EOVERFLOW : EINVAL, limit.why);
  const bad = unsupportedAction(actions);
  if (bad) throw new DaemonError(EINVAL, `the ovsnl userspace datapath cannot run ${bad} yet`);
  const outside = setMaskedOutsideMask(actions);
  if (outside) throw new DaemonError(EINVAL, outside);
  const refused = flow && refusedAction(actions, flow);
  if (refused) throw new DaemonError(refusalErrno(refused), refused);
  if (flow) bindTimeoutPolicies(actions, flow, sharedTimeoutPolicies());
  return actions;
}

/** The action checks' state for a SET, whose key and mask are decoded only for them. */
function setFlowState(keyBytes: Uint8Array, maskBytes: Uint8Array | undefined): FlowState {
  try {
    return flowState(decodeKey(keyBytes), maskBytes ? decodeKey(maskBytes) : undefined);
  } catch (err) {
    throw new DaemonError(EINVAL, `flow key: ${(err as Error).message}`);
  }
}

/**
 * An execute's key may carry conntrack fields (a handler sends back the
 * upcall's key): the module takes them as the packet's key metadata, but the
 * packet has no connection attached, so a ct() in the actions tracks it anew.
 */
function ctFromKey(k: FlowKey): CtMeta | undefined {
  if (!k.ctState && !k.ctZone && !k.ctMark && !k.ctLabels) return undefined;
  const t4 = k.ctOrigTupleIpv4;
  const t6 = k.ctOrigTupleIpv6;
  const orig = t4
    ? { ipv6: false, src: ipv4ToBytes(t4.src), dst: ipv4ToBytes(t4.dst), srcPort: t4.srcPort, dstPort: t4.dstPort, proto: t4.proto }
    : t6
      ? { ipv6: true, src: ipv6ToBytes(t6.src), dst: ipv6ToBytes(t6.dst), srcPort: t6.srcPort, dstPort: t6.dstPort, proto: t6.proto }
      : undefined;
  return { state: k.ctState ?? 0, zone: k.ctZone ?? 0, mark: k.ctMark ?? 0, labels: k.ctLabels ?? 0n, orig, fromKey: true };
}

function flowInfo(f: FlowEntry, ufidFlags: number): FlowAttrs {
  const a: FlowAttrs = {};
  // ovs_nla_put_identifier(): the UFID, or the key as it was given.
  if (f.ufid) a.ufid = f.ufid;
  if (!f.ufid || !(ufidFlags & U.OVS_UFID_F_OMIT_KEY)) a.key = f.keyAttrs;
  if (!(ufidFlags & U.OVS_UFID_F_OMIT_MASK)) a.mask = f.maskAttrs;
  if (f.used) a.used = BigInt(f.used);
  if (f.packets) a.stats = { packets: BigInt(f.packets), bytes: BigInt(f.bytes) };
  if (f.tcpFlags & 0xff) a.tcpFlags = f.tcpFlags & 0xff;
  if (!(ufidFlags & U.OVS_UFID_F_OMIT_ACTIONS)) a.actions = f.actionsAttrs;
  return a;
}

function flowReply(cmd: number, dp: Datapath, f: FlowEntry, ufidFlags: number): GenlReply {
  return replyOf(cmd, U.OVS_FLOW_VERSION, encodeFlowMessage(0, { cmd, dpIfindex: dp.ifindex, attrs: flowInfo(f, ufidFlags) }));
}

/** A flow named by UFID, or (for flows without one) by exact key. */
function findFlow(dp: Datapath, a: FlowAttrs): FlowEntry | undefined {
  if (a.ufid) return dp.table.findUfid(a.ufid);
  if (!a.key) throw new DaemonError(EINVAL, 'a flow is named by OVS_FLOW_ATTR_UFID or OVS_FLOW_ATTR_KEY');
  return dp.table.findExact(parseMatch(a.key, undefined, false).key);
}

/** The mask as the kernel reports it when a put had none: every bit of the key's attributes. */
function exactMaskBytes(keyBytes: Uint8Array): Uint8Array {
  const w = new AttrWriter(256);
  encodeKey(w, exactMaskOf(decodeKey(keyBytes)));
  return w.finish().slice();
}

function flowFamily(reg: DatapathRegistry): ServedFamily {
  return {
    name: OVS_FLOW_FAMILY,
    version: U.OVS_FLOW_VERSION,
    hdrSize: OVS_HEADER_SIZE,
    maxAttr: U.OVS_FLOW_ATTR_UFID_FLAGS,
    groups: [U.OVS_FLOW_MCGROUP],
    ops: [U.OVS_FLOW_CMD_NEW, U.OVS_FLOW_CMD_DEL, U.OVS_FLOW_CMD_GET, U.OVS_FLOW_CMD_SET],
    // A flow's reply is built only when somebody wants it: the requester (echo) or a listener.
    notify: { cmds: [U.OVS_FLOW_CMD_NEW, U.OVS_FLOW_CMD_SET, U.OVS_FLOW_CMD_DEL], echoOnly: true },
    handle(call) {
      const m = decodeFlowMessage(asMessage(call));
      const a = m.attrs;
      const ufidFlags = a.ufidFlags ?? 0;
      const echo = (call.flags & NLM_F_ECHO) !== 0 || call.listening === true;
      const dp = lookupDp(reg, m.dpIfindex);
      switch (call.cmd) {
        case U.OVS_FLOW_CMD_NEW: {
          if (!a.key) throw new DaemonError(EINVAL, 'flow NEW needs a key');
          if (!a.actions) throw new DaemonError(EINVAL, 'flow NEW needs actions');
          const match = parseMatch(a.key, a.mask, true);
          const actions = parseActions(a.actions, flowState(match.typedKey, match.typedMask));
          let f = a.ufid ? dp.table.findUfid(a.ufid) : undefined;
          if (!f) f = dp.table.findOverlap(match.key, match.mask);
          if (!f) {
            f = dp.table.insert({
              key: match.key,
              mask: match.mask,
              ufid: a.ufid,
              keyAttrs: a.key.slice(),
              maskAttrs: a.mask ? a.mask.slice() : exactMaskBytes(a.key),
              actionsAttrs: a.actions.slice(),
              actions,
            });
            return echo ? [flowReply(U.OVS_FLOW_CMD_NEW, dp, f, ufidFlags)] : [];
          }
          if (call.flags & (NLM_F_CREATE | NLM_F_EXCL)) throw new DaemonError(EEXIST, 'the flow exists');
          if (!a.ufid && f.ufid) throw new DaemonError(ENOENT, 'a flow overlapping this key was created with a UFID');
          if (!a.ufid) {
            const exact = dp.table.findExact(match.key);
            if (!exact) throw new DaemonError(ENOENT, 'no flow with exactly this key');
            f = exact;
          }
          f.actions = actions;
          f.actionsAttrs = a.actions.slice();
          return echo ? [flowReply(U.OVS_FLOW_CMD_NEW, dp, f, ufidFlags)] : [];
        }
        case U.OVS_FLOW_CMD_SET: {
          // ovs_flow_cmd_set: a flow is named by its key or its UFID, and new
          // actions are checked against the key, which must then be given too.
          if (!a.key && !a.ufid) throw new DaemonError(EINVAL, 'Flow set message rejected, Key attribute missing.');
          if (a.actions && !a.key) throw new DaemonError(EINVAL, 'Flow key attribute not present in set flow.');
          const actions = a.actions ? parseActions(a.actions, setFlowState(a.key!, a.mask)) : undefined;
          const f = findFlow(dp, a);
          if (!f) throw new DaemonError(ENOENT, 'no such flow');
          if (actions) {
            f.actions = actions;
            f.actionsAttrs = a.actions!.slice();
          }
          if (a.clear) clearStats(f);
          return echo ? [flowReply(U.OVS_FLOW_CMD_SET, dp, f, ufidFlags)] : [];
        }
        case U.OVS_FLOW_CMD_DEL: {
          if (!a.key && !a.ufid) {
            dp.table.flush();
            return [];
          }
          const f = findFlow(dp, a);
          if (!f) throw new DaemonError(ENOENT, 'no such flow');
          dp.table.remove(f);
          return echo ? [flowReply(U.OVS_FLOW_CMD_DEL, dp, f, ufidFlags)] : [];
        }
        case U.OVS_FLOW_CMD_GET: {
          if (isDump(call)) return [...dp.table.flows()].map((f) => flowReply(U.OVS_FLOW_CMD_GET, dp, f, ufidFlags));
          const f = findFlow(dp, a);
          if (!f) throw new DaemonError(ENOENT, 'no such flow');
          return [flowReply(U.OVS_FLOW_CMD_GET, dp, f, ufidFlags)];
        }
      }
      throw new DaemonError(EOPNOTSUPP, `ovs_flow command ${call.cmd}`);
    },
  };
}

// ---- ovs_packet -------------------------------------------------------------------

function packetFamily(reg: DatapathRegistry): ServedFamily {
  return {
    name: OVS_PACKET_FAMILY,
    version: U.OVS_PACKET_VERSION,
    hdrSize: OVS_HEADER_SIZE,
    maxAttr: U.OVS_PACKET_ATTR_UPCALL_PID,
    ops: [U.OVS_PACKET_CMD_EXECUTE],
    handle(call) {
      if (call.cmd !== U.OVS_PACKET_CMD_EXECUTE) throw new DaemonError(EOPNOTSUPP, `ovs_packet command ${call.cmd}`);
      const m = decodePacketMessage(asMessage(call));
      const { packet, key, actions } = m.attrs;
      if (!packet || !key || !actions || packet.length < 14) throw new DaemonError(EINVAL, 'execute needs a packet of 14 bytes or more, a key and actions');
      const dp = lookupDp(reg, m.dpIfindex);
      let k: FlowKey;
      try {
        k = decodeKey(key);
      } catch (err) {
        throw new DaemonError(EINVAL, `execute key: ${(err as Error).message}`);
      }
      const frame = packet.slice();
      const meta: PacketMeta = { inPort: k.inPort ?? MAX_PORTS, priority: k.priority, skbMark: k.skbMark, recircId: k.recircId, dpHash: k.dpHash, ct: ctFromKey(k) };
      // The key's tunnel is the packet's, as ovs_flow_key_extract_userspace takes it.
      if (k.tunnel && k.tunnel.ipv4Dst !== undefined) meta.tunnel = tunnelMetaOf(k.tunnel);
      // A reassembled datagram sent back by the handler is cut to its fragments' size on output.
      if (m.attrs.mru) meta.mru = m.attrs.mru;
      // The module checks an execute's actions as it checks a flow's, against
      // the key it extracts from the packet (ovs_flow_key_extract_userspace):
      // the parts of it the checks read, without building the key.
      const parsed = parsePacket(frame, frame.length, executeParse);
      // ovs_flow_key_extract_userspace fails the request where key extraction fails.
      if (keyExtractionFails(parsed)) throw new DaemonError(EINVAL, 'execute: the packet has a malformed NSH header');
      const list = parseActions(actions, flowStateOfPacket(parsed));
      dp.execute(frame, meta, list);
      return [];
    },
  };
}
