#include "nlsocket.h"

#include <errno.h>
#include <linux/netlink.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "errors.h"

namespace ovsnl {

namespace {

// recvmmsg and sendmsg take at most this many entries per call (UIO_MAXIOV).
constexpr size_t kMaxBatch = 1024;

int64_t NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

bool IsUint8Array(const Napi::Value& v) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array;
}

}  // namespace

Napi::Function NetlinkSocket::Init(Napi::Env env) {
  return DefineClass(
      env, "NetlinkSocket",
      {
          InstanceAccessor<&NetlinkSocket::PortId>("portId"),
          InstanceAccessor<&NetlinkSocket::Fd>("fd"),
          InstanceAccessor<&NetlinkSocket::Closed>("closed"),
          InstanceMethod<&NetlinkSocket::Send>("send"),
          InstanceMethod<&NetlinkSocket::SendBatch>("sendBatch"),
          InstanceMethod<&NetlinkSocket::Recv>("recv"),
          InstanceMethod<&NetlinkSocket::RecvWait>("recvWait"),
          InstanceMethod<&NetlinkSocket::SetOption>("setOption"),
          InstanceMethod<&NetlinkSocket::GetOption>("getOption"),
          InstanceMethod<&NetlinkSocket::PollStart>("pollStart"),
          InstanceMethod<&NetlinkSocket::PollStop>("pollStop"),
          InstanceMethod<&NetlinkSocket::RefHandle>("ref"),
          InstanceMethod<&NetlinkSocket::UnrefHandle>("unref"),
          InstanceMethod<&NetlinkSocket::Close>("close"),
      });
}

// new NetlinkSocket(protocol): opens a non-blocking socket and binds it to a
// kernel-chosen port id.
NetlinkSocket::NetlinkSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NetlinkSocket>(info) {
  Napi::Env env = info.Env();
  int protocol = NETLINK_GENERIC;
  if (info.Length() > 0 && !info[0].IsUndefined()) {
    if (!info[0].IsNumber()) {
      ThrowType(env, "protocol must be a number");
      return;
    }
    protocol = info[0].As<Napi::Number>().Int32Value();
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);
  if (fd < 0) {
    ErrnoError(env, "socket", errno).ThrowAsJavaScriptException();
    return;
  }
  struct sockaddr_nl addr;
  memset(&addr, 0, sizeof addr);
  addr.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) < 0) {
    int err = errno;
    close(fd);
    ErrnoError(env, "bind", err).ThrowAsJavaScriptException();
    return;
  }
  socklen_t len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&addr), &len) < 0) {
    int err = errno;
    close(fd);
    ErrnoError(env, "getsockname", err).ThrowAsJavaScriptException();
    return;
  }
  fd_ = fd;
  port_id_ = addr.nl_pid;
}

NetlinkSocket::~NetlinkSocket() {
  // Garbage collection of an unclosed socket: release the fd. (A polling
  // socket holds a strong reference to itself, so it is not collected.)
  poller_.Stop();
  CloseFd();
}

bool NetlinkSocket::CheckOpen(Napi::Env env) {
  if (fd_ >= 0) return true;
  ErrnoError(env, "netlink socket (closed)", EBADF).ThrowAsJavaScriptException();
  return false;
}

Napi::Value NetlinkSocket::PortId(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), port_id_);
}

Napi::Value NetlinkSocket::Fd(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), fd_);
}

Napi::Value NetlinkSocket::Closed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), fd_ < 0);
}

// send(bytes): one datagram to the kernel. Returns the number of bytes sent.
Napi::Value NetlinkSocket::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !IsUint8Array(info[0])) return ThrowType(env, "send(data): data must be a Uint8Array");
  if (!CheckOpen(env)) return Napi::Value();
  Napi::Uint8Array data = info[0].As<Napi::Uint8Array>();
  struct sockaddr_nl dst;
  memset(&dst, 0, sizeof dst);
  dst.nl_family = AF_NETLINK;
  ssize_t n;
  do {
    n = sendto(fd_, data.Data(), data.ByteLength(), 0, reinterpret_cast<struct sockaddr*>(&dst), sizeof dst);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    ErrnoError(env, "sendto", errno).ThrowAsJavaScriptException();
    return Napi::Value();
  }
  return Napi::Number::New(env, static_cast<double>(n));
}

