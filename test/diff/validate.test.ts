// Flow puts the module refuses must be refused by the fallback too, with the
// same errno, and the ones it takes must be taken: a script that works on one
// datapath must not fail (or succeed) differently on the other.
//
// Covered here: set_masked whose value has bits outside its mask (the
// module's validate_masked(): EINVAL), at the top level and nested in clone
// and sample, beside the same actions with the value inside the mask; and
// the other action checks beside them (vlan, mpls, ports, nesting, ct, nat).
import { describe, expect, it } from 'vitest';
import { NetlinkError } from '../../src/netlink/errors.js';
import { encodeFlowMessage, type FlowAttrs } from '../../src/ovs/flow.js';
import * as U from '../../src/ovs/uapi.js';
import type { Action } from '../../src/ovs/actions.js';
import type { FlowKey } from '../../src/ovs/keys.js';
import { buildFrame } from '../../src/packet/build.js';
import { pushNsh as pushNshBytes } from '../../src/packet/nsh.js';
import { encodeActionBytes, encodeKeyBytes } from '../../src/switch/handler.js';
import { useSides, type Side } from './harness.js';

const ONES = 'ff:ff:ff:ff:ff:ff';
const TUN = { id: 5n, ipv4Src: '10.83.5.1', ipv4Dst: '10.83.5.2', ttl: 64 };
const GENEVE_OPTS = new Uint8Array([0x01, 0x02, 0x01, 0x01, 0xca, 0xfe, 0x00, 0x01]);

/** One exact UDP (or TCP) flow per case, told apart by its source port. */
const ipKey =
  (tcp: boolean) =>
  (s: Side, port: number): FlowKey => ({
    inPort: s.inPort,
    ethernet: { src: '02:83:00:00:00:01', dst: '02:83:00:00:00:02' },
    ethertype: 0x0800,
    ipv4: { src: '10.83.0.1', dst: '10.83.0.2', proto: tcp ? 6 : 17, tos: 0, ttl: 64, frag: 0 },
    ...(tcp ? { tcp: { src: port, dst: 21 }, tcpFlags: 0 } : { udp: { src: port, dst: 53 } }),
  });
const key = ipKey(false);
const tcpKey = ipKey(true);

/** An ARP flow: ct() has no family to track it in. */
const arpKey = (s: Side, port: number): FlowKey => ({
  inPort: s.inPort,
  ethernet: { src: '02:83:00:00:00:01', dst: '02:83:00:00:00:02' },
  ethertype: 0x0806,
  arp: { sip: '10.83.0.1', tip: '10.83.1.' + (port % 250), op: 1, sha: '02:83:00:00:00:01', tha: '00:00:00:00:00:00' },
});

/** An NSH flow (MD type 1), whose next protocol is `np`; the port number goes into the service index. */
const nshKey =
  (np: number) =>
  (s: Side, port: number): FlowKey => ({
    inPort: s.inPort,
    ethernet: { src: '02:83:00:00:00:01', dst: '02:83:00:00:00:02' },
    ethertype: 0x894f,
    nsh: { base: { flags: 0, ttl: 63, mdtype: 1, np, spi: 0x83, si: port & 0xff }, md1: [1, 2, 3, port] },
  });
/** The UDP flow in an 802.1Q tag. */
const vlanKey = (s: Side, port: number): FlowKey => {
  const { inPort, ethernet, ...inner } = key(s, port);
  return { inPort, ethernet, ethertype: 0x8100, vlan: { vid: 83, pcp: 0, cfi: 1 }, encap: inner };
};
const NSH_BASE = { flags: 0, ttl: 9, mdtype: 1, np: 0, spi: 7, si: 255 };
const pushNsh = (nsh: Extract<Action, { type: 'pushNsh' }>['nsh']): Action => ({ type: 'pushNsh', nsh });
const ETH: Action = { type: 'pushEth', src: '02:83:00:00:00:03', dst: '02:83:00:00:00:04' };

