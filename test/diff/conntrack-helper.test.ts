// The FTP and TFTP helpers, kernel (nf_conntrack_ftp and nf_conntrack_tftp,
// which the test VM loads) vs fallback. FTP: the same FTP control connection through ct(commit,alg=ftp) on
// both datapaths, its commands and replies segment by segment, and after
// each announcement the data connection's first packet through
// `ct(zone),recirc(R)` with no flow for R, so that it comes back as a MISS
// upcall whose key says what conntrack made of it. Announced data
// connections are related (+rel) and carry the control connection's tuple
// as their ct_tuple; unannounced ones, and ones announced in ways the
// kernel's helper does not read (the first segment of a direction, another
// host's address), are new. TFTP: a read request through
// ct(commit,alg=tftp) announces the server's answer from another port; a
// request of another kind announces nothing.
import { afterAll, describe, expect, it } from 'vitest';
import { dumpConntrack, flushConntrack, openConntrack } from '../../src/conntrack/client.js';
import type { Connection } from '../../src/netlink/connection.js';
import { encodeActions } from '../../src/ovs/action-codec.js';
import type { Action } from '../../src/ovs/actions.js';
import { decodeKey, encodeKey } from '../../src/ovs/key-codec.js';
import type { FlowKey } from '../../src/ovs/keys.js';
import { buildFrame } from '../../src/packet/build.js';
import { bytesOf, useSides, waitFor, type Side } from './harness.js';

const sides = useSides('dft', 'nf_conntrack_ftp', 'nf_conntrack_tftp');
let kernelCt: Connection | undefined;
afterAll(() => kernelCt?.close());
const tracker = (s: Side): Connection => (s.label === 'fallback' ? s.dpif.conn : (kernelCt ??= openConntrack()));
const A = '10.98.0.1';
const B = '10.98.0.2';
const ZONE4 = 12;
const ZONE6 = 14;
const R = 7;
const CTL_PORT = 40000;
const SYN = 0x02;
const ACK = 0x10;
const PSH = 0x08;

/** A flow on in_port and TCP (or UDP) ports, exact where given, over IPv4 (or IPv6), with these actions. */
async function flowOf(s: Side, inPort: number, ports: { src?: number; dst?: number }, actions: Action[], udp = false, v6 = false): Promise<void> {
  const l4 = (src: number, dst: number): FlowKey => (udp ? { udp: { src, dst } } : { tcp: { src, dst }, tcpFlags: 0 });
  const l3 = (proto: number, frag: number): FlowKey =>
    v6 ? { ipv6: { src: '::', dst: '::', label: 0, proto, tclass: 0, hlimit: 0, frag } } : { ipv4: { src: '0.0.0.0', dst: '0.0.0.0', proto, tos: 0, ttl: 0, frag } };
  const key: FlowKey = { recircId: 0, inPort, ethernet: { src: '00:00:00:00:00:00', dst: '00:00:00:00:00:00' }, ethertype: v6 ? 0x86dd : 0x0800, ...l3(udp ? 17 : 6, 0), ...l4(ports.src ?? 0, ports.dst ?? 0) };
  const mask: FlowKey = { recircId: 0xffffffff, inPort: 0xffffffff, ethernet: { src: '00:00:00:00:00:00', dst: '00:00:00:00:00:00' }, ethertype: 0xffff, ...l3(0xff, 0xff), ...l4(ports.src === undefined ? 0 : 0xffff, ports.dst === undefined ? 0 : 0xffff) };
  await s.dpif.putFlow(s.dp, { key: bytesOf((w) => encodeKey(w, key)), mask: bytesOf((w) => encodeKey(w, mask)), actions: bytesOf((w) => encodeActions(w, actions)) });
}

const A6 = 'fd00:98::1';
const B6 = 'fd00:98::2';

const frameOf = (fromA: boolean, src: number, dst: number, flags: number, seq: number, ack: number, text = '', v6 = false) =>
  buildFrame({
    src: fromA ? '02:98:00:00:00:01' : '02:98:00:00:00:02',
    dst: fromA ? '02:98:00:00:00:02' : '02:98:00:00:00:01',
    l3: v6 ? { kind: 'ipv6', src: fromA ? A6 : B6, dst: fromA ? B6 : A6 } : { kind: 'ipv4', src: fromA ? A : B, dst: fromA ? B : A },
    l4: { kind: 'tcp', src, dst, flags, seq, ack, window: 29200 },
    payload: Buffer.from(text, 'latin1'),
  });

