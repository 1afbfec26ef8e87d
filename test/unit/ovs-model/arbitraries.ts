// fast-check arbitraries for typed flow keys, masks and actions.
//
// `codec` arbitraries cover everything a decoder can produce (values in the
// form decoders give them: canonical address text, `true` flags, ...).
// `text` arbitraries stay inside what ODP text can say without loss: OVS's
// text drops some things (a tunnel id whose mask is zero, a wildcarded
// erspan direction, ...) and those are left out.
import fc from 'fast-check';
import { ipv4FromBytes, ipv6FromBytes, macFromBytes } from '../../../src/ovs/addr.js';
import type { Action, CtAction, CtNat } from '../../../src/ovs/actions.js';
import { keyFieldPayload } from '../../../src/ovs/key-codec.js';
import type { FlowKey, MplsLse, NshKey, TunnelKey } from '../../../src/ovs/keys.js';

type Arb<T> = fc.Arbitrary<T>;
type Obj = Record<string, unknown>;

export const u8 = fc.integer({ min: 0, max: 0xff });
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bits = (n: number): Arb<number> => fc.integer({ min: 0, max: n === 32 ? 0xffffffff : 2 ** n - 1 });
const bytes = (min: number, max: number): Arb<Uint8Array> => fc.uint8Array({ minLength: min, maxLength: max });