interface Case {
  name: string;
  /** The flow (default: exact UDP over IPv4). */
  key?: (s: Side, port: number) => FlowKey;
  actions: (s: Side) => Action[];
  /** What both datapaths must answer: null for success. */
  expect: 'EINVAL' | 'EOVERFLOW' | 'ERANGE' | 'ENOENT' | null;
}

const setIp = (src: string, mask: string): Action => ({ type: 'setMasked', key: { ipv4: { src, dst: '0.0.0.0', proto: 0, tos: 0, ttl: 0, frag: 0 } }, mask: { ipv4: { src: mask, dst: '0.0.0.0', proto: 0, tos: 0, ttl: 0, frag: 0 } } });
const out = (s: Side): Action => ({ type: 'output', port: s.outPort });

/** The actions wrapped in `depth` clones. */
const nestClones = (depth: number, inner: Action[]): Action[] => (depth === 0 ? inner : [{ type: 'clone', actions: nestClones(depth - 1, inner) }]);

const CASES: Case[] = [
  { name: 'ipv4 src inside its mask', actions: (s) => [setIp('10.9.0.0', '255.255.0.0'), out(s)], expect: null },
  { name: 'ipv4 src with a bit outside its mask', actions: (s) => [setIp('10.9.0.1', '255.255.0.0'), out(s)], expect: 'EINVAL' },
  { name: 'eth src inside its mask', actions: (s) => [{ type: 'setMasked', key: { ethernet: { src: '02:aa:00:00:00:00', dst: '00:00:00:00:00:00' } }, mask: { ethernet: { src: 'ff:ff:00:00:00:00', dst: '00:00:00:00:00:00' } } }, out(s)], expect: null },
  { name: 'eth dst outside its mask', actions: (s) => [{ type: 'setMasked', key: { ethernet: { src: '00:00:00:00:00:00', dst: '02:aa:00:00:00:01' } }, mask: { ethernet: { src: '00:00:00:00:00:00', dst: 'ff:ff:00:00:00:00' } } }, out(s)], expect: 'EINVAL' },
  { name: 'udp dst outside its mask', actions: (s) => [{ type: 'setMasked', key: { udp: { src: 0, dst: 0x1234 } }, mask: { udp: { src: 0, dst: 0xff00 } } }, out(s)], expect: 'EINVAL' },
  { name: 'exact mask (all bits)', actions: (s) => [{ type: 'setMasked', key: { ethernet: { src: '02:aa:00:00:00:09', dst: '02:aa:00:00:00:0a' } }, mask: { ethernet: { src: ONES, dst: ONES } } }, out(s)], expect: null },
  { name: 'outside its mask, nested in clone', actions: (s) => [{ type: 'clone', actions: [setIp('10.9.0.1', '255.255.0.0'), out(s)] }], expect: 'EINVAL' },
  { name: 'outside its mask, nested in sample', actions: (s) => [{ type: 'sample', probability: 0xffffffff, actions: [setIp('10.9.0.1', '255.255.0.0'), out(s)] }, out(s)], expect: 'EINVAL' },
  { name: 'push_vlan with the CFI bit', actions: (s) => [{ type: 'pushVlan', tpid: 0x8100, vid: 5, pcp: 0, cfi: 1 }, out(s)], expect: null },
  { name: 'push_vlan without the CFI bit', actions: (s) => [{ type: 'pushVlan', tpid: 0x8100, vid: 5, pcp: 0, cfi: 0 }, out(s)], expect: 'EINVAL' },
  { name: 'push_vlan with a TPID that is not a VLAN ethertype', actions: (s) => [{ type: 'pushVlan', tpid: 0x0800, vid: 5, pcp: 0, cfi: 1 }, out(s)], expect: 'EINVAL' },
  { name: 'push_mpls with an ethertype that is not MPLS', actions: (s) => [{ type: 'pushMpls', lse: { label: 10, tc: 0, bos: 1, ttl: 64 }, ethertype: 0x0800 }, out(s)], expect: 'EINVAL' },
  { name: 'set_masked of the IPv4 protocol (not writable)', actions: (s) => [{ type: 'setMasked', key: { ipv4: { src: '0.0.0.0', dst: '0.0.0.0', proto: 6, tos: 0, ttl: 0, frag: 0 } }, mask: { ipv4: { src: '0.0.0.0', dst: '0.0.0.0', proto: 0xff, tos: 0, ttl: 0, frag: 0 } } }, out(s)], expect: 'EINVAL' },
  { name: 'set of tcp ports on a UDP flow', actions: (s) => [{ type: 'set', key: { tcp: { src: 1, dst: 2 } } }, out(s)], expect: 'EINVAL' },
  { name: 'set of udp ports on a UDP flow', actions: (s) => [{ type: 'set', key: { udp: { src: 1, dst: 2 } } }, out(s)], expect: null },
  { name: 'output to port 65534', actions: () => [{ type: 'output', port: 65534 }], expect: null },
  { name: 'output to port 65535 (DP_MAX_PORTS)', actions: () => [{ type: 'output', port: 65535 }], expect: 'EINVAL' },
  { name: 'output to port 65535 inside a sample', actions: (s) => [{ type: 'sample', probability: 0xffffffff, actions: [{ type: 'output', port: 65535 }] }, out(s)], expect: 'EINVAL' },
  { name: 'clones nested 16 deep', actions: (s) => nestClones(16, [out(s)]), expect: null },
  { name: 'clones nested 17 deep', actions: (s) => nestClones(17, [out(s)]), expect: 'EOVERFLOW' },
  { name: 'ct(commit) with zone, mark and labels', actions: (s) => [{ type: 'ct', commit: true, zone: 5, mark: { value: 1, mask: 0xff }, labels: { value: 2n, mask: 0xffn } }, out(s)], expect: null },
  { name: 'ct look-up, then ct_clear', actions: (s) => [{ type: 'ct', zone: 5 }, { type: 'ctClear' }, out(s)], expect: null },
  { name: 'ct mark without commit', actions: (s) => [{ type: 'ct', zone: 5, mark: { value: 1, mask: 0xff } }, out(s)], expect: 'EINVAL' },
  { name: 'ct labels without commit', actions: (s) => [{ type: 'ct', labels: { value: 1n, mask: 1n } }, out(s)], expect: 'EINVAL' },
  { name: 'ct mark with a zero mask', actions: (s) => [{ type: 'ct', commit: true, mark: { value: 0, mask: 0 } }, out(s)], expect: 'EINVAL' },
  { name: 'ct labels with a zero mask', actions: (s) => [{ type: 'ct', commit: true, labels: { value: 0n, mask: 0n } }, out(s)], expect: 'EINVAL' },
  { name: 'ct on an ARP flow (no family)', key: arpKey, actions: (s) => [{ type: 'ct', commit: true }, out(s)], expect: 'EINVAL' },
  { name: 'ct nested in clone, on an ARP flow', key: arpKey, actions: (s) => [{ type: 'clone', actions: [{ type: 'ct' }] }, out(s)], expect: 'EINVAL' },
  // No such policy (nfnetlink_cttimeout has none, or is not loaded): logged, and the flow taken.
  { name: 'ct(commit) with a timeout policy that does not exist', actions: (s) => [{ type: 'ct', commit: true, zone: 5, timeout: 'ovs_tp_nosuch' }, out(s)], expect: null },
  { name: 'ct with an ALG helper the kernel does not have loaded', actions: (s) => [{ type: 'ct', commit: true, helper: 'irc' }, out(s)], expect: 'EINVAL' },
  // The test VM loads nf_conntrack_ftp and nf_conntrack_tftp (and not nf_nat_ftp).
  { name: 'ct(alg=tftp) on a UDP flow', actions: (s) => [{ type: 'ct', commit: true, helper: 'tftp' }, out(s)], expect: null },
  { name: 'ct(alg=tftp) on a TCP flow (the helper is UDP\'s)', key: tcpKey, actions: (s) => [{ type: 'ct', commit: true, helper: 'tftp' }, out(s)], expect: 'EINVAL' },
  { name: 'ct(alg=ftp) on a TCP flow', key: tcpKey, actions: (s) => [{ type: 'ct', commit: true, helper: 'ftp' }, out(s)], expect: null },
  { name: 'ct(alg=ftp) on a UDP flow (the helper is TCP\'s)', actions: (s) => [{ type: 'ct', commit: true, helper: 'ftp' }, out(s)], expect: 'EINVAL' },
  { name: 'ct(alg=ftp) with NAT, no NAT helper loaded', key: tcpKey, actions: (s) => [{ type: 'ct', commit: true, helper: 'ftp', nat: { src: true, ipMin: '10.83.9.9' } }, out(s)], expect: 'ENOENT' },
  { name: 'ct(commit,nat(src=address))', actions: (s) => [{ type: 'ct', commit: true, nat: { src: true, ipMin: '10.83.9.9' } }, out(s)], expect: null },
  { name: 'ct(commit,nat(dst=range:ports,random))', actions: (s) => [{ type: 'ct', commit: true, nat: { dst: true, ipMin: '10.83.9.1', ipMax: '10.83.9.5', protoMin: 80, protoMax: 90, protoRandom: true } }, out(s)], expect: null },
  { name: 'ct(nat) bare, without commit', actions: (s) => [{ type: 'ct', zone: 2, nat: {} }, out(s)], expect: null },
  { name: 'ct nat with both src and dst', actions: (s) => [{ type: 'ct', commit: true, nat: { src: true, dst: true } }, out(s)], expect: 'ERANGE' },
  { name: 'ct nat(src) without commit', actions: (s) => [{ type: 'ct', nat: { src: true, ipMin: '10.83.9.9' } }, out(s)], expect: 'EINVAL' },
  { name: 'ct nat with flags but neither src nor dst', actions: (s) => [{ type: 'ct', commit: true, nat: { persistent: true } }, out(s)], expect: 'EINVAL' },
  { name: 'ct nat of an IPv6 address on an IPv4 flow', actions: (s) => [{ type: 'ct', commit: true, nat: { src: true, ipMin: 'fd00::9' } }, out(s)], expect: 'EINVAL' },
  { name: 'set(tunnel) with a VXLAN group policy', actions: (s) => [{ type: 'set', key: { tunnel: { ...TUN, vxlanOpts: { gbp: 0x401234 } } } }, out(s)], expect: null },
  { name: 'set(tunnel) with geneve options and a VXLAN policy', actions: (s) => [{ type: 'set', key: { tunnel: { ...TUN, vxlanOpts: { gbp: 1 }, geneveOpts: GENEVE_OPTS } } }, out(s)], expect: 'EINVAL' },
  { name: 'a flow on a VXLAN group policy', key: (s, port) => ({ ...key(s, port), tunnel: { ...TUN, vxlanOpts: { gbp: 0x1234 } } }), actions: (s) => [out(s)], expect: null },
  // A tagged flow's checks start from the EtherType inside the tag.
  { name: 'set(ipv4) and set(udp) on a VLAN-tagged flow', key: vlanKey, actions: (s) => [setIp('10.9.0.0', '255.255.0.0'), { type: 'set', key: { udp: { src: 1, dst: 2 } } }, out(s)], expect: null },
  { name: 'set(tcp) on a VLAN-tagged UDP flow', key: vlanKey, actions: (s) => [{ type: 'set', key: { tcp: { src: 1, dst: 2 } } }, out(s)], expect: 'EINVAL' },
  { name: 'push_mpls on a VLAN-tagged flow', key: vlanKey, actions: (s) => [{ type: 'pushMpls', lse: { label: 1, tc: 0, ttl: 1, bos: 1 }, ethertype: 0x8847 }, out(s)], expect: 'EINVAL' },
  { name: 'pop_vlan, then push_mpls', key: vlanKey, actions: (s) => [{ type: 'popVlan' }, { type: 'pushMpls', lse: { label: 1, tc: 0, ttl: 1, bos: 1 }, ethertype: 0x8847 }, out(s)], expect: null },
  { name: 'ct on a VLAN-tagged flow', key: vlanKey, actions: (s) => [{ type: 'ct', commit: true, helper: 'tftp' }, out(s)], expect: null },
  // Ethernet header bookkeeping (mac_proto) and NSH (validate_push_nsh, pop_nsh's next protocol).
  { name: 'pop_eth, push_eth', actions: (s) => [{ type: 'popEth' }, ETH, out(s)], expect: null },
  { name: 'push_eth on an Ethernet packet', actions: (s) => [ETH, out(s)], expect: 'EINVAL' },
  { name: 'pop_eth twice', actions: (s) => [{ type: 'popEth' }, { type: 'popEth' }, ETH, out(s)], expect: 'EINVAL' },
  { name: 'push_vlan after pop_eth', actions: (s) => [{ type: 'popEth' }, { type: 'pushVlan', tpid: 0x8100, vid: 1, pcp: 0, cfi: 1 }, ETH, out(s)], expect: 'EINVAL' },
  { name: 'set(eth) after pop_eth', actions: (s) => [{ type: 'popEth' }, { type: 'set', key: { ethernet: { src: ONES, dst: ONES } } }, ETH, out(s)], expect: 'EINVAL' },
  { name: 'push_vlan in a clone after pop_eth (a nested list starts from the key)', actions: (s) => [{ type: 'popEth' }, { type: 'clone', actions: [{ type: 'pushVlan', tpid: 0x8100, vid: 1, pcp: 0, cfi: 1 }, out(s)] }], expect: null },
  { name: 'push_nsh md1, push_eth', actions: (s) => [pushNsh({ base: NSH_BASE, md1: [1, 2, 3, 4] }), ETH, out(s)], expect: null },
  { name: 'push_nsh md2', actions: (s) => [pushNsh({ base: { ...NSH_BASE, mdtype: 2 }, md2: new Uint8Array([0, 1, 2, 4, 1, 2, 3, 4]) }), ETH, out(s)], expect: null },
  { name: 'push_nsh md1 under MD type 2', actions: (s) => [pushNsh({ base: { ...NSH_BASE, mdtype: 2 }, md1: [1, 2, 3, 4] }), ETH, out(s)], expect: 'EINVAL' },
  { name: 'push_nsh without metadata', actions: (s) => [pushNsh({ base: NSH_BASE }), ETH, out(s)], expect: 'EINVAL' },
  { name: 'push_nsh without a base', actions: (s) => [pushNsh({ md1: [1, 2, 3, 4] }), ETH, out(s)], expect: 'EINVAL' },
  { name: 'push_nsh after pop_eth of IPv4', actions: (s) => [{ type: 'popEth' }, pushNsh({ base: NSH_BASE, md1: [1, 2, 3, 4] }), ETH, out(s)], expect: null },
  { name: 'push_nsh after pop_eth of ARP (no next protocol)', key: arpKey, actions: (s) => [{ type: 'popEth' }, pushNsh({ base: NSH_BASE, md1: [1, 2, 3, 4] }), ETH, out(s)], expect: 'EINVAL' },
  { name: 'push_vlan after push_nsh', actions: (s) => [pushNsh({ base: NSH_BASE, md1: [1, 2, 3, 4] }), { type: 'pushVlan', tpid: 0x8100, vid: 1, pcp: 0, cfi: 1 }], expect: 'EINVAL' },
  { name: 'pop_nsh on an IPv4 flow', actions: (s) => [{ type: 'popNsh' }, out(s)], expect: 'EINVAL' },
  { name: 'push_nsh then pop_nsh on an IPv4 flow (the flow stays IPv4)', actions: (s) => [pushNsh({ base: NSH_BASE, md1: [1, 2, 3, 4] }), { type: 'popNsh' }, out(s)], expect: 'EINVAL' },
  { name: 'a flow on NSH fields, pop_eth, pop_nsh to IPv4, push_eth', key: nshKey(1), actions: (s) => [{ type: 'popEth' }, { type: 'popNsh' }, ETH, out(s)], expect: null },
  { name: 'pop_eth, pop_nsh to Ethernet', key: nshKey(3), actions: (s) => [{ type: 'popEth' }, { type: 'popNsh' }, out(s)], expect: null },
  { name: 'pop_nsh to Ethernet, then push_eth', key: nshKey(3), actions: (s) => [{ type: 'popEth' }, { type: 'popNsh' }, ETH, out(s)], expect: 'EINVAL' },
  { name: 'pop_nsh of an unknown next protocol', key: nshKey(9), actions: (s) => [{ type: 'popEth' }, { type: 'popNsh' }, out(s)], expect: 'EINVAL' },
  { name: 'a flow on NSH MD1 context under MD type 2', key: (s, port) => ({ ...nshKey(1)(s, port), nsh: { base: { flags: 0, ttl: 1, mdtype: 2, np: 1, spi: 1, si: port & 0xff }, md1: [0, 0, 0, port] } }), actions: (s) => [out(s)], expect: 'EINVAL' },
  { name: 'an NSH flow without its nsh attribute', key: (s, port) => ({ ...nshKey(1)(s, port), nsh: undefined, skbMark: port }), actions: (s) => [out(s)], expect: 'EINVAL' },
  { name: 'a key with neither an Ethernet header nor an EtherType', key: (s, port) => ({ inPort: s.inPort, skbMark: port }), actions: (s) => [out(s)], expect: 'EINVAL' },
  { name: 'an L3 IPv4 flow (no Ethernet header), push_eth', key: (s, port) => { const { ethernet: _, ...l3 } = key(s, port); return l3; }, actions: (s) => [ETH, out(s)], expect: null },
  { name: 'pop_eth on an L3 flow', key: (s, port) => { const { ethernet: _, ...l3 } = key(s, port); return l3; }, actions: (s) => [{ type: 'popEth' }, ETH, out(s)], expect: 'EINVAL' },
  { name: 'a flow on geneve options and a VXLAN policy', key: (s, port) => ({ ...key(s, port), tunnel: { ...TUN, vxlanOpts: { gbp: 1 }, geneveOpts: GENEVE_OPTS } }), actions: (s) => [out(s)], expect: 'EINVAL' },
];

