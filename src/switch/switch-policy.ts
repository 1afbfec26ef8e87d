// The policy `ovsnl run` switches with, from its options:
// - --learning alone: the learning switch;
// - --rules FILE alone: the rule table; `normal` rules drop (there is no
//   switch to defer to) and so does a packet no rule matches;
// - both: the rule table decides first; `normal` rules, and packets no rule
//   matches, go to the learning switch (a catch-all `normal` rule below every
//   rule of the file), so a file only needs the exceptions.
// Reloading replaces the rules and keeps what the switch has learned.
import { LearningSwitch } from './learning.js';
import type { Policy } from './policy.js';
import { parseRuleFile } from './rule-file.js';
import { RuleTable, type Rule } from './rules.js';

export interface RunPolicyOptions {
  ports: () => readonly number[];
  learning: boolean;
  /** The rules file's text, when there is one. */
  rules?: string;
  /** Its name, for error messages and rule names. */
  origin?: string;
  /** Port names the rules may use in in_port(...) and output actions. */
  portNames?: ReadonlyMap<string, number>;
}

export interface RunPolicy {
  policy: Policy;
  /** "learning switch", "rule table (N rules)"... for the start-up line. */
  readonly describe: string;
  /** Parses and installs new rules (throws, keeping the old ones, when they do not parse); returns how many. */
  reload(text: string, origin?: string, portNames?: ReadonlyMap<string, number>): number;
}

/** Below any priority a rule file can give. */
const TABLE_MISS_PRIORITY = -1;

const tableMissToLearning: Rule = { priority: TABLE_MISS_PRIORITY, match: {}, mask: {}, actions: [], name: 'table-miss', normal: true };

export function buildRunPolicy(o: RunPolicyOptions): RunPolicy {
  const learning = o.learning ? new LearningSwitch({ ports: o.ports }) : undefined;
  if (o.rules === undefined) {
    if (!learning) throw new TypeError('run policy: rules, learning, or both');
    return {
      policy: learning,
      describe: 'learning switch',
      reload: () => {
        throw new Error('no rules file');
      },
    };
  }
  const withMiss = (rules: Rule[]): Rule[] => (learning ? [...rules, tableMissToLearning] : rules);
  let count = 0;
  const parse = (text: string, origin?: string, portNames?: ReadonlyMap<string, number>): Rule[] => {
    const rules = parseRuleFile(text, origin, { portNames });
    count = rules.length;
    return withMiss(rules);
  };
  const table = new RuleTable(parse(o.rules, o.origin, o.portNames), { normal: learning });
  return {
    policy: table,
    get describe() {
      return `rule table (${count} rules${learning ? ', normal and table misses to the learning switch' : ''})`;
    },
    reload(text: string, origin?: string, portNames?: ReadonlyMap<string, number>): number {
      table.replace(parse(text, origin, portNames));
      return count;
    },
  };
}
