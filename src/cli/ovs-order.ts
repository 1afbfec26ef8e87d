// The order in which ovs-dpctl lists datapaths. It keeps their names in an
// `sset` (a hash set) and walks its buckets, so `dump-dps` and `show` print
// them in the order of OVS's string hash, not the kernel's. Reproducing that
// order (hash_bytes over the name, the hmap's bucket growth and chaining)
// makes ovsnl's output byte-identical with several datapaths too.

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/** lib/hash.h mhash_add (the build Debian ships: no SSE4.2, so murmur3 steps). */
function mhashAdd(hash: number, data: number): number {
  if (data !== 0) {
    data = Math.imul(data, 0xcc9e2d51) >>> 0;
    data = rotl(data, 15);
    data = Math.imul(data, 0x1b873593) >>> 0;
    hash = (hash ^ data) >>> 0;
  }
  hash = rotl(hash, 13);
  return (Math.imul(hash, 5) + 0xe6546b64) >>> 0;
}

function mhashFinish(hash: number): number {
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b) >>> 0;
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35) >>> 0;
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/** lib/hash.c hash_bytes: little-endian words, the tail zero-padded, finished with the length. */
export function ovsHashBytes(bytes: Uint8Array, basis = 0): number {
  let hash = basis >>> 0;
  const n = bytes.length;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    hash = mhashAdd(hash, (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24)) >>> 0);
  }
  if (i < n) {
    let tmp = 0;
    for (let j = 0; i + j < n; j++) tmp |= bytes[i + j] << (8 * j);
    hash = mhashAdd(hash, tmp >>> 0);
  }
  return mhashFinish((hash ^ n) >>> 0);
}

/** lib/hash.h hash_string (sset's hash_name). */
export function ovsHashString(s: string, basis = 0): number {
  return ovsHashBytes(Buffer.from(s, 'utf8'), basis);
}

/** lib/hmap.c calc_mask. */
function calcMask(capacity: number): number {
  let mask = Math.floor(capacity / 2);
  mask |= mask >>> 1;
  mask |= mask >>> 2;
  mask |= mask >>> 4;
  mask |= mask >>> 8;
  mask |= mask >>> 16;
  mask |= (mask & 1) << 1;
  return mask;
}

/**
 * The iteration order of an OVS `sset` after adding `names` in this order:
 * each insert goes to the head of bucket `hash & mask`; when n/2 exceeds the
 * mask the table grows and every chain is re-inserted bucket by bucket.
 */
export function ssetOrder(names: readonly string[]): string[] {
  let mask = 0;
  let buckets: { name: string; hash: number }[][] = [[]];
  let n = 0;
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) continue;
    seen.add(name);
    const node = { name, hash: ovsHashString(name) };
    buckets[node.hash & mask].unshift(node);
    n++;
    if (Math.floor(n / 2) > mask) {
      const newMask = calcMask(n);
      if (newMask > mask) {
        const next: { name: string; hash: number }[][] = Array.from({ length: newMask + 1 }, () => []);
        for (const chain of buckets) for (const nd of chain) next[nd.hash & newMask].unshift(nd);
        buckets = next;
        mask = newMask;
      }
    }
  }
  return buckets.flatMap((chain) => chain.map((nd) => nd.name));
}
