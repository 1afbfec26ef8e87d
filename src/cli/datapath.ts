// Datapath commands. Until the ovs_datapath codec lands these only establish
// that the kernel side is reachable, and say clearly why when it is not.
import type { Command } from 'commander';
import { Connection } from '../netlink/connection.js';
import { resolveOvsFamilies } from '../ovs/families.js';
import { CliError } from './errors.js';

export function registerDatapath(program: Command, run: (fn: () => Promise<void>) => Promise<void>): void {
  for (const name of ['dump-dps', 'show']) {
    program
      .command(name)
      .description(name === 'show' ? 'show basic info on datapaths' : 'list datapaths')
      .argument('[dp...]')
      .action(() =>
        run(async () => {
          const conn = new Connection();
          try {
            await resolveOvsFamilies(conn);
          } finally {
            conn.close();
          }
          throw new CliError(`${name}: not implemented yet in this version of ovsnl`, 2);
        }),
      );
  }
}
