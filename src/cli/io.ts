// Where the CLI writes and reads. main() runs with the process's streams;
// tests run it in-process with their own (no process per command: under
// emulation every new process costs seconds).

/** A place to write text: process.stdout, or a test's collector. */
export interface TextSink {
  write(text: string): unknown;
  /** Set by Node on terminal streams. */
  isTTY?: boolean;
}

export interface CliIo {
  stdout: TextSink;
  stderr: TextSink;
  /** Read by `add-flows -` and the like; default process.stdin. */
  stdin?: NodeJS.ReadableStream;
  /** Width for the progress bar (default: the terminal's, or 80). */
  columns?: number;
  /** Height of the terminal, for `top` (default: the terminal's, or 24). */
  rows?: number;
  /** Stops the live commands (upcall-monitor, top) as SIGINT does. */
  signal?: AbortSignal;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, columns: process.stderr.columns, rows: process.stdout.rows };
}

/** An io that collects what is written, for tests and for embedding. */
export function bufferIo(stdin?: NodeJS.ReadableStream): CliIo & { out: () => string; err: () => string } {
  const o: string[] = [];
  const e: string[] = [];
  return {
    stdout: { write: (s: string) => o.push(s) },
    stderr: { write: (s: string) => e.push(s) },
    stdin,
    out: () => o.join(''),
    err: () => e.join(''),
  };
}

/**
 * Buffered text output: a dump of 100k flows is written in 64 KiB pieces,
 * not one write per line.
 */
export class Output {
  private parts: string[] = [];
  private size = 0;

  constructor(private readonly sink: TextSink) {}

  get isTTY(): boolean {
    return !!this.sink.isTTY;
  }

  write(text: string): void {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= 65536) this.flush();
  }

  line(text: string): void {
    this.write(text + '\n');
  }

  flush(): void {
    if (!this.parts.length) return;
    const text = this.parts.length === 1 ? this.parts[0] : this.parts.join('');
    this.parts = [];
    this.size = 0;
    this.sink.write(text);
  }
}
