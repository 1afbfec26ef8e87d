// One fallback datapath: its ports, its flow table, and a packet's way
// through them. receive() is the straight line: parse → flat key → table →
// actions, or a MISS upcall with the kernel's key to the port's upcall pid.
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { native } from '../native.js';
import { AttrWriter } from '../netlink/attr.js';
import type { CtAction, UserspaceAction } from '../ovs/actions.js';
import { encodeKey } from '../ovs/key-codec.js';
import { encodePacketMessage } from '../ovs/packet.js';
import type { DpMegaflowStats, DpStats } from '../ovs/structs.js';
import * as U from '../ovs/uapi.js';
import { kernelCutsShortIpv6Chain } from '../packet/ipv6.js';
import { fragmentIpv4 } from '../packet/ipv4-frag.js';
import { fragmentIpv6 } from '../packet/ipv6-frag.js';
import { ETH_HLEN, ETH_P_IP, ETH_P_IPV6, FRAG_NONE, VLAN_HLEN } from '../packet/constants.js';
import { parsePacket } from '../packet/parse.js';
import { Layer, ParsedPacket } from '../packet/result.js';
import { timeoutPolicyOf } from './ct-timeout.js';
import { decapsulate, emptyTunnelMeta, encapsulate, GENEVE_PORT, sourcePort, TUN_F_CSUM, VXLAN_PORT, type TunnelKind } from '../packet/tunnel.js';
import { executeActions, flowHash, insertTag, type ActionSink, type ExecStats } from './actions.js';
import { ConnTracker, type CtHelperName } from './conntrack.js';
import { extractKey, keyExtractionFails, parseAs, staleKey, type PacketMeta } from './extract.js';
import { FlatKey, writeFlatFromPacket } from './flat-key.js';
import { flowOutputs, FlowTable, hitFlow, monotonicMs } from './flow-table.js';
import { DaemonError } from './genl-service.js';
import { Meter } from './meter.js';
import { Port, type PortTunnel } from './port.js';
import type { MeterConfig } from '../dpif/dpif.js';

const EINVAL = 22;
const ENODEV = 19;
const EBUSY = 16;
const EEXIST = 17;
const EAFNOSUPPORT = 97;
const EFBIG = 27;
const EADDRINUSE = 98;

/** The UDP source ports a tunnel picks from (the kernel's: ip_local_port_range for vxlan, all for geneve). */
const TUNNEL_SRC_PORTS: Record<Exclude<TunnelKind, 'gre'>, readonly [number, number]> = { vxlan: [32768, 60999], geneve: [1, 65535] };
const VPORT_TUNNELS: Partial<Record<number, TunnelKind>> = { [U.OVS_VPORT_TYPE_VXLAN]: 'vxlan', [U.OVS_VPORT_TYPE_GENEVE]: 'geneve', [U.OVS_VPORT_TYPE_GRE]: 'gre' };
/** How long a route's source address is reused for tunnel checksums. */
const ROUTE_CACHE_MS = 5000;

/** DP_MAX_PORTS: port numbers are below it. */
export const MAX_PORTS = 0xffff;

/** How upcalls leave the datapath: a message to a port id; false if nobody has that port. */
export type UpcallSend = (portId: number, message: Uint8Array) => boolean;

export interface DatapathEnv {
  /** The ovs_packet family id upcalls are sent under. */
  packetFamilyId: number;
  send: UpcallSend;
  /** Whether some datapath already has a port on this interface name. */
  portInUse: (name: string) => boolean;
  /**
   * The connection tracker ct() uses. The kernel's is per network namespace,
   * shared by every datapath in it: by default one per process here too.
   */
  conntrack?: ConnTracker;
}

let processTracker: ConnTracker | undefined;
/** The process's connection tracker, shared by its datapaths. */
export function sharedConnTracker(): ConnTracker {
  return (processTracker ??= new ConnTracker({ now: monotonicMs }));
}

/** The ifindex of a host interface, or undefined. */
export function ifindexOf(name: string): number | undefined {
  if (!/^[^/\s]{1,15}$/.test(name) || name === '.' || name === '..') return undefined;
  try {
    return Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8').trim());
  } catch {
    return undefined;
  }
}

