// The two ways ODP text can be wrong: it does not parse (OdpParseError,
// with the offset and the text from the failing element on, as OVS reports
// "syntax error at ..."), or it parses into a flow key that OVS's
// key-to-flow conversion refuses (OdpKeyError).

export class OdpParseError extends Error {
  override readonly name = 'OdpParseError';
  readonly code = 'EODPSYNTAX';
  /** Offset in the input where the problem was found. */
  readonly offset: number;
  /** The input from the start of the top-level element that failed: what OVS quotes after "syntax error at". */
  readonly at: string;
  /** What was wrong, in words. */
  readonly reason: string;

  constructor(reason: string, offset: number, at: string, input: string) {
    super(`syntax error at offset ${offset}: ${reason} (in ${JSON.stringify(excerpt(input, offset))})`);
    this.offset = offset;
    this.at = at;
    this.reason = reason;
  }

  /** The message OVS's odp_flow_from_string gives for the same input. */
  get ovsMessage(): string {
    return `syntax error at ${this.at}`;
  }
}

export class OdpKeyError extends Error {
  override readonly name = 'OdpKeyError';
  readonly code = 'EODPKEY';
  readonly reason: string;
  /** The key in OVS's verbose text form. */
  readonly keyText: string;

  constructor(reason: string, keyText: string) {
    super(`${reason}; the flow key in error is: ${keyText}`);
    this.reason = reason;
    this.keyText = keyText;
  }
}

function excerpt(s: string, at: number): string {
  const from = Math.max(0, at - 20);
  const to = Math.min(s.length, at + 30);
  return (from > 0 ? '…' : '') + s.slice(from, at) + '⟨here⟩' + s.slice(at, to) + (to < s.length ? '…' : '');
}