async function put(s: Side, c: Case, port: number): Promise<string> {
  try {
    await s.dpif.putFlow(s.dp, { key: encodeKeyBytes((c.key ?? key)(s, port)), actions: encodeActionBytes(c.actions(s)), mode: 'create' });
    return 'ok';
  } catch (err) {
    if (err instanceof NetlinkError) return err.code;
    throw err;
  }
}

describe('flow put validation: the fallback refuses what the module refuses', () => {
  const sides = useSides('dva', 'nf_conntrack_ftp', 'nf_conntrack_tftp');

  CASES.forEach((c, i) => {
    it(c.name, async () => {
      const k = await put(sides[0], c, 4000 + i);
      const f = await put(sides[1], c, 4000 + i);
      // The module's answer is the reference; the expectation documents it and catches a change of module.
      expect(k).toBe(c.expect ?? 'ok');
      expect(f).toBe(k);
    });
  });
});

describe('packet execute: the actions are checked against the packet, as a flow\'s are', () => {
  const sides = useSides('dvx', 'nf_conntrack_ftp', 'nf_conntrack_tftp');
  const frame = (arp: boolean) =>
    buildFrame({
      src: '02:83:00:00:00:01',
      dst: '02:83:00:00:00:02',
      l3: arp ? { kind: 'arp', op: 1, sha: '02:83:00:00:00:01', spa: '10.83.0.1', tpa: '10.83.0.2' } : { kind: 'ipv4', src: '10.83.0.1', dst: '10.83.0.2', ttl: 64 },
      l4: arp ? undefined : { kind: 'udp', src: 1, dst: 2 },
      payload: 8,
    });
  const cases: [string, boolean, (s: Side) => Action[], string][] = [
    ['ct(commit) on UDP', false, (s) => [{ type: 'ct', commit: true, zone: 3 }, out(s)], 'ok'],
    ['ct on ARP (no family)', true, (s) => [{ type: 'ct' }, out(s)], 'EINVAL'],
    ['set(tcp) on UDP', false, (s) => [{ type: 'set', key: { tcp: { src: 1, dst: 2 } } }, out(s)], 'EINVAL'],
    ['ct mark without commit', false, (s) => [{ type: 'ct', mark: { value: 1, mask: 1 } }, out(s)], 'EINVAL'],
  ];
  it.each(cases)('%s', async (_, arp, actions, expected) => {
    const answers: string[] = [];
    for (const s of sides) {
      // The key holds only metadata: the datapath takes the rest from the packet.
      const x = { packet: frame(arp), key: encodeKeyBytes({ inPort: s.inPort }), actions: encodeActionBytes(actions(s)) };
      answers.push(
        await s.dpif.execute(s.dp, x).then(
          () => 'ok',
          (err: unknown) => (err instanceof NetlinkError ? err.code : String(err)),
        ),
      );
    }
    expect(answers[0]).toBe(expected);
    expect(answers[1]).toBe(answers[0]);
  });

  it('a packet whose NSH header key extraction refuses (version 1) is refused', async () => {
    const nsh = pushNshBytes(new Uint8Array(8), { flags: 0, ttl: 1, mdtype: 1, path: 0x100, md: new Uint8Array(16) }, 1);
    const answers: string[] = [];
    for (const bad of [false, true]) {
      const data = nsh.slice();
      if (bad) data[0] |= 0x40;
      const packet = buildFrame({ src: '02:83:00:00:00:01', dst: '02:83:00:00:00:02', l3: { kind: 'raw', ethType: 0x894f, data } });
      for (const s of sides) {
        const x = { packet, key: encodeKeyBytes({ inPort: s.inPort }), actions: encodeActionBytes([out(s)]) };
        answers.push(await s.dpif.execute(s.dp, x).then(() => 'ok', (err: unknown) => (err instanceof NetlinkError ? err.code : String(err))));
      }
    }
    expect(answers).toEqual(['ok', 'ok', 'EINVAL', 'EINVAL']);
  });
});

