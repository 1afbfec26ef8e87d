// The Dpif over the openvswitch kernel module: one generic netlink
// Connection, many requests in flight on it. Every method is one request
// (or one dump) built by the src/ovs codecs; errors are the kernel's
// NetlinkError, named after the operation ("flow new", "datapath get dp0").
// Around the requests: warnings before writes (host-warnings.ts), refusal of
// userspace-only attributes (kernel-only.ts), the module's log text on
// EINVAL (kernel-log.ts), and feature negotiation and probes (negotiate.ts,
// features.ts).
import { Connection, type ConnectionOptions } from '../netlink/connection.js';
import { NLM_F_CREATE, NLM_F_ECHO } from '../netlink/constants.js';
import { NetlinkError } from '../netlink/errors.js';
import type { NlMessage } from '../netlink/message.js';
import { resolveOvsFamilies, type OvsFamilies } from '../ovs/families.js';
import type { GenlFamily } from '../netlink/genl.js';
import { decodeDatapathMessage, encodeDatapathMessage, type DatapathAttrs } from '../ovs/datapath.js';
import { decodeVportMessage, encodeVportMessage, isKernelVportType, vportTypeName, vportTypeNumber, type VportAttrs } from '../ovs/vport.js';
import { decodeFlowMessage, encodeFlowMessage } from '../ovs/flow.js';
import { encodePacketMessage, executeAttrs, type PacketExecute } from '../ovs/packet.js';
import { decodeMeterMessage, encodeMeterMessage, type MeterMessage } from '../ovs/meter.js';
import { decodeCtLimitMessage, encodeCtLimitMessage, zoneLimit, type CtLimitAttrs } from '../ovs/ct-limit.js';
import { formatUfid, randomUfid } from '../ovs/ufid.js';
import type { FlowProbe } from '../ovs/probe.js';
import { toDatapath, toFlow, toMeter, toVport } from './convert.js';
import { userspaceSocketOf } from './daemon-link.js';
import { OvsEvents, type OvsEventsOptions } from './events.js';
import { isUnsupported, probeFlowFeatures, type DatapathFeatures, type KernelFeatures } from './features.js';
import { HostWarnings, type HostWarningsOptions } from './host-warnings.js';
import { KernelLog, withKernelLog } from './kernel-log.js';
import { userspaceOnlyError } from './kernel-only.js';
import { FLOW_PUT_OPERATION, flowPutError, flowPutRequest } from './flow-put.js';
import { encodeFlowPut } from '../ovs/flow-put-encode.js';
import { packExecutes } from '../ovs/packet-execute-encode.js';
import { putFlowBatch } from './flow-batch.js';
import { PER_CPU_USER_FEATURES, STANDARD_USER_FEATURES, probeDatapathFeatures } from './negotiate.js';
import * as U from '../ovs/uapi.js';
import type {
  CtLimits,
  CtLimitsChange,
  Datapath,
  DatapathChanges,
  DatapathCreate,
  Dpif,
  DpRef,
  Flow,
  FlowDumpOptions,
  FlowGetOptions,
  FlowDeleteOptions,
  FlowId,
  FlowPut,
  FlowPutResult,
  Meter,
  MeterConfig,
  MeterFeatures,
  Vport,
  VportChanges,
  VportCreate,
  VportRef,
} from './dpif.js';

/** A packed group of executes: well inside one send (Connection.requestPacked). */
const EXECUTE_PACK_BYTES = 64 * 1024;

const EIO = 5;
const ENODEV = 19;
const EEXIST = 17;
const EOPNOTSUPP = 95;

/**
 * Features of datapaths this Dpif creates unless told otherwise: per-vport
 * upcall dispatch, which works without a per-CPU pid array (the per-CPU mode
 * ovs-dpctl switches on loses every upcall when nobody set the array).
 */
export const DEFAULT_USER_FEATURES = STANDARD_USER_FEATURES;

export interface KernelDpifOptions extends ConnectionOptions {
  /** Use this connection (not closed by close()) instead of opening one. */
  connection?: Connection;
  /** Called with each warning as it is given (see Dpif.warnings). */
  onWarning?: (warning: string) => void;
  /** Where and how often to look for ovs-vswitchd before writes. */
  hostWarnings?: HostWarningsOptions;
  /**
   * Read the module's reasons for EINVAL from the kernel log: true (default,
   * /dev/kmsg when readable), false, or another path.
   */
  kernelLog?: boolean | string;
}

