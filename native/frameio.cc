#include "frameio.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/filter.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "errors.h"

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

namespace ovsnl {

namespace {

constexpr size_t kMaxBatch = 1024;

bool IsUint8Array(const Napi::Value& v) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array;
}

bool OptBool(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() && v.As<Napi::Boolean>().Value();
}

// The receive slots of one recv call, checked once for both frame sources.
struct Slots {
  uint8_t* base = nullptr;
  size_t slot = 0;
  size_t count = 0;
  int32_t* lens = nullptr;
  uint32_t* meta = nullptr;  // kMetaPerFrame values per frame, optional
};

bool ParseSlots(const Napi::CallbackInfo& info, Slots* s) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !IsUint8Array(info[0]) || !info[1].IsNumber() || !info[2].IsTypedArray() ||
      info[2].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    ThrowType(env, "recv(buffer: Uint8Array, slotSize: number, lens: Int32Array[, meta: Uint32Array])");
    return false;
  }
  Napi::Uint8Array buf = info[0].As<Napi::Uint8Array>();
  int64_t slot = info[1].As<Napi::Number>().Int64Value();
  if (slot < 64 || slot > (1 << 20)) {
    ThrowRange(env, "recv: slotSize must be between 64 and 2^20");
    return false;
  }
  Napi::Int32Array lens = info[2].As<Napi::Int32Array>();
  s->base = buf.Data();
  s->slot = static_cast<size_t>(slot);
  s->lens = lens.Data();
  s->count = std::min<size_t>({buf.ByteLength() / s->slot, lens.ElementLength(), kMaxBatch});
  if (info.Length() > 3 && !info[3].IsUndefined()) {
    if (!info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
      ThrowType(env, "recv: meta must be a Uint32Array");
      return false;
    }
    Napi::Uint32Array meta = info[3].As<Napi::Uint32Array>();
    s->meta = meta.Data();
    s->count = std::min(s->count, meta.ElementLength() / kMetaPerFrame);
  }
  if (s->count == 0) {
    ThrowRange(env, "recv: buffer, lens and meta must hold at least one frame");
    return false;
  }
  return true;
}

// Message headers over the receive slots, one slot each.
void SlotMessages(const Slots& s, std::vector<struct mmsghdr>* msgs, std::vector<struct iovec>* iov) {
  msgs->assign(s.count, {});
  iov->resize(s.count);
  for (size_t i = 0; i < s.count; i++) {
    (*iov)[i] = {s.base + i * s.slot, s.slot};
    (*msgs)[i].msg_hdr.msg_iov = &(*iov)[i];
    (*msgs)[i].msg_hdr.msg_iovlen = 1;
  }
}

// One recvmmsg into prepared messages, never blocking: how many arrived (0:
// none queued), or -1 after throwing the error.
int RecvInto(Napi::Env env, int fd, std::vector<struct mmsghdr>* msgs, const char* syscall) {
  int r;
  do {
    r = recvmmsg(fd, msgs->data(), static_cast<unsigned>(msgs->size()), MSG_DONTWAIT | MSG_TRUNC, nullptr);
  } while (r < 0 && errno == EINTR);
  if (r >= 0) return r;
  if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
  ErrnoError(env, syscall, errno).ThrowAsJavaScriptException();
  return -1;
}

// sendmmsg until all went or the kernel pushed back: how many went; *err is
// the errno that stopped it (0 if none did).
int SendAll(int fd, std::vector<struct mmsghdr>* msgs, int* err) {
  int sent = 0;
  *err = 0;
  while (static_cast<size_t>(sent) < msgs->size()) {
    int r = sendmmsg(fd, msgs->data() + sent, static_cast<unsigned>(msgs->size() - sent), MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      *err = errno;
      break;
    }
    sent += r;
  }
  return sent;
}

