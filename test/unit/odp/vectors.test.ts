// Every line of OVS's ODP vectors (test/fixtures/odp): parse → format equals
// what OVS printed, directly and through the binary codecs.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AttrWriter } from '../../../src/netlink/attr.js';
import { OdpKeyError, OdpParseError, canonicalKey, formatOdpActions, formatOdpFlow, formatOdpKey, parseOdpActions, parseOdpFlow } from '../../../src/odp/index.js';
import { decodeActions, decodeKey, decodeMask, encodeActions, encodeKey, encodeMask, type Action, type FlowKey } from '../../../src/ovs/index.js';
import { loadInvalid, loadVectors } from './vector-files.js';

function viaKeyCodec(k: FlowKey): FlowKey {
  const w = new AttrWriter();
  encodeKey(w, k);
  return decodeKey(w.finish().slice());
}

function viaMaskCodec(m: FlowKey): FlowKey {
  const w = new AttrWriter();
  encodeMask(w, m);
  return decodeMask(w.finish().slice());
}

function viaActionCodec(a: Action[]): Action[] {
  const w = new AttrWriter();
  encodeActions(w, a);
  return decodeActions(w.finish().slice());
}

/** OVS's parse-keys output for one line. */
function parseKeysOutput(input: string, codec: boolean): string {
  const { key } = parseOdpFlow(input);
  const k = codec ? viaKeyCodec(key) : key;
  try {
    const { fitness, key: canon } = canonicalKey(k);
    const prefix = fitness === 'tooLittle' ? 'ODP_FIT_TOO_LITTLE: ' : fitness === 'tooMuch' ? 'ODP_FIT_TOO_MUCH: ' : '';
    return prefix + formatOdpKey(codec ? viaKeyCodec(canon) : canon);
  } catch (e) {
    if (e instanceof OdpKeyError) return `odp_flow_key_to_flow: error (${e.reason}; the flow key in error is: ${e.keyText})`;
    throw e;
  }
}

describe('odp-keys.txt (exact keys, parse-keys)', () => {
  const vectors = loadVectors('odp-keys.txt');
  it('has the vectors', () => expect(vectors.length).toBe(288));
  for (const v of vectors) {
    it(`line ${v.line}: ${v.input.slice(0, 90)}`, () => {
      expect(parseKeysOutput(v.input, false)).toBe(v.expected);
      expect(parseKeysOutput(v.input, true)).toBe(v.expected);
    });
  }
});

describe('odp-keys-masked.txt (keys with masks, parse-wc-keys)', () => {
  const vectors = loadVectors('odp-keys-masked.txt');
  it('has the vectors', () => expect(vectors.length).toBe(292));
  for (const v of vectors) {
    it(`line ${v.line}: ${v.input.slice(0, 90)}`, () => {
      const { key, mask } = parseOdpFlow(v.input);
      expect(formatOdpFlow(key, mask)).toBe(v.expected);
      expect(formatOdpFlow(viaKeyCodec(key), viaMaskCodec(mask))).toBe(v.expected);
    });
  }
});

describe('odp-actions.txt (parse-actions)', () => {
  const vectors = loadVectors('odp-actions.txt');
  it('has the vectors', () => expect(vectors.length).toBe(410));
  for (const v of vectors) {
    it(`line ${v.line}: ${v.input.slice(0, 90)}`, () => {
      const actions = parseOdpActions(v.input);
      expect(formatOdpActions(actions)).toBe(v.expected);
      expect(formatOdpActions(viaActionCodec(actions))).toBe(v.expected);
    });
  }
});