// sendBatch([bytes, ...]): several netlink messages in one datagram (one
// sendmsg with one iovec each). The kernel walks every message of a datagram,
// so N requests cost one system call.
Napi::Value NetlinkSocket::SendBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) return ThrowType(env, "sendBatch(list): list must be an array of Uint8Array");
  if (!CheckOpen(env)) return Napi::Value();
  Napi::Array list = info[0].As<Napi::Array>();
  uint32_t count = list.Length();
  if (count == 0) return Napi::Number::New(env, 0);
  if (count > kMaxBatch) return ThrowRange(env, "sendBatch(list): at most 1024 buffers per call");
  std::vector<struct iovec> iov(count);
  for (uint32_t i = 0; i < count; i++) {
    Napi::Value v = list.Get(i);
    if (!IsUint8Array(v)) return ThrowType(env, "sendBatch(list): every element must be a Uint8Array");
    Napi::Uint8Array a = v.As<Napi::Uint8Array>();
    iov[i].iov_base = a.Data();
    iov[i].iov_len = a.ByteLength();
  }
  struct sockaddr_nl dst;
  memset(&dst, 0, sizeof dst);
  dst.nl_family = AF_NETLINK;
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_name = &dst;
  msg.msg_namelen = sizeof dst;
  msg.msg_iov = iov.data();
  msg.msg_iovlen = count;
  ssize_t n;
  do {
    n = sendmsg(fd_, &msg, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    ErrnoError(env, "sendmsg", errno).ThrowAsJavaScriptException();
    return Napi::Value();
  }
  return Napi::Number::New(env, static_cast<double>(n));
}

// Shared body of recv/recvWait: recvmmsg into fixed-size slots of the caller's
// buffer. lens[i] gets the datagram's full length (MSG_TRUNC), so a length above
// slotSize tells JavaScript the datagram did not fit; pids[i] (optional) gets the
// sender's port id (0 = the kernel).
Napi::Value NetlinkSocket::ReceiveInto(const Napi::CallbackInfo& info, int flags) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !IsUint8Array(info[0]) || !info[1].IsNumber() || !info[2].IsTypedArray() ||
      info[2].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    return ThrowType(env, "recv(buffer: Uint8Array, slotSize: number, lens: Int32Array[, pids: Uint32Array])");
  }
  Napi::Uint8Array buf = info[0].As<Napi::Uint8Array>();
  int64_t slot = info[1].As<Napi::Number>().Int64Value();
  Napi::Int32Array lens = info[2].As<Napi::Int32Array>();
  uint32_t* pids = nullptr;
  size_t pids_len = 0;
  if (info.Length() > 3 && !info[3].IsUndefined()) {
    if (!info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
      return ThrowType(env, "recv: pids must be a Uint32Array");
    }
    Napi::Uint32Array p = info[3].As<Napi::Uint32Array>();
    pids = p.Data();
    pids_len = p.ElementLength();
  }
  if (slot < 16 || slot > (1 << 30)) return ThrowRange(env, "recv: slotSize must be between 16 and 2^30");
  size_t n = std::min<size_t>({buf.ByteLength() / static_cast<size_t>(slot), lens.ElementLength(), kMaxBatch});
  if (pids != nullptr) n = std::min(n, pids_len);
  if (n == 0) return ThrowRange(env, "recv: buffer, lens and pids must hold at least one slot");
  if (!CheckOpen(env)) return Napi::Value();

  std::vector<struct mmsghdr> msgs(n);
  std::vector<struct iovec> iov(n);
  std::vector<struct sockaddr_nl> addrs(n);
  memset(msgs.data(), 0, n * sizeof(struct mmsghdr));
  for (size_t i = 0; i < n; i++) {
    iov[i].iov_base = buf.Data() + i * slot;
    iov[i].iov_len = static_cast<size_t>(slot);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &addrs[i];
    msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_nl);
  }
  int r;
  do {
    r = recvmmsg(fd_, msgs.data(), static_cast<unsigned>(n), flags | MSG_DONTWAIT | MSG_TRUNC, nullptr);
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, 0);
    ErrnoError(env, "recvmmsg", errno).ThrowAsJavaScriptException();
    return Napi::Value();
  }
  int32_t* out = lens.Data();
  for (int i = 0; i < r; i++) {
    out[i] = static_cast<int32_t>(std::min<unsigned>(msgs[i].msg_len, 0x7fffffff));
    if (pids != nullptr) pids[i] = addrs[i].nl_pid;
  }
  return Napi::Number::New(env, r);
}

