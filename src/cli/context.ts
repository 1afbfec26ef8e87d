// What every command runs with: the io, the global options (ovs-dpctl's are
// global too: `-m`, `-s`, `--names` may come before or after the command),
// one Dpif opened on first use, and the exit status. The Dpif is on the
// kernel module, or (without it, or with OVSNL_DATAPATH=userspace) on ovsnl's
// userspace datapath daemon, started on demand: dpif/open.ts decides.
import type { KernelDpif } from '../dpif/kernel.js';
import type { OpenDpifOptions } from '../dpif/open.js';
import { setExtAckSource } from './errors.js';
import { Output, type CliIo } from './io.js';

export interface GlobalOptions {
  statistics?: boolean;
  clear?: boolean;
  mayCreate?: boolean;
  readOnly?: boolean;
  /** -m, repeatable. */
  more?: number;
  /** --names / --no-names; unset: names with -m, numbers without. */
  names?: boolean;
  timeout?: string;
  json?: boolean;
  /** upcall-monitor, top: stop after N upcalls / tables. */
  count?: string;
  /** upcall-monitor: also write the packets to this pcap file. */
  pcap?: string;
  /** top: 'packets' (default) or 'bytes'. */
  sort?: string;
  /** top: seconds between dumps. */
  interval?: string;
  /** run: the rules file. */
  rules?: string;
  /** run: the built-in learning switch. */
  learning?: boolean;
  /** run: seconds. */
  idleTimeout?: string;
  flowLimit?: string;
  handlers?: string;
}

export class Ctx {
  readonly out: Output;
  /** Exit status so far: errors that do not stop the command (one bad line of many) set it. */
  status = 0;
  private dpifPromise?: Promise<KernelDpif>;
  /** Which datapath the Dpif is on, once opened. */
  side?: 'kernel' | 'userspace';

  constructor(
    readonly io: CliIo,
    readonly opts: GlobalOptions,
  ) {
    this.out = new Output(io.stdout);
  }

  get verbosity(): number {
    return this.opts.more ?? 0;
  }

  /** Print port names rather than numbers (ovs-dpctl: --names, or -m without --no-names). */
  get names(): boolean {
    return this.opts.names ?? this.verbosity > 0;
  }

  get json(): boolean {
    return !!this.opts.json;
  }

  /** The Dpif, opened on first use: the kernel's, or the userspace daemon's when the module is missing. */
  dpif(): Promise<KernelDpif> {
    if (!this.dpifPromise) {
      const opts: OpenDpifOptions = {
        // The Dpif's warnings (an ovs-vswitchd on the host...) go to stderr as they come.
        onWarning: (w) => this.warn(w.replace(/^warning: /, '')),
        // Said once, when the daemon starts; later commands find it running and say nothing.
        onDaemonStart: ({ pid, reason }) => {
          this.out.flush();
          const who = `ovsnl dpd${pid ? `, pid ${pid}` : ''}`;
          this.io.stderr.write(
            reason === 'no-module'
              ? `ovsnl: no openvswitch kernel module; using the userspace datapath (${who})\n`
              : `ovsnl: started the userspace datapath daemon (${who})\n`,
          );
        },
      };
      // Loaded on first use: commands that need no datapath start faster.
      this.dpifPromise = import('../dpif/open.js').then(async ({ openDpifSide }) => {
        const { dpif, side } = await openDpifSide(opts);
        this.side = side;
        setExtAckSource(side);
        return dpif;
      });
      this.dpifPromise.catch(() => undefined);
    }
    return this.dpifPromise;
  }

  /** One error line on stderr ("ovsnl: ..."), after what stdout has so far; the exit status becomes 1. */
  error(message: string): void {
    this.out.flush();
    this.io.stderr.write(`ovsnl: ${message}\n`);
    this.status = 1;
  }

  /** A warning line; the exit status is unchanged. */
  warn(message: string): void {
    this.out.flush();
    this.io.stderr.write(`ovsnl: warning: ${message}\n`);
  }

  async close(): Promise<void> {
    this.out.flush();
    if (this.dpifPromise) {
      const d = await this.dpifPromise.catch(() => undefined);
      d?.close();
    }
  }
}
