// `ovsnl families`: the generic netlink families this kernel has, the
// diagnostic an operator reaches for when a family seems to be missing.
import type { Command } from 'commander';
import { Connection } from '../netlink/connection.js';
import { listFamilies } from '../netlink/genl.js';

export function registerFamilies(program: Command, run: (fn: () => Promise<void>) => Promise<void>): void {
  program
    .command('families')
    .description('list the generic netlink families of this kernel (OVS ones included)')
    .action(() =>
      run(async () => {
        const conn = new Connection();
        try {
          const fams = (await listFamilies(conn)).sort((a, b) => a.id - b.id);
          // --json is a global option of ovsnl.
          if (program.opts<{ json?: boolean }>().json) {
            const out = fams.map((f) => ({ id: f.id, name: f.name, version: f.version, hdrSize: f.hdrSize, maxAttr: f.maxAttr, groups: Object.fromEntries(f.groups) }));
            process.stdout.write(JSON.stringify(out, null, 2) + '\n');
            return;
          }
          for (const f of fams) {
            const groups = [...f.groups].map(([n, id]) => `${n}=${id}`).join(',');
            process.stdout.write(`${f.id.toString().padStart(5)} ${f.name} version=${f.version} maxattr=${f.maxAttr}${groups ? ` groups=${groups}` : ''}\n`);
          }
        } finally {
          conn.close();
        }
      }),
    );
}
