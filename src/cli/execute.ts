// `execute [dp] PACKET ACTIONS` (beyond ovs-dpctl): sends one packet through
// the datapath with these actions (OVS_PACKET_CMD_EXECUTE). PACKET is the
// frame in hex, or a flow in ODP form from which a frame is built
// (`in_port(1),eth(src=..,dst=..),eth_type(0x0800),ipv4(src=..,dst=..,proto=17,ttl=64),udp(src=1,dst=2)`);
// the metadata attributes of a flow (in_port, skb_mark, skb_priority,
// recirc_id, dp_hash, tunnel) go to the kernel with the packet.
import type { FlowKey } from '../ovs/keys.js';
import { parseOdpActions, parseOdpFlow, OdpParseError } from '../odp/index.js';
import { buildFrame, type FrameSpec, type L3Spec, type L4Spec } from '../packet/index.js';
import type { Ctx } from './context.js';
import { CliError, dpctlMessage } from './errors.js';
import { optDatapath } from './dpname.js';
import { actionBytes, keyBytes } from './flow-text.js';
import { portMaps } from './flows.js';

const EINVAL = { code: 'EINVAL' };

/** Hex digits, with optional 0x and blanks or colons between bytes. */
export function parseHexPacket(s: string): Uint8Array | undefined {
  const t = s.replace(/^0x/i, '').replace(/[\s:]/g, '');
  if (!t.length || t.length % 2 || !/^[0-9a-fA-F]+$/.test(t)) return undefined;
  return new Uint8Array(Buffer.from(t, 'hex'));
}

const METADATA: (keyof FlowKey)[] = ['priority', 'inPort', 'skbMark', 'tunnel', 'dpHash', 'recircId'];

function metadataOf(key: FlowKey): FlowKey {
  const out: Record<string, unknown> = {};
  for (const k of METADATA) if (key[k] !== undefined) out[k] = key[k];
  return out as FlowKey;
}

function l4Of(k: FlowKey): L4Spec | undefined {
  if (k.tcp) return { kind: 'tcp', src: k.tcp.src, dst: k.tcp.dst, flags: k.tcpFlags };
  if (k.udp) return { kind: 'udp', src: k.udp.src, dst: k.udp.dst };
  if (k.sctp) return { kind: 'sctp', src: k.sctp.src, dst: k.sctp.dst };
  if (k.icmp) return { kind: 'icmp', type: k.icmp.type, code: k.icmp.code };
  if (k.icmpv6) {
    if (k.nd && (k.icmpv6.type === 135 || k.icmpv6.type === 136)) {
      const nd = k.nd;
      return { kind: 'nd', type: k.icmpv6.type === 135 ? 'ns' : 'na', target: nd.target, sll: nd.sll !== '00:00:00:00:00:00' ? nd.sll : undefined, tll: nd.tll !== '00:00:00:00:00:00' ? nd.tll : undefined };
    }
    return { kind: 'icmpv6', type: k.icmpv6.type, code: k.icmpv6.code };
  }
  return undefined;
}

function l3Of(k: FlowKey): L3Spec | undefined {
  if (k.ipv4) return { kind: 'ipv4', src: k.ipv4.src, dst: k.ipv4.dst, tos: k.ipv4.tos, ttl: k.ipv4.ttl || 64, proto: k.ipv4.proto || undefined };
  if (k.ipv6) return { kind: 'ipv6', src: k.ipv6.src, dst: k.ipv6.dst, tclass: k.ipv6.tclass, flowLabel: k.ipv6.label, hopLimit: k.ipv6.hlimit || 64, nextHeader: k.ipv6.proto || undefined };
  if (k.arp) return { kind: 'arp', op: k.arp.op, sha: k.arp.sha, spa: k.arp.sip, tha: k.arp.tha, tpa: k.arp.tip, rarp: k.ethertype === 0x8035 };
  if (k.ethertype !== undefined && k.ethertype >= 0x600) return { kind: 'raw', ethType: k.ethertype };
  return undefined;
}

/** A frame with the headers a flow key describes (flow_compose, in spirit). */
export function frameFromKey(key: FlowKey): Uint8Array {
  const spec: FrameSpec = { src: key.ethernet?.src, dst: key.ethernet?.dst, padTo: 60 };
  let inner = key;
  if (key.vlan && key.encap) {
    spec.vlans = [{ tpid: key.ethertype, vid: key.vlan.vid, pcp: key.vlan.pcp }];
    inner = key.encap;
  }
  spec.l3 = l3Of(inner);
  spec.l4 = l4Of(inner);
  if (!spec.l3 && inner.ethertype !== undefined) spec.ethType = inner.ethertype;
  return buildFrame(spec);
}

export async function execute(ctx: Ctx, args: string[]): Promise<void> {
  const { dp } = await optDatapath(ctx, args, 4);
  const [packetText, actionsText] = args.slice(-2);
  let packet = parseHexPacket(packetText);
  let key: FlowKey = {};
  if (!packet) {
    const ports = await portMaps(ctx, dp);
    try {
      key = parseOdpFlow(packetText, { portNames: ports.byName }).key;
    } catch (err) {
      const why = err instanceof OdpParseError ? err.ovsMessage : (err as Error).message;
      throw new CliError(dpctlMessage(`parsing packet (neither hex nor a flow: ${why})`, EINVAL));
    }
    try {
      packet = frameFromKey(key);
    } catch (err) {
      throw new CliError(dpctlMessage(`building packet (${(err as Error).message})`, EINVAL));
    }
  }
  if (packet.length < 14) throw new CliError(dpctlMessage(`packet of ${packet.length} bytes is shorter than an Ethernet header`, EINVAL));
  let actions: Uint8Array;
  try {
    actions = actionBytes(parseOdpActions(actionsText));
  } catch {
    throw new CliError(dpctlMessage('parsing actions', EINVAL));
  }
  try {
    await (await ctx.dpif()).execute(dp.dpIfindex, { packet, key: keyBytes(metadataOf(key)), actions });
  } catch (err) {
    throw new CliError(dpctlMessage('executing packet', err));
  }
}
