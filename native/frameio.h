// Raw frame I/O for the userspace fallback datapath: an AF_PACKET socket bound
// to one interface, a TAP device, and the raw IPv4 socket of a tunnel port.
// All move batches of frames between the kernel and caller-owned slots; what
// a frame means is TypeScript's business.
#pragma once
#include <napi.h>

#include "poller.h"

namespace ovsnl {

// Values per frame written into the optional `meta` Uint32Array by recv.
constexpr int kMetaPerFrame = 4;  // tp_status, vlan_tci | tpid << 16, pkttype, original length

class PacketSocket : public Napi::ObjectWrap<PacketSocket> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit PacketSocket(const Napi::CallbackInfo& info);
  ~PacketSocket() override;

 private:
  Napi::Value Recv(const Napi::CallbackInfo& info);
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value PollStart(const Napi::CallbackInfo& info);
  Napi::Value PollStop(const Napi::CallbackInfo& info);
  Napi::Value RefHandle(const Napi::CallbackInfo& info);
  Napi::Value UnrefHandle(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Fd(const Napi::CallbackInfo& info);
  Napi::Value Ifindex(const Napi::CallbackInfo& info);

  int fd_ = -1;
  int ifindex_ = 0;
  Poller poller_{this};
};

class TapDevice : public Napi::ObjectWrap<TapDevice> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit TapDevice(const Napi::CallbackInfo& info);
  ~TapDevice() override;

 private:
  Napi::Value Recv(const Napi::CallbackInfo& info);
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value PollStart(const Napi::CallbackInfo& info);
  Napi::Value PollStop(const Napi::CallbackInfo& info);
  Napi::Value RefHandle(const Napi::CallbackInfo& info);
  Napi::Value UnrefHandle(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Fd(const Napi::CallbackInfo& info);
  Napi::Value Name(const Napi::CallbackInfo& info);
  Napi::Value Ifindex(const Napi::CallbackInfo& info);

  int fd_ = -1;
  std::string name_;
  int ifindex_ = 0;
  Poller poller_{this};
};

// A tunnel port's packets: whole IPv4 datagrams, IP header included, so the
// outer TTL and TOS (and UDP checksum) the tunnel key reports are there to
// read; sent back the same way (IP_HDRINCL). For UDP tunnels (vxlan, geneve)
// only those to one UDP port, which a plain UDP socket holds, so other
// programs cannot take it and the kernel answers no port-unreachable (it is
// filtered to receive nothing); for GRE every GRE packet.
class TunnelSocket : public Napi::ObjectWrap<TunnelSocket> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit TunnelSocket(const Napi::CallbackInfo& info);
  ~TunnelSocket() override;

 private:
  Napi::Value Recv(const Napi::CallbackInfo& info);
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value PollStart(const Napi::CallbackInfo& info);
  Napi::Value PollStop(const Napi::CallbackInfo& info);
  Napi::Value RefHandle(const Napi::CallbackInfo& info);
  Napi::Value UnrefHandle(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Fd(const Napi::CallbackInfo& info);
  Napi::Value Ifindex(const Napi::CallbackInfo& info);
  Napi::Value Port(const Napi::CallbackInfo& info);
  void CloseFds();

  int fd_ = -1;
  int hold_ = -1;
  int port_ = 0;
  Poller poller_{this};
};

}  // namespace ovsnl
