// top's arithmetic and its table, pure: two successive dumps of a flow table
// in, flows with packet and byte rates out, sorted, and their text.
//
// A flow is known from dump to dump by its UFID, or by its key bytes when it
// has none (flows added by ovs-dpctl). A flow not in the previous dump was
// made during the interval, so all its packets count toward its rate; one
// whose counters went down was replaced (deleted and added again, or its
// stats cleared): its counters count from zero too.

export type TopSort = 'packets' | 'bytes';

export interface FlowSample {
  /** 'u' + UFID hex, or 'k' + the key bytes. */
  id: string;
  packets: bigint;
  bytes: bigint;
  ufid: string | null;
  key: string;
  actions: string;
}

export interface FlowRate extends FlowSample {
  packetRate: number;
  byteRate: number;
}

export type Counters = ReadonlyMap<string, { packets: bigint; bytes: bigint }>;

export function parseSort(value: string | undefined): TopSort {
  if (value === undefined || value === 'packets' || value === 'bytes') return value ?? 'packets';
  throw new RangeError(`--sort: '${value}' is not packets or bytes`);
}

const delta = (now: bigint, before: bigint | undefined): bigint => (before === undefined || now < before ? now : now - before);

/** Rates over `ms` milliseconds, busiest first by `sort` (then the other rate, then totals, then key text). */
export function flowRates(samples: readonly FlowSample[], previous: Counters, ms: number, sort: TopSort): FlowRate[] {
  const secs = ms / 1000;
  const rows = samples.map((s) => {
    const p = previous.get(s.id);
    // A counter that went down belongs to a new flow under the same id: both count from zero.
    const reset = p !== undefined && (s.packets < p.packets || s.bytes < p.bytes);
    const dp = delta(s.packets, reset ? undefined : p?.packets);
    const db = delta(s.bytes, reset ? undefined : p?.bytes);
    return { ...s, packetRate: secs > 0 ? Number(dp) / secs : 0, byteRate: secs > 0 ? Number(db) / secs : 0 };
  });
  const [first, second] = sort === 'packets' ? (['packetRate', 'byteRate'] as const) : (['byteRate', 'packetRate'] as const);
  const [t1, t2] = sort === 'packets' ? (['packets', 'bytes'] as const) : (['bytes', 'packets'] as const);
  const cmp = (a: bigint, b: bigint): number => (a < b ? 1 : a > b ? -1 : 0);
  return rows.sort((a, b) => b[first] - a[first] || b[second] - a[second] || cmp(a[t1], b[t1]) || cmp(a[t2], b[t2]) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The counters to compare the next dump with. */
export function countersOf(samples: readonly FlowSample[]): Map<string, { packets: bigint; bytes: bigint }> {
  return new Map(samples.map((s) => [s.id, { packets: s.packets, bytes: s.bytes }]));
}

export interface TableOptions {
  datapath: string;
  sort: TopSort;
  /** The measured interval. */
  ms: number;
  time: Date;
  /** At most this many flow rows (a terminal's height); default all. */
  maxRows?: number;
  /** Cut lines to this width (a terminal's); default no cut. */
  width?: number;
}

const rate = (v: number): string => (v >= 1e6 ? v.toExponential(2) : v.toFixed(1));

/** The table: a heading line, a column line, one line per flow. */
export function formatTopTable(rows: readonly FlowRate[], o: TableOptions): string {
  const clock = o.time.toISOString().slice(11, 19);
  const lines = [
    `${o.datapath}: ${rows.length} flow${rows.length === 1 ? '' : 's'}, over ${(o.ms / 1000).toFixed(2)} s, by ${o.sort}/s, at ${clock} UTC`,
    `${'PKTS/S'.padStart(10)} ${'BYTES/S'.padStart(12)} ${'PACKETS'.padStart(12)} ${'BYTES'.padStart(14)}  FLOW`,
  ];
  const shown = o.maxRows === undefined ? rows : rows.slice(0, Math.max(0, o.maxRows));
  for (const r of shown) {
    lines.push(`${rate(r.packetRate).padStart(10)} ${rate(r.byteRate).padStart(12)} ${String(r.packets).padStart(12)} ${String(r.bytes).padStart(14)}  ${r.key}, actions:${r.actions}`);
  }
  if (shown.length < rows.length) lines.push(`(${rows.length - shown.length} more)`);
  const cut = o.width;
  return lines.map((l) => (cut !== undefined && l.length > cut ? l.slice(0, Math.max(0, cut - 1)) + '…' : l)).join('\n') + '\n';
}

/** One table as a JSON object (docs/cli-json.md, `top`). */
export function topJson(rows: readonly FlowRate[], o: Omit<TableOptions, 'maxRows' | 'width'>): unknown {
  return {
    event: 'top',
    time: o.time.toISOString(),
    datapath: o.datapath,
    interval_ms: Math.round(o.ms),
    sort: o.sort,
    flows: rows.map((r) => ({
      ufid: r.ufid,
      key: r.key,
      actions: r.actions,
      packets: Number(r.packets),
      bytes: Number(r.bytes),
      packets_per_sec: r.packetRate,
      bytes_per_sec: r.byteRate,
    })),
  };
}
