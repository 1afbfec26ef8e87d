// IPv4 and IPv6 fragments through ct(), kernel vs fallback: the module
// reassembles them first (holding each fragment until its datagram is
// whole), tracks the datagram, reports it whole in upcalls with its largest
// fragment's size (OVS_PACKET_ATTR_MRU), and cuts it to that size again on
// output (IPv6: with a fresh fragment id, and never under 1280 bytes).
import { describe, expect, it } from 'vitest';
import { encodeActions } from '../../src/ovs/action-codec.js';
import type { Action } from '../../src/ovs/actions.js';
import { decodeKey, encodeKey } from '../../src/ovs/key-codec.js';
import type { FlowKey } from '../../src/ovs/keys.js';
import { buildFrame } from '../../src/packet/build.js';
import { fragmentIpv4 } from '../../src/packet/ipv4-frag.js';
import { fragmentIpv6 } from '../../src/packet/ipv6-frag.js';
import { bytesOf, hex, useSides, waitFor, type Side } from './harness.js';

const sides = useSides('dfr');
const ZERO = '00:00:00:00:00:00';
const V4_ANY = { src: '0.0.0.0', dst: '0.0.0.0', proto: 0, tos: 0, ttl: 0, frag: 0 };
const V6_ANY = { src: '::', dst: '::', label: 0, proto: 0, tclass: 0, hlimit: 0, frag: 0 };
const R = 61;

const datagram = (id: number, payload: number) =>
  buildFrame({ src: '02:9f:00:00:00:01', dst: '02:9f:00:00:00:02', l3: { kind: 'ipv4', src: '10.97.0.1', dst: '10.97.0.2', id }, l4: { kind: 'udp', src: 4000 + id, dst: 53 }, payload });

/** Every IPv4 frame of the in port, fragment or not, through ct(commit) then recirc(R); with `out`, R's packets are output. */
async function flows(s: Side, out: boolean, v6 = false): Promise<void> {
  await s.dpif.flushFlows(s.dp);
  const l3: FlowKey = v6 ? { ethertype: 0x86dd, ipv6: V6_ANY } : { ethertype: 0x0800, ipv4: V4_ANY };
  const key: FlowKey = { recircId: 0, inPort: s.inPort, ethernet: { src: ZERO, dst: ZERO }, ...l3 };
  const mask: FlowKey = { recircId: 0xffffffff, inPort: 0xffffffff, ethernet: { src: ZERO, dst: ZERO }, ...l3, ethertype: 0xffff };
  const put = (k: FlowKey, m: FlowKey, a: Action[]) => s.dpif.putFlow(s.dp, { key: bytesOf((w) => encodeKey(w, k)), mask: bytesOf((w) => encodeKey(w, m)), actions: bytesOf((w) => encodeActions(w, a)) });
  await put(key, mask, [{ type: 'ct', commit: true, zone: 9 }, { type: 'recirc', id: R }]);
  if (out) await put({ ...key, recircId: R }, mask, [{ type: 'output', port: s.outPort }]);
}

