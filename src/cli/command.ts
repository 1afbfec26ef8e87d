// The command table, as lib/dpctl.c keeps it: name, usage, argument counts
// (without the command itself), and whether the command writes (refused
// under --read-only). main.ts turns it into commander commands and checks
// the counts with ovs-dpctl's own messages.
import type { Ctx } from './context.js';

export interface CommandSpec {
  name: string;
  usage: string;
  description: string;
  min: number;
  max: number;
  mode: 'ro' | 'rw';
  /** Takes --json. */
  json?: boolean;
  /** Not listed in --help (ovs-dpctl's undocumented test commands). */
  hidden?: boolean;
  run(ctx: Ctx, args: string[]): Promise<void>;
}

export type Handler = (ctx: Ctx, args: string[]) => Promise<void>;

/**
 * A command whose implementation is imported when it runs: an operator's
 * `ovsnl dump-dps` should not pay for compiling the flow parser (under
 * emulation, module loading is most of a short command's time).
 */
export function lazy(spec: Omit<CommandSpec, 'run'>, load: () => Promise<Handler>): CommandSpec {
  return { ...spec, run: async (ctx, args) => (await load())(ctx, args) };
}