bool ParseFrames(const Napi::CallbackInfo& info, std::vector<struct iovec>* iov) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) {
    ThrowType(env, "send(frames: Uint8Array[])");
    return false;
  }
  Napi::Array list = info[0].As<Napi::Array>();
  if (list.Length() > kMaxBatch) {
    ThrowRange(env, "send: at most 1024 frames per call");
    return false;
  }
  iov->resize(list.Length());
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value v = list.Get(i);
    if (!IsUint8Array(v)) {
      ThrowType(env, "send: every frame must be a Uint8Array");
      return false;
    }
    Napi::Uint8Array a = v.As<Napi::Uint8Array>();
    (*iov)[i].iov_base = a.Data();
    (*iov)[i].iov_len = a.ByteLength();
  }
  return true;
}

// Frames sent before the kernel pushed back. EAGAIN/ENOBUFS after at least one
// frame is backpressure, reported by the count; with none sent it is thrown
// (EAGAIN: wait for writability; ENOBUFS: the device queue is full).
Napi::Value SentOrThrow(Napi::Env env, const char* syscall, int sent, int err) {
  if (sent > 0 || err == 0) return Napi::Number::New(env, sent);
  if (err == EAGAIN || err == EWOULDBLOCK) return Napi::Number::New(env, 0);
  ErrnoError(env, syscall, err).ThrowAsJavaScriptException();
  return Napi::Value();
}

Napi::Value ClosedError(Napi::Env env) {
  ErrnoError(env, "frame socket (closed)", EBADF).ThrowAsJavaScriptException();
  return Napi::Value();
}

Napi::Value StartPolling(const Napi::CallbackInfo& info, Poller* poller, int fd) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsFunction()) {
    return ThrowType(env, "pollStart(events: 1 readable | 2 writable, callback)");
  }
  if (fd < 0) return ClosedError(env);
  if (!poller->Start(env, fd, info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Function>())) {
    return Napi::Value();
  }
  return env.Undefined();
}

}  // namespace

// ---------------------------------------------------------------------------
// PacketSocket: AF_PACKET, SOCK_RAW, bound to one interface.

Napi::Function PacketSocket::Init(Napi::Env env) {
  return DefineClass(env, "PacketSocket",
                     {
                         InstanceAccessor<&PacketSocket::Fd>("fd"),
                         InstanceAccessor<&PacketSocket::Ifindex>("ifindex"),
                         InstanceMethod<&PacketSocket::Recv>("recv"),
                         InstanceMethod<&PacketSocket::Send>("send"),
                         InstanceMethod<&PacketSocket::PollStart>("pollStart"),
                         InstanceMethod<&PacketSocket::PollStop>("pollStop"),
                         InstanceMethod<&PacketSocket::RefHandle>("ref"),
                         InstanceMethod<&PacketSocket::UnrefHandle>("unref"),
                         InstanceMethod<&PacketSocket::Close>("close"),
                     });
}

// new PacketSocket(ifindex, { promisc?, vnetHdr?, qdiscBypass? })
PacketSocket::PacketSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PacketSocket>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    ThrowType(env, "new PacketSocket(ifindex: number, options?)");
    return;
  }
  int ifindex = info[0].As<Napi::Number>().Int32Value();
  Napi::Object opts = info.Length() > 1 && info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
  // Protocol 0 until bound: an ETH_P_ALL socket would queue frames of every
  // interface between socket() and bind().
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ErrnoError(env, "socket(AF_PACKET)", errno).ThrowAsJavaScriptException();
    return;
  }
  auto fail = [&](const char* what) {
    int err = errno;
    close(fd);
    ErrnoError(env, what, err).ThrowAsJavaScriptException();
  };
  int one = 1;
  // The kernel strips VLAN tags and may leave checksums partial; both facts
  // arrive only in PACKET_AUXDATA.
  if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) < 0) {
    fail("setsockopt(PACKET_AUXDATA)");
    return;
  }
  // Our own transmissions would otherwise come back as input.
  if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) {
    fail("setsockopt(PACKET_IGNORE_OUTGOING)");
    return;
  }
  if (OptBool(opts, "vnetHdr") && setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) {
    fail("setsockopt(PACKET_VNET_HDR)");
    return;
  }
  if (OptBool(opts, "qdiscBypass") && setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0) {
    fail("setsockopt(PACKET_QDISC_BYPASS)");
    return;
  }
  struct sockaddr_ll addr;
  memset(&addr, 0, sizeof addr);
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons(ETH_P_ALL);
  addr.sll_ifindex = ifindex;
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) < 0) {
    fail("bind(AF_PACKET)");
    return;
  }
  if (OptBool(opts, "promisc")) {
    struct packet_mreq mreq;
    memset(&mreq, 0, sizeof mreq);
    mreq.mr_ifindex = ifindex;
    mreq.mr_type = PACKET_MR_PROMISC;
    if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq, sizeof mreq) < 0) {
      fail("setsockopt(PACKET_ADD_MEMBERSHIP)");
      return;
    }
  }
  fd_ = fd;
  ifindex_ = ifindex;
}

