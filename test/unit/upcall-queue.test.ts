import { describe, expect, it } from 'vitest';
import { UpcallQueue } from '../../src/dpif/upcall-queue.js';

function queue(limit = 4): { q: UpcallQueue<number>; drained: number[]; returned: number[] } {
  const drained: number[] = [];
  const returned: number[] = [];
  const q: UpcallQueue<number> = new UpcallQueue<number>(
    limit,
    limit >> 1,
    () => drained.push(q.length),
    async () => {
      returned.push(1);
      q.end();
    },
  );
  return { q, drained, returned };
}

describe('UpcallQueue', () => {
  it('hands items out in order, straight to a waiting consumer', async () => {
    const { q } = queue();
    const first = q.next();
    q.push(1);
    q.push(2);
    expect(await first).toEqual({ value: 1, done: false });
    expect(await q.next()).toEqual({ value: 2, done: false });
    expect(q.taken).toBe(2);
  });

  it('says when it is full and calls back at the low-water mark', async () => {
    const { q, drained } = queue(4);
    for (let i = 0; i < 4; i++) q.push(i);
    expect(q.full).toBe(true);
    await q.next();
    expect(drained).toEqual([]);
    await q.next();
    expect(drained).toEqual([2]);
  });

  it('tells the producer to go on when a consumer finds it empty', async () => {
    const { q, drained } = queue();
    const p = q.next();
    expect(drained).toEqual([0]);
    q.end();
    expect(await p).toEqual({ value: undefined, done: true });
  });

  it('ends after the queued items; an error is thrown after them', async () => {
    const { q } = queue();
    q.push(1);
    q.end(new Error('gone'));
    expect(await q.next()).toEqual({ value: 1, done: false });
    await expect(q.next()).rejects.toThrow('gone');
    expect(await q.next()).toEqual({ value: undefined, done: true });
    q.push(5);
    expect(q.length).toBe(0);
  });

  it('fails a waiting consumer with the error', async () => {
    const { q } = queue();
    const p = q.next();
    q.end(new Error('boom'));
    await expect(p).rejects.toThrow('boom');
  });

  it('refuses a second concurrent next()', async () => {
    const { q } = queue();
    void q.next();
    await expect(q.next()).rejects.toThrow(/one consumer/);
  });

  it('breaking out of for await calls onReturn', async () => {
    const { q, returned } = queue();
    q.push(1);
    q.push(2);
    for await (const x of { [Symbol.asyncIterator]: () => q }) {
      expect(x).toBe(1);
      break;
    }
    expect(returned).toEqual([1]);
  });

  it('keeps memory bounded over many items', async () => {
    const { q } = queue(10_000);
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 5000; i++) q.push(i);
      for (let i = 0; i < 5000; i++) expect((await q.next()).value).toBe(i);
    }
    expect(q.length).toBe(0);
  });
});
