// Property tests over random frame descriptions: build → parse gives back what
// was described (with the kernel's rules for fragments and extension headers
// modelled here from the description, not from the bytes); cutting a frame at
// every byte never throws and reports exactly the headers that fit; random and
// mutated bytes never break the parser's bounds; tshark agrees with every
// checksum we compute (when tshark is installed).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildFrame,
  FRAG_FIRST,
  FRAG_LATER,
  FRAG_NONE,
  ipv4HeaderChecksumOk,
  ipv4U32,
  IPV6_EXT_AUTH,
  IPV6_EXT_DEST,
  IPV6_EXT_FRAG,
  IPV6_EXT_HOP,
  IPV6_EXT_NONEXT,
  IPV6_EXT_ROUTER,
  IPV6_EXT_UNREP,
  IPV6_EXT_UNSEQ,
  l4ChecksumOk,
  Layer,
  layerNames,
  mplsLse,
  parsePacket,
  ParsedPacket,
  type FrameSpec,
  type Ipv4Spec,
  type Ipv6ExtSpec,
  type Ipv6Spec,
  type L4Spec,
} from '../../src/packet/index.js';
import { flowState, flowStateOfPacket } from '../../src/userspace/action-validate.js';
import { extractKey } from '../../src/userspace/extract.js';

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytesN = (n: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: n, maxLength: n });
const mac = bytesN(6);
const ip6 = bytesN(16);
/** Options of whole 32-bit words: random bytes, or NOPs where tshark must read them. */
const words = (max: number, wf: boolean): fc.Arbitrary<Uint8Array> =>
  fc.integer({ min: 0, max: max }).chain((n) => (wf ? fc.constant(new Uint8Array(4 * n).fill(1)) : bytesN(4 * n)));
const opt = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });

const tcp = (wf: boolean): fc.Arbitrary<L4Spec> =>
  fc.record({ kind: fc.constant('tcp' as const), src: u16, dst: u16, seq: u32, ack: u32, flags: fc.integer({ min: 0, max: 0xfff }), window: u16, options: words(10, wf) });
const udp: fc.Arbitrary<L4Spec> = fc.record({ kind: fc.constant('udp' as const), src: u16, dst: u16 });
const sctp: fc.Arbitrary<L4Spec> = fc.record({ kind: fc.constant('sctp' as const), src: u16, dst: u16, vtag: u32 });
const icmp: fc.Arbitrary<L4Spec> = fc.record({ kind: fc.constant('icmp' as const), type: u8, code: u8, rest: u32 });
const icmpv6: fc.Arbitrary<L4Spec> = fc
  .record({ kind: fc.constant('icmpv6' as const), type: u8, code: u8, rest: u32 })
  .filter((s) => s.code !== 0 || (s.type !== 135 && s.type !== 136));
const nd: fc.Arbitrary<L4Spec> = fc.record({
  kind: fc.constant('nd' as const),
  type: fc.constantFrom('ns' as const, 'na' as const),
  target: ip6,
  sll: opt(mac),
  tll: opt(mac),
  solicited: fc.boolean(),
});

const ipv4 = (wf: boolean): fc.Arbitrary<Ipv4Spec> =>
  fc.record({
    kind: fc.constant('ipv4' as const),
    src: u32,
    dst: u32,
    tos: u8,
    ttl: u8,
    id: u16,
    df: fc.boolean(),
    mf: wf ? fc.constant(false) : fc.boolean(),
    fragOffset: wf ? fc.constant(0) : fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 0x1fff }) }),
    options: words(10, wf),
  });

const ext = (wf: boolean): fc.Arbitrary<Ipv6ExtSpec> =>
  fc.oneof(
    fc.record({ kind: fc.constantFrom('hop' as const, 'dst' as const), options: wf ? fc.constant(new Uint8Array(0)) : fc.uint8Array({ maxLength: 20 }) }),
    fc.record({
      kind: fc.constant('routing' as const),
      // tshark decodes type 0 (reserved word, then addresses) when no segment is left.
      routingType: wf ? fc.constant(0) : u8,
      segmentsLeft: wf ? fc.constant(0) : u8,
      data: fc.integer({ min: 0, max: 2 }).chain((k) => bytesN(wf ? 4 + 16 * (k >> 1) : 4 + 8 * k)),
    }),
    ...(wf
      ? []
      : [
          fc.record({
            kind: fc.constant('fragment' as const),
            offset: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 0x1fff })),
            more: fc.boolean(),
            id: u32,
          }),
        ]),
    fc.record({ kind: fc.constant('ah' as const), spi: u32, seq: u32, icv: fc.constantFrom(4, 12, 20).chain(bytesN) }),
  );