PacketSocket::~PacketSocket() {
  poller_.Stop();
  if (fd_ >= 0) close(fd_);
}

Napi::Value PacketSocket::Fd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }
Napi::Value PacketSocket::Ifindex(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), ifindex_); }

// recv(buffer, slotSize, lens[, meta]) -> frames received (0 when none). lens[i]
// is the frame's length (more than slotSize: truncated); meta holds, per frame,
// tp_status, vlan_tci | tpid << 16, pkttype and the length on the wire.
Napi::Value PacketSocket::Recv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Slots s;
  if (!ParseSlots(info, &s)) return Napi::Value();
  if (fd_ < 0) return ClosedError(env);
  constexpr size_t kCtl = CMSG_SPACE(sizeof(struct tpacket_auxdata));
  std::vector<struct mmsghdr> msgs;
  std::vector<struct iovec> iov;
  SlotMessages(s, &msgs, &iov);
  std::vector<struct sockaddr_ll> from(s.count);
  std::vector<uint8_t> ctl(s.count * kCtl);
  for (size_t i = 0; i < s.count; i++) {
    msgs[i].msg_hdr.msg_name = &from[i];
    msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_ll);
    msgs[i].msg_hdr.msg_control = ctl.data() + i * kCtl;
    msgs[i].msg_hdr.msg_controllen = kCtl;
  }
  int r = RecvInto(env, fd_, &msgs, "recvmmsg(AF_PACKET)");
  if (r < 0) return Napi::Value();
  for (int i = 0; i < r; i++) {
    s.lens[i] = static_cast<int32_t>(msgs[i].msg_len);
    if (s.meta == nullptr) continue;
    uint32_t* m = s.meta + i * kMetaPerFrame;
    m[0] = 0;
    m[1] = 0;
    m[2] = from[i].sll_pkttype;
    m[3] = msgs[i].msg_len;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c != nullptr; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
      if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
      struct tpacket_auxdata aux;
      memcpy(&aux, CMSG_DATA(c), sizeof aux);
      m[0] = aux.tp_status;
      m[1] = static_cast<uint32_t>(aux.tp_vlan_tci) | (static_cast<uint32_t>(aux.tp_vlan_tpid) << 16);
      m[3] = aux.tp_len;
    }
  }
  return Napi::Number::New(env, r);
}

// send([frame, ...]) -> frames accepted, one sendmmsg for the batch.
Napi::Value PacketSocket::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<struct iovec> iov;
  if (!ParseFrames(info, &iov)) return Napi::Value();
  if (fd_ < 0) return ClosedError(env);
  if (iov.empty()) return Napi::Number::New(env, 0);
  std::vector<struct mmsghdr> msgs(iov.size());
  memset(msgs.data(), 0, msgs.size() * sizeof(struct mmsghdr));
  for (size_t i = 0; i < iov.size(); i++) {
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int err;
  int sent = SendAll(fd_, &msgs, &err);
  return SentOrThrow(env, "sendmmsg(AF_PACKET)", sent, err);
}

