// The speaker-input monitor's alarms as events: the media side measures every source it decodes
// (IngestCounters: clipping, narrowband, levels over the last 100 ms); each tick the session
// compares them with what it announced and emits an InputAlarm when a source's alarms change.
// An alarm goes on at the first window that shows it and off only after kInputAlarmHold without
// it, so a speaker hovering at full scale gives one alarm, not one per 100 ms.
#include <set>

#include "domain/session.h"

namespace tilmash::domain {

void Session::TickInputs(std::chrono::steady_clock::time_point now) {
  if (!media_) return;
  std::vector<IngestCounters> sources = media_->Stats().ingest;  // the floor and its backup
  for (const auto& [id, c] : consoles_) sources.push_back(c.input->Counters());
  std::set<std::string> present;
  for (const IngestCounters& in : sources) {
    present.insert(in.source);
    InputAlarmState& st = input_alarms_[in.source];
    if (in.clipping) st.clipping_seen = now;
    if (in.narrowband) st.narrowband_seen = now;
    const bool clipping = in.clipping || (st.clipping && now - st.clipping_seen < kInputAlarmHold);
    const bool narrowband = in.narrowband || (st.narrowband && now - st.narrowband_seen < kInputAlarmHold);
    if (clipping == st.clipping && narrowband == st.narrowband) continue;
    st.clipping = clipping;
    st.narrowband = narrowband;
    Emit(InputAlarm{in.source, clipping, narrowband, in.peak_dbfs, in.rms_dbfs, in.above_7khz_db});
  }
  // A source that went (a console left, the backup floor removed) takes its state with it; an
  // alarm it had ends with it (its ConsoleLinkChanged or FloorChanged says why).
  std::erase_if(input_alarms_, [&](const auto& entry) { return !present.contains(entry.first); });
}

}  // namespace tilmash::domain
