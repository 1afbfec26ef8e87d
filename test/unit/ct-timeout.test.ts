// Conntrack timeout policies: the nfnetlink_cttimeout codec, the daemon's
// service (what it answers, kept apart from the kernel comparison in
// test/diff/conntrack-timeout.test.ts), the binding of ct(timeout=NAME) to
// a flow's protocol, and the tracker's timers under a policy.
import { describe, expect, it } from 'vitest';
import { AF_INET, AF_INET6, IPCTNL_MSG_TIMEOUT_DELETE, IPCTNL_MSG_TIMEOUT_GET, IPCTNL_MSG_TIMEOUT_NEW, NFNL_SUBSYS_CTNETLINK_TIMEOUT, nfnlType } from '../../src/conntrack/constants.js';
import { decodeTimeoutPolicy, readTimeoutData, timeoutMessage, writeTimeoutData, writeTimeoutPolicy, type TimeoutPolicy } from '../../src/conntrack/timeout.js';
import { AttrWriter } from '../../src/netlink/attr.js';
import { NLM_F_ACK, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE, NLMSG_ERROR } from '../../src/netlink/constants.js';
import { parseMessages, type NlMessage } from '../../src/netlink/message.js';
import type { Action, CtAction } from '../../src/ovs/actions.js';
import { buildFrame, parsePacket } from '../../src/packet/index.js';
import { ConnTracker } from '../../src/userspace/conntrack.js';
import { bindTimeoutPolicies, serveCttimeout, TimeoutPolicies, timeoutPolicyOf, type CttimeoutEnv } from '../../src/userspace/ct-timeout.js';

const UDP: TimeoutPolicy = { name: 'tp_udp', l3proto: AF_INET, l4proto: 17, timeouts: { unreplied: 7, replied: 70 } };
const msgOf = (bytes: Uint8Array): NlMessage => parseMessages(bytes)[0];

describe('the cttimeout codec', () => {
  it('writes a policy as ctnl_timeout_fill_info does and reads it back', () => {
    const m = msgOf(timeoutMessage(IPCTNL_MSG_TIMEOUT_NEW, 0, (w) => writeTimeoutPolicy(w, { ...UDP, use: 3 })));
    expect(m.type).toBe(nfnlType(NFNL_SUBSYS_CTNETLINK_TIMEOUT, IPCTNL_MSG_TIMEOUT_NEW));
    // nfgenmsg: AF_UNSPEC, version 0, res_id 0; then the name with its NUL.
    expect([...m.payload.subarray(0, 4)]).toEqual([0, 0, 0, 0]);
    expect(Buffer.from(m.payload.subarray(8, 15)).toString()).toBe('tp_udp\0');
    expect(decodeTimeoutPolicy(m)).toEqual({ ...UDP, use: 3 });
  });

  it('numbers the states per protocol, big-endian seconds, and refuses names it does not know', () => {
    const w = new AttrWriter(64);
    writeTimeoutData(w, 6, { established: 300, unacknowledged: 9 });
    const data = w.finish().slice(4);
    // ESTABLISHED is attribute 3, UNACK 11.
    expect([...data]).toEqual([8, 0, 3, 0, 0, 0, 1, 44, 8, 0, 11, 0, 0, 0, 0, 9]);
    expect(readTimeoutData(data, 6)).toEqual({ established: 300, unacknowledged: 9 });
    expect(() => writeTimeoutData(new AttrWriter(8), 17, { established: 1 })).toThrow(/no timeout named "established"/);
    expect(() => writeTimeoutData(new AttrWriter(8), 132, {})).toThrow(/no timeout policy layout for IP protocol 132/);
    expect(() => writeTimeoutPolicy(new AttrWriter(8), { ...UDP, name: 'x'.repeat(32) })).toThrow(/1 to 31 bytes/);
  });
});

