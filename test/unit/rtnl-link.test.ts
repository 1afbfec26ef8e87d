// rtnetlink link messages: the requests OVS 3.1 sends for its tunnel
// devices, byte for byte, and a reply recorded from the real kernel decoded.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MalformedError } from '../../src/netlink/errors.js';
import { parseMessages, type NlMessage } from '../../src/netlink/message.js';
import { RTM_NEWLINK } from '../../src/rtnl/constants.js';
import { decodeLink, linkRequest, newLinkRequest, validLinkName, type Link } from '../../src/rtnl/link.js';
import {
  checkRemoteIp,
  describeTunnelDevice,
  tunnelCreateRequest,
  tunnelDeviceName,
  tunnelKind,
  tunnelMismatch,
  tunnelPort,
} from '../../src/rtnl/tunnel.js';
import { vethRequest } from '../../src/rtnl/veth.js';

// Recorded on the 6.1 test VM (scripts/vm.sh): the RTM_NEWLINK reply for
// vxlan_sys_4789 as ensureTunnelDevice made it (ifindex 5, not yet an OVS port).
export const VXLAN_LINK_REPLY =
  '000001000500000043100100000000001300030076786c616e5f7379735f34373839000008000d00e803000005001000' +
  '00000000050011000000000008000400e8fd0000080032004400000008003300ffff000008001b000000000008001e00' +
  '0000000008003d000000000008001f000100000008002800ffff0000080029000000010008003a000000010008003b00' +
  '0000010008003c00ffff0000080020000100000005002100010000000c0006006e6f7175657565000800230000000000' +
  '08002f00000000000800300000000000050027000000000024000e000000000000000000000000000000000000000000' +
  '0000000000000000000000000a000100829f965824b700000a000200ffffffffffff0000cc0017000000000000000000' +
  '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000' +
  '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000' +
  '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000' +
  '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000' +
  '640007000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000' +
  '000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000' +
  '000000000c002b000500020000000000bc0012000a00010076786c616e000000ac000200080001000000000005000500' +
  '0000000005001c0000000000050006000000000005001d000000000008001a0000000000050007000000000005000b00' +
  '0000000005000c000000000005000d000000000005000e00000000000500190001000000080008002c01000008000900' +
  '0000000006000f0012b50000050012000100000005001300000000000500140001000000050015000000000005001600' +
  '0000000008000a0000000000bc011a008c00020088000100000000000000000000000000010000000100000001000000' +
  '010000000000000001000000000000000000000000000000000000000000000000000000000000000000000000000000' +
  '000000000000000000000000000000000000000000000000000000000000000010270000e80300000000000000000000' +
  '0000000000000000010000002c010a00080001000000008014000500ffff0000d6080000a4890000e8030000f0000200' +
  '0000000040000000e8fd000001000000010000000100000001000000ffffffffa00f0000e803000000000000803a0900' +
  '805101000300000058020000100000000000000001000000010000000100000060ea0000000000000000000000000000' +
  '00000000000000000000000001000000000000000000000010270000e803000001000000000000000000000001000000' +
  '0000000000000000010000000000000000000000000000000000000080ee360000000000000000000100000000000000' +
  '000000000000000000000000000000000004000000000000ffff0000ffffffff01000000000000000000000014000700' +
  '000000000000000000000000000000000500080000000000';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const reply = (payloadHex: string): NlMessage => ({ type: RTM_NEWLINK, flags: 0, seq: 0, pid: 0, payload: Buffer.from(payloadHex, 'hex') });

describe('tunnel device requests, as lib/dpif-netlink-rtnl.c writes them', () => {
  it('vxlan: NEWLINK CREATE|EXCL, up, name, MTU 65000, learning 0, external, udp6zerocsumrx, port 4789', () => {
    expect(hex(tunnelCreateRequest({ type: 'vxlan' }))).toBe(
      [
        '70000000', // nlmsg_len 112
        '1000', // RTM_NEWLINK
        '0006', // NLM_F_CREATE | NLM_F_EXCL (REQUEST|ACK added on sending)
        '00000000' + '00000000', // seq, pid
        '00000000' + '00000000' + '01000000' + '01000000', // ifinfomsg: AF_UNSPEC, index 0, flags IFF_UP, change IFF_UP
        '13000300' + hex(Buffer.from('vxlan_sys_4789\0')) + '00', // IFLA_IFNAME
        '08000400' + 'e8fd0000', // IFLA_MTU 65000
        '34001200', // IFLA_LINKINFO (52)
        '0a000100' + hex(Buffer.from('vxlan\0')) + '0000', //   IFLA_INFO_KIND
        '24000200', //   IFLA_INFO_DATA (36)
        '05000700' + '00000000', //     IFLA_VXLAN_LEARNING 0
        '05001900' + '01000000', //     IFLA_VXLAN_COLLECT_METADATA 1
        '05001400' + '01000000', //     IFLA_VXLAN_UDP_ZERO_CSUM6_RX 1
        '06000f00' + '12b50000', //     IFLA_VXLAN_PORT 4789, big-endian
      ].join(''),
    );
  });

  it('geneve: external flag, udp6zerocsumrx, port 6081', () => {
    const h = hex(tunnelCreateRequest({ type: 'geneve' }));
    expect(h).toContain(hex(Buffer.from('genev_sys_6081\0')));
    expect(h.endsWith('0b000100' + hex(Buffer.from('geneve\0')) + '00' + '18000200' + '04000600' + '05000a00' + '01000000' + '06000500' + '17c10000')).toBe(true);
  });

  it('gre: a gretap named gre_sys, external flag only', () => {
    const h = hex(tunnelCreateRequest({ type: 'gre', dstPort: 1 }));
    expect(h).toContain(hex(Buffer.from('gre_sys\0')));
    expect(h.endsWith('0b000100' + hex(Buffer.from('gretap\0')) + '00' + '08000200' + '04001200')).toBe(true);
  });

  it('names, kinds and ports', () => {
    expect(tunnelDeviceName({ type: 'vxlan' })).toBe('vxlan_sys_4789');
    expect(tunnelDeviceName({ type: 'vxlan', dstPort: 65535 })).toBe('vxlan_sys_65535');
    expect(tunnelDeviceName({ type: 'geneve', dstPort: 7000 })).toBe('genev_sys_7000');
    expect(tunnelDeviceName({ type: 'gre', dstPort: 7000 })).toBe('gre_sys');
    expect(tunnelKind('gre')).toBe('gretap');
    expect(tunnelPort({ type: 'gre' })).toBeUndefined();
    expect(() => tunnelPort({ type: 'vxlan', dstPort: 0 })).toThrow(/not a UDP port/);
    expect(() => tunnelDeviceName({ type: 'lisp' as 'gre' })).toThrow(/unknown tunnel type/);
    expect(() => checkRemoteIp({ type: 'vxlan', remoteIp: 'x' })).toThrow("vxlan type requires valid 'remote_ip' argument");
    for (const r of [undefined, 'flow', '10.0.0.1', 'fd00::1']) expect(() => checkRemoteIp({ type: 'geneve', remoteIp: r })).not.toThrow();
  });
});