/** One side's run (over IPv4, or IPv6): the ct fields of each data connection's first packet, by its name, and the table. */
async function run(s: Side, v6 = false): Promise<Record<string, unknown>> {
  const ZONE = v6 ? ZONE6 : ZONE4;
  const [a, b] = v6 ? [A6, B6] : [A, B];
  const flow = (x: Side, inPort: number, ports: { src?: number; dst?: number }, actions: Action[]) => flowOf(x, inPort, ports, actions, false, v6);
  const frame = (fromA: boolean, src: number, dst: number, flags: number, seq: number, ack: number, text = '') => frameOf(fromA, src, dst, flags, seq, ack, text, v6);
  await s.dpif.flushFlows(s.dp);
  await flushConntrack(tracker(s), { zone: ZONE });
  s.upcalls.length = 0;
  // Control connection: client A to server B port 21, and the replies.
  // The control connection gets a mark and labels, which its data connections inherit.
  await flow(s, s.inPort, { dst: 21 }, [{ type: 'ct', commit: true, zone: ZONE, helper: 'ftp', mark: { value: 0x2a, mask: 0xff }, labels: { value: 0x5n, mask: 0xffn } }, { type: 'output', port: s.outPort }]);
  await flow(s, s.outPort, { src: 21 }, [{ type: 'ct', zone: ZONE }, { type: 'output', port: s.inPort }]);
  // Data connections: active ones from B port 20, passive ones to B's ports 30000-30001; each is committed and misses after ct().
  const data: Action[] = [{ type: 'ct', commit: true, zone: ZONE }, { type: 'recirc', id: R }];
  await flow(s, s.outPort, { src: 20 }, data);
  await flow(s, s.inPort, { dst: 30000 }, data);
  await flow(s, s.inPort, { dst: 30001 }, data);

  let c = 1000; // client's next sequence number
  let v = 5000; // server's
  const fromClient = async (text: string) => {
    await s.input.send([frame(true, CTL_PORT, 21, ACK | PSH, c, v, text)]);
    c += text.length;
    await pause();
  };
  const fromServer = async (text: string) => {
    await s.output.send([frame(false, 21, CTL_PORT, ACK | PSH, v, c, text)]);
    v += text.length;
    await pause();
  };
  const dataSyn = async (fromA: boolean, src: number, dst: number) => {
    await (fromA ? s.input : s.output).send([frame(fromA, src, dst, SYN, 77000, 0)]);
    await pause();
  };

  await s.input.send([frame(true, CTL_PORT, 21, SYN, c++, 0)]);
  await pause();
  await s.output.send([frame(false, 21, CTL_PORT, SYN | ACK, v++, c)]);
  await pause();
  await s.input.send([frame(true, CTL_PORT, 21, ACK, c, v)]);
  await pause();
  // The first segment of each direction is not read (no line end seen before it).
  await fromServer('220 ready\r\n');
  await fromClient(v6 ? 'EPRT |2|fd00:98::1|40008|\r\n' : 'PORT 10,98,0,1,156,72\r\n');
  await dataSyn(false, 20, 40008); // "first segment"
  await fromServer('200 ok\r\n');
  // Active mode: PORT, then the server connects from port 20 (over IPv6, PORT's IPv4 address is not the sender's).
  await fromClient('PORT 10,98,0,1,156,65\r\n');
  await fromServer('200 PORT command successful\r\n');
  await dataSyn(false, 20, 40001); // "PORT"
  // Passive mode: PASV and the 227 reply, then the client connects.
  await fromClient('PASV\r\n');
  await fromServer('227 Entering Passive Mode (10,98,0,2,117,48).\r\n');
  await dataSyn(true, 40002, 30000); // "PASV"
  // Extended: EPRT and EPSV.
  await fromClient(v6 ? 'EPRT |2|fd00:98::1|40005|\r\n' : 'EPRT |1|10.98.0.1|40005|\r\n');
  await fromServer('200 EPRT command successful\r\n');
  await dataSyn(false, 20, 40005); // "EPRT"
  await fromClient('EPSV\r\n');
  await fromServer('229 Entering Extended Passive Mode (|||30001|)\r\n');
  await dataSyn(true, 40006, 30001); // "EPSV"
  // Another host's address is not expected; nor is a port nobody announced.
  await fromClient(v6 ? 'EPRT |2|fd00:98::77|40003|\r\n' : 'PORT 10,98,0,77,156,67\r\n');
  await fromServer('200 ok\r\n');
  await dataSyn(false, 20, 40003); // "foreign address"
  await dataSyn(false, 20, 40009); // "unannounced"

  const names: Record<number, string> = { 40008: 'first segment', 40001: 'PORT', 40002: 'PASV', 40005: 'EPRT', 40006: 'EPSV', 40003: 'foreign address', 40009: 'unannounced' };
  const misses = () => s.upcalls.filter((u) => u.kind === 'miss' && decodeKey(u.key).recircId === R);
  await waitFor(() => misses().length >= 7, 8000);
  const out: Record<string, unknown> = {};
  for (const u of misses()) {
    const k = decodeKey(u.key);
    const port = k.tcp!.src === 20 ? k.tcp!.dst : k.tcp!.src;
    out[names[port] ?? `port ${port}`] = { ctState: k.ctState, ctZone: k.ctZone, ctMark: k.ctMark ?? 0, ctLabels: String(k.ctLabels ?? 0n), tuple: v6 ? k.ctOrigTupleIpv6 : k.ctOrigTupleIpv4 };
  }
  // The table: the control connection with its helper (IPS_HELPER in its status), the related ones as expected (IPS_EXPECTED).
  const table = (await dumpConntrack(tracker(s), { zone: ZONE })).filter((e) => e.orig.src === a || e.orig.src === b);
  out.table = table.map((e) => ({ orig: e.orig, status: e.status, helper: e.helper, mark: e.mark ?? 0 })).sort((x, y) => (x.orig.srcPort ?? 0) - (y.orig.srcPort ?? 0) || (x.orig.dstPort ?? 0) - (y.orig.dstPort ?? 0));
  await s.dpif.flushFlows(s.dp);
  return out;
}

