// A cursor over ODP text with the scalar scanners the syntax needs. Numbers
// follow C's %i (0x hex, leading-0 octal, else decimal) as OVS reads them,
// but a value that does not fit its field is an error here rather than
// silently truncated (see vectors/README.md, "Lenient OVS parsing").
import { hexVal, ipv4FromU32, ipv6FromBytes, ipv6IntoBytes, macFromBytes, macIntoBytes } from '../ovs/addr.js';

/** Thrown inside the parsers; the entry points turn it into an OdpParseError. */
export class ScanFail {
  constructor(
    readonly reason: string,
    readonly offset: number,
  ) {}
}

const tmp16 = new Uint8Array(16);
// Six lowercase 2-digit groups not followed by another hex digit or colon.
const CANON_MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}(?![0-9a-fA-F:])/;

export class Cursor {
  i = 0;
  /** Nesting depth of key attributes and actions (OVS's MAX_ODP_NESTED). */
  depth = 0;
  /** Accept forms only OVS's dumps print (see ParseFlowOptions). */
  dumpSyntax = false;
  portNames: ReadonlyMap<string, number> | undefined;
  constructor(readonly s: string) {}

  fail(reason: string, at = this.i): never {
    throw new ScanFail(reason, at);
  }

  peek(): string {
    return this.s[this.i] ?? '';
  }
  code(): number {
    return this.i < this.s.length ? this.s.charCodeAt(this.i) : -1;
  }
  atEnd(): boolean {
    return this.i >= this.s.length;
  }

  /** Consumes `lit` if the input continues with it. */
  lit(lit: string): boolean {
    if (this.s.startsWith(lit, this.i)) {
      this.i += lit.length;
      return true;
    }
    return false;
  }

  expect(lit: string, what?: string): void {
    if (!this.lit(lit)) this.fail(`expected "${lit}"${what ? ' ' + what : ''}, found ${this.found()}`);
  }

  found(): string {
    if (this.atEnd()) return 'end of input';
    return JSON.stringify(this.s.slice(this.i, this.i + 12));
  }

  /** Skips OVS's list delimiters (", \t\r\n"). */
  skipDelims(): void {
    for (;;) {
      const c = this.code();
      if (c === 44 || c === 32 || c === 9 || c === 13 || c === 10) this.i++;
      else return;
    }
  }

