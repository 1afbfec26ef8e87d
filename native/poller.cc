#include "poller.h"

#include <fcntl.h>

#include <vector>

#include "errors.h"

namespace ovsnl {

namespace {
void FreeHandle(uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); }
}  // namespace

Poller::~Poller() {
  // Environment teardown: no JavaScript may run, just release the handle.
  if (poll_ != nullptr) {
    uv_poll_stop(poll_);
    poll_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), FreeHandle);
    poll_ = nullptr;
  }
}

bool Poller::Start(Napi::Env env, int fd, int events, Napi::Function cb) {
  int uv_events = ((events & kPollReadable) ? UV_READABLE : 0) | ((events & kPollWritable) ? UV_WRITABLE : 0);
  if (uv_events == 0) {
    Stop();
    return true;
  }
  cb_ = Napi::Persistent(cb);
  bool fresh = poll_ == nullptr;
  if (fresh) {
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      Napi::Error::New(env, "poll: no libuv loop").ThrowAsJavaScriptException();
      return false;
    }
    poll_ = new uv_poll_t;
    int r = uv_poll_init(loop, poll_, fd);
    if (r != 0) {
      delete poll_;
      poll_ = nullptr;
      ErrnoError(env, "uv_poll_init", -r).ThrowAsJavaScriptException();
      return false;
    }
    poll_->data = this;
    async_context_ = std::make_unique<Napi::AsyncContext>(env, "ovsnl.poll");
  }
  fd_ = fd;
  uv_events_ = uv_events;
  int r = uv_poll_start(poll_, uv_events, OnEvent);
  if (r != 0) {
    Stop();
    ErrnoError(env, "uv_poll_start", -r).ThrowAsJavaScriptException();
    return false;
  }
  if (fresh) {
    if (!keep_alive_) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    // While polling, the owning socket must outlive any JavaScript reference to it.
    owner_->Ref();
  }
  return true;
}

void Poller::OnEvent(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<Poller*>(handle->data);
  if (self == nullptr || self->cb_.IsEmpty()) return;
  // libuv reports POLLERR as UV_EBADF and stops the handle. On a live socket
  // POLLERR means a pending socket error (ENOBUFS after a netlink overrun),
  // which the next recv returns: keep polling and report readability, so
  // every socket kind survives an overrun and callers see the real errno.
  if (status == UV_EBADF && fcntl(self->fd_, F_GETFD) != -1 && uv_poll_start(handle, self->uv_events_, OnEvent) == 0) {
    status = 0;
    events = self->uv_events_ & UV_READABLE ? UV_READABLE : self->uv_events_;
  }
  Napi::Env env = self->cb_.Env();
  Napi::HandleScope scope(env);
  int js_events = ((events & UV_READABLE) ? kPollReadable : 0) | ((events & UV_WRITABLE) ? kPollWritable : 0);
  std::vector<napi_value> args = {status < 0 ? ErrnoError(env, "uv_poll", -status).Value() : env.Undefined(),
                                  Napi::Number::New(env, js_events)};
  // MakeCallback runs queued microtasks afterwards, so promises resolved by
  // the callback settle before libuv polls again.
  self->cb_.MakeCallback(self->owner_->Value(), args, *self->async_context_);
  if (env.IsExceptionPending()) {
    Napi::Error e = env.GetAndClearPendingException();
    napi_fatal_exception(env, e.Value());
  }
}

void Poller::Stop() {
  if (poll_ == nullptr) return;
  uv_poll_stop(poll_);
  poll_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(poll_), FreeHandle);
  poll_ = nullptr;
  cb_.Reset();
  async_context_.reset();
  owner_->Unref();
}

void Poller::SetKeepAlive(bool keep) {
  keep_alive_ = keep;
  if (poll_ == nullptr) return;
  if (keep) {
    uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
  } else {
    uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  }
}

}  // namespace ovsnl
