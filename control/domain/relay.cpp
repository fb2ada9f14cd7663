#include "domain/relay.h"

#include <algorithm>

namespace tilmash::domain {

namespace {

bool Takes(const RelayBooth& b, const std::string& lang) {
  return b.takes.empty() || std::find(b.takes.begin(), b.takes.end(), lang) != b.takes.end();
}

// Auto-relay: the floor when the booth takes the floor language; otherwise the pivot that
// booth L works retour into, or the first pivot language the booth takes.
ChannelName ResolveAuto(const RelayInputs& in, const RelayConsole& c) {
  const std::string& L = in.floor_language;
  auto booth = in.booths.find(c.booth);
  if (L.empty() || booth == in.booths.end() || c.booth == L || Takes(booth->second, L)) return kFloorChannel;
  std::vector<std::string> candidates;
  if (auto bl = in.booths.find(L); bl != in.booths.end() && bl->second.b) candidates.push_back(*bl->second.b);
  candidates.insert(candidates.end(), in.pivots.begin(), in.pivots.end());
  for (const auto& p : candidates)
    if (p != L && p != c.output && in.channels.count(p) && Takes(booth->second, p)) return p;
  return kFloorChannel;
}

// The live writer's input for every channel that has one.
std::map<ChannelName, ChannelName> LiveFeeds(const RelayInputs& in, const std::map<ConsoleId, ChannelName>& eff) {
  std::map<ChannelName, ChannelName> feeds;
  for (const auto& c : in.consoles)
    if (c.live) feeds[c.output] = eff.at(c.id);
  return feeds;
}

std::vector<ChannelName> FindLoop(const std::map<ChannelName, ChannelName>& feeds) {
  for (const auto& [start, unused] : feeds) {
    std::vector<ChannelName> path{start};
    ChannelName at = start;
    for (std::size_t hops = 0; hops <= feeds.size(); ++hops) {
      auto it = feeds.find(at);
      if (it == feeds.end() || it->second == kFloorChannel) break;
      at = it->second;
      path.push_back(at);
      if (at == start) return path;
    }
  }
  return {};
}

}  // namespace

RelayPlan PlanRelay(const RelayInputs& in) {
  RelayPlan plan;
  for (const auto& c : in.consoles) {
    switch (c.input.kind) {
      case InputSelection::Kind::kFloor:
        plan.effective_input[c.id] = kFloorChannel;
        break;
      case InputSelection::Kind::kChannel:
        plan.effective_input[c.id] = c.input.channel;
        break;
      case InputSelection::Kind::kAuto:
        plan.effective_input[c.id] = ResolveAuto(in, c);
        break;
    }
  }
  auto feeds = LiveFeeds(in, plan.effective_input);
  plan.loop = FindLoop(feeds);
  if (!plan.loop.empty()) {
    // Auto-relay never closes a loop: its consoles fall back to the floor.
    bool changed = false;
    for (const auto& c : in.consoles) {
      if (c.input.kind != InputSelection::Kind::kAuto || plan.effective_input[c.id] == kFloorChannel) continue;
      if (std::find(plan.loop.begin(), plan.loop.end(), c.output) != plan.loop.end()) {
        plan.effective_input[c.id] = kFloorChannel;
        changed = true;
      }
    }
    if (changed) {
      feeds = LiveFeeds(in, plan.effective_input);
      plan.loop = FindLoop(feeds);
    }
  }
  for (const auto& ch : in.channels) {
    int gen = 0;
    ChannelName at = ch;
    for (std::size_t hops = 0; hops <= feeds.size(); ++hops) {
      auto it = feeds.find(at);
      // A relay channel with nobody live carries the floor itself (auto-floor): generation 0.
      if (it == feeds.end() || it->second == kFloorChannel || !feeds.count(it->second)) break;
      ++gen;
      at = it->second;
    }
    plan.generation[ch] = gen;
  }
  std::map<ChannelName, std::set<std::string>> users;
  for (const auto& c : in.consoles) {
    const auto& eff = plan.effective_input[c.id];
    if (eff != kFloorChannel) users[eff].insert(c.booth);
  }
  for (const auto& [ch, booths] : users) plan.used_by_booths[ch] = uint32_t(booths.size());
  return plan;
}

std::string DescribeLoop(const std::vector<ChannelName>& loop) {
  std::string out;
  for (const auto& ch : loop) out += (out.empty() ? "" : " <- ") + ch;
  return out;
}

}  // namespace tilmash::domain
