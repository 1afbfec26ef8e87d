#include <linux/netlink.h>
#include <napi.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "errors.h"

#include "frameio.h"
#include "nlsocket.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

namespace {

// peerCredentials(fd): SO_PEERCRED of a connected unix socket (Node's net
// module does not expose it), so the fallback daemon can admit root only.
Napi::Value PeerCredentials(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return ovsnl::ThrowType(env, "peerCredentials(fd: number)");
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(info[0].As<Napi::Number>().Int32Value(), SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
    ovsnl::ErrnoError(env, "getsockopt(SO_PEERCRED)", errno).ThrowAsJavaScriptException();
    return Napi::Value();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", Napi::Number::New(env, cred.pid));
  out.Set("uid", Napi::Number::New(env, cred.uid));
  out.Set("gid", Napi::Number::New(env, cred.gid));
  return out;
}

// routeSource(dst): the IPv4 source address the routing table picks for a
// destination (both as host-order numbers), found by connecting a UDP socket,
// which sends nothing. A tunnel needs it for the UDP checksum's pseudo-header
// when its action leaves the source to the kernel.
Napi::Value RouteSource(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) return ovsnl::ThrowType(env, "routeSource(dst: number)");
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ovsnl::ErrnoError(env, "socket(AF_INET)", errno).ThrowAsJavaScriptException();
    return Napi::Value();
  }
  struct sockaddr_in to;
  memset(&to, 0, sizeof to);
  to.sin_family = AF_INET;
  to.sin_port = htons(9);
  to.sin_addr.s_addr = htonl(info[0].As<Napi::Number>().Uint32Value());
  struct sockaddr_in me;
  socklen_t len = sizeof me;
  if (connect(fd, reinterpret_cast<struct sockaddr*>(&to), sizeof to) < 0 ||
      getsockname(fd, reinterpret_cast<struct sockaddr*>(&me), &len) < 0) {
    int err = errno;
    close(fd);
    ovsnl::ErrnoError(env, "connect(route lookup)", err).ThrowAsJavaScriptException();
    return Napi::Value();
  }
  close(fd);
  return Napi::Number::New(env, ntohl(me.sin_addr.s_addr));
}

// Only the numbers JavaScript needs to call setOption/getOption and to open
// sockets; protocol constants (message types, flags) are defined in TypeScript.
Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  c.Set("NETLINK_ROUTE", NETLINK_ROUTE);
  c.Set("NETLINK_NETFILTER", NETLINK_NETFILTER);
  c.Set("NETLINK_GENERIC", NETLINK_GENERIC);
  c.Set("SOL_SOCKET", SOL_SOCKET);
  c.Set("SOL_NETLINK", SOL_NETLINK);
  c.Set("SO_RCVBUF", SO_RCVBUF);
  c.Set("SO_RCVBUFFORCE", SO_RCVBUFFORCE);
  c.Set("SO_SNDBUF", SO_SNDBUF);
  c.Set("SO_SNDBUFFORCE", SO_SNDBUFFORCE);
  c.Set("NETLINK_ADD_MEMBERSHIP", NETLINK_ADD_MEMBERSHIP);
  c.Set("NETLINK_DROP_MEMBERSHIP", NETLINK_DROP_MEMBERSHIP);
  c.Set("NETLINK_EXT_ACK", NETLINK_EXT_ACK);
  c.Set("NETLINK_CAP_ACK", NETLINK_CAP_ACK);
  c.Set("NETLINK_GET_STRICT_CHK", NETLINK_GET_STRICT_CHK);
  c.Set("NETLINK_NO_ENOBUFS", NETLINK_NO_ENOBUFS);
  c.Set("NETLINK_LISTEN_ALL_NSID", NETLINK_LISTEN_ALL_NSID);
  return c;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NetlinkSocket", ovsnl::NetlinkSocket::Init(env));
  exports.Set("PacketSocket", ovsnl::PacketSocket::Init(env));
  exports.Set("TapDevice", ovsnl::TapDevice::Init(env));
  exports.Set("TunnelSocket", ovsnl::TunnelSocket::Init(env));
  exports.Set("routeSource", Napi::Function::New(env, RouteSource, "routeSource"));
  exports.Set("peerCredentials", Napi::Function::New(env, PeerCredentials, "peerCredentials"));
  exports.Set("constants", Constants(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(ovsnl, Init)