const ipv6 = (wf: boolean): fc.Arbitrary<Ipv6Spec> =>
  fc.record({
    kind: fc.constant('ipv6' as const),
    src: ip6,
    dst: ip6,
    tclass: u8,
    flowLabel: fc.integer({ min: 0, max: 0xfffff }),
    hopLimit: u8,
    ext: fc.array(ext(wf), { maxLength: 4 }),
  });

type Net = Pick<FrameSpec, 'mpls' | 'l3' | 'l4' | 'payload'>;
const payload = fc.uint8Array({ maxLength: 40 });

const nets = (wf: boolean): fc.Arbitrary<Net>[] => [
  fc.record({ l3: ipv4(wf), l4: opt(fc.oneof(tcp(wf), udp, sctp, icmp)), payload }),
  fc.record({ l3: ipv6(wf), l4: opt(fc.oneof(tcp(wf), udp, sctp, icmpv6)), payload }),
  // ND options run to the end of the frame, so ND frames carry no payload.
  fc.record({ l3: ipv6(wf), l4: nd }),
];
const otherNets: fc.Arbitrary<Net>[] = [
  fc.record({
    l3: fc.record({ kind: fc.constant('arp' as const), rarp: fc.boolean(), op: u16, sha: mac, spa: u32, tha: mac, tpa: u32 }),
  }),
  fc.record({
    mpls: fc.array(fc.record({ label: fc.integer({ min: 0, max: 0xfffff }), tc: fc.integer({ min: 0, max: 7 }), ttl: u8 }), { minLength: 1, maxLength: 5 }),
    payload,
  }),
];

const frameSpec = (wf = false): fc.Arbitrary<FrameSpec> =>
  fc
    .record({
      src: mac,
      dst: mac,
      // tshark reads no 802.3 length behind an 802.1ad tag: make the innermost tag 802.1Q there.
      vlans: fc
        .array(fc.record({ tpid: fc.constantFrom(0x8100, 0x88a8), tci: u16 }), { maxLength: 2 })
        .map((v) => (wf && v.length > 0 ? [...v.slice(0, -1), { ...v[v.length - 1], tpid: 0x8100 }] : v)),
      snap: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant({}) }),
      net: fc.oneof(...nets(wf), ...(wf ? [] : otherNets)),
      padTo: fc.constantFrom(undefined, 60),
    })
    .map(({ net, ...l2 }) => ({ ...l2, ...net }));

// --- The kernel's rules, from the description -----------------------------

function l4Proto(l4: L4Spec | undefined): number {
  if (!l4) return 59;
  return { tcp: 6, udp: 17, sctp: 132, icmp: 1, icmpv6: 58, nd: 58 }[l4.kind as 'tcp'] ?? (l4 as { proto: number }).proto;
}

/** get_ipv6_ext_hdrs() over a list of headers (valid while no AH skews its walk). */
function modelExthdrs(kinds: Ipv6ExtSpec['kind'][], last: number): number {
  let f = 0;
  let dest = 0;
  for (const k of kinds) {
    if (k === 'ah') {
      if (f & IPV6_EXT_AUTH) f |= IPV6_EXT_UNREP;
      if (f & ~(IPV6_EXT_HOP | IPV6_EXT_DEST | IPV6_EXT_ROUTER | 44 | IPV6_EXT_UNREP) || dest >= 2) f |= IPV6_EXT_UNSEQ;
      f |= IPV6_EXT_AUTH;
    } else if (k === 'dst') {
      if (dest === 0) {
        if (f & ~(IPV6_EXT_HOP | IPV6_EXT_UNREP)) f |= IPV6_EXT_UNSEQ;
        f |= IPV6_EXT_DEST;
      } else if (dest > 1) f |= IPV6_EXT_UNREP;
      dest++;
    } else if (k === 'fragment') {
      if (f & IPV6_EXT_FRAG) f |= IPV6_EXT_UNREP;
      if (f & ~(IPV6_EXT_HOP | IPV6_EXT_DEST | IPV6_EXT_ROUTER | IPV6_EXT_UNREP) || dest >= 2) f |= IPV6_EXT_UNSEQ;
      f |= IPV6_EXT_FRAG;
    } else if (k === 'routing') {
      if (f & IPV6_EXT_ROUTER) f |= IPV6_EXT_UNREP;
      if (f & ~(IPV6_EXT_HOP | IPV6_EXT_DEST | IPV6_EXT_UNREP) || dest >= 2) f |= IPV6_EXT_UNSEQ;
      f |= IPV6_EXT_ROUTER;
    } else {
      if (f & IPV6_EXT_HOP) f |= IPV6_EXT_UNREP;
      f |= f === 0 ? IPV6_EXT_HOP : IPV6_EXT_UNSEQ;
    }
  }
  return last === 59 ? f | IPV6_EXT_NONEXT : f;
}

