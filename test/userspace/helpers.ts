// Shared by the host tests of the userspace datapath: shell commands, and
// namespaces with veth pairs that are removed even when a test fails.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Tests that run bin/ovsnl.js run dist/: refuse to test stale code. Every
 * src/ file must have a dist/ counterpart at least as new.
 */
export function requireBuiltDist(): void {
  const stale: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(join(ROOT, 'src', dir), { withFileTypes: true })) {
      const rel = join(dir, e.name);
      if (e.isDirectory()) walk(rel);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
        const out = join(ROOT, 'dist', rel.replace(/\.ts$/, '.js'));
        if (!existsSync(out) || statSync(out).mtimeMs < statSync(join(ROOT, 'src', rel)).mtimeMs) stale.push(rel);
      }
    }
  };
  walk('');
  if (stale.length) throw new Error(`dist/ is older than src/ (${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', ...' : ''}): run 'npm run build:ts' first`);
}
