// Property tests of the key/mask/action codecs and the ODP text format.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttrWriter, parseAttrs } from '../../../src/netlink/attr.js';
import { MalformedError } from '../../../src/netlink/errors.js';
import { OdpKeyError, OdpParseError, canonicalKey, formatOdpActions, formatOdpFlow, parseOdpActions, parseOdpFlow } from '../../../src/odp/index.js';
import { decodeActions, decodeKey, encodeActions, encodeKey, type Action, type FlowKey } from '../../../src/ovs/index.js';
import { decodeKeyField, decodeKeyFields, keyFieldSet } from '../../../src/ovs/key-codec.js';
import { KEY_FIELD_TYPES, type FlowKeyField } from '../../../src/ovs/keys.js';
import { OVS_KEY_ATTR_ENCAP } from '../../../src/ovs/uapi-keys.js';
import { actions, flowKey, keyWithMask } from './arbitraries.js';

const RUNS = { numRuns: Number(process.env.PROP_RUNS ?? 400) };
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function keyBytes(k: FlowKey): Uint8Array {
  const w = new AttrWriter();
  encodeKey(w, k);
  return w.finish().slice();
}

function actionBytes(a: Action[]): Uint8Array {
  const w = new AttrWriter();
  encodeActions(w, a);
  return w.finish().slice();
}