const eq = (a: Uint8Array, b: Uint8Array): void => expect(Buffer.from(a).toString('hex')).toBe(Buffer.from(b).toString('hex'));

/** Asserts that the parse of a built frame says what its description said. */
function checkRoundTrip(s: FrameSpec, f: Uint8Array, p: ParsedPacket): void {
  expect(p.layers & Layer.ETH).toBe(Layer.ETH);
  eq(p.ethDst(), s.dst as Uint8Array);
  eq(p.ethSrc(), s.src as Uint8Array);
  const vlans = s.vlans ?? [];
  if (vlans.length > 0) expect([p.vlanTpid, p.vlanTci]).toEqual([vlans[0].tpid, vlans[0].tci]);
  if (vlans.length > 1) expect([p.cvlanTpid, p.cvlanTci]).toEqual([vlans[1].tpid, vlans[1].tci]);
  expect(p.has(Layer.SNAP)).toBe(!!s.snap);
  expect(p.l3).toBe(14 + 4 * vlans.length + (s.snap ? 8 : 0));

  if (s.mpls) {
    expect([p.ethType, p.mplsCount, p.mplsEnd, p.has(Layer.MPLS)]).toEqual([0x8847, s.mpls.length, p.l3 + 4 * s.mpls.length, true]);
    s.mpls.forEach((m, i) => expect(p.mplsLse(i)).toBe(mplsLse(m.label, m.tc ?? 0, i === s.mpls!.length - 1, m.ttl ?? 64)));
    return;
  }
  const l3 = s.l3!;
  if (l3.kind === 'arp') {
    expect([p.ethType, p.has(Layer.ARP), p.arpOp, p.arpSpa(), p.arpTpa()]).toEqual([l3.rarp ? 0x8035 : 0x0806, true, l3.op, l3.spa, l3.tpa]);
    eq(p.arpSha(), l3.sha as Uint8Array);
    eq(p.arpTha(), l3.tha as Uint8Array);
    return;
  }
  const proto = l4Proto(s.l4);
  let l4 = true;
  if (l3.kind === 'ipv4') {
    const hl = 20 + (l3.options?.length ?? 0);
    const frag = l3.fragOffset ? FRAG_LATER : l3.mf ? FRAG_FIRST : FRAG_NONE;
    expect([p.ethType, p.has(Layer.IPV4), p.ipTos, p.ipTtl, p.ipProto, p.ipFrag, p.ipHdrLen, p.ipv4Src(), p.ipv4Dst()]).toEqual([0x0800, true, l3.tos, l3.ttl, proto, frag, hl, ipv4U32(l3.src), ipv4U32(l3.dst)]);
    expect(ipv4HeaderChecksumOk(f, p.l3)).toBe(true);
    expect(p.l4).toBe(p.l3 + hl);
    l4 = frag !== FRAG_LATER;
  } else if (l3.kind === 'ipv6') {
    expect([p.ethType, p.has(Layer.IPV6), p.ipTos, p.ipv6Label, p.ipTtl]).toEqual([0x86dd, true, l3.tclass, l3.flowLabel, l3.hopLimit]);
    eq(p.ipv6Src(), l3.src as Uint8Array);
    eq(p.ipv6Dst(), l3.dst as Uint8Array);
    const exts = l3.ext ?? [];
    if (!exts.some((e) => e.kind === 'ah')) expect(p.ipv6Exthdrs).toBe(modelExthdrs(exts.map((e) => e.kind), proto));
    const later = exts.findIndex((e) => e.kind === 'fragment' && (e.offset ?? 0) !== 0);
    if (later >= 0) {
      // A later fragment is LATER/44 when its next header is the upper layer;
      // followed by another extension header the kernel keys it FIRST/59.
      const last = later === exts.length - 1;
      expect([p.ipFrag, p.ipProto]).toEqual(last ? [FRAG_LATER, 44] : [FRAG_FIRST, 59]);
      l4 = false;
    } else {
      expect([p.ipFrag, p.ipProto]).toEqual([exts.some((e) => e.kind === 'fragment') ? FRAG_FIRST : FRAG_NONE, proto]);
      let hl = 40;
      for (const e of exts) {
        hl += e.kind === 'fragment' ? 8 : e.kind === 'ah' ? 12 + e.icv!.length : e.kind === 'routing' ? 4 + e.data!.length : Math.ceil((e.options!.length + 2) / 8) * 8;
      }
      expect([p.ipHdrLen, p.l4]).toEqual([hl, p.l3 + hl]);
    }
  }
  if (!l4 || !s.l4) {
    expect(p.layers & (Layer.TCP | Layer.UDP | Layer.SCTP | Layer.ICMP | Layer.ICMPV6)).toBe(0);
    return;
  }
  const t = s.l4;
  const l4Len = p.ipTotalLen - p.ipHdrLen;
  expect(l4ChecksumOk(f, p.l3, p.l4, l4Len, proto)).toBe(true);
  switch (t.kind) {
    case 'tcp':
      expect([p.has(Layer.TCP), p.tpSrc, p.tpDst, p.tcpFlags, p.l4HdrLen]).toEqual([true, t.src, t.dst, t.flags, 20 + (t.options?.length ?? 0)]);
      break;
    case 'udp':
    case 'sctp':
      expect([p.has(t.kind === 'udp' ? Layer.UDP : Layer.SCTP), p.tpSrc, p.tpDst]).toEqual([true, t.src, t.dst]);
      break;
    case 'icmp':
    case 'icmpv6':
      expect([p.has(t.kind === 'icmp' ? Layer.ICMP : Layer.ICMPV6), p.tpSrc, p.tpDst, p.has(Layer.ND)]).toEqual([true, t.type, t.code, false]);
      break;
    case 'nd':
      expect([p.has(Layer.ICMPV6), p.has(Layer.ND), p.tpSrc, p.tpDst]).toEqual([true, true, t.type === 'ns' ? 135 : 136, 0]);
      eq(p.ndTargetAddr()!, t.target as Uint8Array);
      if (t.sll) eq(p.ndSllAddr()!, t.sll as Uint8Array);
      else expect(p.ndSll).toBe(-1);
      if (t.tll) eq(p.ndTllAddr()!, t.tll as Uint8Array);
      else expect(p.ndTll).toBe(-1);
      break;
  }
}

