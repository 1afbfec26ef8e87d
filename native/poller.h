// Readiness of one fd delivered to a JavaScript callback through uv_poll.
// Shared by every socket type of the addon so the libuv lifecycle rules
// (close the handle before the fd; free it in uv_close's callback; keep the
// owning object alive while polling) live in one place.
#pragma once
#include <napi.h>
#include <uv.h>

#include <memory>

namespace ovsnl {

constexpr int kPollReadable = 1;
constexpr int kPollWritable = 2;

class Poller {
 public:
  explicit Poller(Napi::Reference<Napi::Object>* owner) : owner_(owner) {}
  ~Poller();

  // Polls fd for `events` (kPollReadable | kPollWritable), calling
  // cb(err | undefined, events). Calling it again changes the events/callback.
  // Returns false with a JS exception pending on failure.
  bool Start(Napi::Env env, int fd, int events, Napi::Function cb);
  void Stop();
  void SetKeepAlive(bool keep);
  bool active() const { return poll_ != nullptr; }

 private:
  static void OnEvent(uv_poll_t* handle, int status, int events);

  Napi::Reference<Napi::Object>* owner_;
  uv_poll_t* poll_ = nullptr;
  int fd_ = -1;
  int uv_events_ = 0;
  bool keep_alive_ = true;
  Napi::FunctionReference cb_;
  std::unique_ptr<Napi::AsyncContext> async_context_;
};

}  // namespace ovsnl
