// The fallback datapath daemon: a control socket serving the four OVS
// families over the datapaths it owns. Upcalls leave through the same socket,
// to the client connection whose port id a vport names.
import { ControlServer, type ControlServerOptions } from './control-server.js';
import { DatapathRegistry } from './served-families.js';

export interface Daemon {
  readonly server: ControlServer;
  readonly datapaths: DatapathRegistry;
  /** Stops serving and removes every datapath (their TAP devices go with them). */
  close(): Promise<void>;
}

export async function startDaemon(opts: ControlServerOptions): Promise<Daemon> {
  const server = new ControlServer(opts);
  const datapaths = new DatapathRegistry((pid, msg) => server.unicast(pid, msg));
  for (const family of datapaths.families()) {
    const reg = server.register(family);
    if (family.name === 'ovs_packet') datapaths.packetFamilyId = reg.id;
  }
  await server.listen();
  return {
    server,
    datapaths,
    async close() {
      datapaths.destroy();
      await server.close();
    },
  };
}
