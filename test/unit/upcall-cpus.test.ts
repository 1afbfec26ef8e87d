import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCpuList, perCpuPidArray, possibleCpus } from '../../src/dpif/upcall-cpus.js';

describe('parseCpuList', () => {
  it.each([
    ['0', [0]],
    ['0-3', [0, 1, 2, 3]],
    ['0-1,4-5\n', [0, 1, 4, 5]],
    ['2,0', [0, 2]],
    ['', []],
  ])('%j', (text, want) => expect(parseCpuList(text)).toEqual(want));

  it.each(['a', '3-1', '0-', '-1', '0,,1'])('refuses %j', (text) => expect(() => parseCpuList(text)).toThrow(RangeError));
});

describe('possibleCpus', () => {
  it('reads the kernel file, and this host has at least one CPU', () => {
    expect(possibleCpus().length).toBeGreaterThan(0);
    const dir = mkdtempSync(join(tmpdir(), 'ovsnl-cpus-'));
    writeFileSync(join(dir, 'possible'), '0-7\n');
    expect(possibleCpus(join(dir, 'possible'))).toHaveLength(8);
    writeFileSync(join(dir, 'none'), '\n');
    expect(() => possibleCpus(join(dir, 'none'))).toThrow(/no CPU/);
  });
});

describe('perCpuPidArray', () => {
  it('gives every CPU id a handler, in turn', () => {
    expect(perCpuPidArray([0, 1, 2, 3, 4], [10, 20])).toEqual([10, 20, 10, 20, 10]);
    expect(perCpuPidArray([0, 1], [10, 20, 30, 40])).toEqual([10, 20]);
  });

  it('shares possible CPUs evenly even with gaps in the ids, and fills the gaps with valid pids', () => {
    // CPUs 0-1 and 4-5: 2 and 3 can never come online.
    const pids = perCpuPidArray([0, 1, 4, 5], [10, 20]);
    expect(pids).toHaveLength(6);
    expect(pids[0]).toBe(10);
    expect(pids[1]).toBe(20);
    expect(pids[4]).toBe(10);
    expect(pids[5]).toBe(20);
    expect(pids.every((p) => p !== 0)).toBe(true);
  });

  it('needs a handler', () => expect(() => perCpuPidArray([0], [])).toThrow(RangeError));
});