const pause = () => new Promise((r) => setTimeout(r, 120));

describe('the FTP helper, kernel vs fallback', () => {
  it('relates the data connections the control connection announced, and no others', async () => {
    const got: Record<string, Record<string, unknown>> = {};
    for (const s of sides) got[s.label] = await run(s);
    const NEW = 0x01, REL = 0x04, TRK = 0x20;
    const k = got.kernel;
    const control = { src: A, dst: B, srcPort: CTL_PORT, dstPort: 21, proto: 6 };
    // The kernel's answers, stated.
    for (const name of ['PORT', 'PASV', 'EPRT', 'EPSV']) expect([name, k[name]]).toEqual([name, { ctState: TRK | NEW | REL, ctZone: ZONE4, ctMark: 0x2a, ctLabels: '5', tuple: control }]);
    for (const name of ['first segment', 'foreign address', 'unannounced']) expect([name, k[name]]).toMatchObject([name, { ctState: TRK | NEW, ctMark: 0, ctLabels: '0' }]);
    const rows = k.table as { orig: { srcPort: number }; status: number; helper?: string; mark: number }[];
    expect(rows.find((e) => e.orig.srcPort === CTL_PORT)).toEqual({ orig: { family: 2, proto: 6, src: A, dst: B, srcPort: CTL_PORT, dstPort: 21 }, status: 0x200e, helper: 'ftp', mark: 0x2a });
    // Committed related connections: expected (1) and confirmed (8), not yet answered.
    expect(rows.filter((e) => e.status & 1).map((e) => [e.status, e.mark])).toEqual([...Array(4)].map(() => [0x9, 0x2a]));
    expect(got.fallback).toEqual(k);
  }, 90_000);

  it('over IPv6: EPRT and EPSV only (PORT and 227 carry an IPv4 address, not the sender\'s)', async () => {
    const got: Record<string, Record<string, unknown>> = {};
    for (const s of sides) got[s.label] = await run(s, true);
    const NEW = 0x01, REL = 0x04, TRK = 0x20;
    const k = got.kernel;
    const control = { src: A6, dst: B6, srcPort: CTL_PORT, dstPort: 21, proto: 6 };
    for (const name of ['EPRT', 'EPSV']) expect([name, k[name]]).toEqual([name, { ctState: TRK | NEW | REL, ctZone: ZONE6, ctMark: 0x2a, ctLabels: '5', tuple: control }]);
    for (const name of ['first segment', 'PORT', 'PASV', 'foreign address', 'unannounced']) expect([name, k[name]]).toMatchObject([name, { ctState: TRK | NEW }]);
    expect(got.fallback).toEqual(k);
  }, 90_000);
});