describe('key codec', () => {
  it('decode(encode(key)) = key, and re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(flowKey(), (k) => {
        const b = keyBytes(k);
        const d = decodeKey(b);
        expect(d).toEqual(k);
        expect(Object.keys(d)).toEqual(Object.keys(k).filter((n) => (k as Record<string, unknown>)[n] !== undefined));
        expect(hex(keyBytes(d))).toBe(hex(b));
      }),
      RUNS,
    );
  });

  it('random bytes decode or fail with MalformedError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        try {
          decodeKey(b);
        } catch (e) {
          expect(e).toBeInstanceOf(MalformedError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('random attribute streams with plausible headers decode or fail with MalformedError', () => {
    const attr = fc.record({ type: fc.integer({ min: 0, max: 34 }), data: fc.uint8Array({ maxLength: 44 }) });
    fc.assert(
      fc.property(fc.array(attr, { maxLength: 8 }), (attrs) => {
        const w = new AttrWriter();
        for (const a of attrs) w.bytes(a.type, a.data);
        try {
          const k = decodeKey(w.finish().slice());
          expect(hex(keyBytes(k)).length).toBeGreaterThanOrEqual(0);
        } catch (e) {
          expect(e).toBeInstanceOf(MalformedError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

// decodeKey walks the attribute bytes itself for speed; the reference here
// frames them with parseAttrs and decodes one at a time (decodeKeyField), as
// decodeKey once did: the framing, duplicate and nesting rules must agree.
function referenceDecode(b: Uint8Array, depth = 0): FlowKey {
  if (depth > 32) throw new MalformedError('deep');
  const out: Record<string, unknown> = {};
  for (const a of parseAttrs(b)) {
    const [name, value] = a.type === OVS_KEY_ATTR_ENCAP ? ['encap', referenceDecode(a.data, depth + 1)] : decodeKeyField(a);
    if (name in out) throw new MalformedError(`duplicate ${name}`);
    out[name] = value;
  }
  return out as FlowKey;
}

function outcome(f: () => FlowKey): { key?: FlowKey; malformed?: true } {
  try {
    return { key: f() };
  } catch (e) {
    expect(e).toBeInstanceOf(MalformedError);
    return { malformed: true };
  }
}

// Random key attributes, sized to fit the fixed structs often so that values (not only errors) are compared.
const leafAttr = fc.record({ type: fc.integer({ min: 0, max: 40 }), data: fc.uint8Array({ maxLength: 44 }) });
const sizedAttr = fc.constantFrom(2, 4, 12, 16, 24, 28, 40).chain((n) => fc.record({ type: fc.integer({ min: 0, max: 40 }), data: fc.uint8Array({ minLength: n, maxLength: n }) }));
const attrStream = fc.array(fc.oneof(leafAttr, sizedAttr, sizedAttr), { maxLength: 10 });

/** `outer` with `inner` nested in an encap() before its element `at`. */
function nestedStream(outer: { type: number; data: Uint8Array }[], inner: { type: number; data: Uint8Array }[], at: number): Uint8Array {
  const w = new AttrWriter();
  outer.forEach((a, i) => {
    if (i === at) {
      const tok = w.nestStart(OVS_KEY_ATTR_ENCAP);
      for (const x of inner) w.bytes(x.type, x.data);
      w.nestEnd(tok);
    }
    w.bytes(a.type, a.data);
  });
  return w.finish().slice();
}

describe('decodeKey and the one-attribute decoder agree', () => {
  it('on valid keys: the same fields, values and order', () => {
    fc.assert(
      fc.property(flowKey(), (k) => {
        const b = keyBytes(k);
        const fast = decodeKey(b);
        const ref = referenceDecode(b);
        expect(fast).toEqual(ref);
        expect(Object.keys(fast)).toEqual(Object.keys(ref));
      }),
      RUNS,
    );
  });

  it('on random attribute streams, nested ones included: equal keys, or both MalformedError', () => {
    fc.assert(
      fc.property(attrStream, attrStream, fc.nat(10), (outer, inner, at) => {
        const b = nestedStream(outer, inner, at);
        expect(outcome(() => decodeKey(b))).toEqual(outcome(() => referenceDecode(b)));
      }),
      { numRuns: 3000 },
    );
  });

  it('on a kernel MISS key of a UDP packet', () => {
    // in_port(1), skb_mark, ct_state/zone/mark/labels (zero), recirc_id, dp_hash, eth, eth_type, ipv4, udp
    const k: FlowKey = {
      priority: 0, inPort: 1, skbMark: 0, ctState: 0, ctZone: 0, ctMark: 0, ctLabels: 0n, recircId: 0, dpHash: 0,
      ethernet: { src: '02:a0:00:00:00:07', dst: '02:00:00:00:0b:0b' }, ethertype: 0x800,
      ipv4: { src: '10.92.0.1', dst: '10.92.0.2', proto: 17, tos: 0, ttl: 64, frag: 0 }, udp: { src: 1031, dst: 7001 },
    };
    expect(decodeKey(keyBytes(k))).toEqual(k);
    const labelled = { ...k, ctLabels: (1n << 127n) | 5n };
    expect(decodeKey(keyBytes(labelled))).toEqual(labelled);
  });
});

// The whole key with only the named properties, at every encap level.
function restrict(k: FlowKey, fields: ReadonlySet<string>): FlowKey {
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(k)) if (fields.has(name)) out[name] = name === 'encap' ? restrict(v as FlowKey, fields) : v;
  return out as FlowKey;
}

describe('decodeKeyFields: decodeKey restricted to some properties', () => {
  const names = Object.keys(KEY_FIELD_TYPES) as FlowKeyField[];
  const fieldList = fc.subarray(names);

  it('on valid keys: the named properties of the whole decode, in its order', () => {
    fc.assert(
      fc.property(flowKey(), fieldList, (k, fields) => {
        const b = keyBytes(k);
        const part = decodeKeyFields(b, keyFieldSet(fields));
        const want = restrict(decodeKey(b), new Set(fields));
        expect(part).toEqual(want);
        expect(Object.keys(part)).toEqual(Object.keys(want));
      }),
      RUNS,
    );
  });

  it('on random attribute streams: the restricted key, or MalformedError where framing or a repeat is wrong', () => {
    fc.assert(
      fc.property(attrStream, attrStream, fc.nat(10), fieldList, (outer, inner, at, fields) => {
        const b = nestedStream(outer, inner, at);
        const set = new Set<string>(fields);
        const whole = outcome(() => decodeKey(b));
        const part = outcome(() => decodeKeyFields(b, keyFieldSet(fields)));
        // What decodes whole decodes in part, to its restriction (outcome()
        // holds any failure to MalformedError; a skipped attribute's contents
        // are never read, so the whole may fail where the part does not).
        if (whole.key) expect(part).toEqual({ key: restrict(whole.key, set) });
      }),
      { numRuns: 3000 },
    );
  });

  it("a learning switch's fields from a kernel MISS key, and a repeated skipped attribute still refused", () => {
    const k: FlowKey = {
      priority: 0, inPort: 1, skbMark: 0, recircId: 0, dpHash: 0, ethernet: { src: '02:a0:00:00:00:07', dst: '02:00:00:00:0b:0b' }, ethertype: 0x8100,
      vlan: { vid: 5, pcp: 0, cfi: 1 }, encap: { ethertype: 0x800, ipv4: { src: '10.92.0.1', dst: '10.92.0.2', proto: 17, tos: 0, ttl: 64, frag: 0 }, udp: { src: 1031, dst: 7001 } },
    };
    const set = keyFieldSet(['inPort', 'recircId', 'ethernet', 'vlan', 'ethertype', 'encap']);
    expect(decodeKeyFields(keyBytes(k), set)).toEqual({
      inPort: 1, recircId: 0, ethernet: k.ethernet, ethertype: 0x8100, vlan: k.vlan, encap: { ethertype: 0x800 },
    });
    const w = new AttrWriter();
    encodeKey(w, { inPort: 1, udp: { src: 1, dst: 2 } });
    encodeKey(w, { udp: { src: 3, dst: 4 } });
    expect(() => decodeKeyFields(w.finish().slice(), set)).toThrow(/duplicate udp attribute/);
  });
});

describe('action codec', () => {
  it('decode(encode(actions)) = actions, and re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(actions(), (a) => {
        const b = actionBytes(a);
        const d = decodeActions(b);
        expect(d).toEqual(a);
        expect(hex(actionBytes(d))).toBe(hex(b));
      }),
      RUNS,
    );
  });

  it('random bytes decode or fail with MalformedError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        try {
          decodeActions(b);
        } catch (e) {
          expect(e).toBeInstanceOf(MalformedError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('random attribute streams with plausible headers decode or fail with MalformedError', () => {
    const leaf = fc.record({ type: fc.integer({ min: 0, max: 30 }), data: fc.uint8Array({ maxLength: 24 }) });
    fc.assert(
      fc.property(fc.array(fc.record({ type: fc.integer({ min: 0, max: 30 }), inner: fc.array(leaf, { maxLength: 4 }) }), { maxLength: 6 }), (list) => {
        const w = new AttrWriter();
        for (const a of list) {
          const tok = w.nestStart(a.type);
          for (const l of a.inner) w.bytes(l.type, l.data);
          w.nestEnd(tok);
        }
        try {
          const d = decodeActions(w.finish().slice());
          actionBytes(d);
        } catch (e) {
          expect(e).toBeInstanceOf(MalformedError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('ODP text', () => {
  it('format(parse(format(key, mask))) = format(key, mask), terse and verbose', () => {
    fc.assert(
      fc.property(keyWithMask(), fc.boolean(), ({ key, mask }, verbose) => {
        const text = formatOdpFlow(key, mask, { verbose });
        // Nothing left to print ('' when every attribute is wildcarded): nothing to read back.
        if (text === '<empty>' || text === '') return;
        const p = parseOdpFlow(text, { dumpSyntax: true });
        expect(formatOdpFlow(p.key, p.mask, { verbose })).toBe(text);
      }),
      RUNS,
    );
  });

  it('format(parse(format(actions))) = format(actions)', () => {
    fc.assert(
      fc.property(actions(true), (a) => {
        const text = formatOdpActions(a);
        expect(formatOdpActions(parseOdpActions(text))).toBe(text);
      }),
      RUNS,
    );
  });

  it('exact keys print and read back (the verbose key form)', () => {
    fc.assert(
      fc.property(flowKey(true), (k) => {
        const text = formatOdpFlow(k);
        if (text === '<empty>') return;
        expect(formatOdpFlow(parseOdpFlow(text).key)).toBe(text);
      }),
      RUNS,
    );
  });

  it('random strings never throw anything but OdpParseError / OdpKeyError', () => {
    const alphabet = fc.constantFrom(...'()=,/:.-+|{}[] 0123456789abcdefx'.split(''), 'in_port', 'eth', 'ipv4', 'tunnel', 'encap', 'ct', 'set', 'nat', 'src', 'dst', 'vlan', 'mpls', 'geneve', 'userspace', 'sample', 'clone', 'tnl_push');
    const text = fc.array(alphabet, { maxLength: 40 }).map((a) => a.join(''));
    fc.assert(
      fc.property(fc.oneof(text, fc.string({ maxLength: 60 })), (s) => {
        try {
          const f = parseOdpFlow(s);
          formatOdpFlow(f.key, f.mask);
          canonicalKey(f.key);
        } catch (e) {
          if (!(e instanceof OdpParseError) && !(e instanceof OdpKeyError)) throw e;
        }
        try {
          formatOdpActions(parseOdpActions(s));
        } catch (e) {
          if (!(e instanceof OdpParseError)) throw e;
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('mutated vectors never throw anything but the typed errors', () => {
    const seeds = [
      'recirc_id(0),tunnel(tun_id=0x7b,src=1.1.2.92,dst=1.1.2.88,geneve({class=0xffff,type=0x80,len=4,0xa/0xf}),flags(+key)),in_port(6081),eth_type(0x0800),ipv4(frag=no)',
      'in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x8100),vlan(vid=99,pcp=7),encap(eth_type(0x0800),ipv4(src=35.8.2.41,dst=172.16.0.20,proto=6,tos=0,ttl=128,frag=no),tcp(src=80/0xff00,dst=8080/0xff))',
      'ct(commit,nat(src=[fe80::20c:29ff:fe88:1]-[fe80::20c:29ff:fe88:a18b]:255-4096,random)),check_pkt_len(size=200,gt(set(ipv4(src=192.168.3.3)),1),le(drop))',
      'tnl_push(tnl_port(6),header(size=58,type=5,eth(dst=f8:bc:12:44:34:b6,src=f8:bc:12:46:58:e0,dl_type=0x0800),ipv4(src=1.1.2.88,dst=1.1.2.92,proto=17,tos=0,ttl=64,frag=0x4000),udp(src=0,dst=6081,csum=0x0),geneve(crit,vni=0x1c7,options({class=0xffff,type=0x80,len=4,0xa}))),out_port(1))',
    ];
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.nat(), fc.nat(), fc.string({ maxLength: 3 }), (seed, at, del, ins) => {
        const i = at % (seed.length + 1);
        const s = seed.slice(0, i) + ins + seed.slice(i + (del % 4));
        for (const parse of [(x: string) => formatOdpFlow(parseOdpFlow(x).key), (x: string) => formatOdpActions(parseOdpActions(x))]) {
          try {
            parse(s);
          } catch (e) {
            if (!(e instanceof OdpParseError) && !(e instanceof OdpKeyError)) throw e;
          }
        }
      }),
      { numRuns: 3000 },
    );
  });
});
