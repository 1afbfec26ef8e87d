// The compiled addon, loaded once. Everything it exports is typed here so the
// rest of the code never sees an untyped native object.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One AF_NETLINK socket as the addon exposes it: bytes in, bytes out. */
export interface NativeNetlinkSocket {
  readonly portId: number;
  readonly fd: number;
  readonly closed: boolean;
  send(data: Uint8Array): number;
  sendBatch(list: Uint8Array[]): number;
  recv(buffer: Uint8Array, slotSize: number, lens: Int32Array, pids?: Uint32Array): number;
  recvWait(buffer: Uint8Array, slotSize: number, lens: Int32Array, pids: Uint32Array | undefined, timeoutMs: number): number;
  setOption(level: number, name: number, value: number): void;
  getOption(level: number, name: number): number;
  pollStart(onReadable: (err?: Error) => void): void;
  pollStop(): void;
  ref(): void;
  unref(): void;
  close(): void;
}

export interface NativeConstants {
  NETLINK_ROUTE: number;
  NETLINK_NETFILTER: number;
  NETLINK_GENERIC: number;
  SOL_SOCKET: number;
  SOL_NETLINK: number;
  SO_RCVBUF: number;
  SO_RCVBUFFORCE: number;
  SO_SNDBUF: number;
  SO_SNDBUFFORCE: number;
  NETLINK_ADD_MEMBERSHIP: number;
  NETLINK_DROP_MEMBERSHIP: number;
  NETLINK_EXT_ACK: number;
  NETLINK_CAP_ACK: number;
  NETLINK_GET_STRICT_CHK: number;
  NETLINK_NO_ENOBUFS: number;
  NETLINK_LISTEN_ALL_NSID: number;
}

export interface NativeAddon {
  NetlinkSocket: new (protocol?: number) => NativeNetlinkSocket;
  constants: NativeConstants;
}

function findAddon(): string {
  // dist/native.js and src/native.ts both sit one level below the package root.
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  for (const build of ['Release', 'Debug']) {
    const p = join(root, 'build', build, 'ovsnl.node');
    if (existsSync(p)) return p;
  }
  throw new Error(`ovsnl: native addon not built (looked in ${join(root, 'build')}); run "npm install" or "npm run build"`);
}

let loaded: NativeAddon | undefined;

/** The addon, loaded on first use so that pure codecs work without it. */
export function native(): NativeAddon {
  if (!loaded) loaded = createRequire(import.meta.url)(findAddon()) as NativeAddon;
  return loaded;
}