/** Every header a parse reports lies inside the frame. */
function checkBounds(p: ParsedPacket): void {
  const n = p.len;
  const has = (l: number): boolean => (p.layers & l) !== 0;
  if (has(Layer.ETH)) expect(n).toBeGreaterThanOrEqual(14);
  if (has(Layer.VLAN)) expect(n).toBeGreaterThanOrEqual(18);
  if (has(Layer.CVLAN)) expect(n).toBeGreaterThanOrEqual(22);
  if (has(Layer.SNAP)) expect(p.l3).toBeLessThanOrEqual(n);
  if (has(Layer.MPLS)) expect(p.mplsEnd).toBeLessThanOrEqual(n);
  if (has(Layer.ARP)) expect(p.l3 + 28).toBeLessThanOrEqual(n);
  if (has(Layer.IPV4)) expect(p.ipHdrLen >= 20 && p.l3 + p.ipHdrLen <= n).toBe(true);
  if (has(Layer.IPV6)) expect(p.l3 + 40).toBeLessThanOrEqual(n);
  if (has(Layer.TCP | Layer.UDP | Layer.SCTP | Layer.ICMP | Layer.ICMPV6)) expect(p.l4HdrLen > 0 && p.l4 + p.l4HdrLen <= n).toBe(true);
  if (has(Layer.ND)) expect(p.ndTarget + 16).toBeLessThanOrEqual(n);
  if (p.ndSll >= 0) expect(p.ndSll + 6).toBeLessThanOrEqual(n);
  if (p.ndTll >= 0) expect(p.ndTll + 6).toBeLessThanOrEqual(n);
}

/** All scalar fields, to compare two parses. */
function snapshot(p: ParsedPacket): Record<string, number> {
  const o: Record<string, number> = {};
  for (const [k, v] of Object.entries(p)) if (typeof v === 'number') o[k] = v;
  return o;
}