// Addresses: mostly edge values, so masks are often all-ones or all-zero.
export const mac = fc.oneof(fc.constantFrom('00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff'), bytes(6, 6).map((b) => macFromBytes(b)));
export const ipv4 = fc.oneof(fc.constantFrom('0.0.0.0', '255.255.255.255'), bytes(4, 4).map((b) => ipv4FromBytes(b)));
export const ipv6 = fc.oneof(
  fc.constantFrom('::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '::1', '::ffff:1.2.3.4', 'fe80::1'),
  bytes(16, 16).map((b) => ipv6FromBytes(b)),
);
const anyOf = <T>(edges: T[], arb: Arb<T>): Arb<T> => fc.oneof(fc.constantFrom(...edges), arb);
const n8 = anyOf([0, 0xff], u8);
const n16 = anyOf([0, 0xffff], u16);
const n32 = anyOf([0, 0xffffffff], u32);
const big = (n: number): Arb<bigint> => fc.oneof(fc.constantFrom(0n, (1n << BigInt(n)) - 1n), fc.bigInt({ min: 0n, max: (1n << BigInt(n)) - 1n }));

const ports = fc.record({ src: n16, dst: n16 });
const icmp = fc.record({ type: n8, code: n8 });
const mpls: Arb<MplsLse> = fc.record({ label: anyOf([0, 0xfffff], bits(20)), tc: bits(3), ttl: n8, bos: bits(1) });

function tunnel(text: boolean): Arb<TunnelKey> {
  const fields: Record<string, Arb<unknown>> = {
    id: big(64),
    ipv4Src: ipv4,
    ipv4Dst: ipv4,
    tos: n8,
    ttl: n8,
    dontFragment: fc.constant(true),
    csum: fc.constant(true),
    oam: fc.constant(true),
    tpSrc: n16,
    tpDst: n16,
    ipv6Src: ipv6,
    ipv6Dst: ipv6,
    vxlanOpts: text ? fc.record({ gbp: fc.integer({ min: 1, max: 0xffffff }) }) : fc.record({ gbp: u32, gpe: fc.constant(true) }, { requiredKeys: [] }),
    geneveOpts: geneveOpts,
    erspanOpts: text
      ? fc.oneof(
          fc.record({ version: fc.constant(1), index: n32, sgt: fc.constant(0), p: fc.constant(0), ft: fc.constant(0), hwidUpper: fc.constant(0), o: fc.constant(0), gra: fc.constant(0), dir: fc.constant(0), hwid: fc.constant(0) }),
          fc.record({ version: fc.constant(2), index: fc.constant(0), sgt: fc.constant(0), p: fc.constant(0), ft: fc.constant(0), hwidUpper: fc.constant(0), o: fc.constant(0), gra: fc.constant(0), dir: bits(1), hwid: bits(4) }),
        )
      : fc.record({ version: fc.integer({ min: -0x80000000, max: 0x7fffffff }), index: n32, sgt: n16, p: bits(1), ft: bits(5), hwidUpper: bits(2), o: bits(1), gra: bits(2), dir: bits(1), hwid: bits(4) }),
    gtpuOpts: fc.record({ flags: n8, msgtype: n8 }),
  };
  if (!text) {
    fields.pad = fc.constant(true);
    fields.ipv4InfoBridge = fc.constant(true);
    fields.key20 = bytes(0, 8);
  }
  return orderedSubset(fields).filter((t) => !(t.gtpuOpts && t.ipv4InfoBridge)) as Arb<TunnelKey>;
}

/** Well-formed Geneve options: class, type, length in words, data. */
const geneveOpts: Arb<Uint8Array> = fc
  .array(fc.record({ cls: u16, type: u8, words: fc.integer({ min: 0, max: 4 }), data: bytes(16, 16) }), { maxLength: 3 })
  .map((opts) => {
    const parts: number[] = [];
    for (const o of opts) {
      parts.push(o.cls >> 8, o.cls & 0xff, o.type, o.words);
      for (let i = 0; i < o.words * 4; i++) parts.push(o.data[i]);
    }
    return new Uint8Array(parts);
  });

function nsh(text: boolean): Arb<NshKey> {
  const base = fc.record({ flags: n8, ttl: n8, mdtype: n8, np: n8, spi: bits(24), si: n8 });
  const md1 = fc.tuple(n32, n32, n32, n32);
  if (text) return fc.record({ base, md1 });
  return orderedSubset({ base, md1, md2: bytes(0, 12).map((b) => b.subarray(0, b.length & ~3).slice()), key9: bytes(0, 6) }) as Arb<NshKey>;
}

/** A random subset of the fields, in random order, each with a value. */
function orderedSubset(fields: Record<string, Arb<unknown>>, max?: number): Arb<Obj> {
  return fc.shuffledSubarray(Object.keys(fields), { maxLength: max }).chain((names) => {
    if (!names.length) return fc.constant({});
    return fc.tuple(...names.map((n) => fields[n])).map((vals) => {
      const o: Obj = {};
      names.forEach((n, i) => (o[n] = vals[i]));
      return o;
    });
  });
}

function keyFields(text: boolean, depth: number): Record<string, Arb<unknown>> {
  const f: Record<string, Arb<unknown>> = {
    priority: n32,
    inPort: n32,
    ethernet: fc.record({ src: mac, dst: mac }),
    vlan: fc.record({ vid: anyOf([0, 0xfff], bits(12)), pcp: bits(3), cfi: bits(1) }),
    ethertype: n16,
    ipv4: fc.record({ src: ipv4, dst: ipv4, proto: n8, tos: n8, ttl: n8, frag: text ? fc.constantFrom(0, 1, 2) : n8 }),
    ipv6: fc.record({ src: ipv6, dst: ipv6, label: text ? bits(20) : n32, proto: n8, tclass: n8, hlimit: n8, frag: text ? fc.constantFrom(0, 1, 2) : n8 }),
    tcp: ports,
    udp: ports,
    sctp: ports,
    icmp,
    icmpv6: icmp,
    arp: fc.record({ sip: ipv4, tip: ipv4, op: n16, sha: mac, tha: mac }),
    nd: fc.record({ target: ipv6, sll: mac, tll: mac }),
    skbMark: n32,
    tunnel: tunnel(text),
    tcpFlags: text ? bits(12) : n16,
    dpHash: n32,
    recircId: n32,
    mpls: fc.array(mpls, { minLength: text ? 1 : 0, maxLength: text ? 3 : 5 }),
    ctState: text ? n8 : n32,
    ctZone: n16,
    ctMark: n32,
    ctLabels: big(128),
    ctOrigTupleIpv4: fc.record({ src: ipv4, dst: ipv4, srcPort: n16, dstPort: n16, proto: n8 }),
    ctOrigTupleIpv6: fc.record({ src: ipv6, dst: ipv6, srcPort: n16, dstPort: n16, proto: n8 }),
    nsh: nsh(text),
    packetType: fc.record({ ns: n16, id: n16 }),
    ndExtensions: fc.record({ reserved: n32, optionsType: n8 }),
    ipv6Exthdrs: n16,
    key40: bytes(0, 8),
  };
  if (!text) f.key0 = bytes(0, 4);
  // nsh(...) stays in text mode too: OVS prints it but cannot read it back
  // (odp-invalid.txt, ASYMMETRY B and C); ovsnl reads it, so it must round-trip.
  if (depth < 2) f.encap = fc.constant(null);
  return f;
}

/** A flow key (attributes in random order; `encap` nests at most twice). */
export function flowKey(text = false, depth = 0): Arb<FlowKey> {
  const fields = keyFields(text, depth);
  if (depth < 2) fields.encap = fc.constant(0).chain(() => flowKey(text, depth + 1));
  return orderedSubset(fields, 8) as Arb<FlowKey>;
}

// ---- masks for the text property ----

/** A mask of the value's shape: each scalar all ones, zero or random (within what text keeps). */
function maskLike(v: unknown, path: string): Arb<unknown> {
  if (typeof v === 'boolean') return fc.constant(true);
  if (typeof v === 'bigint') {
    const width = path.endsWith('id') ? 64 : 128;
    return fc.oneof(fc.constant((1n << BigInt(width)) - 1n), fc.constant(0n), fc.bigInt({ min: 0n, max: (1n << BigInt(width)) - 1n }));
  }
  if (typeof v === 'string') {
    if (/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(v)) return mac;
    if (v.includes(':')) return ipv6;
    return ipv4;
  }
  if (typeof v === 'number') return fc.constant(-1);
  if (v instanceof Uint8Array) return bytes(v.length, v.length);
  if (Array.isArray(v)) return fc.tuple(...v.map((x, i) => maskLike(x, `${path}.${i}`)));
  const o = v as Obj;
  const names = Object.keys(o);
  if (!names.length) return fc.constant({});
  return fc.tuple(...names.map((n) => maskLike(o[n], `${path}.${n}`))).map((vals) => {
    const out: Obj = {};
    names.forEach((n, i) => (out[n] = vals[i]));
    return out;
  });
}

const WIDTHS: Record<string, number> = {
  priority: 32, inPort: 32, ethertype: 16, skbMark: 32, tcpFlags: 16, dpHash: 32, recircId: 32, ctState: 8, ctZone: 16, ctMark: 32, ipv6Exthdrs: 16,
  'vlan.vid': 12, 'vlan.pcp': 3, 'vlan.cfi': 1, proto: 8, tos: 8, ttl: 8, frag: 8, label: 20, tclass: 8, hlimit: 8, src: 16, dst: 16, type: 8, code: 8, op: 16,
  reserved: 32, optionsType: 8, ns: 16, id: 16, srcPort: 16, dstPort: 16, tpSrc: 16, tpDst: 16, gbp: 32, flags: 8, msgtype: 8,
  'mpls.label': 20, 'mpls.tc': 3, 'mpls.ttl': 8, 'mpls.bos': 1, index: 32,
  'nsh.mdtype': 8, 'nsh.np': 8, 'nsh.spi': 24, 'nsh.si': 8,
};

/** Replaces the -1 placeholders of maskLike with numbers of the field's width. */
function numbersIn(mask: unknown, key: unknown, path: string, top: string): Arb<unknown> {
  if (mask === -1) {
    const leaf = path.split('.').pop()!;
    let w = WIDTHS[`${top}.${leaf}`] ?? WIDTHS[path] ?? WIDTHS[leaf] ?? 32;
    if (top === 'mpls') w = WIDTHS[`mpls.${leaf}`];
    const full = w === 32 ? 0xffffffff : 2 ** w - 1;
    // recirc_id is always exact in OVS's text; frag is all or nothing.
    if (top === 'recircId') return fc.constant(full);
    if (leaf === 'frag') return fc.constantFrom(0, 0xff);
    if (top === 'ctState') return fc.oneof(fc.constant(0xffffffff), fc.integer({ min: 0, max: 0xff }));
    return fc.oneof(fc.constant(full), fc.constant(0), fc.integer({ min: 0, max: full }));
  }
  if (Array.isArray(mask)) return fc.tuple(...mask.map((m, i) => numbersIn(m, (key as unknown[])[i], `${path}.${i}`, top)));
  if (mask && typeof mask === 'object' && !(mask instanceof Uint8Array)) {
    const o = mask as Obj;
    const names = Object.keys(o);
    if (!names.length) return fc.constant({});
    return fc.tuple(...names.map((n) => numbersIn(o[n], (key as Obj)[n], `${path}.${n}`, top))).map((vals) => {
      const out: Obj = {};
      names.forEach((n, i) => (out[n] = vals[i]));
      return out;
    });
  }
  return fc.constant(mask);
}

/** A key and a mask for it, inside what ODP text round-trips. */
export function keyWithMask(): Arb<{ key: FlowKey; mask: FlowKey }> {
  return flowKey(true).chain((key) => maskFor(key).map((mask) => ({ key, mask })));
}

function maskFor(key: FlowKey): Arb<FlowKey> {
  const names = Object.keys(key);
  if (!names.length) return fc.constant({});
  return fc
    .tuple(
      ...names.map((n) => {
        const v = (key as Obj)[n];
        if (n === 'encap') return maskFor(v as FlowKey);
        if (n === 'tunnel') return tunnelMask(v as TunnelKey);
        if (n === 'ctLabels') return maskLike(v, n);
        return maskLike(v, n).chain((m) => numbersIn(m, v, n, n));
      }),
    )
    .map((vals) => {
      const out: Obj = {};
      names.forEach((n, i) => (out[n] = vals[i]));
      return out as FlowKey;
    });
}

/** Tunnel masks where every present field stays visible (OVS's text loses zero-masked ids and options). */
function tunnelMask(t: TunnelKey): Arb<TunnelKey> {
  const o = t as Obj;
  const names = Object.keys(o);
  if (!names.length) return fc.constant({});
  return fc
    .tuple(
      ...names.map((n): Arb<unknown> => {
        const v = o[n];
        switch (n) {
          case 'id':
            return fc.oneof(fc.constant((1n << 64n) - 1n), fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }));
          case 'erspanOpts':
            return fc.constant({ version: -1, index: 0xffffffff, sgt: 0xffff, p: 1, ft: 0x1f, hwidUpper: 3, o: 1, gra: 3, dir: 1, hwid: 0xf });
          case 'vxlanOpts':
            return (v as Obj).gbp !== undefined ? fc.constant({ ...(v as Obj), gbp: 0xffffff }) : maskLike(v, n);
          case 'gtpuOpts':
            return fc.constant({ flags: 0xff, msgtype: 0xff });
          case 'geneveOpts': {
            // Mask = all ones except where OVS's text keeps the key's option lengths.
            const b = new Uint8Array((v as Uint8Array).length).fill(0xff);
            for (let off = 0; off < b.length; ) {
              b[off + 3] = 0x1f;
              off += 4 + ((v as Uint8Array)[off + 3] & 0x1f) * 4;
            }
            return fc.constant(b);
          }
          case 'dontFragment':
          case 'csum':
          case 'oam':
            return fc.constant(true);
          default:
            return maskLike(v, n).chain((m) => numbersIn(m, v, n, n));
        }
      }),
    )
    .map((vals) => {
      const out: Obj = {};
      names.forEach((n, i) => (out[n] = vals[i]));
      return out as TunnelKey;
    });
}