export class Datapath implements ActionSink {
  readonly ports = new Map<number, Port>();
  readonly table = new FlowTable();
  userFeatures = 0;
  masksCacheSize = 256;
  perCpuPids: number[] = [];
  hit = 0;
  missed = 0;
  lost = 0;
  readonly exec: ExecStats = { recursionDrops: 0 };
  /** Meters by id (the kernel's per-datapath meter table). */
  readonly meters = new Map<number, Meter>();
  private readonly pp = new ParsedPacket();
  /** ct() parses the packet as it is at that action, apart from the parse of the lookup. */
  private readonly ctPp = new ParsedPacket();
  private readonly outPp = new ParsedPacket();
  private readonly tracker: ConnTracker;
  private readonly key = new FlatKey();
  /** Metadata of received frames, reused: only in_port is set. */
  private readonly rxMeta: PacketMeta = { inPort: 0 };
  /** The clock is read once per received batch, not per packet. */
  private now = 0;
  private nowStale = true;
  private readonly rankTimer: NodeJS.Timeout;

  private constructor(
    readonly name: string,
    private readonly env: DatapathEnv,
  ) {
    // Keys as this host's kernel would give them, where kernels differ.
    this.pp.ipv6ChainMustFit = kernelCutsShortIpv6Chain(release());
    this.ctPp.ipv6ChainMustFit = this.pp.ipv6ChainMustFit;
    this.tracker = env.conntrack ?? sharedConnTracker();
    // The kernel re-sorts its masks by use every 4 s.
    this.rankTimer = setInterval(() => this.table.rank(), 4000);
    this.rankTimer.unref();
  }

  /** A datapath with its local port: an internal (TAP) port named after it, whose ifindex is the datapath's. */
  static create(name: string, upcallPid: number, env: DatapathEnv): Datapath {
    const dp = new Datapath(name, env);
    try {
      dp.addPort({ name, type: U.OVS_VPORT_TYPE_INTERNAL, portNo: U.OVSP_LOCAL, upcallPids: [upcallPid] });
    } catch (err) {
      dp.destroy();
      throw err;
    }
    return dp;
  }

  get ifindex(): number {
    return this.ports.get(U.OVSP_LOCAL)!.ifindex;
  }

  stats(): DpStats {
    return { hit: BigInt(this.hit), missed: BigInt(this.missed), lost: BigInt(this.lost), flows: BigInt(this.table.size) };
  }

  megaflowStats(): DpMegaflowStats {
    return { maskHit: BigInt(this.table.maskHits), masks: this.table.maskCount, cacheHit: BigInt(this.table.cacheHits) };
  }

  portByName(name: string): Port | undefined {
    for (const p of this.ports.values()) if (p.name === name) return p;
    return undefined;
  }

