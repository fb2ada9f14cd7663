// The floor from a sound card on the daemon's host: the device name picks the element
// (SoundCardElement: ALSA's alsasrc, or audiotestsrc for "test:HZ", a stand-in where there is
// no card), CheckSoundCard opens and closes it on the caller's thread so a missing or busy
// device is the RPC's error in the driver's words, and the branch runs on the media thread:
//
//   alsasrc (1 ms periods) -> audioconvert (one channel picked, or all mixed) -> audioresample
//          -> F32 mono 48 kHz
#pragma once
#include <string>
#include <vector>

#include "domain/status.h"
#include "domain/types.h"
#include "gst/gst_ptr.h"

namespace tilmash::graph {

// The source element for `device`, configured; null with *missing naming the factory.
gst::ElementPtr SoundCardElement(const std::string& device, std::string* missing);

// Opens the device (READY) and closes it again. UNAVAILABLE naming `field` with GStreamer's
// error when it cannot be opened (missing, busy); INTERNAL when the plugin is not installed.
domain::Status CheckSoundCard(const domain::SoundCardSource& card, const std::string& field);

domain::Result<std::vector<gst::ElementPtr>> BuildSoundCardInput(const domain::SoundCardSource& card);

}  // namespace tilmash::graph
