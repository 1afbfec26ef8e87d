// The fallback daemon's control socket: a unix stream socket speaking the same
// generic netlink messages as the kernel, root-only (checked with SO_PEERCRED
// as well as by the socket's mode). Each client gets a port id, announced in a
// greeting, that plays the part of its netlink address.
import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { native } from '../native.js';
import { AttrWriter, HOST_LE } from '../netlink/attr.js';
import { GENL_HDRLEN, GENL_ID_CTRL, MEMBERSHIP_ADD, MEMBERSHIP_DROP, NLMSG_MIN_TYPE, NLMSG_NOOP, NLM_F_ACK, NLM_F_DUMP, NLM_F_ECHO, NLM_F_MULTI } from '../netlink/constants.js';
import { beginMessage, endMessage, parseMessages, type NlMessage } from '../netlink/message.js';
import { MessageStream } from '../netlink/stream.js';
import { encodeDone, encodeError, encodeReply, type ServedFamily } from './genl-service.js';
import { controller, type RegisteredFamily } from './nlctrl.js';

const EPERM = 1;
const ENOENT = 2;
const EIO = 5;
const EINVAL = 22;

export interface ControlServerOptions {
  path: string;
  /** File mode of the socket (default 0600: root only). */
  socketMode?: number;
  /** Who may talk to the daemon, by SO_PEERCRED uid (default: root only). */
  admit?: (cred: { pid: number; uid: number; gid: number }) => boolean;
  /** Where internal errors are reported (default stderr). */
  log?: (line: string) => void;
  /**
   * Messages that are not generic netlink ones, answered whole (replies,
   * ACK or error, DONE): the daemon's ctnetlink. Undefined: not taken.
   */
  other?: (req: NlMessage, portId: number) => Uint8Array[] | undefined;
}

interface Client {
  portId: number;
  sock: Socket;
  admitted: boolean;
  /** Multicast groups joined. */
  groups: Set<number>;
  /** Requests of one client run in order, as the kernel runs a datagram's messages. */
  chain: Promise<void>;
}

export class ControlServer {
  private readonly families = new Map<number, RegisteredFamily>();
  private readonly clients = new Map<number, Client>();
  private readonly ctrl: ServedFamily;
  private nextFamilyId = 0x20;
  private nextGroupId = 1;
  private nextPortId = 0x4000_0000;
  private server?: Server;
  private lock?: Server;
  private readonly log: (line: string) => void;

  constructor(private readonly opts: ControlServerOptions) {
    this.ctrl = controller(() => this.families.values());
    this.log = opts.log ?? ((line) => process.stderr.write(`ovsnl-dpd: ${line}\n`));
  }

  /** Makes a family reachable; its id and group ids are chosen here, as the kernel does. */
  register(family: ServedFamily): RegisteredFamily {
    const groups = new Map((family.groups ?? []).map((g) => [g, this.nextGroupId++] as [string, number]));
    const reg = { id: this.nextFamilyId++, family, groups };
    this.families.set(reg.id, reg);
    return reg;
  }