const TFTP_ZONE = 13;

/** One side's TFTP run: the ct fields of each reply's first packet, and the table. */
async function runTftp(s: Side): Promise<Record<string, unknown>> {
  await s.dpif.flushFlows(s.dp);
  await flushConntrack(tracker(s), { zone: TFTP_ZONE });
  await flowOf(s, s.inPort, { dst: 69 }, [{ type: 'ct', commit: true, zone: TFTP_ZONE, helper: 'tftp' }, { type: 'output', port: s.outPort }], true);
  await flowOf(s, s.outPort, { src: 50000 }, [{ type: 'ct', zone: TFTP_ZONE }, { type: 'recirc', id: R }], true);
  const dgram = (fromA: boolean, src: number, dst: number, payload: Uint8Array) =>
    buildFrame({ src: fromA ? '02:98:00:00:00:01' : '02:98:00:00:00:02', dst: fromA ? '02:98:00:00:00:02' : '02:98:00:00:00:01', l3: { kind: 'ipv4', src: fromA ? A : B, dst: fromA ? B : A }, l4: { kind: 'udp', src, dst }, payload });
  const request = (op: number) => Uint8Array.from([0, op, ...Buffer.from('boot.img\0octet\0', 'latin1')]);
  const data = Uint8Array.from([0, 3, 0, 1, 0x42, 0x42]);
  const send = async (fromA: boolean, src: number, dst: number, payload: Uint8Array) => {
    await (fromA ? s.input : s.output).send([dgram(fromA, src, dst, payload)]);
    await pause();
  };
  // A read request, then the server's first block from its own port.
  await send(true, 41000, 69, request(1));
  await send(false, 50000, 41000, data);
  // A write request too.
  await send(true, 41001, 69, request(2));
  await send(false, 50000, 41001, data);
  // An error (opcode 5) announces nothing.
  await send(true, 41002, 69, Uint8Array.from([0, 5, 0, 1, 0]));
  await send(false, 50000, 41002, data);
  // Nor does anything to a client port nobody asked from.
  await send(false, 50000, 41009, data);
  const names: Record<number, string> = { 41000: 'RRQ', 41001: 'WRQ', 41002: 'error', 41009: 'unannounced' };
  const misses = () => s.upcalls.filter((u) => u.kind === 'miss' && decodeKey(u.key).recircId === R && decodeKey(u.key).udp !== undefined);
  await waitFor(() => misses().length >= 4, 8000);
  const out: Record<string, unknown> = {};
  for (const u of misses()) {
    const k = decodeKey(u.key);
    out[names[k.udp!.dst] ?? `port ${k.udp!.dst}`] = { ctState: k.ctState, ctZone: k.ctZone, tuple: k.ctOrigTupleIpv4 };
  }
  const table = (await dumpConntrack(tracker(s), { zone: TFTP_ZONE })).filter((e) => e.orig.src === A || e.orig.src === B);
  out.table = table.map((e) => ({ orig: e.orig, status: e.status, helper: e.helper })).sort((x, y) => (x.orig.srcPort ?? 0) - (y.orig.srcPort ?? 0));
  await s.dpif.flushFlows(s.dp);
  return out;
}

describe('the TFTP helper, kernel vs fallback', () => {
  it("relates the server's answer to a read or write request, and nothing else", async () => {
    const got: Record<string, Record<string, unknown>> = {};
    for (const s of sides) got[s.label] = await runTftp(s);
    const NEW = 0x01, REL = 0x04, TRK = 0x20;
    const k = got.kernel;
    expect(k.RRQ).toEqual({ ctState: TRK | NEW | REL, ctZone: TFTP_ZONE, tuple: { src: A, dst: B, srcPort: 41000, dstPort: 69, proto: 17 } });
    expect(k.WRQ).toMatchObject({ ctState: TRK | NEW | REL });
    expect(k.error).toMatchObject({ ctState: TRK | NEW });
    expect(k.unannounced).toMatchObject({ ctState: TRK | NEW });
    expect((k.table as { helper?: string }[]).map((e) => e.helper)).toEqual(['tftp', 'tftp', 'tftp']);
    expect(got.fallback).toEqual(k);
  }, 90_000);
});
