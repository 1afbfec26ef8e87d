// NetlinkSocket: one AF_NETLINK socket, exposed to JavaScript with batched
// send/receive into caller-owned memory and readiness through libuv.
// It knows nothing about message formats: parsing lives in TypeScript.
#pragma once
#include <napi.h>
#include "poller.h"


namespace ovsnl {

class NetlinkSocket : public Napi::ObjectWrap<NetlinkSocket> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit NetlinkSocket(const Napi::CallbackInfo& info);
  ~NetlinkSocket() override;

 private:
  Napi::Value PortId(const Napi::CallbackInfo& info);
  Napi::Value Fd(const Napi::CallbackInfo& info);
  Napi::Value Closed(const Napi::CallbackInfo& info);
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value SendBatch(const Napi::CallbackInfo& info);
  Napi::Value Recv(const Napi::CallbackInfo& info);
  Napi::Value RecvWait(const Napi::CallbackInfo& info);
  Napi::Value SetOption(const Napi::CallbackInfo& info);
  Napi::Value GetOption(const Napi::CallbackInfo& info);
  Napi::Value PollStart(const Napi::CallbackInfo& info);
  Napi::Value PollStop(const Napi::CallbackInfo& info);
  Napi::Value RefHandle(const Napi::CallbackInfo& info);
  Napi::Value UnrefHandle(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  bool CheckOpen(Napi::Env env);
  Napi::Value ReceiveInto(const Napi::CallbackInfo& info, int flags);
  void CloseFd();

  int fd_ = -1;
  uint32_t port_id_ = 0;
  Poller poller_{this};
};

}  // namespace ovsnl