Napi::Value PacketSocket::PollStart(const Napi::CallbackInfo& info) { return StartPolling(info, &poller_, fd_); }
Napi::Value PacketSocket::PollStop(const Napi::CallbackInfo& info) {
  poller_.Stop();
  return info.Env().Undefined();
}
Napi::Value PacketSocket::RefHandle(const Napi::CallbackInfo& info) {
  poller_.SetKeepAlive(true);
  return info.Env().Undefined();
}
Napi::Value PacketSocket::UnrefHandle(const Napi::CallbackInfo& info) {
  poller_.SetKeepAlive(false);
  return info.Env().Undefined();
}
Napi::Value PacketSocket::Close(const Napi::CallbackInfo& info) {
  poller_.Stop();
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------
// TapDevice: a TAP interface whose frames this process reads and writes. It
// exists as long as the fd is open, as an internal port lives with its owner.

Napi::Function TapDevice::Init(Napi::Env env) {
  return DefineClass(env, "TapDevice",
                     {
                         InstanceAccessor<&TapDevice::Fd>("fd"),
                         InstanceAccessor<&TapDevice::Name>("name"),
                         InstanceAccessor<&TapDevice::Ifindex>("ifindex"),
                         InstanceMethod<&TapDevice::Recv>("recv"),
                         InstanceMethod<&TapDevice::Send>("send"),
                         InstanceMethod<&TapDevice::PollStart>("pollStart"),
                         InstanceMethod<&TapDevice::PollStop>("pollStop"),
                         InstanceMethod<&TapDevice::RefHandle>("ref"),
                         InstanceMethod<&TapDevice::UnrefHandle>("unref"),
                         InstanceMethod<&TapDevice::Close>("close"),
                     });
}

// new TapDevice(name, { vnetHdr?, offload? }) where offload is TUN_F_* bits.
TapDevice::TapDevice(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TapDevice>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    ThrowType(env, "new TapDevice(name: string, options?)");
    return;
  }
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (name.size() >= IFNAMSIZ) {
    ThrowRange(env, "TapDevice: interface names have at most 15 bytes");
    return;
  }
  Napi::Object opts = info.Length() > 1 && info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    ErrnoError(env, "open(/dev/net/tun)", errno).ThrowAsJavaScriptException();
    return;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (OptBool(opts, "vnetHdr") ? IFF_VNET_HDR : 0);
  memcpy(ifr.ifr_name, name.data(), name.size());
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    ErrnoError(env, "ioctl(TUNSETIFF)", err).ThrowAsJavaScriptException();
    return;
  }
  Napi::Value offload = opts.Get("offload");
  if (offload.IsNumber() && ioctl(fd, TUNSETOFFLOAD, offload.As<Napi::Number>().Uint32Value()) < 0) {
    int err = errno;
    close(fd);
    ErrnoError(env, "ioctl(TUNSETOFFLOAD)", err).ThrowAsJavaScriptException();
    return;
  }
  fd_ = fd;
  name_ = ifr.ifr_name;
  ifindex_ = static_cast<int>(if_nametoindex(name_.c_str()));
}

TapDevice::~TapDevice() {
  poller_.Stop();
  if (fd_ >= 0) close(fd_);
}

Napi::Value TapDevice::Fd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }
Napi::Value TapDevice::Name(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), name_); }
Napi::Value TapDevice::Ifindex(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), ifindex_); }

// recv(buffer, slotSize, lens[, meta]): one read() per frame, as many as are
// queued (a TAP fd has no recvmmsg). meta gets zeros but the wire length.
Napi::Value TapDevice::Recv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Slots s;
  if (!ParseSlots(info, &s)) return Napi::Value();
  if (fd_ < 0) return ClosedError(env);
  size_t got = 0;
  while (got < s.count) {
    ssize_t n = read(fd_, s.base + got * s.slot, s.slot);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK || got > 0) break;
      ErrnoError(env, "read(tap)", errno).ThrowAsJavaScriptException();
      return Napi::Value();
    }
    s.lens[got] = static_cast<int32_t>(n);
    if (s.meta != nullptr) {
      uint32_t* m = s.meta + got * kMetaPerFrame;
      m[0] = m[1] = m[2] = 0;
      m[3] = static_cast<uint32_t>(n);
    }
    got++;
  }
  return Napi::Number::New(env, static_cast<double>(got));
}

