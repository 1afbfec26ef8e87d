// What the live commands (upcall-monitor, top) share: their --count, and
// how they are stopped. SIGINT (Ctrl-C) and SIGTERM end them cleanly, with
// their summary and the datapath given back; in-process callers (tests,
// programs using runCli) stop them through CliIo.signal.
import { CliError } from './errors.js';
import type { CliIo } from './io.js';

/** --count N: a positive integer, or undefined (run until stopped). */
export function parseCount(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) throw new CliError(`--count: '${value}' is not a positive integer`);
  return Number(value);
}

/** --interval SECS: a positive number of seconds (fractions allowed), in milliseconds. */
export function parseInterval(value: string | undefined, defaultSecs: number): number {
  if (value === undefined) return defaultSecs * 1000;
  const secs = Number(value);
  if (!/^\d*\.?\d+$/.test(value) || !(secs > 0) || secs > 86400) throw new CliError(`--interval: '${value}' is not a number of seconds (above 0, at most 86400)`);
  return secs * 1000;
}

export interface Stopper {
  /** Resolves when the command should stop. */
  readonly stopped: Promise<void>;
  readonly isStopped: boolean;
  /** Removes the signal handlers. */
  dispose(): void;
}

/** Stops on SIGINT/SIGTERM (while the command runs) or on io.signal. */
export function stopper(io: CliIo): Stopper {
  let resolve!: () => void;
  let done = false;
  const stopped = new Promise<void>((r) => (resolve = r));
  const stop = (): void => {
    done = true;
    resolve();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  if (io.signal?.aborted) stop();
  else io.signal?.addEventListener('abort', stop, { once: true });
  return {
    stopped,
    get isStopped() {
      return done;
    },
    dispose() {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      io.signal?.removeEventListener('abort', stop);
    },
  };
}

/** Sleeps `ms`, or less if stopped first. */
export function sleepUnless(ms: number, s: Stopper): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([new Promise<void>((r) => (timer = setTimeout(r, ms))), s.stopped]).finally(() => clearTimeout(timer));
}