// ---- actions ----

const helperName = fc.stringMatching(/^[a-z][a-z0-9_]{0,14}$/);

function ctNat(text: boolean): Arb<CtNat> {
  if (!text) {
    return fc.record(
      { src: fc.constant(true), dst: fc.constant(true), ipMin: fc.oneof(ipv4, ipv6), ipMax: fc.oneof(ipv4, ipv6), protoMin: n16, protoMax: n16, persistent: fc.constant(true), protoHash: fc.constant(true), protoRandom: fc.constant(true) },
      { requiredKeys: [] },
    );
  }
  return fc.oneof(
    fc.constant({}),
    fc.record({ kind: fc.constantFrom('src', 'dst'), v6: fc.boolean(), a: fc.integer({ min: 1, max: 200 }), span: fc.integer({ min: 0, max: 50 }), pmin: fc.integer({ min: 0, max: 60000 }), pspan: fc.integer({ min: 0, max: 500 }), flag: fc.constantFrom('', 'persistent', 'hash', 'random') }).map((r) => {
      const n: CtNat = r.kind === 'src' ? { src: true } : { dst: true };
      n.ipMin = r.v6 ? `fe80::${r.a.toString(16)}` : `10.0.0.${r.a}`;
      if (r.span) n.ipMax = r.v6 ? `fe80::${(r.a + r.span).toString(16)}` : `10.0.0.${r.a + r.span}`;
      if (r.pmin) {
        n.protoMin = r.pmin;
        if (r.pspan) n.protoMax = r.pmin + r.pspan;
      }
      if (r.flag === 'persistent') n.persistent = true;
      if (r.flag === 'hash') n.protoHash = true;
      if (r.flag === 'random') n.protoRandom = true;
      return n;
    }),
  );
}

