// `ovsnl run DP [--rules FILE] [--learning] [--idle-timeout S] [--flow-limit N]
// [--handlers N]`: the userspace half in the foreground, as ovs-vswitchd is
// for its datapath. Signals: SIGHUP reloads the rules file (a file that does
// not parse keeps the old rules), SIGUSR1 prints statistics to stderr,
// SIGINT and SIGTERM stop: upcall pids reset, this run's flows deleted,
// exit 0.
import { readFile } from 'node:fs/promises';
import type { Upcall } from '../ovs/packet.js';
import { Switch, type SwitchContext } from '../switch/switch.js';
import { formatStats } from '../switch/switch-stats.js';
import type { Policy } from '../switch/policy.js';
import { buildRunPolicy, type RunPolicy } from '../switch/switch-policy.js';
import type { Ctx } from './context.js';
import { CliError } from './errors.js';
import { openDatapath } from './dpname.js';

/** Tests only: hold each upcall batch this long (ms), to make the kernel drop upcalls. */
const DELAY_ENV = 'OVSNL_RUN_HANDLER_DELAY_MS';
/** Benchmarks and tests: ms between revalidator passes (default from the idle timeout). */
const INTERVAL_ENV = 'OVSNL_RUN_REVALIDATE_MS';

function number(value: string | undefined, what: string, min: number, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new CliError(`run: ${what} must be ${integer ? 'an integer' : 'a number'} of at least ${min}, got '${value}'`);
  }
  return n;
}

const ACTION_LOG_LIMIT = 100;

export async function run(ctx: Ctx, args: string[]): Promise<void> {
  const o = ctx.opts;
  if (o.rules === undefined && !o.learning) throw new CliError('run: give --rules FILE, --learning, or both');
  const idleS = number(o.idleTimeout, '--idle-timeout', 0.1, false) ?? 10;
  const flowLimit = number(o.flowLimit, '--flow-limit', 1, true);
  const handlers = number(o.handlers, '--handlers', 1, true);
  const delayMs = number(process.env[DELAY_ENV], DELAY_ENV, 0, false);
  const revalidateIntervalMs = number(process.env[INTERVAL_ENV], INTERVAL_ENV, 10, false);
  const rulesFile = o.rules;
  const initialRules = rulesFile === undefined ? undefined : await readRules(rulesFile);
  const dp = await openDatapath(ctx, args[0], 'opening datapath');
  // A Dpif of its own for the switch, on the side the name was found on:
  // without the kernel-log reader, which costs a read of /dev/kmsg before
  // every put batch and every execute (a tenth of the time per new flow,
  // profiled); failed puts and executes are counted and printed without the
  // module's reason. More requests in flight: a batch is a put and an
  // execute per miss.
  const { openDpifSide } = await import('../dpif/open.js');
  const { dpif } = await openDpifSide({
    datapath: ctx.side,
    startDaemon: false,
    kernelLog: false,
    maxInFlight: 1024,
    // One look for a running ovs-vswitchd, at the first write, not one every
    // 10 s: a switch writes all the time, and a scan of /proc stalled it for
    // 0.18 s under the VM's emulation (6% of a profiled run). Its warning is
    // given once either way.
    hostWarnings: { intervalMs: Infinity },
    onWarning: (w) => ctx.warn(w.replace(/^warning: /, '')),
  });
  const portNames = async (): Promise<Map<string, number>> => new Map((await dpif.listVports(dp.dpIfindex)).map((v) => [v.name, v.portNo]));
  const namesAtStart = await portNames();
  const say = (line: string): void => void ctx.io.stderr.write(`ovsnl run: ${line}\n`);

  let built: RunPolicy | undefined;
  let actionLogs = 0;
  const sw = await Switch.start({
    dpif,
    datapath: dp.dpIfindex,
    policy: (sc: SwitchContext): Policy => {
      built = buildRunPolicy({ ports: sc.ports, learning: !!o.learning, rules: initialRules?.text, origin: rulesFile, portNames: namesAtStart });
      return built.policy;
    },
    handlers,
    idleTimeoutMs: idleS * 1000,
    flowLimit,
    handlerDelayMs: delayMs,
    revalidateIntervalMs,
    onError: (err) => say(`error: ${err.message}`),
    onActionUpcall: (u: Upcall) => {
      // Counted always; the first ones are shown, a userspace action can fire at line rate.
      if (actionLogs++ < ACTION_LOG_LIMIT) say(`action upcall: ${u.packet.length} bytes${u.userdata ? `, userdata ${Buffer.from(u.userdata).toString('hex')}` : ''}`);
    },
    onPorts: (ports) => say(`ports ${ports.join(',')}`),
  }).catch((err: unknown) => {
    dpif.close();
    throw err;
  });
  const policy = built!;
  say(
    `switching ${dp.name} (dp_ifindex ${dp.dpIfindex}): ports ${sw.ports.join(',')}, ${sw.upcallChannel?.dispatch ?? '?'} dispatch, ` +
      `${policy.describe}, idle timeout ${idleS} s${flowLimit ? `, flow limit ${flowLimit}` : ''}`,
  );

  const printStats = (): void => {
    const s = sw.stats;
    ctx.io.stderr.write(formatStats({ switch: { ports: s.ports, flows: s.flows, generation: sw.policy.generation }, upcalls: s.upcalls, handler: s.handler, revalidator: s.revalidator }));
  };

  let reloading = Promise.resolve();
  const reload = (): void => {
    if (rulesFile === undefined) {
      say('SIGHUP: no rules file to reload');
      return;
    }
    reloading = reloading.then(async () => {
      try {
        const { text } = await readRules(rulesFile);
        const n = policy.reload(text, rulesFile, await portNames());
        say(`reloaded ${n} rules from ${rulesFile} (generation ${sw.policy.generation})`);
        // Installed flows follow at once, not at the next timer pass.
        await sw.revalidate();
      } catch (err) {
        say(`reload failed, keeping the previous rules: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
  };

  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.off('SIGHUP', reload);
      process.off('SIGUSR1', printStats);
      ctx.io.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    process.on('SIGHUP', reload);
    process.on('SIGUSR1', printStats);
    ctx.io.signal?.addEventListener('abort', stop);
  });
  await reloading;
  const deleted = await sw.stop();
  dpif.close();
  printStats();
  say(`stopped: deleted ${deleted} flows, upcall pids reset`);
}

async function readRules(file: string): Promise<{ text: string }> {
  try {
    return { text: await readFile(file, 'utf8') };
  } catch (err) {
    throw new CliError(`run: ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : String(err)}`);
  }
}