const describeDp = (dp: DpRef): string => (typeof dp === 'string' ? dp : `dp_ifindex ${dp}`);
const describeVport = (v: VportRef): string => (typeof v === 'number' ? `port ${v}` : v);
const describeFlow = (id: FlowId): string => (id.ufid ? ` ${formatUfid(id.ufid)}` : '');

function vportSelector(v: VportRef): VportAttrs {
  return typeof v === 'number' ? { portNo: v } : { name: v };
}

export class KernelDpif implements Dpif {
  /** Datapath name -> dp_ifindex, learnt from replies. */
  private readonly dpIndex = new Map<string, number>();
  private readonly host: HostWarnings;
  private readonly log?: KernelLog;
  /** Per dp_ifindex: what negotiation learnt, and the whole probed record. */
  private readonly dpFeatures = new Map<number, DatapathFeatures>();
  private readonly kernelFeatures = new Map<number, Promise<KernelFeatures>>();
  /** Datapaths whose probes showed the kernel implements hash(sym_l4), which OVS defines for its userspace datapath. */
  private readonly symL4Datapaths = new Set<number>();

  private constructor(
    readonly conn: Connection,
    readonly families: OvsFamilies,
    private readonly ownsConnection: boolean,
    opts: KernelDpifOptions,
  ) {
    this.host = new HostWarnings(opts.hostWarnings);
    this.host.onWarning = opts.onWarning;
    if (opts.kernelLog !== false) this.log = new KernelLog(typeof opts.kernelLog === 'string' ? opts.kernelLog : undefined);
  }

  /** Opens a connection and resolves the OVS families; fails with ModuleMissingError without the module. */
  static async open(opts: KernelDpifOptions = {}): Promise<KernelDpif> {
    const conn = opts.connection ?? new Connection(opts);
    try {
      return new KernelDpif(conn, await resolveOvsFamilies(conn), !opts.connection, opts);
    } catch (err) {
      if (!opts.connection) conn.close();
      throw err;
    }
  }

  close(): void {
    if (this.ownsConnection) this.conn.close();
    this.log?.close();
  }

  get warnings(): readonly string[] {
    return this.host.list;
  }

  get onWarning(): ((warning: string) => void) | undefined {
    return this.host.onWarning;
  }

  set onWarning(fn: ((warning: string) => void) | undefined) {
    this.host.onWarning = fn;
  }

  /** The change notifications of the OVS families, on a socket of their own (close it when done). */
  events(opts: Omit<OvsEventsOptions, 'families'> = {}): Promise<OvsEvents> {
    // On the userspace datapath, the daemon's notifications on a connection of their own.
    return OvsEvents.open({ ...opts, families: this.families, daemonSocket: userspaceSocketOf(this) });
  }

  // ---- plumbing ---------------------------------------------------------

  // The kernel answers GETs with genlmsg_reply, but NEW, SET and DEL of
  // datapaths, vports and flows with a notification (ovs_notify) that reaches
  // the requester only when it asked with NLM_F_ECHO: those requests carry it
  // where a reply is wanted.
  private async call(bytes: Uint8Array, family: GenlFamily, operation: string): Promise<NlMessage[]> {
    const replies = await this.conn.request(bytes, { operation });
    return replies.filter((m) => m.type === family.id);
  }

  private async one<T>(bytes: Uint8Array, family: GenlFamily, operation: string, decode: (m: NlMessage) => T): Promise<T> {
    const [reply] = await this.call(bytes, family, operation);
    if (!reply) throw new NetlinkError({ errno: EIO, operation: `${operation}: the kernel acknowledged without a reply` });
    return decode(reply);
  }

  private optionalFamily(family: GenlFamily | undefined, name: string, operation: string): GenlFamily {
    if (!family) throw new NetlinkError({ errno: EOPNOTSUPP, operation: `${operation}: this kernel's openvswitch module has no ${name} family` });
    return family;
  }

  private async resolveDp(dp: DpRef): Promise<number> {
    if (typeof dp === 'number') return dp;
    return this.dpIndex.get(dp) ?? (await this.getDatapath(dp)).dpIfindex;
  }