  /** [a-z0-9_]+ */
  ident(): string {
    const start = this.i;
    for (;;) {
      const c = this.code();
      if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || (c >= 65 && c <= 90)) this.i++;
      else break;
    }
    return this.s.slice(start, this.i);
  }

  /** An unsigned integer as %i reads it, checked against `bits` (≤ 32). */
  uint(bits: number, what: string): number {
    const start = this.i;
    const fast = this.smallOrNeg();
    if (fast >= 0) {
      if (fast > 2 ** bits - 1) this.fail(`${what}: ${this.s.slice(start, this.i)} does not fit in ${bits} bits`, start);
      return fast;
    }
    const v = this.bigOrNull();
    if (v === null) this.fail(`${what}: expected a number, found ${this.found()}`);
    if (v >> BigInt(bits) !== 0n) this.fail(`${what}: ${this.s.slice(start, this.i)} does not fit in ${bits} bits`, start);
    return Number(v);
  }

  /** An unsigned integer of up to `bits` bits (as bigint). */
  big(bits: number, what: string): bigint {
    const start = this.i;
    const v = this.bigOrNull();
    if (v === null) this.fail(`${what}: expected a number, found ${this.found()}`);
    if (v >> BigInt(bits) !== 0n) this.fail(`${what}: ${this.s.slice(start, this.i)} does not fit in ${bits} bits`, start);
    return v;
  }

  // The common case without BigInt: up to 12 hex or 15 decimal digits.
  // Returns -1 (cursor unmoved) when this is not a number or too long for it.
  private smallOrNeg(): number {
    const s = this.s;
    let i = this.i;
    const c0 = s.charCodeAt(i);
    if (!(c0 >= 48 && c0 <= 57)) return -1;
    let v = 0;
    let h: number;
    if (c0 === 48 && (s.charCodeAt(i + 1) === 120 || s.charCodeAt(i + 1) === 88) && hexVal(s.charCodeAt(i + 2)) >= 0) {
      i += 2;
      const st = i;
      while ((h = hexVal(s.charCodeAt(i))) >= 0) {
        v = v * 16 + h;
        i++;
      }
      if (i - st > 12) return -1;
    } else if (c0 === 48) {
      i++;
      let d: number;
      while ((d = s.charCodeAt(i) - 48) >= 0 && d <= 7) {
        v = v * 8 + d;
        i++;
      }
      if (i - this.i > 16) return -1;
    } else {
      const st = i;
      let d: number;
      while ((d = s.charCodeAt(i) - 48) >= 0 && d <= 9) {
        v = v * 10 + d;
        i++;
      }
      if (i - st > 15) return -1;
    }
    this.i = i;
    return v;
  }

  /** Whether a %i number starts here. */
  atNumber(): boolean {
    const c = this.code();
    return c >= 48 && c <= 57;
  }

  private bigOrNull(): bigint | null {
    const s = this.s;
    let i = this.i;
    const c0 = s.charCodeAt(i);
    if (!(c0 >= 48 && c0 <= 57)) return null;
    let v = 0n;
    if (c0 === 48 && (s[i + 1] === 'x' || s[i + 1] === 'X') && hexVal(s.charCodeAt(i + 2)) >= 0) {
      i += 2;
      const st = i;
      while (hexVal(s.charCodeAt(i)) >= 0) i++;
      v = BigInt('0x' + s.slice(st, i));
    } else if (c0 === 48) {
      i++;
      let d: number;
      while ((d = s.charCodeAt(i) - 48) >= 0 && d <= 7) {
        v = v * 8n + BigInt(d);
        i++;
      }
    } else {
      const st = i;
      while (s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
      v = BigInt(s.slice(st, i));
    }
    this.i = i;
    return v;
  }

  /** Hex digits as %x reads them (an optional 0x prefix). */
  hex(bits: number, what: string): number {
    const start = this.i;
    if ((this.s[this.i] === '0' && (this.s[this.i + 1] === 'x' || this.s[this.i + 1] === 'X')) && hexVal(this.s.charCodeAt(this.i + 2)) >= 0) this.i += 2;
    const st = this.i;
    while (hexVal(this.code()) >= 0) this.i++;
    if (st === this.i) this.fail(`${what}: expected hex digits, found ${this.found()}`, start);
    const v = BigInt('0x' + this.s.slice(st, this.i));
    if (v >> BigInt(bits) !== 0n) this.fail(`${what}: ${this.s.slice(start, this.i)} does not fit in ${bits} bits`, start);
    return Number(v);
  }

  /** A plain decimal number (%u / %d). */
  dec(bits: number, what: string): number {
    const start = this.i;
    while (this.code() >= 48 && this.code() <= 57) this.i++;
    if (start === this.i) this.fail(`${what}: expected a decimal number, found ${this.found()}`);
    const v = BigInt(this.s.slice(start, this.i));
    if (v >> BigInt(bits) !== 0n) this.fail(`${what}: ${this.s.slice(start, this.i)} does not fit in ${bits} bits`, start);
    return Number(v);
  }

  mac(what: string): string {
    const start = this.i;
    if (CANON_MAC.test(this.s.slice(start, start + 18)) ) {
      this.i += 17;
      return this.s.slice(start, start + 17);
    }
    // 6 groups of 1-2 hex digits.
    let end = this.i;
    for (let k = 0; k < 6; k++) {
      if (k > 0) {
        if (this.s.charCodeAt(end) !== 58) this.fail(`${what}: not a MAC address`, start);
        end++;
      }
      if (hexVal(this.s.charCodeAt(end)) < 0) this.fail(`${what}: not a MAC address`, start);
      end++;
      if (hexVal(this.s.charCodeAt(end)) >= 0) end++;
    }
    if (!macIntoBytes(this.s.slice(start, end), tmp16)) this.fail(`${what}: not a MAC address`, start);
    this.i = end;
    return macFromBytes(tmp16);
  }

  ipv4(what: string): string {
    const start = this.i;
    let v = 0;
    let canonical = true;
    for (let k = 0; k < 4; k++) {
      if (k > 0 && !this.lit('.')) this.fail(`${what}: not an IPv4 address`, start);
      const st = this.i;
      while (this.code() >= 48 && this.code() <= 57) this.i++;
      if (st === this.i || this.i - st > 3) this.fail(`${what}: not an IPv4 address`, start);
      let n = 0;
      for (let j = st; j < this.i; j++) n = n * 10 + (this.s.charCodeAt(j) - 48);
      if (n > 255) this.fail(`${what}: ${n} is not an IPv4 address octet`, st);
      if (this.i - st > 1 && this.s.charCodeAt(st) === 48) canonical = false;
      v = v * 256 + n;
    }
    // Text without leading zeros is already the model's form.
    return canonical ? this.s.slice(start, this.i) : ipv4FromU32(v);
  }

  /** OVS scans up to 46 of [0-9a-fA-F:.] and hands them to inet_pton. */
  ipv6(what: string): string {
    const start = this.i;
    let end = this.i;
    while (end - start < 46) {
      const c = this.s.charCodeAt(end);
      if (hexVal(c) >= 0 || c === 58 || c === 46) end++;
      else break;
    }
    if (end === start || !ipv6IntoBytes(this.s.slice(start, end), tmp16)) this.fail(`${what}: not an IPv6 address`, start);
    this.i = end;
    return ipv6FromBytes(tmp16);
  }
}
