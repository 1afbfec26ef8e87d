// Which CPUs per-CPU upcall dispatch must cover, and the pid array for them.
// The kernel indexes OVS_DP_ATTR_PER_CPU_PIDS by the id of the CPU that
// received the packet (smp_processor_id), so the array needs an entry for
// every CPU that can ever come online, not only those online now: a CPU
// hot-plugged later would otherwise fall into the kernel's "cpu_id mismatch"
// path (logged, then pids[cpu % n]).
import { readFileSync } from 'node:fs';

/**
 * Parses a kernel CPU list ("0-3,8-11", "0", "" for none) into ids, ascending.
 * Throws RangeError on text that is not one.
 */
export function parseCpuList(text: string): number[] {
  const out = new Set<number>();
  const t = text.trim();
  if (t === '') return [];
  for (const part of t.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new RangeError(`not a CPU list: '${text}'`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi > 65535) throw new RangeError(`not a CPU list: '${text}'`);
    for (let c = lo; c <= hi; c++) out.add(c);
  }
  return [...out].sort((a, b) => a - b);
}

/** The ids of the host's possible CPUs (/sys/devices/system/cpu/possible). */
export function possibleCpus(path = '/sys/devices/system/cpu/possible'): number[] {
  const cpus = parseCpuList(readFileSync(path, 'utf8'));
  if (cpus.length === 0) throw new RangeError(`${path} lists no CPU`);
  return cpus;
}

/**
 * The per-CPU pid array: one entry per CPU id up to the highest possible one.
 * Possible CPUs take the handler sockets in turn, so each socket serves an
 * equal share of them even when the ids have gaps; ids that can never come
 * online still get a valid pid rather than 0 (an upcall to pid 0 is lost).
 */
export function perCpuPidArray(cpus: readonly number[], handlerPids: readonly number[]): number[] {
  if (handlerPids.length === 0) throw new RangeError('per-CPU dispatch needs at least one handler socket');
  const possible = new Set(cpus);
  const size = cpus.length === 0 ? 1 : Math.max(...cpus) + 1;
  const out = new Array<number>(size);
  let k = 0;
  for (let cpu = 0; cpu < size; cpu++) out[cpu] = handlerPids[(possible.has(cpu) ? k++ : cpu) % handlerPids.length];
  return out;
}