  /**
   * Runs fn with the datapath's ifindex. A name's ifindex is cached; if the
   * kernel says ENODEV the datapath may have been re-created under the same
   * name, so the name is looked up once more and fn retried.
   */
  private async withDp<T>(dp: DpRef, fn: (dpIfindex: number) => Promise<T>): Promise<T> {
    if (typeof dp === 'number') return fn(dp);
    const cached = this.dpIndex.get(dp);
    if (cached !== undefined) {
      try {
        return await fn(cached);
      } catch (err) {
        if (!(err instanceof NetlinkError && err.errno === ENODEV)) throw err;
        this.dpIndex.delete(dp);
      }
    }
    return fn((await this.getDatapath(dp)).dpIfindex);
  }

  private datapath(cmd: number, dp: DpRef, attrs: DatapathAttrs, operation: string): Promise<Datapath> {
    const selector = typeof dp === 'string' ? { dpIfindex: 0, name: dp } : { dpIfindex: dp };
    const flags = cmd === U.OVS_DP_CMD_GET ? 0 : NLM_F_ECHO;
    const bytes = encodeDatapathMessage(this.families.datapath.id, { cmd, dpIfindex: selector.dpIfindex, attrs: { name: selector.name, ...attrs } }, { flags });
    return this.one(bytes, this.families.datapath, operation, (m) => {
      const d = toDatapath(decodeDatapathMessage(m));
      this.dpIndex.set(d.name, d.dpIfindex);
      return d;
    });
  }

  // ---- datapaths --------------------------------------------------------

  private newDatapath(c: DatapathCreate, userFeatures: number, perCpuPids = c.perCpuPids): Promise<Datapath> {
    const attrs: DatapathAttrs = { upcallPid: c.upcallPid ?? 0, userFeatures, masksCacheSize: c.masksCacheSize, perCpuPids, ifindex: c.ifindex };
    return this.datapath(U.OVS_DP_CMD_NEW, c.name, attrs, `datapath new ${c.name}`);
  }

  /**
   * Creates a datapath and negotiates its user features (see negotiate.ts):
   * per-CPU dispatch when asked for and available, else per-vport; on a kernel
   * that takes unknown bits, the standard features, as ovs-vswitchd does.
   */
  async createDatapath(c: DatapathCreate): Promise<Datapath> {
    this.host.beforeWrite(true);
    let dp: Datapath;
    const perCpu = c.dispatch === 'per-cpu' || (c.dispatch === undefined && (c.perCpuPids?.length ?? 0) > 0);
    if (c.userFeatures !== undefined) {
      dp = await this.newDatapath(c, c.userFeatures);
    } else if (perCpu) {
      dp = await this.newDatapath(c, PER_CPU_USER_FEATURES).catch((err: unknown) => {
        if (!(err instanceof NetlinkError && err.errno === EOPNOTSUPP)) throw err;
        return this.newDatapath(c, STANDARD_USER_FEATURES, undefined);
      });
    } else {
      dp = await this.newDatapath(c, STANDARD_USER_FEATURES);
    }
    const df = await this.probeDatapath(dp);
    if (!df.rejectsUnknownUserFeatures) {
      this.host.give(`warning: this kernel's openvswitch module accepts unknown datapath features; ${dp.name} uses the standard ones (unaligned, per-vport upcall pids)`);
      if (c.userFeatures === undefined && dp.userFeatures !== STANDARD_USER_FEATURES) {
        dp = await this.setDatapath(dp.dpIfindex, { userFeatures: STANDARD_USER_FEATURES });
      }
    }
    if (c.probeFeatures) await this.features(dp.dpIfindex);
    return dp;
  }

  // ---- feature probes ---------------------------------------------------

  /** A datapath NEW under a taken name: EEXIST = features accepted, EOPNOTSUPP = refused (negotiate.ts). */
  private async tryUserFeatures(takenName: string, userFeatures: number): Promise<boolean> {
    const bytes = encodeDatapathMessage(this.families.datapath.id, { cmd: U.OVS_DP_CMD_NEW, dpIfindex: 0, attrs: { name: takenName, upcallPid: 0, userFeatures } });
    try {
      await this.call(bytes, this.families.datapath, `datapath feature probe ${takenName}`);
      // The name was free after all (the datapath went away meanwhile): the kernel took the bits.
      return true;
    } catch (err) {
      if (err instanceof NetlinkError && err.errno === EEXIST) return true;
      if (err instanceof NetlinkError && err.errno === EOPNOTSUPP) return false;
      throw err;
    }
  }

