// Loads the ODP vectors of test/fixtures/odp (see test/fixtures/README.md).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/odp');

export interface Vector {
  line: number;
  section: string;
  input: string;
  expected: string;
}

export interface InvalidVector {
  line: number;
  section: string;
  mode: 'actions' | 'keys' | 'wc-keys';
  input: string;
  ovsOutput: string;
  /** A string OVS prints but cannot parse: ovsnl reads it and must print it back unchanged (vectors.test.ts). */
  asymmetry: boolean;
}

function lines(file: string): { line: number; text: string; section: string }[] {
  const out: { line: number; text: string; section: string }[] = [];
  let section = '';
  readFileSync(join(DIR, file), 'utf8')
    .split('\n')
    .forEach((text, i) => {
      if (text.startsWith('# [') || text.startsWith('# ----')) section = text.replace(/^# /, '');
      if (text === '' || text.startsWith('#')) return;
      out.push({ line: i + 1, text, section });
    });
  return out;
}

export function loadVectors(file: string): Vector[] {
  return lines(file).map(({ line, text, section }) => {
    const tab = text.indexOf('\t');
    return tab < 0 ? { line, section, input: text, expected: text } : { line, section, input: text.slice(0, tab), expected: text.slice(tab + 1) };
  });
}

export function loadInvalid(): InvalidVector[] {
  let asym = false;
  const out: InvalidVector[] = [];
  let section = '';
  readFileSync(join(DIR, 'odp-invalid.txt'), 'utf8')
    .split('\n')
    .forEach((text, i) => {
      if (text.startsWith('# ---- SUPPLEMENTARY')) {
        asym = text.includes('ASYMMETRY');
        section = text;
      } else if (text.startsWith('# [')) {
        asym = false;
        section = text;
      }
      if (text === '' || text.startsWith('#')) return;
      const [mode, input, ovsOutput] = text.split('\t');
      out.push({ line: i + 1, section, mode: mode as InvalidVector['mode'], input, ovsOutput, asymmetry: asym });
    });
  return out;
}