describe('IPv4 fragments through ct(), kernel vs fallback', () => {
  it('a fragmented datagram comes up whole after ct, keyed as unfragmented, with its fragment size as MRU', async () => {
    const got: Record<string, unknown> = {};
    const whole = datagram(1, 2500);
    const frags = fragmentIpv4(whole, 14, 1000);
    for (const s of sides) {
      await flows(s, false);
      s.upcalls.length = 0;
      // Out of order, and a lone first fragment of another datagram that never completes.
      await s.input.send([frags[2], frags[0], fragmentIpv4(datagram(2, 2500), 14, 1000)[0], frags[1]]);
      await waitFor(() => s.upcalls.length >= 1, 8000);
      await new Promise((r) => setTimeout(r, 500));
      got[s.label] = s.upcalls.map((u) => {
        const k = decodeKey(u.key);
        return { kind: u.kind, mru: u.mru, packet: hex(u.packet), recircId: k.recircId, frag: k.ipv4?.frag, udp: k.udp, ctState: k.ctState, ctZone: k.ctZone };
      });
    }
    expect(got.kernel).toEqual([{ kind: 'miss', mru: 996, packet: hex(whole), recircId: R, frag: 0, udp: { src: 4001, dst: 53 }, ctState: 0x21, ctZone: 9 }]);
    expect(got.fallback).toEqual(got.kernel);
  }, 60_000);

  it('output cuts the tracked datagram to the largest fragment size again', async () => {
    const got: Record<string, string[]> = {};
    const whole = datagram(3, 3000);
    const frags = fragmentIpv4(whole, 14, 1500);
    for (const s of sides) {
      await flows(s, true);
      s.output.clear();
      await s.input.send(frags);
      await waitFor(() => s.output.poll().length >= frags.length, 8000);
      await new Promise((r) => setTimeout(r, 300));
      got[s.label] = s.output.poll().filter((f) => f[12] === 0x08 && f[23] === 17).map(hex);
    }
    expect(got.kernel).toEqual(frags.map(hex));
    expect(got.fallback).toEqual(got.kernel);
  }, 60_000);
});

const datagram6 = (sport: number, payload: number) =>
  buildFrame({ src: '02:9f:00:00:00:01', dst: '02:9f:00:00:00:02', l3: { kind: 'ipv6', src: 'fd00:97::1', dst: 'fd00:97::2', hopLimit: 64 }, l4: { kind: 'udp', src: sport, dst: 53 }, payload });

/** A fragment with its id zeroed: ip6_fragment draws a fresh one (ipv6_select_ident). */
const idless = (f: Uint8Array): string => {
  const c = f.slice();
  c.fill(0, 14 + 40 + 4, 14 + 40 + 8);
  return hex(c);
};

describe('IPv6 fragments through ct(), kernel vs fallback', () => {
  it('a fragmented datagram comes up whole after ct, without its fragment header, with its fragment size as MRU', async () => {
    const got: Record<string, unknown> = {};
    const whole = datagram6(4001, 3000);
    const frags = fragmentIpv6(whole, 14, 1280, 0x1001);
    for (const s of sides) {
      await flows(s, false, true);
      s.upcalls.length = 0;
      await s.input.send([frags[2], frags[0], fragmentIpv6(datagram6(4002, 3000), 14, 1280, 0x1002)[0], frags[1]]);
      await waitFor(() => s.upcalls.length >= 1, 8000);
      await new Promise((r) => setTimeout(r, 500));
      got[s.label] = s.upcalls.map((u) => {
        const k = decodeKey(u.key);
        return { kind: u.kind, mru: u.mru, packet: hex(u.packet), recircId: k.recircId, frag: k.ipv6?.frag, proto: k.ipv6?.proto, udp: k.udp, ctState: k.ctState, ctZone: k.ctZone };
      });
    }
    expect(got.kernel).toEqual([{ kind: 'miss', mru: 1280, packet: hex(whole), recircId: R, frag: 0, proto: 17, udp: { src: 4001, dst: 53 }, ctState: 0x21, ctZone: 9 }]);
    expect(got.fallback).toEqual(got.kernel);
  }, 60_000);

  it('output cuts the tracked datagram to the largest fragment size again', async () => {
    const got: Record<string, string[]> = {};
    const whole = datagram6(4003, 4000);
    const frags = fragmentIpv6(whole, 14, 1400, 0x1003);
    for (const s of sides) {
      await flows(s, true, true);
      s.output.clear();
      await s.input.send(frags);
      await waitFor(() => s.output.poll().length >= frags.length, 8000);
      await new Promise((r) => setTimeout(r, 300));
      got[s.label] = s.output.poll().filter((f) => f[12] === 0x86 && f[13] === 0xdd && f[20] === 44).map(idless);
    }
    expect(got.kernel).toEqual(frags.map(idless));
    expect(got.fallback).toEqual(got.kernel);
  }, 60_000);
});