function ct(text: boolean): Arb<CtAction> {
  const fields: Record<string, Arb<unknown>> = {
    commit: fc.constant(true),
    zone: text ? fc.integer({ min: 1, max: 0xffff }) : n16,
    mark: fc.record({ value: n32, mask: text ? fc.integer({ min: 1, max: 0xffffffff }) : n32 }),
    labels: fc.record({ value: big(128), mask: text ? fc.bigInt({ min: 1n, max: (1n << 128n) - 1n }) : big(128) }),
    helper: helperName,
    timeout: helperName,
    nat: ctNat(text),
  };
  if (!text) {
    fields.forceCommit = fc.constant(true);
    fields.eventmask = n32;
  }
  return orderedSubset(fields).map((o) => ({ type: 'ct', ...o }) as CtAction);
}

function setKeyFields(text: boolean): Record<string, Arb<unknown>> {
  const f = keyFields(text, 2);
  delete f.encap;
  // A verbose set(tunnel(...)) can read back as a masked set, which prints differently.
  if (text) delete f.tunnel;
  return f;
}

function oneFieldKey(text: boolean): Arb<FlowKey> {
  return orderedSubset(setKeyFields(text), 1).filter((k) => Object.keys(k).length === 1) as Arb<FlowKey>;
}

/** Actions; `text` keeps to what ODP text reads back. */
export function actions(text = false, depth = 0): Arb<Action[]> {
  const nested = depth < 3 ? fc.constant(0).chain(() => actions(text, depth + 1)) : fc.constant([] as Action[]);
  const lse = mpls;
  const list: Arb<Action>[] = [
    u32.map((port) => ({ type: 'output', port }) as Action),
    // Text always shows userdata (OVS's parser adds a zero cookie when there is none).
    fc.record({ pid: u32, userdata: bytes(text ? 8 : 0, 60), egressTunPort: u32, actions: fc.constant(true) }, { requiredKeys: text ? ['pid', 'userdata'] : ['pid'] }).map((u) => ({ type: 'userspace', ...u }) as Action),
    oneFieldKey(text).map((key) => ({ type: 'set', key }) as Action),
    fc.record({ tpid: fc.constantFrom(0x8100, 0x88a8, 0x9100), vid: bits(12), pcp: bits(3), cfi: bits(1) }).map((v) => ({ type: 'pushVlan', ...v }) as Action),
    fc.constant({ type: 'popVlan' } as Action),
    fc.record({ probability: n32, actions: nested }).map((s) => ({ type: 'sample', ...s }) as Action),
    u32.map((id) => ({ type: 'recirc', id }) as Action),
    fc.record({ alg: text ? fc.constantFrom(0, 1) : u32, basis: u32 }).map((h) => ({ type: 'hash', ...h }) as Action),
    fc.record({ lse, ethertype: n16 }).map((m) => ({ type: 'pushMpls', ...m }) as Action),
    n16.map((ethertype) => ({ type: 'popMpls', ethertype }) as Action),
    ct(text),
    u32.map((maxLen) => ({ type: 'trunc', maxLen }) as Action),
    fc.record({ src: mac, dst: mac }).map((e) => ({ type: 'pushEth', ...e }) as Action),
    fc.constant({ type: 'popEth' } as Action),
    fc.constant({ type: 'ctClear' } as Action),
    pushNsh(text),
    fc.constant({ type: 'popNsh' } as Action),
    u32.map((id) => ({ type: 'meter', id }) as Action),
    nested.map((a) => ({ type: 'clone', actions: a }) as Action),
    fc.record({ pktLen: n16, gt: nested, le: nested }).map((c) => ({ type: 'checkPktLen', ...c }) as Action),
    fc.record({ lse, ethertype: n16, tunFlags: text ? fc.constant(0) : n16 }).map((m) => ({ type: 'addMpls', ...m }) as Action),
    nested.map((a) => ({ type: 'decTtl', actions: a }) as Action),
    fc
      .record({ group: u32, cookie: bytes(1, 16).filter((b) => !text || b.some((x) => x !== 0)) }, { requiredKeys: ['group'] })
      .map((p) => ({ type: 'psample', ...p }) as Action),
    u32.map((port) => ({ type: 'tnlPop', port }) as Action),
    u32.map((bondId) => ({ type: 'lbOutput', bondId }) as Action),
  ];
  if (text) {
    // set(attr(value/mask)), printed as OVS's SET_MASKED case of format_odp_action
    // does (the attribute in the terse, masked form; nsh via format_odp_set_nsh).
    // Two kinds of masked set are left out because OVS itself prints them in a
    // form that does not read back as the same text:
    // - a mask of all ones: odp_actions_from_string turns it into a plain set,
    //   which prints in the verbose form (ct_state(new|trk) becomes
    //   ct_state(0x21); an unknown attribute loses its "/ff ff" mask);
    // - a zero mask on ct_zone, ct_mark or ct_label: the terse form prints no
    //   value at all, "set(ct_zone())", which neither OVS nor ovsnl can read.
    list.push(
      oneFieldKey(true)
        .chain((key) => maskFor(key).map((mask) => ({ key, mask })))
        .filter(({ key, mask }) => !allOnes(key, mask) && !emptyCtMask(mask))
        .map(({ key, mask }) => ({ type: 'setMasked', key, mask }) as Action),
    );
  }
  if (!text) {
    list.push(
      oneFieldKey(false)
        .filter((k) => k.nsh === undefined)
        .chain((key) => maskFor(key).map((mask) => ({ type: 'setMasked', key, mask }) as Action)),
      fc.tuple(nsh(true), nsh(true)).map(([key, mask]) => ({ type: 'setMasked', key: { nsh: key }, mask: { nsh: mask } }) as Action),
      fc.record({ reason: u32 }).map((d) => ({ type: 'drop', ...d }) as Action),
      fc.record({ tnlPort: u32, outPort: u32, tnlType: u32, headerLen: u32, header: bytes(0, 60) }).map((t) => ({ type: 'tnlPush', ...t }) as Action),
      fc.record({ attrType: fc.integer({ min: 29, max: 0x3fff }), data: bytes(0, 12) }).map((u) => ({ type: 'unknown', ...u }) as Action),
    );
  }
  return fc.array(fc.oneof(...list), { maxLength: depth ? 3 : 6 });
}