  private async probeDatapath(dp: Datapath): Promise<DatapathFeatures> {
    const df = await probeDatapathFeatures({ tryUserFeatures: (name, f) => this.tryUserFeatures(name, f) }, dp.name);
    this.dpFeatures.set(dp.dpIfindex, df);
    return df;
  }

  /** Installs a probe flow (OVS_FLOW_ATTR_PROBE: refusals are not logged) and removes it again. */
  private async tryFlow(dpIfindex: number, p: FlowProbe): Promise<boolean> {
    const fam = this.families.flow;
    const ufid = randomUfid();
    const put = encodeFlowMessage(fam.id, { cmd: U.OVS_FLOW_CMD_NEW, dpIfindex, attrs: { ufid, key: p.key, actions: p.actions, probe: true } }, { flags: NLM_F_CREATE });
    try {
      await this.call(put, fam, 'flow probe');
    } catch (err) {
      if (isUnsupported(err)) return false;
      // A probe flow left behind by an earlier run: the kernel took it then.
      if (err instanceof NetlinkError && err.errno === EEXIST) return true;
      throw err;
    }
    await this.call(encodeFlowMessage(fam.id, { cmd: U.OVS_FLOW_CMD_DEL, dpIfindex, attrs: { ufid, probe: true } }), fam, 'flow probe del');
    return true;
  }

  private async probeAll(dpIfindex: number): Promise<KernelFeatures> {
    const df = this.dpFeatures.get(dpIfindex) ?? (await this.probeDatapath(await this.getDatapath(dpIfindex)));
    const [flows, local] = await Promise.all([probeFlowFeatures({ tryFlow: (p) => this.tryFlow(dpIfindex, p) }), this.getVport(dpIfindex, U.OVSP_LOCAL)]);
    if (flows.actions.hashSymL4) this.symL4Datapaths.add(dpIfindex);
    return {
      ...df,
      vportUpcallStats: local.upcallStats !== undefined,
      meters: this.families.meter !== undefined,
      ctLimits: this.families.ctLimit !== undefined,
      ...flows,
    };
  }

  /**
   * What this kernel supports, probed on the datapath the first time it is
   * asked (installing and removing a few dozen probe flows, as ovs-vswitchd
   * does at start) and cached per datapath from then on.
   */
  async features(dp: DpRef): Promise<KernelFeatures> {
    const dpIfindex = await this.resolveDp(dp);
    let f = this.kernelFeatures.get(dpIfindex);
    if (!f) {
      this.host.beforeWrite();
      f = this.probeAll(dpIfindex);
      this.kernelFeatures.set(dpIfindex, f);
      f.catch(() => this.kernelFeatures.delete(dpIfindex));
    }
    return f;
  }

  /** The features probed on this datapath so far, without probing. */
  async cachedFeatures(dp: DpRef): Promise<KernelFeatures | undefined> {
    const f = this.kernelFeatures.get(await this.resolveDp(dp));
    return f?.catch(() => undefined);
  }

  private forgetDatapath(dpIfindex: number): void {
    this.dpFeatures.delete(dpIfindex);
    this.kernelFeatures.delete(dpIfindex);
    this.symL4Datapaths.delete(dpIfindex);
  }

  getDatapath(dp: DpRef): Promise<Datapath> {
    return this.datapath(U.OVS_DP_CMD_GET, dp, {}, `datapath get ${describeDp(dp)}`);
  }

  async listDatapaths(): Promise<Datapath[]> {
    const fam = this.families.datapath;
    const msgs = await this.conn.dumpAll(encodeDatapathMessage(fam.id, { cmd: U.OVS_DP_CMD_GET, dpIfindex: 0, attrs: {} }), { operation: 'datapath dump' });
    const dps = msgs.filter((m) => m.type === fam.id).map((m) => toDatapath(decodeDatapathMessage(m)));
    for (const d of dps) this.dpIndex.set(d.name, d.dpIfindex);
    return dps;
  }

