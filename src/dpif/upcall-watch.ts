// Listens to the ovs_datapath and ovs_vport multicast groups for changes
// that would take upcalls away from the handlers: a vport added without our
// pids (per-vport dispatch covers only the vports it has set), a vport whose
// pids someone re-set, a datapath whose features someone re-set. The last
// one is what every ovs-dpctl command does to an existing datapath: it turns
// on per-CPU dispatch, and a per-vport listener then loses every upcall.
// The watch only reports what the kernel announced; the channel judges it.
import { NetlinkSocket } from '../netlink/socket.js';
import { parseMessages } from '../netlink/message.js';
import { MalformedError, NetlinkError } from '../netlink/errors.js';
import type { GenlFamily } from '../netlink/genl.js';
import { decodeDatapathMessage, type DatapathAttrs } from '../ovs/datapath.js';
import { decodeVportMessage, type VportAttrs } from '../ovs/vport.js';
import * as U from '../ovs/uapi.js';

export interface WatchFamilies {
  datapath: GenlFamily;
  vport: GenlFamily;
}

export interface WatchEvents {
  /** The datapath was created or set: its attributes as the kernel reports them now. */
  onDatapath(attrs: DatapathAttrs): void;
  /** A vport of the datapath was added or set. */
  onVport(attrs: VportAttrs): void;
  /** Notifications were dropped (ENOBUFS): anything may have changed. */
  onLost(): void;
  /** The datapath was deleted. */
  onDatapathGone(): void;
  /** The notification socket failed; the watch has stopped. */
  onError(err: Error): void;
}

function groupId(f: GenlFamily, name: string): number {
  const id = f.groups.get(name);
  if (id === undefined) throw new NetlinkError({ errno: 2 /* ENOENT */, operation: `family ${f.name} has no multicast group ${name}` });
  return id;
}

export class DispatchWatch {
  private readonly socket: NetlinkSocket;
  private closed = false;

  constructor(
    private readonly families: WatchFamilies,
    private readonly dpIfindex: number,
    private readonly events: WatchEvents,
  ) {
    this.socket = new NetlinkSocket({ batch: 16, slotBytes: 16384, receiveBufferBytes: 1 << 20 });
    try {
      this.socket.addMembership(groupId(families.datapath, U.OVS_DATAPATH_MCGROUP));
      this.socket.addMembership(groupId(families.vport, U.OVS_VPORT_MCGROUP));
    } catch (err) {
      this.socket.close();
      throw err;
    }
    this.socket.watch(this.onEvent);
  }

  // An overrun reports as readable (drain() then throws the ENOBUFS); an
  // error here means the socket itself is broken.
  private readonly onEvent = (err?: Error): void => {
    if (this.closed) return;
    if (err) {
      this.close();
      this.events.onError(err);
      return;
    }
    this.onReadable();
  };

  setKeepAlive(keep: boolean): void {
    this.socket.setKeepAlive(keep);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.unwatch();
    this.socket.close();
  }

  private onReadable(): void {
    for (;;) {
      try {
        this.socket.drain((datagram, sender) => {
          if (sender === 0) this.onDatagram(datagram);
        });
        return;
      } catch (e) {
        if (e instanceof NetlinkError && e.code === 'ENOBUFS') {
          this.events.onLost();
          continue;
        }
        if (e instanceof NetlinkError && e.code === 'EMSGSIZE') continue;
        this.close();
        this.events.onError(e instanceof Error ? e : new Error(String(e)));
        return;
      }
    }
  }

  private onDatagram(datagram: Uint8Array): void {
    let messages;
    try {
      messages = parseMessages(datagram);
    } catch (err) {
      if (err instanceof MalformedError) return;
      throw err;
    }
    for (const m of messages) {
      try {
        if (m.type === this.families.datapath.id) {
          const d = decodeDatapathMessage(m);
          if (d.dpIfindex !== this.dpIfindex) continue;
          if (d.cmd === U.OVS_DP_CMD_DEL) this.events.onDatapathGone();
          else if (d.cmd === U.OVS_DP_CMD_SET || d.cmd === U.OVS_DP_CMD_NEW) this.events.onDatapath(d.attrs);
        } else if (m.type === this.families.vport.id) {
          const v = decodeVportMessage(m);
          if (v.dpIfindex !== this.dpIfindex) continue;
          if (v.cmd === U.OVS_VPORT_CMD_NEW || v.cmd === U.OVS_VPORT_CMD_SET) this.events.onVport(v.attrs);
        }
      } catch (err) {
        if (!(err instanceof MalformedError)) throw err;
      }
    }
  }
}
