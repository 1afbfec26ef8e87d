// The fallback datapath daemon: a control socket serving the four OVS
// families over the datapaths it owns. Upcalls leave through the same socket,
// to the client connection whose port id a vport names. With a state file,
// the datapath and port configuration is restored at start and saved after
// every request that may have changed it.
import { OVS_DATAPATH_FAMILY, OVS_VPORT_FAMILY } from '../ovs/families.js';
import * as U from '../ovs/uapi.js';
import { ControlServer, type ControlServerOptions } from './control-server.js';
import { isCtnetlink, serveCtnetlink } from './ctnetlink-service.js';
import { ifindexOf, sharedConnTracker } from './datapath.js';
import { isCttimeout, serveCttimeout, sharedTimeoutPolicies, type CttimeoutEnv } from './ct-timeout.js';
import { encodeReply, type GenlReply, type ServedFamily } from './genl-service.js';
import { DatapathRegistry, vportReply } from './served-families.js';
import { readState, restore, snapshot, writeStateAtomic, type RestoreReport } from './state.js';

export interface DaemonOptions extends ControlServerOptions {
  /** Where datapaths and ports are kept across restarts; none: nothing is kept. */
  statePath?: string;
  /** How often to look for ports whose device went away (default 1000 ms; 0: never). */
  linkCheckMs?: number;
}

export interface Daemon {
  readonly server: ControlServer;
  readonly datapaths: DatapathRegistry;
  /** What was brought back from the state file (undefined without one). */
  readonly restored?: RestoreReport;
  /** Writes the state file now (done after every change already). */
  save(): void;
  /** Stops serving and removes every datapath (their TAP devices go with them); the state file stays. */
  close(): Promise<void>;
}

const CONFIG_FAMILIES = new Set([OVS_DATAPATH_FAMILY, OVS_VPORT_FAMILY]);

/** The family, saving the state after each NEW, DEL or SET (failed ones too: a failure may come after a partial change). */
function persisting(family: ServedFamily, save: () => void): ServedFamily {
  // OVS_DP_CMD_GET and OVS_VPORT_CMD_GET are both 3: reads change nothing.
  const get = family.name === OVS_DATAPATH_FAMILY ? U.OVS_DP_CMD_GET : U.OVS_VPORT_CMD_GET;
  return {
    ...family,
    async handle(call) {
      try {
        return await family.handle(call);
      } finally {
        if (call.cmd !== get) save();
      }
    },
  };
}

/**
 * The kernel detaches a vport when its device unregisters (dp_device_event):
 * ports whose device is gone, or is another device now, are removed the same
 * way, a moment later. The local port is the datapath's own and stays, as
 * do tunnel ports, which have no device.
 */
function detachVanished(reg: DatapathRegistry, log: (line: string) => void, save: () => void, notify: (reply: GenlReply) => void): void {
  let changed = false;
  for (const dp of reg.datapaths.values()) {
    for (const port of [...dp.ports.values()]) {
      if (port.portNo === U.OVSP_LOCAL || port.tunnel || ifindexOf(port.name) === port.ifindex) continue;
      log(`datapath ${dp.name}: port ${port.portNo} (${port.name}) detached: its device went away`);
      // Announced as the kernel announces it (dp_detach_port_notify): a DEL from nobody, sequence 0.
      notify(vportReply(U.OVS_VPORT_CMD_DEL, dp, port));
      dp.removePort(port);
      changed = true;
    }
  }
  if (changed) save();
}

export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`ovsnl-dpd: ${line}\n`));
  // The connection tracker's table, to ctnetlink clients (dump-conntrack and the rest).
  // And the timeout policies ct(timeout=NAME) names, to nfnetlink_cttimeout clients.
  const cttimeout: CttimeoutEnv = {
    policies: sharedTimeoutPolicies(),
    *actionLists() {
      for (const dp of datapaths.datapaths.values()) for (const f of dp.table.flows()) yield f.actions;
    },
    untimeout: (p) => sharedConnTracker().untimeout(p),
  };
  const server = new ControlServer({
    ...opts,
    other: (req, pid) =>
      isCtnetlink(req.type) ? serveCtnetlink(req, pid, sharedConnTracker())
      : isCttimeout(req.type) ? serveCttimeout(req, pid, cttimeout)
      : undefined,
  });
  const datapaths = new DatapathRegistry((pid, msg) => server.unicast(pid, msg));
  const { statePath } = opts;
  let saveFailed = false;
  const save = (): void => {
    if (!statePath) return;
    try {
      writeStateAtomic(statePath, snapshot(datapaths));
      if (saveFailed) log(`state file ${statePath} written again`);
      saveFailed = false;
    } catch (err) {
      // Serving goes on: losing the file loses a restart's restore, not the datapath.
      if (!saveFailed) log(`cannot write the state file ${statePath}: ${(err as Error).message}`);
      saveFailed = true;
    }
  };
  let vportNotify = (_: GenlReply): void => {};
  for (const family of datapaths.families()) {
    const served = statePath && CONFIG_FAMILIES.has(family.name) ? persisting(family, save) : family;
    const reg = server.register(served);
    if (family.name === 'ovs_packet') datapaths.packetFamilyId = reg.id;
    if (family.name === OVS_VPORT_FAMILY) {
      const group = reg.groups.get(U.OVS_VPORT_MCGROUP)!;
      vportNotify = (reply) => server.multicast(group, encodeReply(reg.id, 0, 0, 0, reply));
    }
  }
  // Listening first: a second daemon on the same socket must fail before it touches devices.
  await server.listen();
  let restored: RestoreReport | undefined;
  if (statePath) {
    try {
      restored = restore(datapaths, readState(statePath));
    } catch (err) {
      await server.close();
      throw new Error(`state file ${statePath}: ${(err as Error).message}`, { cause: err });
    }
    for (const p of restored.problems) log(p);
    if (restored.problems.length) save();
  }
  const linkCheckMs = opts.linkCheckMs ?? 1000;
  const linkTimer = linkCheckMs > 0 ? setInterval(() => detachVanished(datapaths, log, save, vportNotify), linkCheckMs) : undefined;
  linkTimer?.unref();
  return {
    server,
    datapaths,
    restored,
    save,
    async close() {
      if (linkTimer) clearInterval(linkTimer);
      datapaths.destroy();
      await server.close();
    },
  };
}