  async setDatapath(dp: DpRef, changes: DatapathChanges): Promise<Datapath> {
    this.host.beforeWrite();
    // The kernel's SET takes a missing USER_FEATURES as 0; keep the current ones instead.
    const userFeatures = changes.userFeatures ?? (await this.getDatapath(dp)).userFeatures ?? 0;
    const attrs: DatapathAttrs = { userFeatures, masksCacheSize: changes.masksCacheSize, perCpuPids: changes.perCpuPids };
    return this.datapath(U.OVS_DP_CMD_SET, dp, attrs, `datapath set ${describeDp(dp)}`);
  }

  async deleteDatapath(dp: DpRef): Promise<Datapath> {
    this.host.beforeWrite();
    const d = await this.datapath(U.OVS_DP_CMD_DEL, dp, {}, `datapath del ${describeDp(dp)}`);
    this.dpIndex.delete(d.name);
    this.forgetDatapath(d.dpIfindex);
    return d;
  }

  // ---- vports -----------------------------------------------------------

  private vport(cmd: number, dpIfindex: number, attrs: VportAttrs, operation: string): Promise<Vport> {
    const flags = cmd === U.OVS_VPORT_CMD_GET ? 0 : NLM_F_ECHO;
    const bytes = encodeVportMessage(this.families.vport.id, { cmd, dpIfindex, attrs }, { flags });
    return this.one(bytes, this.families.vport, operation, (m) => toVport(decodeVportMessage(m)));
  }

  createVport(dp: DpRef, v: VportCreate): Promise<Vport> {
    const operation = `vport new ${describeDp(dp)} ${v.name}`;
    const type = typeof v.type === 'number' ? v.type : vportTypeNumber(v.type);
    if (type === undefined) return Promise.reject(new RangeError(`${operation}: unknown vport type '${String(v.type)}'`));
    if (!isKernelVportType(type)) {
      return Promise.reject(
        new NetlinkError({ errno: EOPNOTSUPP, operation: `${operation}: vport type '${vportTypeName(type)}' exists only in OVS's userspace datapath, not in the kernel module` }),
      );
    }
    const attrs: VportAttrs = { portNo: v.portNo, type, name: v.name, ifindex: v.ifindex, upcallPids: v.upcallPids ?? [0], options: v.options };
    this.host.beforeWrite();
    return this.withDp(dp, (ifindex) => this.vport(U.OVS_VPORT_CMD_NEW, ifindex, attrs, operation));
  }

  getVport(dp: DpRef, v: VportRef): Promise<Vport> {
    return this.withDp(dp, (ifindex) => this.vport(U.OVS_VPORT_CMD_GET, ifindex, vportSelector(v), `vport get ${describeDp(dp)} ${describeVport(v)}`));
  }

  listVports(dp: DpRef): Promise<Vport[]> {
    const fam = this.families.vport;
    return this.withDp(dp, async (dpIfindex) => {
      const bytes = encodeVportMessage(fam.id, { cmd: U.OVS_VPORT_CMD_GET, dpIfindex, attrs: {} });
      const msgs = await this.conn.dumpAll(bytes, { operation: `vport dump ${describeDp(dp)}` });
      return msgs.filter((m) => m.type === fam.id).map((m) => toVport(decodeVportMessage(m)));
    });
  }

  setVport(dp: DpRef, v: VportRef, changes: VportChanges): Promise<Vport> {
    this.host.beforeWrite();
    const attrs: VportAttrs = { ...vportSelector(v), upcallPids: changes.upcallPids, options: changes.options };
    return this.withDp(dp, (ifindex) => this.vport(U.OVS_VPORT_CMD_SET, ifindex, attrs, `vport set ${describeDp(dp)} ${describeVport(v)}`));
  }

  deleteVport(dp: DpRef, v: VportRef): Promise<Vport> {
    this.host.beforeWrite();
    return this.withDp(dp, (ifindex) => this.vport(U.OVS_VPORT_CMD_DEL, ifindex, vportSelector(v), `vport del ${describeDp(dp)} ${describeVport(v)}`));
  }

  // ---- flows ------------------------------------------------------------

  /** Whether the kernel of this datapath was probed and takes hash(sym_l4). */
  private symL4(dpIfindex: number): boolean {
    return this.symL4Datapaths.has(dpIfindex);
  }