describe('a recorded RTM_NEWLINK reply (vxlan_sys_4789 on the 6.1 kernel)', () => {
  const link = decodeLink(reply(VXLAN_LINK_REPLY));

  it('decodes the header, name, MTU, kind and addresses', () => {
    expect(link).toMatchObject({ ifindex: 5, name: 'vxlan_sys_4789', type: 1, up: true, mtu: 65000, minMtu: 68, maxMtu: 65535, kind: 'vxlan' });
    expect(link.flags & 0x10000).toBeTruthy(); // IFF_LOWER_UP
    expect(link.address).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(link.master).toBeUndefined();
  });

  it('reads the tunnel settings OVS sets and verifies', () => {
    expect(describeTunnelDevice(link)).toEqual({ kind: 'vxlan', external: true, dstPort: 4789, learning: false, udpZeroCsum6Rx: true, gbp: false });
    expect(tunnelMismatch(link, { type: 'vxlan' })).toBeUndefined();
    expect(tunnelMismatch(link, { type: 'vxlan', dstPort: 4790 })).toBe('listens on UDP port 4789, not 4790');
    expect(tunnelMismatch(link, { type: 'geneve' })).toBe('is of kind vxlan, not geneve');
  });

  it('explains each mismatch OVS checks', () => {
    const base: Link = { ...link };
    const without = (type: number): Link => ({ ...base, infoData: base.infoData!.filter((a) => a.type !== type) });
    expect(tunnelMismatch(without(25), { type: 'vxlan' })).toMatch(/external/);
    expect(tunnelMismatch(without(7), { type: 'vxlan' })).toMatch(/learning/);
    expect(tunnelMismatch(without(20), { type: 'vxlan' })).toMatch(/udp6zerocsumrx/);
    expect(describeTunnelDevice({ ...base, kind: 'veth' })).toBeUndefined();
  });
});

describe('other requests', () => {
  it('veth: the peer is a struct ifinfomsg and its own attributes inside VETH_INFO_PEER', () => {
    const h = hex(vethRequest({ name: 'va', peer: 'vb', up: true }, 7));
    expect(h.slice(32, 64)).toBe('00000000' + '00000000' + '01000000' + '01000000'); // this end: IFF_UP
    // IFLA_LINKINFO { KIND "veth", DATA { VETH_INFO_PEER { ifinfomsg (no flags), IFLA_IFNAME vb, IFLA_NET_NS_FD 7 } } }
    expect(h).toContain('09000100' + hex(Buffer.from('veth\0')) + '000000' + '28000200' + '24000100' + '00'.repeat(16) + '07000300' + hex(Buffer.from('vb\0')) + '00' + '08001c00' + '07000000');
  });

  it('link names as the kernel takes them', () => {
    expect(validLinkName('vxlan_sys_65535')).toBe(true);
    expect(validLinkName('x'.repeat(16))).toBe(false);
    for (const bad of ['', '.', '..', 'a b', 'a/b', 'a:b']) expect(validLinkName(bad)).toBe(false);
    expect(() => newLinkRequest({ name: 'a/b', kind: 'dummy' })).toThrow(/invalid interface name/);
  });

  it('decodeLink throws only MalformedError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (payload) => {
        try {
          decodeLink({ type: RTM_NEWLINK, flags: 0, seq: 0, pid: 0, payload });
        } catch (e) {
          expect(e).toBeInstanceOf(MalformedError);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('linkRequest frames a message that parses back', () => {
    const [m] = parseMessages(linkRequest(RTM_NEWLINK, 0, { index: 3, flags: 1, change: 1 }));
    expect(m.payload.length).toBe(16);
    expect(decodeLink(m)).toMatchObject({ ifindex: 3, up: true, name: '' });
  });
});