describe('flow SET without a key: the fallback refuses what the module refuses', () => {
  const sides = useSides('dvs', 'nf_conntrack_ftp', 'nf_conntrack_tftp');
  const UFID = new Uint8Array(16).fill(0x5e);

  /** A raw OVS_FLOW_CMD_SET (the Dpif always sends a key): 'ok' or the errno name. */
  async function set(s: Side, attrs: FlowAttrs): Promise<string> {
    const dpIfindex = (await s.dpif.getDatapath(s.dp)).dpIfindex;
    try {
      await s.dpif.conn.request(encodeFlowMessage(s.dpif.families.flow.id, { cmd: U.OVS_FLOW_CMD_SET, dpIfindex, attrs }));
      return 'ok';
    } catch (err) {
      if (err instanceof NetlinkError) return err.code;
      throw err;
    }
  }

  it('a UFID alone names the flow; new actions need the key too; neither is refused', async () => {
    const answers = [];
    for (const s of sides) {
      const k = encodeKeyBytes(key(s, 4999));
      const actions = encodeActionBytes([out(s)]);
      await s.dpif.putFlow(s.dp, { key: k, actions, ufid: UFID, mode: 'create' });
      answers.push([await set(s, { ufid: UFID, clear: true }), await set(s, { ufid: UFID, actions }), await set(s, { actions }), await set(s, { clear: true }), await set(s, { key: k, ufid: UFID, actions })]);
    }
    expect(answers[0]).toEqual(['ok', 'EINVAL', 'EINVAL', 'EINVAL', 'ok']);
    expect(answers[1]).toEqual(answers[0]);
  });
});