  async listen(): Promise<void> {
    const { path } = this.opts;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // One daemon per socket path, even when two start at once over a stale socket file
    // (both would see it dead, and the second would unlink the first's new socket).
    this.lock = await takeLock(path);
    try {
      if (existsSync(path)) {
        if (await isServing(path)) throw new Error(`another ovsnl datapath daemon is serving ${path}`);
        unlinkSync(path);
      }
      const server = createServer((sock) => this.accept(sock));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      });
      chmodSync(path, this.opts.socketMode ?? 0o600);
      this.server = server;
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    for (const c of this.clients.values()) c.sock.destroy();
    this.clients.clear();
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
    const l = this.lock;
    this.lock = undefined;
    if (l) await new Promise<void>((r) => l.close(() => r()));
  }

  /** Port ids of connected clients. */
  get portIds(): number[] {
    return [...this.clients.keys()];
  }

  /** Whether a client listens to the group. */
  listening(group: number): boolean {
    for (const c of this.clients.values()) if (c.admitted && c.groups.has(group)) return true;
    return false;
  }

  /** Sends a notification to every client of the group but `except` (netlink_broadcast). */
  multicast(group: number, message: Uint8Array, except = 0): void {
    for (const c of this.clients.values()) {
      if (c.admitted && c.portId !== except && c.groups.has(group) && !c.sock.destroyed) c.sock.write(message);
    }
  }

  /** Sends an unsolicited message (an upcall) to a port; false if nobody has it. */
  unicast(portId: number, message: Uint8Array): boolean {
    const c = this.clients.get(portId);
    if (!c || !c.admitted) return false;
    c.sock.write(message);
    return true;
  }

  private accept(sock: Socket): void {
    const portId = this.nextPortId++;
    const fd = (sock as unknown as { _handle?: { fd?: number } })._handle?.fd ?? -1;
    let admitted = false;
    try {
      const cred = native().peerCredentials(fd);
      admitted = (this.opts.admit ?? ((c) => c.uid === 0))(cred);
    } catch (err) {
      this.log(`cannot read the peer's credentials, refusing it: ${(err as Error).message}`);
    }
    const client: Client = { portId, sock, admitted, groups: new Set(), chain: Promise.resolve() };
    this.clients.set(portId, client);
    const stream = new MessageStream();
    sock.on('data', (chunk: Buffer) => {
      let msgs: Uint8Array[];
      try {
        msgs = stream.push(chunk);
      } catch (err) {
        this.log(`port ${portId}: ${(err as Error).message}; closing`);
        sock.destroy();
        return;
      }
      for (const m of msgs) client.chain = client.chain.then(() => this.serve(client, m));
    });
    sock.on('error', () => {});
    sock.on('close', () => this.clients.delete(portId));
    sock.write(greeting(portId));
  }

  /** A join or leave of a multicast group (MEMBERSHIP_ADD in netlink/constants.ts); acknowledged when asked. */
  private membership(client: Client, req: NlMessage, fail: (errno: number, message?: string) => void, out: Uint8Array[]): void {
    const v = new DataView(req.payload.buffer, req.payload.byteOffset, 8);
    const op = v.getUint32(0, HOST_LE);
    const group = v.getUint32(4, HOST_LE);
    if (!client.admitted) return fail(EPERM, 'the ovsnl datapath daemon serves root only (CAP_NET_ADMIN)');
    const known = [...this.families.values()].some((r) => [...r.groups.values()].includes(group));
    if (!known) return fail(ENOENT, `no multicast group ${group}`);
    if (op === MEMBERSHIP_ADD) client.groups.add(group);
    else if (op === MEMBERSHIP_DROP) client.groups.delete(group);
    else return fail(EINVAL, `membership option ${op}`);
    if (req.flags & NLM_F_ACK) out.push(encodeError(req, client.portId, 0));
  }

  private async serve(client: Client, bytes: Uint8Array): Promise<void> {
    let req: NlMessage;
    try {
      [req] = parseMessages(bytes);
    } catch {
      return;
    }
    const out: Uint8Array[] = [];
    const fail = (errno: number, message?: string, offset?: number) => out.push(encodeError(req, client.portId, errno, { message, offset }));
    try {
      if (req.type === NLMSG_NOOP && req.payload.length >= 8) {
        this.membership(client, req, fail, out);
        return;
      }
      if (req.type < NLMSG_MIN_TYPE) return;
      if (!client.admitted) {
        fail(EPERM, 'the ovsnl datapath daemon serves root only (CAP_NET_ADMIN)');
        return;
      }
      const answered = req.type !== GENL_ID_CTRL && !this.families.has(req.type) ? this.opts.other?.(req, client.portId) : undefined;
      if (answered) {
        out.push(...answered);
        return;
      }
      const reg = req.type === GENL_ID_CTRL ? { id: GENL_ID_CTRL, family: this.ctrl, groups: new Map() } : this.families.get(req.type);
      if (!reg) {
        fail(ENOENT, `no generic netlink family with id ${req.type}`);
        return;
      }
      const hdrEnd = GENL_HDRLEN + reg.family.hdrSize;
      if (req.payload.length < hdrEnd) {
        fail(EINVAL, `${reg.family.name}: message shorter than its headers`);
        return;
      }
      const cmd = req.payload[0];
      const group = reg.family.notify?.cmds.includes(cmd) ? reg.groups.values().next().value : undefined;
      const replies = await reg.family.handle({
        cmd,
        version: req.payload[1],
        flags: req.flags,
        seq: req.seq,
        portId: client.portId,
        header: req.payload.subarray(GENL_HDRLEN, hdrEnd),
        attrs: req.payload.subarray(hdrEnd),
        attrsOffset: 16 + hdrEnd,
        listening: group !== undefined && this.listening(group),
      });
      if (req.flags & NLM_F_DUMP) {
        for (const r of replies) out.push(encodeReply(reg.id, NLM_F_MULTI, req.seq, client.portId, r));
        out.push(encodeDone(req.seq, client.portId));
      } else {
        const echo = (req.flags & NLM_F_ECHO) !== 0;
        for (const r of replies) {
          const msg = encodeReply(reg.id, 0, req.seq, client.portId, r);
          if (group === undefined) {
            out.push(msg);
            continue;
          }
          this.multicast(group, msg, echo ? client.portId : 0);
          if (echo || !reg.family.notify?.echoOnly) out.push(msg);
        }
        if (req.flags & NLM_F_ACK) out.push(encodeError(req, client.portId, 0));
      }
    } catch (err) {
      const e = err as { errno?: number; message?: string; offset?: number };
      if (typeof e.errno === 'number' && e.errno > 0) fail(e.errno, e.message, e.offset);
      else {
        this.log(`internal error on ${req.type}/${req.payload[0]}: ${(err as Error).stack ?? err}`);
        fail(EIO, `ovsnl datapath daemon internal error: ${e.message ?? err}`);
      }
    } finally {
      if (out.length && !client.sock.destroyed) client.sock.write(out.length === 1 ? out[0] : Buffer.concat(out));
    }
  }
}

/** NLMSG_NOOP whose nlmsg_pid tells the client its port id. */
function greeting(portId: number): Uint8Array {
  const w = new AttrWriter(16);
  const s = beginMessage(w, NLMSG_NOOP, 0, 0, portId);
  endMessage(w, s);
  return w.finish().slice();
}

/**
 * A lock on a socket path that dies with its process: a listening socket in
 * Linux's abstract namespace, whose name is taken atomically and freed by the
 * kernel when the process ends, however it ends.
 */
function takeLock(path: string): Promise<Server> {
  const name = `\0ovsnl-dpd:${createHash('sha256').update(resolve(path)).digest('hex')}`;
  return new Promise((resolveLock, reject) => {
    const lock = createServer((c) => c.destroy());
    lock.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`another ovsnl datapath daemon is serving or starting on ${path}`) : err),
    );
    lock.listen(name, () => {
      lock.unref();
      resolveLock(lock);
    });
  });
}

/** Whether a daemon answers on this socket path (a stale file left by a dead one does not). */
export function isServing(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    // A socket we may not open is still a daemon's: a non-root user must not be told none runs.
    c.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EACCES' || err.code === 'EPERM'));
  });
}