  /**
   * Sends an encoded put. `logMark`: the kernel log position before it
   * (KernelLog.mark()), for the module's reason on EINVAL.
   */
  private sendFlowPut(bytes: Uint8Array, f: FlowPut, logMark: number): Promise<Flow | undefined> {
    const fam = this.families.flow;
    return this.conn.request(bytes, { operation: FLOW_PUT_OPERATION }).then(
      (replies) => {
        const reply = f.echo ? replies.find((m) => m.type === fam.id) : undefined;
        return reply ? toFlow(decodeFlowMessage(reply)) : undefined;
      },
      (err: unknown) => {
        throw flowPutError(err, f, this.log, logMark);
      },
    );
  }

  putFlow(dp: DpRef, flow: FlowPut): Promise<Flow | undefined> {
    this.host.beforeWrite();
    const mark = this.log && !flow.probe ? this.log.mark() : -1;
    return this.withDp(dp, async (dpIfindex) => {
      const request = flowPutRequest(flow, this.symL4(dpIfindex));
      return this.sendFlowPut(encodeFlowPut(this.families.flow.id, dpIfindex, request), flow, mark);
    });
  }

  /**
   * Many puts in flight at once (flow-batch.ts). On EINVAL, every failed
   * flow of the batch carries the module's log lines of the whole batch:
   * the module does not say which flow a line is about.
   */
  async putFlows(dp: DpRef, flows: FlowPut[]): Promise<FlowPutResult[]> {
    this.host.beforeWrite();
    const dpIfindex = await this.resolveDp(dp);
    return putFlowBatch(
      { conn: this.conn, flowFamilyId: this.families.flow.id, dpIfindex, allowSymL4: this.symL4(dpIfindex), log: this.log, logMark: this.log ? this.log.mark() : -1 },
      flows,
    );
  }

  getFlow(dp: DpRef, id: FlowId, opts: FlowGetOptions = {}): Promise<Flow> {
    const operation = `flow get${describeFlow(id)}`;
    if (!id.ufid && !id.key) return Promise.reject(new TypeError(`${operation}: a UFID or a key is required`));
    const fam = this.families.flow;
    return this.withDp(dp, (dpIfindex) => {
      const bytes = encodeFlowMessage(fam.id, { cmd: U.OVS_FLOW_CMD_GET, dpIfindex, attrs: { ufid: id.ufid, key: id.key, ufidFlags: opts.ufidFlags } });
      return this.one(bytes, fam, operation, (m) => toFlow(decodeFlowMessage(m)));
    });
  }

  deleteFlow(dp: DpRef, id: FlowId, opts: FlowDeleteOptions = {}): Promise<Flow> {
    const operation = `flow del${describeFlow(id)}`;
    // Without a key or UFID the kernel would flush the whole table.
    if (!id.ufid && !id.key) return Promise.reject(new TypeError(`${operation}: a UFID or a key is required (flushFlows() deletes all)`));
    this.host.beforeWrite();
    const fam = this.families.flow;
    const echo = opts.stats !== false;
    return this.withDp(dp, async (dpIfindex) => {
      const bytes = encodeFlowMessage(fam.id, { cmd: U.OVS_FLOW_CMD_DEL, dpIfindex, attrs: { ufid: id.ufid, key: id.key } }, echo ? { flags: NLM_F_ECHO } : undefined);
      const [reply] = await this.call(bytes, fam, operation);
      return reply ? toFlow(decodeFlowMessage(reply)) : { dpIfindex, ufid: id.ufid, key: id.key };
    });
  }

