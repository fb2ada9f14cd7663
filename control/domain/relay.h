// Relay resolution: what every console hears, the relay generation of every channel, and
// relay loops. Pure functions over a snapshot, so every rule is testable on its own.
#pragma once
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "domain/types.h"

namespace tilmash::domain {

struct RelayConsole {
  ConsoleId id;
  std::string booth;
  ChannelName output;
  bool live = false;  // live or muted: the console is the channel's writer
  InputSelection input;
};

struct RelayBooth {
  std::optional<ChannelName> b, c;
  std::vector<std::string> takes;  // empty: takes every floor language
};

struct RelayInputs {
  std::string floor_language;
  std::set<ChannelName> channels;
  std::map<std::string, RelayBooth> booths;  // by A language
  std::vector<RelayConsole> consoles;
  // Pivot languages tried after booth L's retour, in order (relay through ru or en is routine).
  std::vector<std::string> pivots = {"ru", "en"};
};

struct RelayPlan {
  std::map<ConsoleId, ChannelName> effective_input;  // "floor" or a channel
  std::map<ChannelName, int> generation;             // every channel; 0 when nobody is live
  std::map<ChannelName, uint32_t> used_by_booths;    // booths with a console listening to it
  std::vector<ChannelName> loop;                     // a cycle among live channels, if any
};

RelayPlan PlanRelay(const RelayInputs& in);

// "ru <- uz <- ru" for error messages.
std::string DescribeLoop(const std::vector<ChannelName>& loop);

}  // namespace tilmash::domain
