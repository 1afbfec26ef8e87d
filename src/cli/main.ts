// The ovsnl command line: commander parses, each command group lives in its
// own module, and every failure becomes one line and a non-zero exit.
import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { registerDatapath } from './datapath.js';
import { describeFailure } from './errors.js';
import { registerFamilies } from './families.js';

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

/** Runs the CLI; resolves with the exit status. */
export async function main(argv: string[]): Promise<number> {
  let status = 0;
  const run = async (fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      process.stderr.write(`ovsnl: ${describeFailure(err)}\n`);
      status = (err as { exitCode?: number }).exitCode ?? 1;
    }
  };
  const program = new Command('ovsnl')
    .description('Open vSwitch kernel datapath control over generic netlink (an ovs-dpctl replacement)')
    .version(pkg.version)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerDatapath(program, run);
  registerFamilies(program, run);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
  return status;
}
