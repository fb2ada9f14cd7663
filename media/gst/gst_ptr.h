// The one RAII handle for GStreamer/GObject references (after WebKit's GRefPtrGStreamer):
// Adopt() takes ownership of a reference we were given; Ref() adds one; for floating
// elements AdoptSink() sinks the floating ref. Nothing else in Tilmash calls *_unref by hand.
#pragma once
#include <gst/gst.h>

#include <string>
#include <utility>

namespace tilmash::gst {

template <class T>
class GstPtr {
 public:
  GstPtr() = default;
  GstPtr(std::nullptr_t) {}
  ~GstPtr() { Reset(); }
  GstPtr(const GstPtr& o) : p_(o.p_) {
    if (p_) gst_object_ref(p_);
  }
  GstPtr(GstPtr&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  GstPtr& operator=(GstPtr o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }

  static GstPtr Adopt(T* p) {
    GstPtr r;
    r.p_ = p;
    return r;
  }
  static GstPtr AdoptSink(T* p) {
    GstPtr r;
    r.p_ = p ? static_cast<T*>(gst_object_ref_sink(p)) : nullptr;
    return r;
  }
  static GstPtr Ref(T* p) {
    GstPtr r;
    r.p_ = p ? static_cast<T*>(gst_object_ref(p)) : nullptr;
    return r;
  }

  T* get() const { return p_; }
  T* operator->() const { return p_; }
  explicit operator bool() const { return p_ != nullptr; }
  void Reset() {
    if (p_) gst_object_unref(p_);
    p_ = nullptr;
  }

 private:
  T* p_ = nullptr;
};

using ElementPtr = GstPtr<GstElement>;
using PadPtr = GstPtr<GstPad>;
using BusPtr = GstPtr<GstBus>;

// Unique owner of a GstCaps / GstSample / mini object.
template <class T, void (*Unref)(T*)>
class MiniPtr {
 public:
  explicit MiniPtr(T* p = nullptr) : p_(p) {}
  ~MiniPtr() {
    if (p_) Unref(p_);
  }
  MiniPtr(const MiniPtr&) = delete;
  MiniPtr& operator=(const MiniPtr&) = delete;
  MiniPtr(MiniPtr&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  T* get() const { return p_; }
  explicit operator bool() const { return p_ != nullptr; }

 private:
  T* p_;
};

inline void UnrefCaps(GstCaps* c) { gst_caps_unref(c); }
inline void UnrefSample(GstSample* s) { gst_sample_unref(s); }
using CapsPtr = MiniPtr<GstCaps, UnrefCaps>;
using SamplePtr = MiniPtr<GstSample, UnrefSample>;

// The same for plain GObjects that are not GstObjects (GSocket, GInetAddress, GTlsCertificate,
// SoupServer, ...): Adopt() takes a reference we were given, Ref() adds one.
template <class T>
class GObjectPtr {
 public:
  GObjectPtr() = default;
  GObjectPtr(std::nullptr_t) {}
  ~GObjectPtr() { Reset(); }
  GObjectPtr(const GObjectPtr& o) : p_(o.p_) {
    if (p_) g_object_ref(p_);
  }
  GObjectPtr(GObjectPtr&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  GObjectPtr& operator=(GObjectPtr o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  static GObjectPtr Adopt(T* p) {
    GObjectPtr r;
    r.p_ = p;
    return r;
  }
  static GObjectPtr Ref(T* p) {
    GObjectPtr r;
    r.p_ = p ? static_cast<T*>(g_object_ref(p)) : nullptr;
    return r;
  }
  T* get() const { return p_; }
  explicit operator bool() const { return p_ != nullptr; }
  void Reset() {
    if (p_) g_object_unref(p_);
    p_ = nullptr;
  }

 private:
  T* p_ = nullptr;
};

// A GError that frees itself: pass out() where GLib wants a GError**.
class ErrorPtr {
 public:
  ErrorPtr() = default;
  ~ErrorPtr() { g_clear_error(&e_); }
  ErrorPtr(const ErrorPtr&) = delete;
  ErrorPtr& operator=(const ErrorPtr&) = delete;
  GError** out() { return &e_; }
  std::string message() const { return e_ && e_->message ? e_->message : "?"; }
  explicit operator bool() const { return e_ != nullptr; }

 private:
  GError* e_ = nullptr;
};

// A string GLib allocated (g_free).
class GCharPtr {
 public:
  explicit GCharPtr(gchar* p = nullptr) : p_(p) {}
  ~GCharPtr() { g_free(p_); }
  GCharPtr(const GCharPtr&) = delete;
  GCharPtr& operator=(const GCharPtr&) = delete;
  const gchar* get() const { return p_; }
  std::string str() const { return p_ ? p_ : ""; }

 private:
  gchar* p_;
};

// RAII for a signal handler: disconnected when the handle dies (Kurento disconnected by hand).
class SignalConnection {
 public:
  SignalConnection() = default;
  SignalConnection(gpointer instance, const char* signal, GCallback callback, gpointer data)
      : instance_(instance ? G_OBJECT(g_object_ref(instance)) : nullptr),
        id_(instance ? g_signal_connect(instance, signal, callback, data) : 0) {}
  ~SignalConnection() { Disconnect(); }
  SignalConnection(SignalConnection&& o) noexcept
      : instance_(std::exchange(o.instance_, nullptr)), id_(std::exchange(o.id_, 0)) {}
  SignalConnection& operator=(SignalConnection&& o) noexcept {
    Disconnect();
    instance_ = std::exchange(o.instance_, nullptr);
    id_ = std::exchange(o.id_, 0);
    return *this;
  }
  void Disconnect() {
    if (instance_ && id_) g_signal_handler_disconnect(instance_, id_);
    if (instance_) g_object_unref(instance_);
    instance_ = nullptr;
    id_ = 0;
  }

 private:
  GObject* instance_ = nullptr;
  gulong id_ = 0;
};

// Makes an element or returns null; the caller reports which factory is missing.
inline ElementPtr MakeElement(const char* factory, const char* name = nullptr) {
  return ElementPtr::AdoptSink(gst_element_factory_make(factory, name));
}

// The same, naming the first factory that was missing in *missing (so a chain of makes is
// checked once, at its end).
inline ElementPtr MakeElement(const char* factory, std::string* missing) {
  auto e = MakeElement(factory);
  if (!e && missing && missing->empty()) *missing = factory;
  return e;
}

// A capsfilter letting only `caps` through.
inline ElementPtr MakeCapsFilter(const char* caps, std::string* missing = nullptr) {
  auto f = MakeElement("capsfilter", missing);
  if (!f) return f;
  CapsPtr c(gst_caps_from_string(caps));
  g_object_set(f.get(), "caps", c.get(), nullptr);
  return f;
}

// RAII for a pad probe: removed when the handle dies.
class PadProbe {
 public:
  PadProbe() = default;
  PadProbe(GstPad* pad, gulong id) : pad_(PadPtr::Ref(pad)), id_(id) {}
  ~PadProbe() { Remove(); }
  PadProbe(PadProbe&& o) noexcept : pad_(std::move(o.pad_)), id_(std::exchange(o.id_, 0)) {}
  PadProbe& operator=(PadProbe&& o) noexcept {
    Remove();
    pad_ = std::move(o.pad_);
    id_ = std::exchange(o.id_, 0);
    return *this;
  }
  void Remove() {
    if (pad_ && id_) gst_pad_remove_probe(pad_.get(), id_);
    id_ = 0;
  }

 private:
  PadPtr pad_;
  gulong id_ = 0;
};

}  // namespace tilmash::gst