Napi::Value TapDevice::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<struct iovec> iov;
  if (!ParseFrames(info, &iov)) return Napi::Value();
  if (fd_ < 0) return ClosedError(env);
  int sent = 0;
  int err = 0;
  while (static_cast<size_t>(sent) < iov.size()) {
    ssize_t n = write(fd_, iov[sent].iov_base, iov[sent].iov_len);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    sent++;
  }
  return SentOrThrow(env, "write(tap)", sent, err);
}

Napi::Value TapDevice::PollStart(const Napi::CallbackInfo& info) { return StartPolling(info, &poller_, fd_); }
Napi::Value TapDevice::PollStop(const Napi::CallbackInfo& info) {
  poller_.Stop();
  return info.Env().Undefined();
}
Napi::Value TapDevice::RefHandle(const Napi::CallbackInfo& info) {
  poller_.SetKeepAlive(true);
  return info.Env().Undefined();
}
Napi::Value TapDevice::UnrefHandle(const Napi::CallbackInfo& info) {
  poller_.SetKeepAlive(false);
  return info.Env().Undefined();
}
Napi::Value TapDevice::Close(const Napi::CallbackInfo& info) {
  poller_.Stop();
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------
// TunnelSocket: a raw IPv4 socket for one UDP port, and the UDP socket that
// holds that port.

Napi::Function TunnelSocket::Init(Napi::Env env) {
  return DefineClass(env, "TunnelSocket",
                     {
                         InstanceAccessor<&TunnelSocket::Fd>("fd"),
                         InstanceAccessor<&TunnelSocket::Ifindex>("ifindex"),
                         InstanceAccessor<&TunnelSocket::Port>("port"),
                         InstanceMethod<&TunnelSocket::Recv>("recv"),
                         InstanceMethod<&TunnelSocket::Send>("send"),
                         InstanceMethod<&TunnelSocket::PollStart>("pollStart"),
                         InstanceMethod<&TunnelSocket::PollStop>("pollStop"),
                         InstanceMethod<&TunnelSocket::RefHandle>("ref"),
                         InstanceMethod<&TunnelSocket::UnrefHandle>("unref"),
                         InstanceMethod<&TunnelSocket::Close>("close"),
                     });
}

// new TunnelSocket(protocol: IPPROTO_UDP | IPPROTO_GRE, udpPort?)
TunnelSocket::TunnelSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TunnelSocket>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    ThrowType(env, "new TunnelSocket(protocol: number, udpPort?: number)");
    return;
  }
  int protocol = info[0].As<Napi::Number>().Int32Value();
  int port = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 0;
  if (protocol != IPPROTO_UDP && protocol != IPPROTO_GRE) {
    ThrowRange(env, "TunnelSocket: the protocol is UDP (17) or GRE (47)");
    return;
  }
  if (protocol == IPPROTO_UDP && (port < 1 || port > 65535)) {
    ThrowRange(env, "TunnelSocket: the UDP port must be between 1 and 65535");
    return;
  }
  auto fail = [&](const char* what) {
    int err = errno;
    CloseFds();
    ErrnoError(env, what, err).ThrowAsJavaScriptException();
  };
  if (protocol == IPPROTO_UDP) {
    hold_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (hold_ < 0) { fail("socket(AF_INET, SOCK_DGRAM)"); return; }
    // The holder never queues anything: its datagrams are the raw socket's.
    struct sock_filter none[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
    struct sock_fprog none_prog = {1, none};
    if (setsockopt(hold_, SOL_SOCKET, SO_ATTACH_FILTER, &none_prog, sizeof none_prog) < 0) {
      fail("setsockopt(SO_ATTACH_FILTER)");
      return;
    }
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(hold_, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) < 0) { fail("bind(UDP)"); return; }
  }
  fd_ = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd_ < 0) { fail("socket(AF_INET, SOCK_RAW)"); return; }
  if (protocol == IPPROTO_UDP) {
    // Only datagrams to our port: x = IP header length, then the UDP destination port.
    struct sock_filter ours[] = {
        BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
        BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(port), 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 0xffff),
        BPF_STMT(BPF_RET | BPF_K, 0),
    };
    struct sock_fprog ours_prog = {5, ours};
    if (setsockopt(fd_, SOL_SOCKET, SO_ATTACH_FILTER, &ours_prog, sizeof ours_prog) < 0) {
      fail("setsockopt(SO_ATTACH_FILTER)");
      return;
    }
  }
  int one = 1;
  if (setsockopt(fd_, IPPROTO_IP, IP_HDRINCL, &one, sizeof one) < 0) { fail("setsockopt(IP_HDRINCL)"); return; }
  port_ = port;
}