  addPort(req: { name: string; type: number; portNo?: number; upcallPids: number[]; dstPort?: number; gbp?: boolean }): Port {
    let portNo = req.portNo;
    if (portNo !== undefined) {
      if (portNo >= MAX_PORTS) throw new DaemonError(EFBIG, `port number ${portNo} is not below ${MAX_PORTS}`);
      if (this.ports.has(portNo)) throw new DaemonError(EBUSY, `port ${portNo} is taken`);
    } else {
      portNo = 1;
      while (this.ports.has(portNo)) portNo++;
      if (portNo >= MAX_PORTS) throw new DaemonError(EFBIG, 'no free port number');
    }
    let io;
    let tunnel: PortTunnel | undefined;
    const kind = VPORT_TUNNELS[req.type];
    if (kind) {
      // As the module's compat tunnel vports: a UDP port is an option, defaulting to the IANA one; GRE takes every GRE packet.
      const dstPort = kind === 'gre' ? undefined : req.dstPort || (kind === 'vxlan' ? VXLAN_PORT : GENEVE_PORT);
      for (const p of this.ports.values()) {
        if (p.tunnel && p.tunnel.dstPort === dstPort) {
          throw new DaemonError(EBUSY, dstPort === undefined ? `port ${p.name} already takes GRE` : `UDP port ${dstPort} is taken by port ${p.name}`);
        }
      }
      try {
        io = dstPort === undefined ? new (native().TunnelSocket)(47) : new (native().TunnelSocket)(17, dstPort);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new DaemonError(code === 'EADDRINUSE' ? EADDRINUSE : EINVAL, `cannot open ${dstPort === undefined ? 'a GRE socket' : `UDP port ${dstPort}`} for ${kind} port ${req.name}: ${(err as Error).message}`);
      }
      // vxlan_configure_exts: the extension is a VXLAN device's; other tunnels ignore it.
      tunnel = kind === 'vxlan' && req.gbp ? { kind, dstPort, gbp: true } : { kind, dstPort };
    } else if (req.type === U.OVS_VPORT_TYPE_NETDEV) {
      const ifindex = ifindexOf(req.name);
      if (ifindex === undefined) throw new DaemonError(ENODEV, `no network device ${req.name}`);
      if (this.env.portInUse(req.name)) throw new DaemonError(EBUSY, `${req.name} is already a port of a datapath`);
      io = new (native().PacketSocket)(ifindex, { promisc: true });
    } else if (req.type === U.OVS_VPORT_TYPE_INTERNAL) {
      if (ifindexOf(req.name) !== undefined) throw new DaemonError(EEXIST, `a network device named ${req.name} exists`);
      try {
        io = new (native().TapDevice)(req.name);
      } catch (err) {
        throw new DaemonError(EINVAL, `cannot create TAP device ${req.name}: ${(err as Error).message}`);
      }
    } else {
      throw new DaemonError(EAFNOSUPPORT, `the ovsnl userspace datapath has no vport type ${req.type} yet (netdev, internal, vxlan, geneve and gre only)`);
    }
    const port = new Port(
      portNo,
      req.type,
      req.name,
      io,
      req.upcallPids,
      (p, f) => this.receive(p, f),
      () => this.batchEnd(),
      tunnel,
    );
    this.ports.set(portNo, port);
    port.start();
    return port;
  }

  removePort(port: Port): void {
    port.close();
    this.ports.delete(port.portNo);
  }

  destroy(): void {
    clearInterval(this.rankTimer);
    for (const p of this.ports.values()) p.close();
    this.ports.clear();
    this.table.flush();
  }

  // ---- the packet path ----------------------------------------------------

  /** A frame from a port: a view of its receive buffer, valid until batchEnd(). */
  receive(port: Port, frame: Uint8Array): void {
    if (port.tunnel) {
      const tunnel = emptyTunnelMeta();
      const inner = decapsulate(frame, port.tunnel.kind, tunnel, port.tunnel.gbp);
      // What vxlan_rcv and geneve_rx drop, the port counts as an error.
      if (typeof inner === 'string') port.counters.rxErrors++;
      else this.process(inner, { inPort: port.portNo, tunnel });
      return;
    }
    this.rxMeta.inPort = port.portNo;
    this.process(frame, this.rxMeta);
  }

  /** After each received batch: what was queued from the batch leaves before the buffer is reused. */
  private batchEnd(): void {
    for (const p of this.ports.values()) p.flushNow();
    this.nowStale = true;
  }

  private process(frame: Uint8Array, meta: PacketMeta): void {
    const pp = parseAs(frame, meta, this.pp);
    // Dropped where the kernel's key extraction fails (ovs_vport_receive, execute_recirc).
    if (keyExtractionFails(pp)) return;
    writeFlatFromPacket(pp, meta, this.key);
    const flow = this.table.lookup(this.key);
    if (!flow) {
      this.missed++;
      this.upcall(U.OVS_PACKET_CMD_MISS, frame, meta, this.missPid(meta.inPort, frame));
      return;
    }
    this.hit++;
    if (this.nowStale) {
      this.now = monotonicMs();
      this.nowStale = false;
    }
    // A held tag counts in the bytes, as the kernel counts an accelerated one (ovs_flow_stats_update).
    hitFlow(flow, frame.length + (meta.heldTag ? VLAN_HLEN : 0), pp.tcpFlags, this.now);
    const outs = flowOutputs(flow);
    // (An L3 packet cannot leave by an Ethernet port: the actions drop it.)
    if (outs !== undefined && meta.mru === undefined && !meta.l3Type) {
      // Outputs only: the frame goes as it is, one copy per extra port
      // (a reassembled datagram, to be cut again, takes the full path).
      for (let i = 0; i < outs.length; i++) this.output(outs[i], i === outs.length - 1 ? frame : frame.slice());
      return;
    }
    executeActions(this, frame, meta, flow.actions, this.exec);
  }

