// The CLI's pure pieces: ovs-dpctl's datapath order (OVS's string hash and
// hmap), C's %.Nf rounding, dump-flows filters (OVS's own filter vectors),
// flow-file lines, IFACE arguments, port types and tunnel configuration.
import { describe, expect, it } from 'vitest';
import { ovsHashString, ssetOrder } from '../../src/cli/ovs-order.js';
import { cFixed } from '../../src/cli/cfmt.js';
import { compileFilter } from '../../src/cli/filter.js';
import { parseFlowLine } from '../../src/cli/flow-file.js';
import { checkTunnelConfig, parseIface } from '../../src/cli/ports.js';
import { portConfig, portType, portTypeSuffix } from '../../src/cli/port-types.js';
import { parseDpName } from '../../src/cli/dpname.js';
import { splitUfid, parsePut, parseDel } from '../../src/cli/flow-text.js';
import { parseHexPacket, frameFromKey } from '../../src/cli/execute.js';
import { Ctx } from '../../src/cli/context.js';
import { bufferIo } from '../../src/cli/io.js';
import { parseOdpFlow } from '../../src/odp/index.js';
import { parsePacket } from '../../src/packet/index.js';

describe('ovs-dpctl datapath order', () => {
  it('hashes strings as OVS hash_string does (values from OVS lib/hash.c built here)', () => {
    const expected: [string, number][] = [
      ['', 0],
      ['a', 721651713],
      ['ab', 1930404461],
      ['abc', 767105082],
      ['abcd', 1139631978],
      ['ovs-system', 2413374454],
      ['system@d1', 2736899183],
      ['d1', 1544099767],
      ['calpha1230', 1020518949],
    ];
    for (const [s, h] of expected) expect([s, ovsHashString(s)]).toEqual([s, h]);
  });

  it('walks an sset bucket by bucket, newest first in a bucket, across growth', () => {
    expect(ssetOrder([])).toEqual([]);
    expect(ssetOrder(['only'])).toEqual(['only']);
    const names = Array.from({ length: 40 }, (_, i) => `dp${i}`);
    const order = ssetOrder(names);
    expect([...order].sort()).toEqual([...names].sort());
    // 40 names: 32 buckets; bucket index ascending through the walk.
    const buckets = order.map((n) => ovsHashString(n) & 31);
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
    expect(ssetOrder(['x', 'x'])).toEqual(['x']);
  });
});

describe('printf %.Nf', () => {
  it('rounds the exact binary value, ties to even, like glibc', () => {
    expect(cFixed(1.25, 1)).toBe('1.2');
    expect(cFixed(1.35, 1)).toBe('1.4'); // 1.35 is 1.350000000000000088...
    expect(cFixed(0.125, 2)).toBe('0.12');
    expect(cFixed(0.375, 2)).toBe('0.38');
    expect(cFixed(0, 2)).toBe('0.00');
    expect(cFixed(0.78, 2)).toBe('0.78');
    expect(cFixed(7.6923076923, 2)).toBe('7.69');
    expect(cFixed(1160 / 1024, 1)).toBe('1.1');
    expect(cFixed(123456789.5, 0)).toBe('123456790');
  });
});

