// Shared by the host tests of the userspace datapath: shell commands, and
// namespaces with veth pairs that are removed even when a test fails.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const sh = (cmd: string, ...args: string[]): string => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/** A command whose failure does not matter (cleanup of what may not exist). */
export const quiet = (cmd: string, ...args: string[]): void => {
  try {
    sh(cmd, ...args);
  } catch {
    // nothing to remove
  }
};

export interface NsPair {
  ns: string;
  /** The veth end left in the root namespace (the datapath's port). */
  host: string;
  /** The end inside the namespace, with `addr`. */
  peer: string;
  addr: string;
}

/** Namespaces each with one end of a veth pair, addressed in one /24; the other end is up in the root namespace. */
export function makeNsPairs(pairs: NsPair[]): void {
  removeNsPairs(pairs);
  for (const p of pairs) {
    sh('ip', 'netns', 'add', p.ns);
    sh('ip', 'link', 'add', 'name', p.host, 'type', 'veth', 'peer', 'name', p.peer, 'netns', p.ns);
    sh('ip', 'link', 'set', p.host, 'up');
    sh('ip', '-n', p.ns, 'addr', 'add', `${p.addr}/24`, 'dev', p.peer);
    sh('ip', '-n', p.ns, 'link', 'set', p.peer, 'up');
    sh('ip', '-n', p.ns, 'link', 'set', 'lo', 'up');
  }
}

export function removeNsPairs(pairs: NsPair[]): void {
  for (const p of pairs) {
    quiet('ip', 'link', 'del', p.host);
    quiet('ip', 'netns', 'del', p.ns);
  }
}

export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) throw new Error(`${what} needs root (network namespaces, AF_PACKET, TAP)`);
  try {
    sh('ping', '-V');
  } catch {
    throw new Error(`${what} needs ping (Debian: iputils-ping)`);
  }
}

/** The pid a daemon's pid file names, if any. */
export function readDaemonPid(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}
