// The bounded queue between the handler sockets and an async iterator. It
// never blocks a producer: it tells the caller when it is full (time to stop
// reading the sockets) and calls back when a consumer has drained it to the
// low-water mark (time to read again). While the sockets are not read, the
// kernel's receive buffers fill and the kernel drops and counts upcalls:
// that, not memory growth here, is what a slow consumer costs.

export class UpcallQueue<T> implements AsyncIterator<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  private waiter?: { resolve: (r: IteratorResult<T>) => void; reject: (e: Error) => void };
  private ended = false;
  private failure?: Error;
  /** Items taken by the consumer. */
  taken = 0;

  constructor(
    readonly limit: number,
    private readonly lowWater: number,
    /** Called whenever the queue is at or below the low-water mark after a take. */
    private readonly onDrained: () => void,
    /** Called when the consumer stops early (break out of for await). */
    private readonly onReturn: () => Promise<void>,
  ) {
    if (!(limit >= 1)) throw new RangeError(`queue limit ${limit} must be at least 1`);
  }

  get length(): number {
    return this.items.length - this.head;
  }

  get full(): boolean {
    return this.length >= this.limit;
  }

  /** Adds an item (the caller stops producing once `full`); hands it straight to a waiting consumer. */
  push(item: T): void {
    if (this.ended) return;
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      this.taken++;
      w.resolve({ value: item, done: false });
      return;
    }
    this.items.push(item);
  }

  /** No more items: a waiting consumer finishes, or fails with `err`. */
  end(err?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = err;
    const w = this.waiter;
    this.waiter = undefined;
    if (w) {
      if (err && this.length === 0) w.reject(err);
      else w.resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.length > 0) {
      const value = this.items[this.head] as T;
      this.items[this.head++] = undefined;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      this.taken++;
      // Cheap when nothing is paused: the producer checks one flag.
      if (this.length <= this.lowWater) this.onDrained();
      return Promise.resolve({ value, done: false });
    }
    if (this.ended) {
      if (this.failure) {
        const f = this.failure;
        this.failure = undefined;
        return Promise.reject(f);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    if (this.waiter) return Promise.reject(new Error('upcalls: one consumer at a time (next() called before the previous one settled)'));
    // Empty: the producer may have stopped at the limit earlier; let it go on.
    this.onDrained();
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  async return(): Promise<IteratorResult<T>> {
    await this.onReturn();
    return { value: undefined, done: true };
  }
}
