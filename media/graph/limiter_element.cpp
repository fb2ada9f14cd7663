#include "graph/limiter_element.h"

#include <gst/base/gstbasetransform.h>

#include <mutex>
#include <new>

#include "graph/loudness_leveler.h"
#include "graph/true_peak_limiter.h"

namespace tilmash::graph {

namespace {

struct LimiterElement {
  GstBaseTransform parent;
  // Placement-constructed in init, destroyed in finalize (GObject zeroes, never constructs).
  TruePeakLimiter* limiter;
  alignas(TruePeakLimiter) unsigned char storage[sizeof(TruePeakLimiter)];
  double ceiling_dbtp;
  double release_ms;
  LoudnessLeveler* leveler;
  alignas(LoudnessLeveler) unsigned char leveler_storage[sizeof(LoudnessLeveler)];
  double level_target;
  double level_range;
  double shock_guard_db;
};

struct LimiterElementClass {
  GstBaseTransformClass parent_class;
};

enum { kPropCeiling = 1, kPropRelease, kPropLevelTarget, kPropLevelRange, kPropShockGuard };

constexpr double kDefaultCeiling = -1.0;
constexpr double kDefaultRelease = 80.0;
constexpr double kDefaultLevelRange = 10.0;

GstBaseTransformClass* g_parent_class = nullptr;

LimiterElement* Self(gpointer p) { return reinterpret_cast<LimiterElement*>(p); }

void Rebuild(LimiterElement* self) {
  self->limiter->~TruePeakLimiter();
  self->limiter = new (self->storage) TruePeakLimiter(self->ceiling_dbtp, self->release_ms);
  self->limiter->SetShockGuard(self->shock_guard_db);
}

void SetProperty(GObject* object, guint id, const GValue* value, GParamSpec* pspec) {
  LimiterElement* self = Self(object);
  GST_OBJECT_LOCK(self);
  switch (id) {
    case kPropCeiling:
      self->ceiling_dbtp = g_value_get_double(value);
      break;
    case kPropRelease:
      self->release_ms = g_value_get_double(value);
      break;
    case kPropShockGuard:
      self->shock_guard_db = g_value_get_double(value);
      self->limiter->SetShockGuard(self->shock_guard_db);  // at once, the gain's state kept
      GST_OBJECT_UNLOCK(self);
      return;
    case kPropLevelTarget:
    case kPropLevelRange:
      // The leveler changes while the channel plays (the session's setting): the limiter's
      // state stays.
      (id == kPropLevelTarget ? self->level_target : self->level_range) = g_value_get_double(value);
      self->leveler->Configure(self->level_target, self->level_range);
      GST_OBJECT_UNLOCK(self);
      return;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
      GST_OBJECT_UNLOCK(self);
      return;
  }
  Rebuild(self);  // set before the element plays (MakeLimiter); a change restarts the gain
  GST_OBJECT_UNLOCK(self);
}

void GetProperty(GObject* object, guint id, GValue* value, GParamSpec* pspec) {
  LimiterElement* self = Self(object);
  GST_OBJECT_LOCK(self);
  switch (id) {
    case kPropCeiling:
      g_value_set_double(value, self->ceiling_dbtp);
      break;
    case kPropRelease:
      g_value_set_double(value, self->release_ms);
      break;
    case kPropLevelTarget:
      g_value_set_double(value, self->level_target);
      break;
    case kPropLevelRange:
      g_value_set_double(value, self->level_range);
      break;
    case kPropShockGuard:
      g_value_set_double(value, self->shock_guard_db);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
  GST_OBJECT_UNLOCK(self);
}

void Finalize(GObject* object) {
  Self(object)->limiter->~TruePeakLimiter();
  Self(object)->leveler->~LoudnessLeveler();
  G_OBJECT_CLASS(g_parent_class)->finalize(object);
}

GstFlowReturn TransformIp(GstBaseTransform* trans, GstBuffer* buf) {
  LimiterElement* self = Self(trans);
  GstMapInfo map;
  if (!gst_buffer_map(buf, &map, GST_MAP_READWRITE)) return GST_FLOW_ERROR;
  GST_OBJECT_LOCK(self);
  auto* samples = reinterpret_cast<float*>(map.data);
  self->leveler->Process(samples, map.size / sizeof(float));
  self->limiter->Process(samples, map.size / sizeof(float));
  GST_OBJECT_UNLOCK(self);
  gst_buffer_unmap(buf, &map);
  return GST_FLOW_OK;
}

gboolean Start(GstBaseTransform* trans) {
  LimiterElement* self = Self(trans);
  GST_OBJECT_LOCK(self);
  self->limiter->Reset();
  GST_OBJECT_UNLOCK(self);
  return TRUE;
}

// The look-ahead delays every sample by kDelay: a live sink must wait that much longer.
gboolean Query(GstBaseTransform* trans, GstPadDirection direction, GstQuery* query) {
  const gboolean ok = g_parent_class->query(trans, direction, query);
  if (ok && direction == GST_PAD_SRC && GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
    gboolean live = FALSE;
    GstClockTime min = 0, max = GST_CLOCK_TIME_NONE;
    gst_query_parse_latency(query, &live, &min, &max);
    const GstClockTime added = gst_util_uint64_scale_int(TruePeakLimiter::kDelay, GST_SECOND, TruePeakLimiter::kRate);
    gst_query_set_latency(query, live, min + added, GST_CLOCK_TIME_IS_VALID(max) ? max + added : max);
  }
  return ok;
}

void ClassInit(gpointer klass, gpointer /*data*/) {
  g_parent_class = static_cast<GstBaseTransformClass*>(g_type_class_peek_parent(klass));
  auto* object_class = G_OBJECT_CLASS(klass);
  object_class->set_property = SetProperty;
  object_class->get_property = GetProperty;
  object_class->finalize = Finalize;
  g_object_class_install_property(
      object_class, kPropCeiling,
      g_param_spec_double("ceiling", "Ceiling", "Largest true peak let through (dBTP)", -30.0, 0.0, kDefaultCeiling,
                          GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)));
  g_object_class_install_property(
      object_class, kPropRelease,
      g_param_spec_double("release", "Release", "Time constant of the gain's return after a peak (ms)", 1.0, 5000.0,
                          kDefaultRelease, GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)));
  g_object_class_install_property(
      object_class, kPropLevelTarget,
      g_param_spec_double("level-target", "Level target",
                          "Loudness the leveler before the limiter aims at (LUFS; 0: no leveling)", -70.0, 0.0, 0.0,
                          GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)));
  g_object_class_install_property(
      object_class, kPropLevelRange,
      g_param_spec_double("level-range", "Level range", "Largest boost or cut of the leveler (dB)", 0.0, 30.0,
                          kDefaultLevelRange, GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)));
  g_object_class_install_property(
      object_class, kPropShockGuard,
      g_param_spec_double("shock-guard", "Shock guard",
                          "Acoustic-shock guard: the ceiling is at most this far over the recent level (dB; 0: off)",
                          0.0, 60.0, 0.0, GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)));
  auto* element_class = GST_ELEMENT_CLASS(klass);
  gst_element_class_set_static_metadata(element_class, "Tilmash true-peak limiter", "Filter/Effect/Audio",
                                        "4x oversampled true-peak look-ahead limiter (1.5 ms)", "Tilmash");
  static GstStaticPadTemplate sink =
      GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
                              GST_STATIC_CAPS("audio/x-raw,format=F32LE,rate=48000,channels=1,layout=interleaved"));
  static GstStaticPadTemplate src =
      GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS,
                              GST_STATIC_CAPS("audio/x-raw,format=F32LE,rate=48000,channels=1,layout=interleaved"));
  gst_element_class_add_static_pad_template(element_class, &sink);
  gst_element_class_add_static_pad_template(element_class, &src);
  auto* transform_class = GST_BASE_TRANSFORM_CLASS(klass);
  transform_class->transform_ip = TransformIp;
  transform_class->start = Start;
  transform_class->query = Query;
}

void InstanceInit(GTypeInstance* instance, gpointer /*klass*/) {
  LimiterElement* self = Self(instance);
  self->ceiling_dbtp = kDefaultCeiling;
  self->release_ms = kDefaultRelease;
  self->limiter = new (self->storage) TruePeakLimiter(kDefaultCeiling, kDefaultRelease);
  self->level_target = 0;
  self->level_range = kDefaultLevelRange;
  self->shock_guard_db = 0;
  self->leveler = new (self->leveler_storage) LoudnessLeveler();
  gst_base_transform_set_in_place(&self->parent, TRUE);
}

}  // namespace

bool RegisterLimiterElement() {
  static bool registered = false;
  static std::once_flag once;
  std::call_once(once, [] {
    const GTypeInfo info{sizeof(LimiterElementClass), nullptr, nullptr,      ClassInit, nullptr, nullptr,
                         sizeof(LimiterElement),      0,       InstanceInit, nullptr};
    const GType type = g_type_register_static(GST_TYPE_BASE_TRANSFORM, "TilmashLimiter", &info, GTypeFlags(0));
    registered = gst_element_register(nullptr, kLimiterFactory, GST_RANK_NONE, type);
  });
  return registered;
}

}  // namespace tilmash::graph
