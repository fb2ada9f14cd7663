#include "fanout/fanout_shard.h"

#include <linux/errqueue.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "rtp/rtp_packet.h"

namespace tilmash::fanout {

namespace {
constexpr std::size_t kSlot = rtp::kMaxPacket + 32;  // packet + SRTP tag
constexpr std::size_t kBatch = 256;                  // packets per sendmmsg
constexpr uint16_t kMaxGap = 3000;  // channel packets missed in a row that are still a gap (30 s of 10 ms frames)
// How long one packet round may wait for a full socket buffer before the rest of the round is
// dropped: a congested uplink costs the listeners packets, never the fan-out its timing.
constexpr int kSendWaitMs = 1;
constexpr int64_t kDrainEveryNs = 50'000'000;      // ICMP errors are read at least every 50 ms of packets
constexpr int64_t kReportEveryNs = 1'000'000'000;  // overload reports (a log line each) per sender thread

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

FanoutShard::FanoutShard(int fd, const ShardOptions& options, DelayTracker* tracker, EngineCounters* counters,
                         AlertSink* alerts)
    : fd_(fd),
      tracker_(tracker),
      counters_(counters),
      alerts_(alerts),
      rekey_after_packets_(options.rekey_after_packets),
      max_backlog_ns_(options.max_backlog_ns),
      prefetch_(options.prefetch),
      audience_(options.audience),
      index_(options.index),
      on_overload_(options.on_overload),
      ring_(options.ring_slots),
      scratch_(std::make_unique<uint8_t[]>(kBatch * kSlot)),
      msgs_(kBatch),
      iov_(kBatch),
      batch_owner_(kBatch) {
  thread_ = std::thread([this] { Run(); });
}

int FanoutShard::SetRealtime(int priority) {
  sched_param sp{};
  sp.sched_priority = priority;
  return pthread_setschedparam(thread_.native_handle(), SCHED_FIFO, &sp);
}

FanoutShard::~FanoutShard() {
  stopping_.store(true);
  Wake();
  thread_.join();
  counters_->listeners.fetch_sub(listeners_.size(), std::memory_order_relaxed);
}

bool FanoutShard::Push(ChannelKey channel, const uint8_t* data, std::size_t size, int64_t push_ns, uint32_t track) {
  if (!ring_.TryPush(channel, data, size, push_ns, track)) return false;
  Wake();
  return true;
}

void FanoutShard::Wake() {
  // The sender publishes `sleeping_` before its last look at the ring, and the locked RMW
  // here orders our push before reading it: either it sees the push or we see it asleep.
  // A busy sender costs no lock and no futex call.
  wake_seq_.fetch_add(1);
  if (sleeping_.load()) {
    std::lock_guard lock(wake_mu_);
    wake_cv_.notify_one();
  }
}

void FanoutShard::Post(Command c) {
  {
    std::lock_guard lock(mu_);
    c.ticket = ring_.tail();
    posted_.push_back(std::move(c));
    has_posted_.store(true);
  }
  Wake();
}

void FanoutShard::Add(std::unique_ptr<ShardListener> l) {
  const ChannelKey ch = l->channel;
  const ListenerKey key = l->key;
  Post(Command{Command::Kind::kAdd, 0, ch, key, std::move(l)});
}
void FanoutShard::Switch(ListenerKey key, ChannelKey channel) {
  Post(Command{Command::Kind::kSwitch, 0, channel, key, nullptr});
}
void FanoutShard::Remove(ListenerKey key) { Post(Command{Command::Kind::kRemove, 0, 0, key, nullptr}); }
void FanoutShard::RemoveChannel(ChannelKey channel) {
  Post(Command{Command::Kind::kRemoveChannel, 0, channel, 0, nullptr});
}

void FanoutShard::Unreachable(const sockaddr_in& destination) {
  Command c{Command::Kind::kUnreachable, 0, 0, 0, nullptr};
  c.destination = destination;
  Post(std::move(c));
}

void FanoutShard::Rekey(ListenerKey key, rtp::SrtpContextPtr srtp, int64_t at_ns) {
  Command c{Command::Kind::kRekey, 0, 0, key, nullptr};
  c.srtp = std::move(srtp);
  c.at_ns = at_ns;
  Post(std::move(c));
}

void FanoutShard::Run() {
  std::vector<Command> taken;
  for (;;) {
    if (has_posted_.load(std::memory_order_acquire)) {
      {
        std::lock_guard lock(mu_);
        taken.swap(posted_);
        has_posted_.store(false);
      }
      for (auto& c : taken) pending_.push_back(std::move(c));
      taken.clear();
    }
    while (!pending_.empty() && pending_.front().ticket <= ring_.head()) {
      Apply(pending_.front());
      pending_.pop_front();
    }
    if (PacketSlot* p = ring_.Front()) {
      // A command posted before this packet was pushed may have arrived after the take above:
      // seeing the packet guarantees seeing its flag, so take it first.
      if (has_posted_.load(std::memory_order_acquire)) continue;
      // Drop-oldest: a packet that waited past the bound is skipped, so what is sent is never
      // older than the bound plus one packet's fan-out, however far behind this thread is.
      const int64_t now = NowNs();
      if (max_backlog_ns_ > 0 && now - p->push_ns > max_backlog_ns_) {
        SkipStale(*p, now);
        tracker_->Finish(p->track, false, p->push_ns, now);
      } else {
        const bool sent = SendToChannel(*p, now);
        tracker_->Finish(p->track, sent, p->push_ns, NowNs());
      }
      ring_.Pop();
      continue;
    }
    if (stopping_.load()) return;
    if (!pending_.empty()) {
      // A producer holds a ticket before this command and is still copying: a few ns away. A
      // short sleep, not a yield: a SCHED_FIFO thread's yield never lets an ordinary producer on
      // this core finish.
      std::this_thread::sleep_for(std::chrono::microseconds(10));
      continue;
    }
    std::unique_lock lock(wake_mu_);
    const uint32_t seen = wake_seq_.load();
    sleeping_.store(true);
    if (ring_.Front() == nullptr && !has_posted_.load() && !stopping_.load())
      wake_cv_.wait(lock, [&] { return wake_seq_.load() != seen; });
    sleeping_.store(false);
  }
}

void FanoutShard::Attach(ShardListener* l) {
  // Listeners sent from the same socket stay together, so a packet round needs one sendmmsg
  // batch per socket, not one per change of socket.
  auto& listeners = channels_[l->channel].listeners;
  auto last =
      std::find_if(listeners.rbegin(), listeners.rend(), [&](const ShardListener* o) { return o->fd == l->fd; });
  listeners.insert(last.base(), l);
  if (audience_) audience_->Add(l->channel, 1);
}

void FanoutShard::Detach(ShardListener* l) {
  auto it = channels_.find(l->channel);
  if (it == channels_.end()) return;
  auto& v = it->second.listeners;
  const auto before = v.size();
  v.erase(std::remove(v.begin(), v.end(), l), v.end());
  if (audience_) audience_->Add(l->channel, -int64_t(before - v.size()));
}

void FanoutShard::Apply(Command& c) {
  switch (c.kind) {
    case Command::Kind::kAdd: {
      auto old = listeners_.find(c.listener);
      if (old != listeners_.end()) {
        Detach(old->second.get());
        listeners_.erase(old);
        counters_->listeners.fetch_sub(1, std::memory_order_relaxed);
      }
      ShardListener* l = c.added.get();
      Attach(l);
      listeners_.emplace(c.listener, std::move(c.added));
      counters_->listeners.fetch_add(1, std::memory_order_relaxed);
      break;
    }
    case Command::Kind::kSwitch: {
      auto it = listeners_.find(c.listener);
      if (it == listeners_.end() || it->second->channel == c.channel) break;
      ShardListener* l = it->second.get();
      Detach(l);
      l->channel = c.channel;
      l->rebase = true;  // timestamps continue from where this listener was
      Attach(l);
      break;
    }
    case Command::Kind::kRemove: {
      auto it = listeners_.find(c.listener);
      if (it == listeners_.end()) break;
      Detach(it->second.get());
      listeners_.erase(it);
      counters_->listeners.fetch_sub(1, std::memory_order_relaxed);
      break;
    }
    case Command::Kind::kRekey: {
      auto it = listeners_.find(c.listener);
      if (it == listeners_.end()) break;
      it->second->next_srtp = std::move(c.srtp);  // a newer key replaces one not yet in use
      it->second->rekey_at_ns = c.at_ns;
      break;
    }
    case Command::Kind::kRemoveChannel: {
      auto it = channels_.find(c.channel);
      if (it == channels_.end()) break;
      for (ShardListener* l : it->second.listeners) {
        l->channel = 0;
        l->rebase = true;
      }
      if (audience_) audience_->Add(c.channel, -int64_t(it->second.listeners.size()));
      channels_.erase(it);
      break;
    }
    case Command::Kind::kUnreachable: {
      // Rare (an ICMP error at most once per packet to a closed port): a scan is fine here.
      for (auto& [key, l] : listeners_) {
        if (l->destination.sin_addr.s_addr == c.destination.sin_addr.s_addr &&
            l->destination.sin_port == c.destination.sin_port)
          l->counters->Add(l->counters->unreachable);
      }
      break;
    }
  }
}

void FanoutShard::SkipStale(const PacketSlot& p, int64_t now_ns) {
  counters_->backlog_drops.fetch_add(1, std::memory_order_relaxed);
  ++unreported_.stale_packets;
  unreported_.oldest_ms = std::max(unreported_.oldest_ms, (now_ns - p.push_ns) / 1'000'000);
  // The channel's state stays at its last sent packet, so its next one shows this as a gap in
  // every listener's sequence and timeline (see SendToChannel). Counted here, per listener it
  // was meant for, so the counts are right even when the channel sends nothing more.
  auto it = channels_.find(p.channel);
  if (it != channels_.end()) {
    ChannelState& ch = it->second;
    ch.skipped = uint16_t(std::min<uint32_t>(uint32_t(ch.skipped) + 1, 0xFFFF));
    uint64_t n = 0;
    for (ShardListener* l : ch.listeners) {
      if (!l->sent_any || l->rebase) continue;  // its stream starts later: nothing of it is missing
      l->counters->Add(l->counters->late_dropped);
      ++n;
    }
    counters_->late_dropped.fetch_add(n, std::memory_order_relaxed);
    unreported_.listener_packets += n;
  }
  MaybeReport(now_ns);
}

void FanoutShard::MaybeReport(int64_t now_ns) {
  if (now_ns - last_report_ns_ < kReportEveryNs) return;
  if (unreported_.stale_packets == 0 && unreported_.ring_packets == 0) return;
  last_report_ns_ = now_ns;
  unreported_.sender = index_;
  unreported_.backlog_bound_ms = max_backlog_ns_ / 1'000'000;
  // At most once a second: the callback may format a log line (and allocate) on this thread.
  if (on_overload_) on_overload_(unreported_);
  unreported_ = OverloadReport{};
}

bool FanoutShard::SendToChannel(const PacketSlot& p, int64_t now_ns) {
  // try_emplace allocates once per channel (its first packet), never per packet after that.
  ChannelState& ch = channels_.try_emplace(p.channel).first->second;
  const uint32_t in_ts = rtp::ReadU32(p.data + 4);
  const uint16_t in_seq = rtp::ReadU16(p.data + 2);
  // Channel packets that never reached this sender (a full ring, a late encoder) or that it
  // skipped as stale are a gap in every listener's own sequence too, so a receiver conceals
  // them instead of playing a jump in time as if nothing was missing. More than kMaxGap is a
  // restarted stream, not a gap.
  const uint16_t missed = ch.seen ? uint16_t(in_seq - ch.last_in_seq - 1) : 0;
  const uint16_t gap = missed <= kMaxGap ? missed : 0;
  // The frame step, over the packets missed in between.
  if (ch.seen && missed <= kMaxGap && in_ts != ch.last_in) {
    const uint32_t step = (in_ts - ch.last_in) / (uint32_t(missed) + 1);
    if (step > 0 && step <= 5760) ch.step = step;
  }
  if (ch.step == 0) ch.step = 480;
  // What this thread skipped as stale was counted then; the rest of the gap its ring refused.
  const uint16_t refused = gap > ch.skipped ? uint16_t(gap - ch.skipped) : 0;
  ch.skipped = 0;
  ch.last_in = in_ts;
  ch.last_in_seq = in_seq;
  ch.seen = true;
  if (refused) unreported_.ring_packets += refused;
  if (ch.listeners.empty()) {
    if (refused) MaybeReport(now_ns);
    return false;
  }

  bool waited = false;
  std::size_t sent = 0;
  std::size_t n = 0;
  uint64_t late = 0;  // listener packets the ring's refusals cost
  const std::vector<ShardListener*>& ls = ch.listeners;
  const std::size_t count = ls.size();
  for (std::size_t i = 0; i < count; ++i) {
    // Thousands of listeners' contexts do not fit in the caches: fetch ahead, in stages, so each
    // stage's pointer is already cached when it is read. The listener three ahead, the context
    // two ahead, and the libsrtp state of the next one (SrtpContext::Prefetch).
    if (prefetch_) {
      if (i + 3 < count) __builtin_prefetch(ls[i + 3]);
      if (i + 2 < count) {
        ls[i + 2]->srtp->PrefetchSelf();
        __builtin_prefetch(ls[i + 2]->counters.get());
      }
      if (i + 1 < count) ls[i + 1]->srtp->Prefetch();
    }
    ShardListener* l = ls[i];
    if (l->fd != batch_fd_) {
      sent += Flush(n, waited);
      n = 0;
      batch_fd_ = l->fd;
    }
    uint8_t* slot = scratch_.get() + n * kSlot;
    std::memcpy(slot, p.data, p.size);
    const bool rebased = l->rebase;  // new to this channel: its gaps before now are not this listener's
    if (l->rebase) {
      // Continue this listener's own timeline one frame after its last packet. The frame is
      // the one it was hearing: the new channel may not have shown its step yet.
      const uint32_t next = l->sent_any ? l->last_ts + (l->step ? l->step : ch.step) : l->ts_offset;
      l->ts_offset = next - in_ts;
      l->rebase = false;
    }
    const uint32_t out_ts = in_ts + l->ts_offset;
    if (gap && l->sent_any && !rebased) {
      const uint32_t next = uint32_t(l->next_seq) + gap;
      if (next > 0xFFFF) ++l->roc;
      l->next_seq = uint16_t(next);
      if (refused) {
        l->counters->Add(l->counters->late_dropped, refused);
        late += refused;
      }
    }
    if (l->next_srtp || l->protected_with_key >= rekey_after_packets_) KeyStep(*l, p.push_ns);
    rtp::SetPayloadType(slot, l->payload_type);
    rtp::SetSequence(slot, l->next_seq++);
    if (l->next_seq == 0) ++l->roc;
    ++l->protected_with_key;
    l->counters->next_index.store(uint64_t(l->roc) << 16 | l->next_seq, std::memory_order_relaxed);
    rtp::SetTimestamp(slot, out_ts);
    rtp::SetSsrc(slot, l->ssrc);
    const int len = l->srtp->Protect(slot, p.size, kSlot);
    l->last_ts = out_ts;
    l->step = ch.step;
    l->sent_any = true;
    if (len < 0) {
      l->counters->Add(l->counters->send_errors);
      counters_->send_errors.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    iov_[n] = iovec{slot, std::size_t(len)};
    msgs_[n] = mmsghdr{};
    msgs_[n].msg_hdr.msg_name = &l->destination;
    msgs_[n].msg_hdr.msg_namelen = sizeof l->destination;
    msgs_[n].msg_hdr.msg_iov = &iov_[n];
    msgs_[n].msg_hdr.msg_iovlen = 1;
    batch_owner_[n] = l;
    if (++n == kBatch) {
      sent += Flush(n, waited);
      n = 0;
    }
  }
  sent += Flush(n, waited);
  if (refused) {
    counters_->late_dropped.fetch_add(late, std::memory_order_relaxed);
    unreported_.listener_packets += late;
    MaybeReport(now_ns);
  }
  // sendmmsg can swallow the error an ICMP message left on the socket (it reports only the
  // count sent), so the error queue is also read on a timer, not only when a send fails.
  if (p.push_ns - last_drain_ns_ > kDrainEveryNs) {
    last_drain_ns_ = p.push_ns;
    DrainErrors();
  }
  return sent > 0;
}

void FanoutShard::KeyStep(ShardListener& l, int64_t push_ns) {
  if (l.next_srtp && push_ns >= l.rekey_at_ns) {
    // The new key continues the stream's packet index: same SSRC, sequence and ROC.
    l.next_srtp->SetRoc(l.ssrc, l.roc);
    l.srtp = std::move(l.next_srtp);
    l.protected_with_key = 0;
    l.limit_reported = false;
  }
  if (l.protected_with_key >= rekey_after_packets_ && !l.limit_reported) {
    l.limit_reported = true;
    l.counters->key_limit.store(true, std::memory_order_relaxed);
  }
}

void FanoutShard::DrainErrors() {
  for (;;) {
    sockaddr_in dest{};
    char control[256];
    char data[64];
    iovec iov{data, sizeof data};
    msghdr m{};
    m.msg_name = &dest;
    m.msg_namelen = sizeof dest;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    if (::recvmsg(fd_, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return;
    for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
      if (c->cmsg_level != IPPROTO_IP || c->cmsg_type != IP_RECVERR) continue;
      sock_extended_err ee;
      std::memcpy(&ee, CMSG_DATA(c), sizeof ee);
      if (ee.ee_origin == SO_EE_ORIGIN_ICMP && alerts_) alerts_->OnUnreachable(dest);
    }
  }
}

std::size_t FanoutShard::Flush(std::size_t n, bool& waited) {
  std::size_t done = 0, delivered = 0;
  bool retried = false;
  while (done < n) {
    const int sent = ::sendmmsg(batch_fd_, msgs_.data() + done, unsigned(n - done), MSG_DONTWAIT);
    if (sent > 0) {
      for (std::size_t i = done; i < done + std::size_t(sent); ++i)
        batch_owner_[i]->counters->Add(batch_owner_[i]->counters->sent);
      counters_->packets_sent.fetch_add(uint64_t(sent), std::memory_order_relaxed);
      done += std::size_t(sent);
      delivered += std::size_t(sent);
      retried = false;
      continue;
    }
    const int err = errno;
    if (err == EINTR) continue;
    if (!retried && (err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH || err == EHOSTDOWN)) {
      // An ICMP error for an earlier packet (to any listener) surfaces on the next send and
      // costs it nothing: read who it was about, then send this packet again.
      DrainErrors();
      retried = true;
      continue;
    }
    if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
      // The socket buffer (shared by every listener of this node) is full: the uplink is
      // congested. Wait once per packet round, then drop what is left of the round.
      if (!waited) {
        waited = true;
        pollfd pfd{batch_fd_, POLLOUT, 0};
        if (::poll(&pfd, 1, kSendWaitMs) > 0) continue;
      }
      for (std::size_t i = done; i < n; ++i) batch_owner_[i]->counters->Add(batch_owner_[i]->counters->dropped);
      counters_->packets_dropped.fetch_add(n - done, std::memory_order_relaxed);
      return delivered;
    }
    // The kernel refused this one destination (unreachable, not permitted, ...): skip it so
    // the listeners behind it in the batch still get their packet.
    batch_owner_[done]->counters->Add(batch_owner_[done]->counters->send_errors);
    counters_->send_errors.fetch_add(1, std::memory_order_relaxed);
    ++done;
    retried = false;
  }
  return delivered;
}

}  // namespace tilmash::fanout