  async deleteFlows(dp: DpRef, ids: readonly FlowId[], opts: FlowDeleteOptions = {}): Promise<(Flow | Error)[]> {
    const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));
    if (opts.stats !== false) return Promise.all(ids.map((id) => this.deleteFlow(dp, id, opts).catch(asError)));
    this.host.beforeWrite();
    const fam = this.families.flow;
    const dpIfindex = await this.resolveDp(dp);
    const out = new Array<Flow | Error>(ids.length);
    const messages: Uint8Array[] = [];
    const which: number[] = [];
    ids.forEach((id, i) => {
      // Without a key or UFID the kernel would flush the whole table.
      if (!id.ufid && !id.key) out[i] = new TypeError(`flow del${describeFlow(id)}: a UFID or a key is required (flushFlows() deletes all)`);
      else {
        messages.push(encodeFlowMessage(fam.id, { cmd: U.OVS_FLOW_CMD_DEL, dpIfindex, attrs: { ufid: id.ufid, key: id.key } }));
        which.push(i);
      }
    });
    // Without NLM_F_ECHO a delete sends nothing back when it works: one ACK answers them all.
    const errors = await this.conn.requestGroup(messages, { operations: (j) => `flow del${describeFlow(ids[which[j]])}` });
    errors.forEach((err, j) => {
      const id = ids[which[j]];
      out[which[j]] = err ?? { dpIfindex, ufid: id.ufid, key: id.key };
    });
    return out;
  }

  flushFlows(dp: DpRef): Promise<void> {
    this.host.beforeWrite();
    const fam = this.families.flow;
    return this.withDp(dp, async (dpIfindex) => {
      await this.call(encodeFlowMessage(fam.id, { cmd: U.OVS_FLOW_CMD_DEL, dpIfindex, attrs: {} }), fam, `flow flush ${describeDp(dp)}`);
    });
  }

  async *dumpFlows(dp: DpRef, opts: FlowDumpOptions = {}): AsyncGenerator<Flow> {
    const fam = this.families.flow;
    const dpIfindex = await this.resolveDp(dp);
    const bytes = encodeFlowMessage(fam.id, { cmd: U.OVS_FLOW_CMD_GET, dpIfindex, attrs: { ufidFlags: opts.ufidFlags } });
    for await (const m of this.conn.dump(bytes, { operation: `flow dump ${describeDp(dp)}` })) {
      if (m.type === fam.id) yield toFlow(decodeFlowMessage(m));
    }
  }

  // ---- packets ----------------------------------------------------------

  execute(dp: DpRef, x: PacketExecute): Promise<void> {
    const fam = this.families.packet;
    const operation = `packet execute ${describeDp(dp)}`;
    return this.withDp(dp, async (dpIfindex) => {
      const refusal = x.kernelChecked ? undefined : userspaceOnlyError(operation, x, { allowSymL4: this.symL4(dpIfindex) });
      if (refusal) throw refusal;
      this.host.beforeWrite();
      const mark = this.log && !x.probe ? this.log.mark() : -1;
      try {
        await this.call(encodePacketMessage(fam.id, { cmd: U.OVS_PACKET_CMD_EXECUTE, dpIfindex, attrs: executeAttrs(x) }), fam, operation);
      } catch (err) {
        throw x.probe ? err : withKernelLog(err, this.log, mark);
      }
    });
  }

  async executeMany(dp: DpRef, packets: readonly PacketExecute[]): Promise<(Error | undefined)[]> {
    const fam = this.families.packet;
    const operation = `packet execute ${describeDp(dp)}`;
    const dpIfindex = await this.resolveDp(dp);
    const out = new Array<Error | undefined>(packets.length).fill(undefined);
    const allowSymL4 = this.symL4(dpIfindex);
    for (let i = 0; i < packets.length; i++) {
      const x = packets[i];
      if (!x.kernelChecked) out[i] = userspaceOnlyError(operation, x, { allowSymL4 });
    }
    // Written back to back into packed groups: an execute sends nothing back
    // when it works, so one ACK answers a group.
    const { packs, refused } = packExecutes(fam.id, dpIfindex, packets, EXECUTE_PACK_BYTES, (i) => out[i] === undefined);
    for (const [i, err] of refused) out[i] = err;
    if (!packs.length) return out;
    this.host.beforeWrite();
    const mark = this.log ? this.log.mark() : -1;
    const opts = { operation };
    await Promise.all(
      packs.map((pack) =>
        this.conn.requestPacked(pack.buffer, pack.indexes.length, opts).then((errors) => {
          for (let j = 0; j < errors.length; j++) {
            const err = errors[j];
            if (!err) continue;
            const i = pack.indexes[j];
            out[i] = (packets[i].probe ? err : withKernelLog(err, this.log, mark)) as Error;
          }
        }),
      ),
    );
    return out;
  }

  // ---- meters -----------------------------------------------------------

  private meter(cmd: number, dp: DpRef, attrs: MeterMessage['attrs'], operation: string): Promise<MeterMessage> {
    const fam = this.optionalFamily(this.families.meter, 'ovs_meter', operation);
    return this.withDp(dp, (dpIfindex) => this.one(encodeMeterMessage(fam.id, { cmd, dpIfindex, attrs }), fam, operation, decodeMeterMessage));
  }

  async meterFeatures(dp: DpRef): Promise<MeterFeatures> {
    const { attrs } = await this.meter(U.OVS_METER_CMD_FEATURES, dp, {}, `meter features ${describeDp(dp)}`);
    return {
      maxMeters: attrs.maxMeters ?? 0,
      maxBands: attrs.maxBands ?? 0,
      bandTypes: (attrs.bands ?? []).flatMap((b) => (b.type === undefined ? [] : [b.type])),
    };
  }

  async setMeter(dp: DpRef, c: MeterConfig): Promise<Meter | undefined> {
    this.host.beforeWrite();
    const bands = c.bands.map((b) => ({ type: b.type ?? U.OVS_METER_BAND_TYPE_DROP, rate: b.rate, burst: b.burst }));
    const reply = await this.meter(U.OVS_METER_CMD_SET, dp, { id: c.id, kbps: c.kbps, bands, clear: c.clear }, `meter set ${c.id}`);
    // The reply carries the replaced meter's stats, or the id alone.
    return reply.attrs.stats ? toMeter(reply) : undefined;
  }

  async getMeter(dp: DpRef, id: number): Promise<Meter> {
    return toMeter(await this.meter(U.OVS_METER_CMD_GET, dp, { id }, `meter get ${id}`));
  }

  async deleteMeter(dp: DpRef, id: number): Promise<Meter | undefined> {
    this.host.beforeWrite();
    // Deleting a meter that does not exist succeeds with an empty reply.
    const reply = await this.meter(U.OVS_METER_CMD_DEL, dp, { id }, `meter del ${id}`);
    return reply.attrs.id === undefined ? undefined : toMeter(reply);
  }

  async getMeters(dp: DpRef, ids: number[]): Promise<Meter[]> {
    const dpIfindex = await this.resolveDp(dp);
    const found = await Promise.all(
      ids.map((id) =>
        this.getMeter(dpIfindex, id).catch((err: unknown) => {
          if (err instanceof NetlinkError && err.code === 'ENOENT') return undefined;
          throw err;
        }),
      ),
    );
    return found.filter((m): m is Meter => m !== undefined);
  }

  // ---- conntrack limits ---------------------------------------------------

  private async ctLimit(cmd: number, attrs: CtLimitAttrs, operation: string): Promise<NlMessage[]> {
    const fam = this.optionalFamily(this.families.ctLimit, 'ovs_ct_limit', operation);
    // The limits belong to the network namespace, not to a datapath.
    return this.call(encodeCtLimitMessage(fam.id, { cmd, dpIfindex: 0, attrs }), fam, operation);
  }

  async setCtLimits(change: CtLimitsChange): Promise<void> {
    this.host.beforeWrite();
    const zoneLimits = [
      ...(change.defaultLimit === undefined ? [] : [zoneLimit(U.OVS_ZONE_LIMIT_DEFAULT_ZONE, change.defaultLimit)]),
      ...(change.zones ?? []).map((z) => zoneLimit(z.zoneId, z.limit)),
    ];
    await this.ctLimit(U.OVS_CT_LIMIT_CMD_SET, { zoneLimits }, 'ct_limit set');
  }

  async getCtLimits(zones?: number[]): Promise<CtLimits> {
    // Asking for some zones, ask for the default too: it is the limit of those without their own.
    const ask = zones && [...new Set([U.OVS_ZONE_LIMIT_DEFAULT_ZONE, ...zones])].map((z) => zoneLimit(z));
    const [reply] = await this.ctLimit(U.OVS_CT_LIMIT_CMD_GET, { zoneLimits: ask }, 'ct_limit get');
    const all = reply ? (decodeCtLimitMessage(reply).attrs.zoneLimits ?? []) : [];
    const def = all.find((z) => z.zoneId === U.OVS_ZONE_LIMIT_DEFAULT_ZONE);
    return { defaultLimit: def?.limit ?? 0, zones: all.filter((z) => z.zoneId !== U.OVS_ZONE_LIMIT_DEFAULT_ZONE) };
  }

  async deleteCtLimits(zones: number[]): Promise<void> {
    this.host.beforeWrite();
    await this.ctLimit(U.OVS_CT_LIMIT_CMD_DEL, { zoneLimits: zones.map((z) => zoneLimit(z)) }, 'ct_limit del');
  }
}