/** A daemon's cttimeout service over a list of flows' actions. */
function service(flows: Action[][] = []) {
  const policies = new TimeoutPolicies();
  const untimed: string[] = [];
  const env: CttimeoutEnv = { policies, actionLists: () => flows, untimeout: (p) => untimed.push(p.name) };
  let seq = 0;
  const ask = (cmd: number, flags: number, body: (w: AttrWriter) => void = () => {}) => serveCttimeout(msgOf(timeoutMessage(cmd, flags | NLM_F_ACK, body, { seq: ++seq })), 77, env).map(msgOf);
  const errno = (replies: NlMessage[]) => {
    const e = replies.find((r) => r.type === NLMSG_ERROR)!;
    return Math.abs(new DataView(e.payload.buffer, e.payload.byteOffset).getInt32(0, true));
  };
  const put = (p: TimeoutPolicy, flags = 0) => errno(ask(IPCTNL_MSG_TIMEOUT_NEW, flags, (w) => writeTimeoutPolicy(w, p)));
  const get = (name: string) => ask(IPCTNL_MSG_TIMEOUT_GET, 0, (w) => w.string(1, name));
  return { policies, untimed, ask, errno, put, get };
}

describe('the daemon serves cttimeout', () => {
  it('makes, replaces and reads policies; every state comes back, defaults where none was given', () => {
    const s = service();
    expect(s.put(UDP)).toBe(0);
    expect(s.put({ name: 'tp_tcp', l3proto: AF_INET6, l4proto: 6, timeouts: { established: 99 } })).toBe(0);
    const [tcp] = s.get('tp_tcp');
    expect(decodeTimeoutPolicy(tcp).timeouts).toEqual({ synSent: 120, synRecv: 60, established: 99, finWait: 120, closeWait: 60, lastAck: 30, timeWait: 120, close: 10, synSent2: 120, retrans: 300, unacknowledged: 300 });
    // Existing: EBUSY, EEXIST with NLM_F_EXCL; NLM_F_REPLACE changes it, but not its protocols.
    expect(s.put(UDP)).toBe(16);
    expect(s.put(UDP, NLM_F_EXCL)).toBe(17);
    expect(s.put({ ...UDP, timeouts: { replied: 5 } }, NLM_F_REPLACE)).toBe(0);
    expect(decodeTimeoutPolicy(s.get('tp_udp')[0]).timeouts).toEqual({ unreplied: 30, replied: 5 });
    expect(s.put({ ...UDP, l4proto: 1, timeouts: {} }, NLM_F_REPLACE)).toBe(22);
    // A dump: every policy in the order made, then DONE.
    const dump = s.ask(IPCTNL_MSG_TIMEOUT_GET, NLM_F_DUMP);
    expect(dump.filter((m) => m.type !== 3).map((m) => decodeTimeoutPolicy(m).name)).toEqual(['tp_udp', 'tp_tcp']);
    expect(s.errno(s.get('nosuch'))).toBe(2);
  });

  it('refuses what the kernel refuses', () => {
    const s = service();
    // Without its data, or for a protocol that has a tracker of its own the daemon lacks.
    expect(s.errno(s.ask(IPCTNL_MSG_TIMEOUT_NEW, 0, (w) => w.string(1, 'x')))).toBe(22);
    expect(s.errno(s.ask(IPCTNL_MSG_TIMEOUT_NEW, 0, (w) => writeTimeoutPolicy(w, { name: 'tp_gen', l3proto: AF_INET, l4proto: 255, timeouts: { timeout: 9 } })))).toBe(0);
    expect(s.errno(s.ask(IPCTNL_MSG_TIMEOUT_NEW, 0, (w) => { w.string(1, 'tp_sctp'); w.be16(2, AF_INET); w.u8(3, 132); w.nestEnd(w.nestStart(4, true)); }))).toBe(95);
    expect(s.errno(s.ask(IPCTNL_MSG_TIMEOUT_GET, 0))).toBe(22);
    expect(s.errno(s.ask(IPCTNL_MSG_TIMEOUT_DELETE, 0, (w) => w.string(1, 'nosuch')))).toBe(2);
  });

  it('counts two uses per ct() bound to a policy, and deletes it anyway, its connections back to the defaults', () => {
    const flows: Action[][] = [];
    const s = service(flows);
    s.put(UDP);
    const a: CtAction = { type: 'ct', commit: true, timeout: 'tp_udp' };
    const nested: CtAction = { type: 'ct', commit: true, timeout: 'tp_udp' };
    const udpFlow = { ethType: 0x0800, tagged: false, proto: 17, frag: 0, l3Type: 0x0800, eth: true, keyEth: true, nshNp: 0 };
    bindTimeoutPolicies([a, { type: 'clone', actions: [nested] }], udpFlow, s.policies);
    flows.push([a], [{ type: 'clone', actions: [nested] }]);
    expect(decodeTimeoutPolicy(s.get('tp_udp')[0]).use).toBe(5);
    expect(s.errno(s.ask(IPCTNL_MSG_TIMEOUT_DELETE, 0, (w) => w.string(1, 'tp_udp')))).toBe(0);
    expect(s.untimed).toEqual(['tp_udp']);
    expect(s.errno(s.get('tp_udp'))).toBe(2);
    // The flows keep it.
    expect(timeoutPolicyOf(a)?.name).toBe('tp_udp');
  });
});

