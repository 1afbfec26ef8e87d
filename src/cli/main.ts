// The ovsnl command line: ovs-dpctl's commands with its arguments, options,
// output and errors, plus meters, execute and --json. commander parses;
// each command group lives in its own module as a table like lib/dpctl.c's;
// every failure becomes one line and a non-zero exit.
//
// main() runs with the process's streams; runCli() with any (tests run the
// CLI in-process: under emulation a process per command costs seconds).
import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import type { CommandSpec } from './command.js';
import { COMMANDS } from './commands.js';
import { Ctx, type GlobalOptions } from './context.js';
import { CliError, describeFailure } from './errors.js';
import { processIo, type CliIo } from './io.js';

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

export { COMMANDS };

/** What the process exits with when -t/--timeout runs out (ovs-dpctl dies of SIGALRM: 128 + 14). */
export const TIMEOUT_STATUS = 142;

/** The command name among the arguments: the first word that is neither an option nor -t's value. */
function commandWord(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '-t' || a === '--timeout') i++;
    else if (!a.startsWith('-') || a === '-') return a;
  }
  return undefined;
}

function parseTimeout(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) === 0 || Number(value) > 0xffffffff) {
    throw new CliError(`value ${value} on -t or --timeout is invalid`);
  }
  return Number(value);
}

/** Runs one command of the table with ovs-dpctl's checks around it. */
async function runSpec(spec: CommandSpec, args: string[], io: CliIo, opts: GlobalOptions): Promise<number> {
  const ctx = new Ctx(io, opts);
  try {
    if (args.length < spec.min) throw new CliError(`'${spec.name}' command requires at least ${spec.min} arguments`);
    if (args.length > spec.max) throw new CliError(`'${spec.name}' command takes at most ${spec.max} arguments`);
    if (spec.mode === 'rw' && opts.readOnly) throw new CliError(`'${spec.name}' command does not work in read only mode`);
    if (opts.json && !spec.json) throw new CliError(`--json: '${spec.name}' prints no data to format (JSON is for read commands)`);
    const secs = opts.timeout === undefined ? undefined : parseTimeout(opts.timeout);
    const work = spec.run(ctx, args);
    if (secs !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), secs * 1000);
        timer.unref?.();
      });
      work.catch(() => undefined);
      const r = await Promise.race([work.then(() => 'done' as const), expired]).finally(() => clearTimeout(timer));
      if (r === 'timeout') {
        ctx.error(`time limit exceeded (${secs} s)`);
        return TIMEOUT_STATUS;
      }
    } else {
      await work;
    }
    return ctx.status;
  } catch (err) {
    const text = describeFailure(err);
    if (text) ctx.error(text);
    return (err as { exitCode?: number }).exitCode ?? 1;
  } finally {
    await ctx.close();
  }
}

function listCommands(io: CliIo): void {
  let s = 'The available commands are:\n';
  for (const c of COMMANDS) if (!c.hidden) s += `  ${c.name.padEnd(23)} ${c.usage}\n`;
  io.stdout.write(s);
}

/** Runs the CLI on `args` (the words after "ovsnl"); resolves with the exit status. */
export async function runCli(args: string[], io: CliIo = processIo()): Promise<number> {
  let status = 0;
  const run = async (fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      io.stderr.write(`ovsnl: ${describeFailure(err)}\n`);
      status = (err as { exitCode?: number }).exitCode ?? 1;
    }
  };
  const program = new Command('ovsnl')
    .description('Open vSwitch kernel datapath control over generic netlink: the commands of ovs-dpctl, and more')
    .version(pkg.version, '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => {
        const text = s.replace(/^error: /, '').replace(/^unknown command '([^']*)'.*$/s, "unknown command '$1'; use --help for help\n");
        write(`ovsnl: ${text}`);
      },
    })
    .option('-s, --statistics', 'print statistics for port or flow')
    .option('--clear', 'mod-flow: reset existing stats to zero')
    .option('--may-create', 'mod-flow: create flow if it does not exist')
    .option('--read-only', 'do not run read/write commands')
    .option('-m, --more', 'increase verbosity of output (repeatable)', (_v: string, prev: number) => prev + 1, 0)
    .option('--names', 'use port names in output')
    .option('--no-names', 'use port numbers in output')
    .option('-t, --timeout <secs>', 'give up after SECS seconds')
    .option('--json', 'print read commands as JSON (see docs/cli-json.md)')
    .option('--count <n>', 'upcall-monitor: stop after N upcalls; top: after N tables')
    .option('--pcap <file>', 'upcall-monitor: also write the packets to FILE (pcap, Ethernet)')
    .option('--sort <field>', 'top: order flows by packets (default) or bytes per second')
    .option('--interval <secs>', 'top: seconds between two dumps (default 1)')
    .option('--rules <file>', 'run: forward by the rules in FILE (SIGHUP reloads it)')
    .option('--learning', 'run: forward as an L2 learning switch (with --rules: for normal rules and table misses)')
    .option('--idle-timeout <secs>', 'run: delete flows idle this long (default 10)')
    .option('--flow-limit <n>', 'run: keep at most N flows (default 200000)')
    .option('--handlers <n>', 'run: upcall handler sockets (default min(4, CPUs))')
    .addHelpText(
      'after',
      '\nEach IFACE on add-dp, add-if, and set-if may be followed by comma-separated\n' +
        'options: NAME[,type=system|internal|vxlan|geneve|gre][,port_no=N][,KEY=VALUE...].\n' +
        'Datapath names are [system@]NAME. For dump-flows, add-flow, add-flows, mod-flow,\n' +
        'mod-flows, get-flow, del-flow and del-flows, DP is optional if there is only one datapath.\n' +
        '\nupcall-monitor takes over the datapath\'s upcalls, as ovs-vswitchd does when it starts:\n' +
        'while it runs, whatever handled them before (ovs-vswitchd, ovsnl run) gets none.\n' +
        'SIGINT (Ctrl-C) ends upcall-monitor and top cleanly.\n',
    );
  for (const spec of COMMANDS) {
    program
      .command(spec.name, { hidden: spec.hidden })
      .description(spec.description)
      .usage(spec.usage)
      .argument('[args...]')
      .allowExcessArguments(true)
      .action(async (args: string[]) => {
        status = await runSpec(spec, args, io, program.opts<GlobalOptions>());
      });
  }
  program
    .command('list-commands')
    .description('list the available commands')
    .argument('[args...]')
    .action(() => listCommands(io));
  // The other command groups load only when asked for (or for help).
  const word = commandWord(args);
  const help = word === 'help' || args.includes('--help') || args.includes('-h');
  if (help || (word !== undefined && !COMMANDS.some((c) => c.name === word))) {
    const { registerFamilies } = await import('./families.js');
    registerFamilies(program, run);
    const { registerConntrack } = await import('./conntrack.js');
    registerConntrack(program, run);
  }
  if (!args.some((a) => !a.startsWith('-') || a === '-')) {
    if (args.some((a) => ['-h', '--help', '-V', '--version'].includes(a))) {
      // commander prints these
    } else {
      io.stderr.write('ovsnl: missing command name; use --help for help\n');
      return 1;
    }
  }
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
  return status;
}

/** The CLI as bin/ovsnl runs it: `argv` as in process.argv. */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  return runCli(argv.slice(2), io);
}