  /** Runs actions on a packet given by OVS_PACKET_CMD_EXECUTE. */
  execute(frame: Uint8Array, meta: PacketMeta, actions: Parameters<typeof executeActions>[3]): void {
    executeActions(this, frame, meta, actions, this.exec);
  }

  output(portNo: number, frame: Uint8Array, meta?: PacketMeta): void {
    const port = this.ports.get(portNo);
    if (!port) return;
    if (port.tunnel) this.tunnelOutput(port, port.tunnel, frame, meta);
    else if (meta?.mru && frame.length > meta.mru + ETH_HLEN) this.fragmentOutput(port, frame, meta.mru);
    else port.send(frame);
  }

  /** do_output() of a reassembled datagram: cut to its largest fragment's size again, or dropped if the port cannot carry that. */
  private fragmentOutput(port: Port, frame: Uint8Array, mru: number): void {
    const pp = parsePacket(frame, frame.length, this.outPp);
    let pieces: Uint8Array[] | undefined;
    if (mru <= port.mtu) {
      if (pp.ethType === ETH_P_IP && pp.layers & Layer.IPV4) pieces = fragmentIpv4(frame, pp.l3, mru);
      // ip6_fragment() names the pieces with a fresh id (ipv6_select_ident), not the received one.
      else if (pp.ethType === ETH_P_IPV6 && pp.layers & Layer.IPV6) pieces = fragmentIpv6(frame, pp.l3, mru, randomInt(1, 0x100000000));
    }
    if (!pieces) {
      port.counters.txDropped++;
      return;
    }
    for (const f of pieces) port.send(f);
  }

  private readonly routeSources = new Map<number, { src: number; until: number }>();

  /**
   * A frame into a tunnel port: without a tunnel set by the actions the
   * kernel's device drops it; otherwise it leaves in a datagram to the
   * tunnel's destination.
   */
  private tunnelOutput(port: Port, pt: PortTunnel, frame: Uint8Array, meta: PacketMeta | undefined): void {
    const t = meta?.tunnelOut;
    if (!t) {
      port.counters.txDropped++;
      return;
    }
    let src = t.src;
    // GRE's checksum has no pseudo-header, and GRE no UDP ports.
    if (pt.kind === 'gre') {
      port.send(encapsulate(frame, 'gre', t, 0, 0, src));
      return;
    }
    if (!src && t.flags & TUN_F_CSUM) {
      // The checksum covers the source address, which the kernel would only fill in after it.
      const now = monotonicMs();
      let r = this.routeSources.get(t.dst);
      if (!r || r.until < now) {
        try {
          r = { src: native().routeSource(t.dst), until: now + ROUTE_CACHE_MS };
        } catch {
          port.counters.txErrors++;
          return;
        }
        this.routeSources.set(t.dst, r);
      }
      src = r.src;
    }
    const [min, max] = TUNNEL_SRC_PORTS[pt.kind];
    port.send(encapsulate(frame, pt.kind, t, sourcePort(flowHash(frame, 0), min, max), t.tpDst || pt.dstPort!, src, pt.gbp));
  }

  userspace(frame: Uint8Array, meta: PacketMeta, action: UserspaceAction, sendLen?: number): void {
    this.upcall(U.OVS_PACKET_CMD_ACTION, frame, meta, action.pid, action.userdata, sendLen);
  }