describe('dump-flows filter= (OVS tests/odp.at "wildcarded key filtering")', () => {
  const B = [
    'in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x1234/0xfff0)',
    'in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x0800),ipv4(src=35.8.2.41/255.255.255.0,dst=172.16.0.20/255.255.255.0,proto=5/0xf0,tos=0x80/0xf0,ttl=128/0xf0,frag=no)',
    'in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x0800),ipv4(src=35.8.2.41,dst=172.16.0.20,proto=6,tos=0,ttl=128,frag=no),tcp(src=80/0xff00,dst=8080/0xff)',
    'in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x0800),ipv4(src=35.8.2.41,dst=172.16.0.20,proto=17,tos=0,ttl=128,frag=no),udp(src=81/0xff00,dst=6632/0xff)',
    'in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x0800),ipv4(src=35.8.2.41,dst=172.16.0.20,proto=17,tos=0,ttl=128,frag=no),udp(src=81/0xff,dst=6632/0xff00)',
    'in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x0800),ipv4(src=35.8.2.41,dst=172.16.0.20,proto=1,tos=0,ttl=128,frag=no),icmp(type=1/0xf0,code=2/0xff)',
    'in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x86dd),ipv6(src=::1/::255,dst=::2/::255,label=0/0xf0,proto=10/0xf0,tclass=0x70/0xf0,hlimit=128/0xf0,frag=no)',
    'in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x86dd),ipv6(src=::1,dst=::2,label=0,proto=6,tclass=0,hlimit=128,frag=no),tcp(src=80/0xff00,dst=8080/0xff)',
    'in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x0806),arp(sip=1.2.3.4/255.255.255.250,tip=5.6.7.8/255.255.255.250,op=1/0xf0,sha=00:0f:10:11:12:13/ff:ff:ff:ff:ff:00,tha=00:14:15:16:17:18/ff:ff:ff:ff:ff:00)',
  ];
  const V = [
    'in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x8100),vlan(vid=99,pcp=7),encap(eth_type(0x0800),ipv4(src=35.8.2.41,dst=172.16.0.20,proto=6,tos=0,ttl=128,frag=no),tcp(src=80/0xff00,dst=8080/0xff))',
    'in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x8100),vlan(vid=100,pcp=7),encap(eth_type(0x0800),ipv4(src=35.8.2.41,dst=172.16.0.20,proto=6,tos=0,ttl=128,frag=no),tcp(src=80/0xff00,dst=8080/0xff))',
    'in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x8100),vlan(vid=99,pcp=7),encap(eth_type(0x0800),ipv4(src=35.8.2.41,dst=172.16.0.20,proto=17,tos=0,ttl=128,frag=no),udp(src=81/0xff00,dst=6632/0xff))',
    'in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x8100),vlan(vid=100,pcp=7),encap(eth_type(0x0800),ipv4(src=35.8.2.41,dst=172.16.0.20,proto=17,tos=0,ttl=128,frag=no),udp(src=81/0xff00,dst=6632/0xff))',
  ];
  const table: [string, string[], number[]][] = [
    ['dl_type=0x1235', B, [1]],
    ['dl_vlan=99', V, [1, 3]],
    ['dl_vlan=99,ip', V, [1, 3]],
    ['ip,nw_src=35.8.2.199', B, [2]],
    ['ip,nw_dst=172.16.0.199', B, [2]],
    ['dl_type=0x0800,nw_src=35.8.2.199,nw_dst=172.16.0.199', B, [2]],
    ['icmp,nw_src=35.8.2.199', B, [2]],
    ['arp,arp_spa=1.2.3.5', B, [9]],
    ['tcp,tp_src=90', B, [2, 3]],
    ['tcp6,tp_src=90', B, [7, 8]],
    // Not in odp.at: a VLAN filter never matches flows without a tag.
    ['dl_vlan=99', B, []],
  ];
  for (const [filter, lines, expected] of table) {
    it(`${filter} → lines ${expected.join(', ') || 'none'}`, () => {
      const f = compileFilter(filter, new Map());
      const passed = lines.flatMap((l, i) => {
        const { key, mask } = parseOdpFlow(l);
        return f(key, mask) ? [i + 1] : [];
      });
      expect(passed).toEqual(expected);
    });
  }

  it('refuses what parse_ofp_exact_flow refuses, with its words', () => {
    const err = (s: string) => {
      try {
        compileFilter(s, new Map());
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(err('nosuch=1')).toBe('nosuch=1: unknown field nosuch');
    expect(err('tp_src=1')).toBe('tp_src=1: prerequisites not met for setting tp_src');
    expect(err('udp,tp_src=1')).toBe('udp,tp_src=1: prerequisites not met for setting tp_src');
    expect(err('ip,ip')).toBe('ip,ip: Ethernet type set multiple times');
    expect(err('ip,nw_src=1.2.3.4/8')).toBe('ip,nw_src=1.2.3.4/8: bad value for nw_src (1.2.3.4/8: wildcards not allowed here)');
    expect(err('in_port=eth9')).toMatch(/bad value for in_port/);
    expect(compileFilter('in_port=eth9', new Map([['eth9', 3]]))({ inPort: 3 }, { inPort: 0xffffffff })).toBe(true);
  });
});

describe('flow files', () => {
  it('split lines as dpctl_parse_flow_line does', () => {
    expect(parseFlowLine('in_port(1),eth() 2', 'add')).toEqual({ cmd: 'add', flow: 'in_port(1),eth()', actions: '2' });
    expect(parseFlowLine('  delete in_port(1)', 'add')).toEqual({ cmd: 'delete', flow: 'in_port(1)' });
    expect(parseFlowLine('mod in_port(1) 1,2', 'add')).toEqual({ cmd: 'modify', flow: 'in_port(1)', actions: '1,2' });
    expect(parseFlowLine('d in_port(1)', 'add')).toEqual({ cmd: 'delete', flow: 'in_port(1)' });
    expect(parseFlowLine('a in_port(1) 2', 'delete')).toEqual({ cmd: 'add', flow: 'in_port(1)', actions: '2' });
    // A line starting with a comma is an "add" of what follows.
    expect(parseFlowLine(',in_port(1) 2', 'delete')).toEqual({ cmd: 'add', flow: ',in_port(1)', actions: '2' });
    expect(parseFlowLine('addx in_port(1) 2', 'delete')).toEqual({ cmd: 'delete', flow: 'addx', actions: 'in_port(1) 2' });
    expect(parseFlowLine('in_port(1) 2\r', 'add')).toEqual({ cmd: 'add', flow: 'in_port(1)', actions: '2\r' });
    expect(parseFlowLine('\r', 'add')).toEqual({ cmd: 'add' });
  });

  it('reads ufid: prefixes as odp_ufid_from_string does', () => {
    expect(splitUfid('in_port(1)')).toEqual({ rest: 'in_port(1)' });
    expect(splitUfid('ufid:1234,in_port(1)').error).toBe(true);
    const u = splitUfid('ufid:11111111-2222-3333-4444-555555555555,in_port(1)');
    expect(u.rest).toBe(',in_port(1)');
    expect(u.ufid).toHaveLength(16);
  });

  it('parse puts and deletes into attribute bytes, with ovs-dpctl error lines', () => {
    const ports = new Map([['eth0', 1]]);
    const p = parsePut('in_port(eth0),eth(),eth_type(0x0800),ipv4(src=10.0.0.1,frag=no)', '2', ports);
    expect('error' in p).toBe(false);
    expect(parsePut('in_port(1),eth(),eth_type(0x0800),ipv4(src=10.2.0.0/16,frag=no)', '2', ports)).toEqual({
      error: 'parsing flow key (syntax error at ipv4(src=10.2.0.0/16,frag=no)) (Invalid argument)',
    });
    expect(parsePut('in_port(1)', 'eth0', ports)).toEqual({ error: 'parsing actions (Invalid argument)' });
    expect(parsePut('ufid:xyz in_port(1)', '2', ports)).toEqual({ error: 'parsing flow ufid (Invalid argument)' });
    expect(parseDel('garbage(1)', ports)).toEqual({ error: 'syntax error at garbage(1) (Invalid argument)' });
    // The Dpif's scan for userspace-only attributes is skipped only where the
    // scanner made the key and the actions hold none (lb_output and tnl_pop are OVS userspace's).
    const fast = 'in_port(1),eth(),eth_type(0x0800),ipv4(src=10.0.0.1,frag=no)';
    expect(parsePut(fast, '2', ports)).toMatchObject({ kernelChecked: true });
    expect(parsePut(fast, 'lb_output(1)', ports)).toMatchObject({ kernelChecked: false });
    expect(parsePut(fast, 'tnl_pop(3)', ports)).toMatchObject({ kernelChecked: false });
    expect(parsePut('in_port(1),eth(),eth_type(0x0800),ipv4(src=10.0.0.1,tos=0x1/0x3,frag=no),tcp_flags(syn)', '2', ports)).toMatchObject({ kernelChecked: false });
    const drop = parsePut('in_port(1)', 'drop', ports) as { actions: Uint8Array };
    expect(drop.actions).toHaveLength(0);
    const byUfid = parseDel('ufid:11111111-2222-3333-4444-555555555555', ports) as { ufid?: Uint8Array; key?: Uint8Array };
    expect(byUfid.key).toBeUndefined();
    expect(byUfid.ufid).toHaveLength(16);
  });
});

describe('datapath names and ports', () => {
  it('reads [type@]name as dp_parse_name does', () => {
    expect(parseDpName('d1')).toEqual({ type: 'system', name: 'd1' });
    expect(parseDpName('system@d1')).toEqual({ type: 'system', name: 'd1' });
    expect(parseDpName('netdev@x')).toEqual({ type: 'netdev', name: 'x' });
    expect(parseDpName('system@')).toEqual({ type: 'system', name: 'system' });
  });

  it('reads IFACE arguments as dpctl_add_if does', () => {
    const io = bufferIo();
    const ctx = new Ctx(io, {});
    expect(parseIface(ctx, 'eth0')).toEqual({ name: 'eth0', type: 'system', options: [] });
    expect(parseIface(ctx, 'vx,type=vxlan,remote_ip=flow,,port_no=5,key=')).toEqual({ name: 'vx', type: 'vxlan', portNo: 5, options: [['remote_ip', 'flow'], ['key', '']] });
    expect(parseIface(ctx, ',,')).toBeUndefined();
    parseIface(ctx, 'p,a=1,a=2');
    expect(io.err()).toBe('ovsnl: duplicate "a" option\n');
  });

  it('names port types and tunnel configuration as a fresh ovs-dpctl does', () => {
    expect(portType({ type: 1, name: 'eth0' })).toBe('system');
    expect(portType({ type: 1, name: 'vxlan_sys_4789' })).toBe('vxlan');
    expect(portType({ type: 1, name: 'genev_sys_6081' })).toBe('geneve');
    expect(portType({ type: 1, name: 'gre_sys' })).toBe('gre');
    expect(portType({ type: 2, name: 'br0' })).toBe('internal');
    expect(portType({ type: 4, name: 'vx0' })).toBe('vxlan');
    expect(portTypeSuffix('eth0', 'system')).toBe('');
    expect(portTypeSuffix('br0', 'internal')).toBe(' (internal)');
    expect(portTypeSuffix('vxlan_sys_4789', 'vxlan')).toBe(' (vxlan: packet_type=ptap)');
    expect(portTypeSuffix('vxlan_sys_4790', 'vxlan')).toBe(' (vxlan: dst_port=4790, packet_type=ptap)');
    expect(portTypeSuffix('gre_sys', 'gre')).toBe(' (gre: packet_type=ptap)');
    expect(portConfig('genev_sys_6081', 'geneve')).toEqual([['packet_type', 'ptap']]);
  });

  it('checks tunnel options as set_tunnel_config does', () => {
    expect(checkTunnelConfig('vx0', 'vxlan', [])).toEqual({ warnings: [], error: "vx0: vxlan type requires valid 'remote_ip' argument" });
    expect(checkTunnelConfig('vx0', 'vxlan', [['remote_ip', 'flow'], ['dst_port', '4790']])).toEqual({ warnings: [], dstPort: 4790 });
    // exts: gbp makes the device with the group policy extension; OVS warns of an unknown one and goes on.
    expect(checkTunnelConfig('vx0', 'vxlan', [['remote_ip', 'flow'], ['exts', 'gbp']])).toEqual({ warnings: [], gbp: true });
    expect(checkTunnelConfig('vx0', 'vxlan', [['remote_ip', 'flow'], ['exts', 'gbq']])).toEqual({ warnings: ["vx0: unknown extension 'gbq'"] });
    expect(checkTunnelConfig('gn0', 'geneve', [['remote_ip', 'flow'], ['exts', 'gbp']])).toEqual({ warnings: ["gn0: unknown geneve argument 'exts'"] });
    expect(checkTunnelConfig('g', 'gre', [['remote_ip', '10.0.0.1'], ['bogus', '1']])).toEqual({ warnings: ["g: unknown gre argument 'bogus'"], dstPort: undefined });
    expect(checkTunnelConfig('g', 'geneve', [['remote_ip', 'nope']]).warnings).toEqual(["g: bad geneve 'remote_ip'"]);
  });
});

describe('execute', () => {
  it('takes a packet in hex, or builds it from a flow', () => {
    expect(parseHexPacket('0x0a0b')).toEqual(new Uint8Array([10, 11]));
    expect(parseHexPacket('0a 0b:0c')).toEqual(new Uint8Array([10, 11, 12]));
    expect(parseHexPacket('0a0')).toBeUndefined();
    expect(parseHexPacket('in_port(1)')).toBeUndefined();
    const { key } = parseOdpFlow('in_port(1),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,ttl=64,frag=no),udp(src=1000,dst=53)');
    const frame = frameFromKey(key);
    expect(frame.length).toBeGreaterThanOrEqual(60);
    const p = parsePacket(frame);
    expect(p.tpDst).toBe(53);
  });
});
