// Reassembly queues by datagram, each with its deadline: what IPv4's and
// IPv6's defragmenters (ipv4-frag.ts, ipv6-frag.ts) share, as both the
// kernel's share inet_frag_queue.

/** A fragment's data and where it goes in the datagram's payload, [off, end). */
export interface Piece {
  off: number;
  end: number;
  data: Uint8Array;
}

export interface FragQueue {
  /** When the datagram is given up on (the caller's clock). */
  expires: number;
}

export class FragQueues<Q extends FragQueue> {
  protected readonly queues = new Map<string, Q>();

  /** Datagrams waiting for fragments. */
  get size(): number {
    return this.queues.size;
  }

  /** Gives the datagram up (a fragment showed it bad). */
  protected kill(key: string): 'dropped' {
    this.queues.delete(key);
    return 'dropped';
  }

  /** Drops the datagrams past their deadline. */
  protected expire(now: number): void {
    for (const [k, q] of this.queues) if (q.expires <= now) this.queues.delete(k);
  }
}
