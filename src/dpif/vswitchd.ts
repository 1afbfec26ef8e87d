// ovs-vswitchd deletes, at start, every kernel datapath it does not own; it
// also re-sets user features of datapaths it opens. A tool that creates
// datapaths on a host where it runs should say so before the operator loses
// work. Detection is by process name, from /proc, as `pidof` would.
import { readFileSync, readdirSync } from 'node:fs';

/** Pids of running ovs-vswitchd processes (empty when none, or /proc is unreadable). */
export function findVswitchd(procRoot = '/proc'): number[] {
  let entries: string[];
  try {
    entries = readdirSync(procRoot);
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`${procRoot}/${e}/comm`, 'utf8').trim() === 'ovs-vswitchd') pids.push(Number(e));
    } catch {
      // The process exited between readdir and read.
    }
  }
  return pids;
}

/** The warning to print, or undefined when no ovs-vswitchd runs. */
export function vswitchdWarning(procRoot = '/proc'): string | undefined {
  const pids = findVswitchd(procRoot);
  if (!pids.length) return undefined;
  return (
    `warning: ovs-vswitchd is running (pid ${pids.join(', ')}); it deletes kernel datapaths it does not own ` +
    'when it (re)starts and manages the flows of its own: datapaths and flows made here may not survive'
  );
}