describe('binding ct(timeout=NAME) when a flow is put', () => {
  const s = service();
  s.put(UDP);
  s.put({ name: 'tp_gen', l3proto: AF_INET, l4proto: 255, timeouts: { timeout: 9 } });
  const bind = (timeout: string, proto: number, l3Type = 0x0800) => {
    const a: CtAction = { type: 'ct', timeout };
    bindTimeoutPolicies([a], { ethType: l3Type, tagged: false, proto, frag: 0, l3Type, eth: true, keyEth: true, nshNp: 0 }, s.policies);
    return timeoutPolicyOf(a)?.name;
  };
  it('takes a policy for the masked protocol and family only (nf_ct_set_timeout)', () => {
    expect(bind('tp_udp', 17)).toBe('tp_udp');
    // The protocol wildcarded (0): the generic tracker's, so a generic policy and not UDP's.
    expect(bind('tp_udp', 0)).toBeUndefined();
    expect(bind('tp_gen', 0)).toBe('tp_gen');
    expect(bind('tp_gen', 17)).toBeUndefined();
    expect(bind('tp_udp', 17, 0x86dd)).toBeUndefined();
    expect(bind('nosuch', 17)).toBeUndefined();
  });
});

describe('the tracker under a policy', () => {
  let t = 0;
  const udp = (src: number) => parsePacket(buildFrame({ l3: { kind: 'ipv4', src: '10.2.0.1', dst: '10.2.0.2' }, l4: { kind: 'udp', src, dst: 53 }, payload: 8 }));
  it("times a connection by its policy, reads a replaced policy's values at the next packet, and the defaults after untimeout", () => {
    const s = service();
    s.put(UDP);
    const p = s.policies.byName.get('tp_udp')!;
    const ct = new ConnTracker({ now: () => t });
    ct.process(udp(1000), 0, {}, undefined, undefined, p);
    ct.process(udp(1001), 0, {});
    const left = () => Object.fromEntries([...ct.entries()].map((e) => [e.orig.srcPort, e.timeout]));
    expect(left()).toEqual({ 1000: 7, 1001: 30 });
    s.put({ ...UDP, timeouts: { unreplied: 11 } }, NLM_F_REPLACE);
    t += 1000;
    ct.process(udp(1000), 0);
    expect(left()[1000]).toBe(11);
    ct.untimeout(p);
    ct.process(udp(1000), 0);
    expect(left()[1000]).toBe(30);
  });
});