describe('build → parse round trip', () => {
  it('gives back every described field, with valid checksums', () => {
    fc.assert(
      fc.property(frameSpec(), (s) => {
        const f = buildFrame(s);
        checkRoundTrip(s, f, parsePacket(f));
      }),
      { numRuns: 3000 },
    );
  });

  it('gives the same result when one result object is reused for every packet', () => {
    const out = new ParsedPacket();
    fc.assert(
      fc.property(frameSpec(), frameSpec(), (a, b) => {
        parsePacket(buildFrame(a), undefined, out);
        const fb = buildFrame(b);
        expect(snapshot(parsePacket(fb, undefined, out))).toEqual(snapshot(parsePacket(fb)));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('truncation at every byte', () => {
  const L4S = [Layer.TCP, Layer.UDP, Layer.SCTP, Layer.ICMP, Layer.ICMPV6];

  it('never throws, reports exactly the headers that fit, and keys them as the whole frame does', () => {
    fc.assert(
      fc.property(frameSpec(), (s) => {
        const f = buildFrame(s);
        const full = parsePacket(f);
        const tags = (full.layers & Layer.CVLAN ? 2 : 0) || (full.layers & Layer.VLAN ? 1 : 0);
        const fits: [number, number][] = [
          [Layer.ETH, 14],
          [Layer.VLAN, 18],
          [Layer.CVLAN, 22],
          [Layer.LLC, 14 + 4 * tags],
          [Layer.SNAP, full.l3],
          [Layer.MPLS, full.mplsEnd],
          [Layer.ARP, full.l3 + 28],
          [Layer.IPV4, full.l3 + full.ipHdrLen],
          [Layer.IPV6, full.l3 + 40],
          [Layer.ND, full.l4 + 24],
          ...L4S.map((l): [number, number] => [l, full.l4 + (l === Layer.ICMPV6 ? 8 : full.l4HdrLen)]),
        ];
        let prev = 0;
        const out = new ParsedPacket();
        for (let n = 0; n <= f.length; n++) {
          const p = parsePacket(f, n, out);
          checkBounds(p);
          expect(p.layers & prev).toBe(prev);
          prev = p.layers;
          for (const [layer, end] of fits) {
            if (full.layers & layer) expect([layerNames(layer), n, (p.layers & layer) !== 0]).toEqual([layerNames(layer), n, n >= end]);
          }
          if ((full.layers & ~p.layers) !== 0 && !(full.has(Layer.SNAP) && n < full.l3)) expect(p.truncated).not.toBe(0);
          if (p.has(Layer.VLAN)) expect(p.vlanTci).toBe(full.vlanTci);
          if (p.has(Layer.IPV4)) expect([p.ipTos, p.ipTtl, p.ipProto, p.ipFrag]).toEqual([full.ipTos, full.ipTtl, full.ipProto, full.ipFrag]);
          if (p.has(Layer.IPV6)) {
            expect([p.ipTos, p.ipTtl, p.ipv6Label, p.ipv6Exthdrs & ~(IPV6_EXT_NONEXT | IPV6_EXT_UNSEQ | IPV6_EXT_UNREP) & ~full.ipv6Exthdrs]).toEqual([full.ipTos, full.ipTtl, full.ipv6Label, 0]);
            if (p.truncated !== Layer.IPV6_EXT) expect([p.ipProto, p.ipFrag]).toEqual([full.ipProto, full.ipFrag]);
          }
          if (p.layers & (Layer.TCP | Layer.UDP | Layer.SCTP | Layer.ICMP | Layer.ICMPV6)) {
            expect([p.tpSrc, p.tpDst, p.tcpFlags]).toEqual([full.tpSrc, full.tpDst, full.tcpFlags]);
          }
          if (p.ndSll >= 0) expect(p.ndSll).toBe(full.ndSll);
        }
        expect(snapshot(parsePacket(f, f.length, out))).toEqual(snapshot(full));
      }),
      { numRuns: 400 },
    );
  });
});

describe('arbitrary bytes', () => {
  it('never throw and never report a header past the end of the frame', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => checkBounds(parsePacket(b))),
      { numRuns: 5000 },
    );
  });

  it('nor do well-formed frames with random bytes overwritten', () => {
    const out = new ParsedPacket();
    fc.assert(
      fc.property(frameSpec(), fc.array(fc.tuple(fc.nat(), u8), { minLength: 1, maxLength: 8 }), (s, edits) => {
        const f = buildFrame(s);
        for (const [at, v] of edits) f[at % f.length] = v;
        checkBounds(parsePacket(f, f.length, out));
      }),
      { numRuns: 5000 },
    );
  });

  it('and a length past the buffer is clamped to it', () => {
    const f = buildFrame({ l3: { kind: 'ipv4', src: 1, dst: 2 }, l4: { kind: 'udp', src: 1, dst: 2 } });
    expect(parsePacket(f, 1000).len).toBe(f.length);
  });
});

// tshark as the independent judge of checksums (skipped where it is not
// installed: `apt-get install tshark`).
const tshark = spawnSync('tshark', ['-v'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!tshark)('checksums as tshark sees them', () => {
  it('every IPv4 header, TCP, UDP, SCTP, ICMP and ICMPv6 checksum of random frames is good', () => {
    const specs = fc.sample(frameSpec(true), { numRuns: 400, seed: 42 });
    const frames = specs.map(buildFrame);
    const parts = [Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex')];
    for (const f of frames) {
      const h = Buffer.alloc(16);
      h.writeUInt32LE(f.length, 8);
      h.writeUInt32LE(f.length, 12);
      parts.push(h, Buffer.from(f));
    }
    const dir = mkdtempSync(join(tmpdir(), 'ovsnl-pcap-'));
    try {
      const file = join(dir, 'frames.pcap');
      writeFileSync(file, Buffer.concat(parts));
      const fields = ['ip', 'tcp', 'udp', 'sctp', 'icmp', 'icmpv6'];
      // Decode as captured: no reassembly, and the VXLAN/Geneve/... guesses
      // that random ports would invite are off.
      const r = spawnSync(
        'tshark',
        [
          '-r', file, '-n',
          '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-o', 'sctp.checksum:CRC 32c',
          '-o', 'udp.try_heuristic_first:FALSE', '--disable-heuristic', 'rtps_udp',
          '-T', 'fields', '-E', 'separator=;', '-E', 'occurrence=f',
          '-e', 'frame.number', ...fields.flatMap((x) => ['-e', `${x}.checksum.status`]),
        ],
        { encoding: 'utf8', timeout: 60_000 },
      );
      const lines = r.stdout.trim().split('\n');
      expect(lines).toHaveLength(frames.length);
      const bad: string[] = [];
      let checked = 0;
      lines.forEach((line, i) => {
        const got = Object.fromEntries(line.split(';').slice(1).map((v, k) => [fields[k], v]));
        const s = specs[i];
        const want: string[] = [];
        if (s.l3?.kind === 'ipv4') want.push('ip');
        const k = s.l4?.kind;
        if (k) want.push(k === 'nd' ? 'icmpv6' : k);
        checked += want.length;
        for (const w of want) if (got[w] !== '1') bad.push(`frame ${i + 1} (${w}: ${got[w] || 'not decoded'}) ${Buffer.from(frames[i]).toString('hex')}`);
      });
      expect(bad.slice(0, 20)).toEqual([]);
      expect(checked).toBeGreaterThan(400);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// A packet execute checks its actions against the state read off the parsed
// packet; the module checks them against the key it extracts.
describe('flowStateOfPacket', () => {
  const viaKey = (p: ParsedPacket) => flowState(extractKey(p, { inPort: 1 }), undefined);

  it('is flowState of the extracted key, for random frames cut at every byte', () => {
    const out = new ParsedPacket();
    fc.assert(
      fc.property(frameSpec(), (s) => {
        const f = buildFrame(s);
        for (let n = 0; n <= f.length; n++) {
          const p = parsePacket(f, n, out);
          expect([n, flowStateOfPacket(p)]).toEqual([n, viaKey(p)]);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('and for frames with random bytes overwritten, tags and types among them', () => {
    const tpid = fc.constantFrom(0x81, 0x88, 0x08, 0x86);
    fc.assert(
      fc.property(frameSpec(), fc.array(fc.tuple(fc.nat({ max: 30 }), fc.oneof(u8, tpid)), { minLength: 1, maxLength: 8 }), (s, edits) => {
        const f = buildFrame(s);
        for (const [at, v] of edits) f[at % f.length] = v;
        const p = parsePacket(f);
        expect(flowStateOfPacket(p)).toEqual(viaKey(p));
      }),
      { numRuns: 5000 },
    );
  });
});