void TunnelSocket::CloseFds() {
  poller_.Stop();
  if (fd_ >= 0) close(fd_);
  if (hold_ >= 0) close(hold_);
  fd_ = -1;
  hold_ = -1;
}

TunnelSocket::~TunnelSocket() { CloseFds(); }

Napi::Value TunnelSocket::Fd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }
Napi::Value TunnelSocket::Ifindex(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), 0); }
Napi::Value TunnelSocket::Port(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), port_); }

// recv(buffer, slotSize, lens[, meta]) -> IPv4 datagrams, header first. meta
// gets zeros but the datagram's length.
Napi::Value TunnelSocket::Recv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Slots s;
  if (!ParseSlots(info, &s)) return Napi::Value();
  if (fd_ < 0) return ClosedError(env);
  std::vector<struct mmsghdr> msgs;
  std::vector<struct iovec> iov;
  SlotMessages(s, &msgs, &iov);
  int r = RecvInto(env, fd_, &msgs, "recvmmsg(tunnel)");
  if (r < 0) return Napi::Value();
  for (int i = 0; i < r; i++) {
    s.lens[i] = static_cast<int32_t>(msgs[i].msg_len);
    if (s.meta == nullptr) continue;
    uint32_t* m = s.meta + i * kMetaPerFrame;
    m[0] = m[1] = m[2] = 0;
    m[3] = msgs[i].msg_len;
  }
  return Napi::Number::New(env, r);
}

// send([datagram, ...]) -> datagrams accepted. Each is a whole IPv4 datagram;
// the kernel fills in the header checksum, the total length, and the source
// address and id where they are zero. It goes to the header's destination.
Napi::Value TunnelSocket::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<struct iovec> iov;
  if (!ParseFrames(info, &iov)) return Napi::Value();
  if (fd_ < 0) return ClosedError(env);
  if (iov.empty()) return Napi::Number::New(env, 0);
  for (const struct iovec& v : iov) {
    if (v.iov_len < sizeof(struct iphdr)) {
      ThrowRange(env, "send: a datagram is shorter than an IPv4 header");
      return Napi::Value();
    }
  }
  std::vector<struct mmsghdr> msgs(iov.size());
  std::vector<struct sockaddr_in> to(iov.size());
  memset(msgs.data(), 0, msgs.size() * sizeof(struct mmsghdr));
  memset(to.data(), 0, to.size() * sizeof(struct sockaddr_in));
  for (size_t i = 0; i < iov.size(); i++) {
    to[i].sin_family = AF_INET;
    memcpy(&to[i].sin_addr.s_addr, static_cast<uint8_t*>(iov[i].iov_base) + 16, 4);
    msgs[i].msg_hdr.msg_name = &to[i];
    msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int err;
  int sent = SendAll(fd_, &msgs, &err);
  return SentOrThrow(env, "sendmmsg(tunnel)", sent, err);
}

Napi::Value TunnelSocket::PollStart(const Napi::CallbackInfo& info) { return StartPolling(info, &poller_, fd_); }
Napi::Value TunnelSocket::PollStop(const Napi::CallbackInfo& info) {
  poller_.Stop();
  return info.Env().Undefined();
}
Napi::Value TunnelSocket::RefHandle(const Napi::CallbackInfo& info) {
  poller_.SetKeepAlive(true);
  return info.Env().Undefined();
}
Napi::Value TunnelSocket::UnrefHandle(const Napi::CallbackInfo& info) {
  poller_.SetKeepAlive(false);
  return info.Env().Undefined();
}
Napi::Value TunnelSocket::Close(const Napi::CallbackInfo& info) {
  CloseFds();
  return info.Env().Undefined();
}

}  // namespace ovsnl