  meter(id: number, len: number): boolean {
    const m = this.meters.get(id);
    // A meter that does not exist passes everything, as in the kernel.
    return m !== undefined && m.execute(len, monotonicMs());
  }

  /** Creates or replaces a meter; the replaced one is returned (its stats are the caller's to carry over). */
  setMeter(cfg: MeterConfig): Meter | undefined {
    const old = this.meters.get(cfg.id);
    this.meters.set(cfg.id, new Meter(cfg, monotonicMs()));
    return old;
  }

  recirculate(frame: Uint8Array, meta: PacketMeta): void {
    this.process(frame, meta);
  }

  conntrack(frame: Uint8Array, meta: PacketMeta, a: CtAction): boolean | Uint8Array {
    let pp = parseAs(frame, meta, this.ctPp);
    const zone = a.zone ?? 0;
    // ovs_ct_handle_fragments(): a fragment waits for its datagram, which
    // then goes on, whole, in its place (an IPv6 fragment the kernel's
    // reassembly lets through goes on as it is).
    let whole: Uint8Array | undefined;
    const defrag =
      pp.ipFrag === FRAG_NONE ? undefined
      : pp.ethType === ETH_P_IP && pp.layers & Layer.IPV4 ? this.tracker.defrag
      : pp.ethType === ETH_P_IPV6 && pp.layers & Layer.IPV6 ? this.tracker.defrag6
      : undefined;
    if (defrag) {
      const r = defrag.add(frame, pp.l3, zone, monotonicMs());
      if (r === 'queued' || r === 'dropped') return false;
      if (r !== 'as-is') {
        whole = r.frame;
        meta.mru = r.mru;
        pp = parseAs(whole, meta, this.ctPp);
      }
    }
    const commit = a.commit || a.forceCommit ? { mark: a.mark, labels: a.labels, force: a.forceCommit } : undefined;
    // A packet tracked before (then recirculated) carries that verdict: in
    // the same zone the module only finds its connection again. The helper
    // is one the tracker has: unsupportedAction() refused the others when
    // the actions came in.
    const v = this.tracker.process(pp, zone, commit, meta.ct?.fromKey ? undefined : meta.ct, a.nat, timeoutPolicyOf(a), a.helper as CtHelperName | undefined);
    if (v.drop) return false;
    meta.ct = { state: v.state, zone, mark: v.mark, labels: v.labels, orig: v.orig };
    return whole ?? true;
  }

  private missPid(inPort: number, frame: Uint8Array): number {
    const pids = this.userFeatures & U.OVS_DP_F_DISPATCH_UPCALL_PER_CPU ? this.perCpuPids : this.ports.get(inPort)?.upcallPids;
    if (!pids || !pids.length) return 0;
    return pids.length === 1 ? pids[0] : pids[frame.length % pids.length];
  }

  /** `sendLen`: send only that much of the packet (trunc), with its whole length in OVS_PACKET_ATTR_LEN; the key is the whole packet's. */
  private upcall(cmd: number, frame: Uint8Array, meta: PacketMeta, pid: number, userdata?: Uint8Array, sendLen?: number): void {
    const port = this.ports.get(meta.inPort);
    if (pid === 0) {
      this.lost++;
      if (port) port.upcallFail++;
      return;
    }
    const w = new AttrWriter(512);
    encodeKey(w, meta.keyFrom ? staleKey(meta, meta.keyFrom, this.pp) : extractKey(parseAs(frame, meta, this.pp), meta));
    // queue_userspace_packet() puts a held tag into the bytes, 12 bytes in, whatever the packet is.
    if (meta.heldTag) frame = insertTag(frame, meta.heldTag);
    const msg = encodePacketMessage(this.env.packetFamilyId, {
      cmd,
      dpIfindex: this.ifindex,
      attrs: { key: w.finish().slice(), userdata, mru: meta.mru, len: sendLen === undefined ? undefined : frame.length, packet: sendLen === undefined ? frame : frame.subarray(0, sendLen) },
    });
    if (this.env.send(pid, msg)) {
      if (port) port.upcallSuccess++;
    } else {
      this.lost++;
      if (port) port.upcallFail++;
    }
  }
}
