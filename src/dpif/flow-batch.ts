// putFlows: many flow puts in flight on one connection, fed through a
// window. Issuing a hundred thousand requests at once kept a hundred
// thousand requests, promises and buffers alive until their answers came;
// under that live set the garbage collector took over half of the time per
// flow (profiled on the host against an instant-ACK socket). A window of
// requests ahead of the answers keeps the live set small and the sendmsg
// batches full: answers arrive in bursts, and the requests issued for a
// burst leave together.
import type { Connection } from '../netlink/connection.js';
import { decodeFlowMessage } from '../ovs/flow.js';
import { encodeFlowPuts, packFlowPuts, type FlowPutRequest } from '../ovs/flow-put-encode.js';
import { toFlow } from './convert.js';
import type { FlowPut, FlowPutResult } from './dpif.js';
import { FLOW_PUT_OPERATION, flowPutError, flowPutRequest } from './flow-put.js';
import type { KernelLog } from './kernel-log.js';

/** Requests issued ahead of their answers (the connection sends up to its in-flight limit). */
const WINDOW = 2048;
/** Flows checked and encoded together. */
const CHUNK = 256;
/** A packed group's buffer: well inside one send (Connection.requestPacked). */
const PACK_BYTES = 64 * 1024;

const OPTIONS = { operation: FLOW_PUT_OPERATION };
/** The answer to every put without an echo: shared, as there may be a million. */
const OK: FlowPutResult = Object.freeze({ ok: true, flow: undefined });

export interface FlowBatchTarget {
  conn: Connection;
  flowFamilyId: number;
  dpIfindex: number;
  allowSymL4: boolean;
  log?: KernelLog;
  /** Kernel log position before the batch. */
  logMark: number;
}

export function putFlowBatch(t: FlowBatchTarget, flows: readonly FlowPut[]): Promise<FlowPutResult[]> {
  const n = flows.length;
  const results = new Array<FlowPutResult>(n);
  const fail = (i: number, error: unknown): void => {
    results[i] = { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
  };
  let next = 0;
  let outstanding = 0;
  return new Promise((resolve) => {
    const answered = (): void => {
      outstanding--;
      // Refill a chunk at a time, so that encoding and sends stay batched.
      if (next < n && outstanding <= WINDOW - CHUNK) issue();
      else if (next >= n && outstanding === 0) resolve(results);
    };
    const send = (i: number, bytes: Uint8Array): void => {
      const f = flows[i];
      outstanding++;
      t.conn.request(bytes, OPTIONS).then(
        (replies) => {
          const reply = f.echo ? replies.find((m) => m.type === t.flowFamilyId) : undefined;
          results[i] = reply ? { ok: true, flow: toFlow(decodeFlowMessage(reply)) } : OK;
          answered();
        },
        (err: unknown) => {
          fail(i, flowPutError(err, f, t.log, t.logMark));
          answered();
        },
      );
    };
    // Puts without an echo have no reply to wait for: they go out back to
    // back in one buffer, and one ACK answers the lot (Connection.requestPacked).
    const sendPacked = (which: number[], buffer: Uint8Array): void => {
      outstanding += which.length;
      t.conn.requestPacked(buffer, which.length, OPTIONS).then((errors) => {
        for (let j = 0; j < which.length; j++) {
          const err = errors[j];
          if (err) fail(which[j], flowPutError(err, flows[which[j]], t.log, t.logMark));
          else results[which[j]] = OK;
        }
        outstanding -= which.length - 1;
        answered();
      });
    };
    const issue = (): void => {
      while (next < n && outstanding < WINDOW) {
        const end = Math.min(n, next + CHUNK);
        const echoed: FlowPutRequest[] = [];
        const echoedWhich: number[] = [];
        const quiet: FlowPutRequest[] = [];
        const quietWhich: number[] = [];
        for (let i = next; i < end; i++) {
          try {
            const r = flowPutRequest(flows[i], t.allowSymL4);
            if (flows[i].echo) {
              echoed.push(r);
              echoedWhich.push(i);
            } else {
              quiet.push(r);
              quietWhich.push(i);
            }
          } catch (err) {
            fail(i, err);
          }
        }
        next = end;
        if (echoed.length) {
          const encoded = encodeFlowPuts(t.flowFamilyId, t.dpIfindex, echoed);
          encoded.forEach((bytes, j) => (bytes instanceof RangeError ? fail(echoedWhich[j], bytes) : send(echoedWhich[j], bytes)));
        }
        if (quiet.length) {
          const { packs, refused } = packFlowPuts(t.flowFamilyId, t.dpIfindex, quiet, PACK_BYTES);
          for (const [j, err] of refused) fail(quietWhich[j], err);
          for (const pack of packs) {
            // A lone request (one that fills a pack by itself may exceed what a packed group takes) goes on its own.
            if (pack.indexes.length === 1) send(quietWhich[pack.indexes[0]], pack.buffer);
            else sendPacked(pack.indexes.map((j) => quietWhich[j]), pack.buffer);
          }
        }
      }
      if (next >= n && outstanding === 0) resolve(results);
    };
    issue();
  });
}