// recv(buffer, slotSize, lens[, pids]): never blocks; 0 when nothing is queued.
Napi::Value NetlinkSocket::Recv(const Napi::CallbackInfo& info) {
  return ReceiveInto(info, 0);
}

// recvWait(buffer, slotSize, lens, pids | undefined, timeoutMs): blocks the
// calling thread until data arrives or timeoutMs passes (-1: no limit); for
// short-lived CLI requests where an event-loop round trip buys nothing.
Napi::Value NetlinkSocket::RecvWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[4].IsNumber()) {
    return ThrowType(env, "recvWait(buffer, slotSize, lens, pids | undefined, timeoutMs)");
  }
  if (!CheckOpen(env)) return Napi::Value();
  int64_t timeout = info[4].As<Napi::Number>().Int64Value();
  int64_t deadline = timeout < 0 ? -1 : NowMs() + timeout;
  for (;;) {
    struct pollfd pfd = {fd_, POLLIN, 0};
    int wait = deadline < 0 ? -1 : static_cast<int>(std::max<int64_t>(0, deadline - NowMs()));
    int r = poll(&pfd, 1, wait);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      ErrnoError(env, "poll", errno).ThrowAsJavaScriptException();
      return Napi::Value();
    }
    if (r == 0) return Napi::Number::New(env, 0);
    Napi::Value got = ReceiveInto(info, 0);
    // poll can report readiness that a racing reader consumed; wait again.
    if (got.IsNumber() && got.As<Napi::Number>().Int32Value() == 0 &&
        (deadline < 0 || NowMs() < deadline)) {
      continue;
    }
    return got;
  }
}

// setOption(level, name, value): integer socket options (SO_RCVBUFFORCE,
// NETLINK_ADD_MEMBERSHIP, NETLINK_EXT_ACK, ...).
Napi::Value NetlinkSocket::SetOption(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber()) {
    return ThrowType(env, "setOption(level: number, name: number, value: number)");
  }
  if (!CheckOpen(env)) return Napi::Value();
  int level = info[0].As<Napi::Number>().Int32Value();
  int name = info[1].As<Napi::Number>().Int32Value();
  int value = info[2].As<Napi::Number>().Int32Value();
  if (setsockopt(fd_, level, name, &value, sizeof value) < 0) {
    ErrnoError(env, "setsockopt", errno).ThrowAsJavaScriptException();
    return Napi::Value();
  }
  return env.Undefined();
}

Napi::Value NetlinkSocket::GetOption(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    return ThrowType(env, "getOption(level: number, name: number)");
  }
  if (!CheckOpen(env)) return Napi::Value();
  int value = 0;
  socklen_t len = sizeof value;
  if (getsockopt(fd_, info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value(), &value,
                 &len) < 0) {
    ErrnoError(env, "getsockopt", errno).ThrowAsJavaScriptException();
    return Napi::Value();
  }
  return Napi::Number::New(env, value);
}

// pollStart(callback): calls callback(err | undefined, events) whenever the
// socket is readable. Keeps the process alive unless unref() was called.
Napi::Value NetlinkSocket::PollStart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) return ThrowType(env, "pollStart(callback: function)");
  if (!CheckOpen(env)) return Napi::Value();
  if (!poller_.Start(env, fd_, kPollReadable, info[0].As<Napi::Function>())) return Napi::Value();
  return env.Undefined();
}

Napi::Value NetlinkSocket::PollStop(const Napi::CallbackInfo& info) {
  poller_.Stop();
  return info.Env().Undefined();
}

// ref()/unref(): whether an active poll keeps the event loop alive, as for
// net.Socket. Listeners that only wait for notifications usually unref.
Napi::Value NetlinkSocket::RefHandle(const Napi::CallbackInfo& info) {
  poller_.SetKeepAlive(true);
  return info.Env().Undefined();
}

Napi::Value NetlinkSocket::UnrefHandle(const Napi::CallbackInfo& info) {
  poller_.SetKeepAlive(false);
  return info.Env().Undefined();
}

void NetlinkSocket::CloseFd() {
  if (fd_ < 0) return;
  close(fd_);
  fd_ = -1;
}

// close(): idempotent. libuv requires the poll handle to go before the fd.
Napi::Value NetlinkSocket::Close(const Napi::CallbackInfo& info) {
  poller_.Stop();
  CloseFd();
  return info.Env().Undefined();
}

}  // namespace ovsnl
