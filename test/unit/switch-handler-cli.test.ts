// `ovsnl run`'s option checks, which come before any datapath is opened.
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { bufferIo } from '../../src/cli/io.js';

async function run(args: string[]): Promise<{ status: number; err: string }> {
  const io = bufferIo();
  const status = await runCli(args, io);
  return { status, err: io.err() };
}

describe('ovsnl run: options', () => {
  it('needs a policy', async () => {
    expect(await run(['run', 'dp0'])).toEqual({ status: 1, err: 'ovsnl: run: give --rules FILE, --learning, or both\n' });
  });

  it('refuses bad numbers with the option named', async () => {
    expect((await run(['run', 'dp0', '--learning', '--idle-timeout', 'x'])).err).toBe("ovsnl: run: --idle-timeout must be a number of at least 0.1, got 'x'\n");
    expect((await run(['run', 'dp0', '--learning', '--flow-limit', '1.5'])).err).toBe("ovsnl: run: --flow-limit must be an integer of at least 1, got '1.5'\n");
    expect((await run(['run', 'dp0', '--learning', '--handlers', '0'])).err).toBe("ovsnl: run: --handlers must be an integer of at least 1, got '0'\n");
  });

  it('names a rules file it cannot read', async () => {
    const r = await run(['run', 'dp0', '--rules', '/nonexistent/ovsnl-rules']);
    expect(r).toEqual({ status: 1, err: 'ovsnl: run: /nonexistent/ovsnl-rules: No such file or directory\n' });
  });

  it('takes exactly one datapath', async () => {
    expect((await run(['run', '--learning'])).status).toBe(1);
    expect((await run(['run', 'a', 'b', '--learning'])).err).toMatch(/'run' command takes at most 1 arguments/);
  });
});