/** The mask covers every byte of the one attribute (OVS reads that back as a plain set). */
function allOnes(key: FlowKey, mask: FlowKey): boolean {
  const name = Object.keys(key)[0];
  const k = keyFieldPayload(name, (key as Obj)[name]);
  const m = keyFieldPayload(name, (mask as Obj)[name]);
  return k.length === m.length && m.every((b) => b === 0xff);
}

function emptyCtMask(mask: FlowKey): boolean {
  return mask.ctZone === 0 || mask.ctMark === 0 || mask.ctLabels === 0n;
}

function pushNsh(text: boolean): Arb<Action> {
  if (!text) return nsh(false).map((n) => ({ type: 'pushNsh', nsh: n }) as Action);
  return fc
    .record({ flags: bits(2), ttl: bits(6), md: fc.boolean(), np: n8, spi: bits(24), si: n8, ctx: fc.tuple(n32, n32, n32, n32), md2: bytes(4, 12) })
    .map((r) => {
      const base = { flags: r.flags, ttl: r.ttl, mdtype: r.md ? 1 : 2, np: r.np, spi: r.spi, si: r.si };
      const md2 = r.md2.slice(0, r.md2.length & ~3);
      md2[0] |= 1;
      return { type: 'pushNsh', nsh: r.md ? { base, md1: r.ctx } : { base, md2 } } as Action;
    });
}
