// A rule table as a forwarding policy: the highest-priority rule that
// matches decides (equal priorities: the earlier rule), no match drops.
// Decisions carry the megaflow mask of classifier.ts: the matched rule's
// bits, a proof of non-match for every rule above it, and completeMask.
import type { Action } from '../ovs/actions.js';
import type { FlowKey, FlowMask } from '../ovs/keys.js';
import { LazyKey } from './classifier-fields.js';
import { compileMatch, MaskBits, proveNoMatch, termsMatch, type Term } from './classifier.js';
import type { Decision, Policy } from './policy.js';

export interface Rule {
  priority: number;
  /** Values; only the bits under `mask` count. */
  match: FlowKey;
  mask: FlowMask;
  /** Datapath actions in order; empty drops. */
  actions: Action[];
  /** For statistics and logs: the rule file's `name=`, or FILE:LINE. */
  name: string;
  /**
   * Defer to the table's learning switch (the rule file's `actions:normal`):
   * the switch's decision, with this rule's mask bits added. `actions` is
   * then empty.
   */
  normal?: boolean;
}

export interface RuleTableOptions {
  /** What `normal` rules defer to; without one they drop. */
  normal?: Policy;
}

interface Compiled {
  rule: Rule;
  terms: Term[];
}

export class RuleTable implements Policy {
  private compiled: Compiled[] = [];
  private gen = 0;
  private readonly normal: Policy | undefined;

  constructor(rules: readonly Rule[], opts: RuleTableOptions = {}) {
    this.normal = opts.normal;
    this.compiled = compile(rules);
  }

  /** The rules, highest priority first. */
  get rules(): readonly Rule[] {
    return this.compiled.map((c) => c.rule);
  }

  /** Bumped by replace() and by any change of the learning switch's state. */
  get generation(): number {
    return this.gen + (this.normal?.generation ?? 0);
  }

  /** New rules; installed flows are stale from now on. */
  replace(rules: readonly Rule[]): void {
    this.compiled = compile(rules);
    this.gen++;
  }

  /** The rule that decides for `key`, without the megaflow mask. */
  classify(key: FlowKey): Rule | undefined {
    const flat = new LazyKey(key);
    for (const c of this.compiled) if (termsMatch(c.terms, flat)) return c.rule;
    return undefined;
  }

  decide(key: FlowKey): Decision {
    const flat = new LazyKey(key);
    const acc = MaskBits.forKey(key);
    for (const c of this.compiled) {
      if (!termsMatch(c.terms, flat)) {
        proveNoMatch(c.terms, key, flat, acc);
        continue;
      }
      acc.addTerms(c.terms);
      const { rule } = c;
      if (rule.normal) {
        if (!this.normal) return { actions: [], mask: acc.toMask(key), reason: rule.name };
        const d = this.normal.decide(key);
        acc.addMask(d.mask);
        return { actions: d.actions, mask: acc.toMask(key), reason: `${rule.name}:${d.reason}` };
      }
      return { actions: rule.actions, mask: acc.toMask(key), reason: rule.name };
    }
    return { actions: [], mask: acc.toMask(key), reason: 'table-miss' };
  }

  observe(key: FlowKey, now: number): boolean {
    return this.normal?.observe?.(key, now) ?? false;
  }

  expire(now: number): boolean {
    return this.normal?.expire?.(now) ?? false;
  }
}

function compile(rules: readonly Rule[]): Compiled[] {
  // A stable sort keeps the file order among equal priorities.
  return rules
    .map((rule, i) => ({ rule, i, terms: compileMatch(rule.match, rule.mask) }))
    .sort((a, b) => b.rule.priority - a.rule.priority || a.i - b.i)
    .map(({ rule, terms }) => ({ rule, terms }));
}