describe('odp-invalid.txt', () => {
  const vectors = loadInvalid();
  it('has the vectors', () => expect(vectors.length).toBe(127));
  it('has 64 action and 7 masked-key asymmetries', () => {
    const asym = vectors.filter((v) => v.asymmetry);
    expect(asym.filter((v) => v.mode === 'actions').length).toBe(64);
    expect(asym.filter((v) => v.mode === 'wc-keys').length).toBe(7);
    expect(asym.length).toBe(71);
  });
  for (const v of vectors) {
    it(`line ${v.line} (${v.mode}${v.asymmetry ? ', asymmetry' : ''}): ${v.input.slice(0, 80)}`, () => {
      if (v.asymmetry) {
        // OVS prints these but cannot read them back. ovsnl reads every one of
        // them (a superset of OVS) and must print it back exactly as OVS
        // printed it, directly and through the binary codecs; a rejection fails.
        if (v.mode === 'actions') {
          const actions = parseOdpActions(v.input);
          expect(formatOdpActions(actions)).toBe(v.input);
          expect(formatOdpActions(viaActionCodec(actions))).toBe(v.input);
        } else {
          expect(v.mode).toBe('wc-keys');
          const flow = parseOdpFlow(v.input);
          expect(formatOdpFlow(flow.key, flow.mask)).toBe(v.input);
          expect(formatOdpFlow(viaKeyCodec(flow.key), viaMaskCodec(flow.mask))).toBe(v.input);
        }
      } else if (v.mode === 'actions') {
        expect(() => parseOdpActions(v.input)).toThrow(OdpParseError);
      } else if (v.mode === 'wc-keys') {
        // OVS rejects this and so must we, with OVS's message.
        let message: string | undefined;
        try {
          parseOdpFlow(v.input);
        } catch (e) {
          expect(e).toBeInstanceOf(OdpParseError);
          message = `odp_flow_from_string: error (${(e as OdpParseError).ovsMessage})`;
        }
        expect(message).toBe(v.ovsOutput);
      } else {
        // keys: OVS's key-to-flow conversion refuses these.
        let out: string;
        try {
          out = parseKeysOutput(v.input, false);
        } catch (e) {
          expect(e).toBeInstanceOf(OdpParseError);
          if (v.ovsOutput.startsWith('odp_flow_from_string')) {
            expect(`odp_flow_from_string: error (${(e as OdpParseError).ovsMessage})`).toBe(v.ovsOutput);
            return;
          }
          // Duplicates cannot exist in the typed key: the parser reports them with OVS's reason.
          const reason = /^odp_flow_key_to_flow: error \((.*); the flow key in error is: /.exec(v.ovsOutput)?.[1];
          expect((e as OdpParseError).reason).toBe(reason);
          return;
        }
        expect(out).toBe(v.ovsOutput);
      }
    });
  }
});

describe('generated vectors (VECTORS.md "oversized" recipe)', () => {
  const ok = (s: string): void => expect(formatOdpActions(parseOdpActions(s))).toBe(s);
  const bad = (s: string): void => expect(() => parseOdpActions(s)).toThrow(OdpParseError);
  it('userdata that just fits', () => ok(`userspace(pid=1234567,userdata(${'a'.repeat(131024)}),actions)`));
  it('userdata one byte too big', () => bad(`userspace(pid=1234567,userdata(${'a'.repeat(131026)}),actions)`));
  it('userdata with tunnel port that just fits', () => ok(`userspace(pid=1234567,userdata(${'a'.repeat(131016)}),tunnel_out_port=10)`));
  it('userdata with tunnel port one byte too big', () => bad(`userspace(pid=1234567,userdata(${'a'.repeat(131018)}),tunnel_out_port=10)`));
  it('8191 actions fit', () => ok('set(encap()),'.repeat(8190) + 'set(encap())'));
  it('8192 actions do not', () => bad('set(encap()),'.repeat(8191) + 'set(encap())'));
  it('16383 encap() attributes fit but are duplicates', () => {
    const s = 'encap(),'.repeat(16382) + 'encap()';
    try {
      parseOdpFlow(s);
      expect.unreachable();
    } catch (e) {
      expect((e as OdpParseError).reason).toBe('duplicate encap attribute in flow key');
    }
  });
  it('16384 encap() attributes are too long', () => {
    const s = 'encap(),'.repeat(16383) + 'encap()';
    try {
      parseOdpFlow(s);
      expect.unreachable();
    } catch (e) {
      expect((e as OdpParseError).ovsMessage).toBe('syntax error at encap()');
    }
  });
  // Every proper prefix of every action vector: about 28,000 parses, about
  // half a second on a 2-core machine, cheap enough to cover the whole file
  // rather than a sample.
  it('never throws anything but the typed errors on truncated vectors', () => {
    const vectors = loadVectors('odp-actions.txt');
    expect(vectors.length).toBe(410);
    for (const v of vectors) {
      for (let n = 0; n < v.input.length; n++) {
        try {
          parseOdpActions(v.input.slice(0, n));
        } catch (e) {
          if (!(e instanceof OdpParseError)) throw e;
        }
      }
    }
  });
});

// test/fixtures/odp is a copy of the project's shared vectors (see
// test/fixtures/README.md: the *.txt files unchanged, the shared README.md
// kept as VECTORS.md). Where the shared directory sits next to the checkout
// (<repo>/../shared/vectors), the copy must match it byte for byte; a clone
// without it reports this test as skipped.
describe('fixture copy of the shared vectors', () => {
  const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../../..');
  const shared = join(repoRoot, '..', 'shared', 'vectors');
  const fixtures = join(repoRoot, 'test', 'fixtures', 'odp');
  const present = existsSync(shared);
  it.skipIf(!present)(present ? `test/fixtures/odp equals ${shared} byte for byte` : 'test/fixtures/odp equals ../shared/vectors byte for byte (skipped: no ../shared/vectors next to this checkout)', () => {
    const txt = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.txt')).sort();
    expect(txt(fixtures)).toEqual(txt(shared));
    expect(txt(fixtures).length).toBe(4);
    const pairs: [string, string][] = txt(shared).map((f) => [f, f]);
    pairs.push(['VECTORS.md', 'README.md']);
    for (const [mine, theirs] of pairs) {
      const a = readFileSync(join(fixtures, mine));
      const b = readFileSync(join(shared, theirs));
      expect(a.equals(b), `test/fixtures/odp/${mine} differs from ${join(shared, theirs)}`).toBe(true);
    }
  });
});
