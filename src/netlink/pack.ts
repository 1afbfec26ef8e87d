// Requests written back to back for a packed group (Connection.requestPacked)
// are first grouped by size: consecutive requests, each group within a byte
// bound, a request larger than the bound alone in its group.

/** A group of requests: their indexes in the input, in order, and their total size. */
export interface SizedGroup {
  indexes: number[];
  bytes: number;
}

/** Groups the requests with a size (a negative size leaves that request out) into groups of at most maxBytes. */
export function groupBySize(sizes: readonly number[], maxBytes: number): SizedGroup[] {
  const groups: SizedGroup[] = [];
  let current: SizedGroup | undefined;
  for (let i = 0; i < sizes.length; i++) {
    const n = sizes[i];
    if (n < 0) continue;
    if (!current || current.bytes + n > maxBytes) {
      current = { indexes: [], bytes: 0 };
      groups.push(current);
    }
    current.indexes.push(i);
    current.bytes += n;
  }
  return groups;
}
