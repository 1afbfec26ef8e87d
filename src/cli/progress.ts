// A progress line on stderr for long bulk work (add-flows of a big file),
// only when stdout is a terminal: piped or redirected output stays exactly
// ovs-dpctl's. Redrawn at most ten times a second, erased when done.
import type { CliIo } from './io.js';

export class Progress {
  private last = 0;
  private shown = false;

  private constructor(
    private readonly io: CliIo,
    private readonly label: string,
    private readonly total: number | undefined,
  ) {}

  /** A Progress, or undefined when none should show (not a terminal, or small work). */
  static maybe(io: CliIo, label: string, totalBytes: number | undefined, force = false): Progress | undefined {
    if (!io.stdout.isTTY && !force) return undefined;
    if (totalBytes !== undefined && totalBytes < 256 * 1024 && !force) return undefined;
    return new Progress(io, label, totalBytes);
  }

  update(bytes: number, lines: number, final = false): void {
    const now = Date.now();
    if (!final && now - this.last < 100) return;
    if (!this.shown && !final && lines < 5000 && this.total === undefined) return;
    this.last = now;
    this.shown = true;
    const width = Math.max(10, Math.min(40, (this.io.columns ?? 80) - 50));
    let text: string;
    if (this.total) {
      const frac = Math.min(1, bytes / this.total);
      const fill = Math.round(frac * width);
      text = `${this.label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${Math.floor(frac * 100)}% ${lines} lines`;
    } else {
      text = `${this.label}: ${lines} lines`;
    }
    this.io.stderr.write(`\r${text}\x1b[K`);
  }

  /** Erases the line (before errors are printed, and at the end). */
  clear(): void {
    if (this.shown) this.io.stderr.write('\r\x1b[K');
    this.shown = false;
  }
}
