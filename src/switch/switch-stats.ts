// The counters of the userspace half, kept in plain objects that the
// handler and the revalidator increment in place (no allocation per upcall),
// and their text for SIGUSR1 and logs.

export interface HandlerStats {
  /** Upcall batches handled. */
  batches: number;
  /** MISS upcalls handled. */
  misses: number;
  /** MISS upcalls whose key was already being handled in the same batch: no second flow put. */
  deduped: number;
  /** ACTION upcalls (userspace actions), counted and logged only. */
  actionUpcalls: number;
  /** Upcalls whose key did not decode; their packets are dropped. */
  badKeys: number;
  /** Keys the policy threw on (or whose decision did not encode); their packets are dropped. */
  policyErrors: number;
  /** Flow puts sent. */
  flowPuts: number;
  /** Flows created. */
  installed: number;
  /** Puts that found the flow already there (another handler or an earlier batch won the race): the packet is still executed. */
  raced: number;
  /** Misses executed without a flow put because the flow limit was reached. */
  overLimit: number;
  /** Puts the kernel refused for another reason. */
  putErrors: number;
  /** Packets executed with the decision's actions. */
  executed: number;
  /** Executes the kernel refused. */
  executeErrors: number;
  /** Decisions by reason ('flood', 'learned', a rule's name...). */
  reasons: Map<string, number>;
}

export interface RevalidatorStats {
  /** Revalidation passes run. */
  passes: number;
  /** Flows of this switch found in the last dump. */
  flows: number;
  /** Flows dumped, over all passes. */
  dumped: number;
  /** Passes that needed no dump: every flow younger than the idle timeout, within the limit. */
  dumpsSkipped: number;
  deletedIdle: number;
  deletedLimit: number;
  /** Flows whose actions changed after a policy change (flow set). */
  modified: number;
  /** Flows deleted because their mask changed after a policy change (the next miss re-installs). */
  deletedMask: number;
  /** Flows re-decided after a policy change. */
  revalidated: number;
  /** Flows of an older generation that no change since could touch (the policy's affectedSince): kept, not re-decided. */
  unaffected: number;
  /** Passes skipped because another dump was under way on the same socket (EBUSY). */
  busy: number;
  /** Deletes and sets the kernel refused (a flow deleted meanwhile is not counted). */
  errors: number;
  /** Duration of the last pass, ms. */
  lastDurationMs: number;
  /** Longest pass, ms. */
  maxDurationMs: number;
}

export function newHandlerStats(): HandlerStats {
  return {
    batches: 0, misses: 0, deduped: 0, actionUpcalls: 0, badKeys: 0, policyErrors: 0, flowPuts: 0, installed: 0, raced: 0, overLimit: 0, putErrors: 0, executed: 0, executeErrors: 0,
    reasons: new Map(),
  };
}

export function newRevalidatorStats(): RevalidatorStats {
  return { passes: 0, flows: 0, dumped: 0, dumpsSkipped: 0, deletedIdle: 0, deletedLimit: 0, modified: 0, deletedMask: 0, revalidated: 0, unaffected: 0, busy: 0, errors: 0, lastDurationMs: 0, maxDurationMs: 0 };
}

/** What SIGUSR1 prints: one `section: name=value ...` line per part. */
export function formatStats(parts: Record<string, object>): string {
  const lines: string[] = [];
  for (const [section, values] of Object.entries(parts)) {
    const fields: string[] = [];
    for (const [k, v] of Object.entries(values)) {
      if (v instanceof Map) {
        for (const [mk, mv] of v) fields.push(`${k}.${mk}=${String(mv)}`);
      } else if (typeof v === 'number') {
        fields.push(`${k}=${Number.isInteger(v) ? v : v.toFixed(1)}`);
      } else if (typeof v === 'string' || typeof v === 'bigint' || typeof v === 'boolean') {
        fields.push(`${k}=${String(v)}`);
      }
    }
    lines.push(`${section}: ${fields.join(' ')}`);
  }
  return lines.join('\n') + '\n';
}
