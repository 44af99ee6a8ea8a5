#include "sim/checkers/watch_checker.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace detcd::sim {
namespace {

using mvccpb::Event;
using mvccpb::KeyValue;

// Long values would drown a report; the first bytes are enough to tell versions apart.
std::string Quote(const std::string& s) {
  constexpr size_t kShown = 48;
  if (s.size() <= kShown) return absl::StrCat("\"", absl::CHexEscape(s), "\"");
  return absl::StrCat("\"", absl::CHexEscape(s.substr(0, kShown)), "\"...(", s.size(), " bytes)");
}

std::string DescribeKv(const KeyValue& kv) {
  return absl::StrCat(Quote(kv.key()), "=", Quote(kv.value()), " create=", kv.create_revision(),
                      " mod=", kv.mod_revision(), " version=", kv.version(), " lease=", kv.lease());
}

std::string DescribeEvent(const Event& ev) {
  if (ev.type() == Event::PUT) return absl::StrCat("PUT ", DescribeKv(ev.kv()));
  return absl::StrCat("DELETE ", Quote(ev.kv().key()), " mod=", ev.kv().mod_revision());
}

std::string DescribeEvents(const std::vector<Event>& evs) {
  std::string out = "[";
  for (size_t i = 0; i < evs.size(); ++i) absl::StrAppend(&out, i > 0 ? ", " : "", DescribeEvent(evs[i]));
  return out + "]";
}

bool SameKv(const KeyValue& a, const KeyValue& b) {
  return a.key() == b.key() && a.value() == b.value() && a.create_revision() == b.create_revision() &&
         a.mod_revision() == b.mod_revision() && a.version() == b.version() && a.lease() == b.lease();
}

// The event itself; prev_kv is judged separately (the history never carries it).
bool SameEvent(const Event& a, const Event& b) { return a.type() == b.type() && SameKv(a.kv(), b.kv()); }

bool SameEvents(const std::vector<Event>& a, const std::vector<Event>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!SameEvent(a[i], b[i]) || a[i].has_prev_kv() != b[i].has_prev_kv()) return false;
  }
  return true;
}

}  // namespace

// ---- Feeding ---------------------------------------------------------------------------------------------------

WatchChecker::WatchChecker(int64_t initial_revision) {
  DETCD_CHECK(initial_revision >= 0);
  history_.resize(static_cast<size_t>(initial_revision));
  for (Revision& r : history_) r.reported = true;  // the empty store: no events
  known_revision_ = initial_revision;
}

void WatchChecker::OnRevision(int64_t revision, const std::vector<Event>& events) {
  DETCD_CHECK_MSG(revision >= 1, "watch checker: revisions start at 1");
  if (!ok()) return;
  if (static_cast<size_t>(revision) > history_.size()) history_.resize(static_cast<size_t>(revision));
  Revision& h = history_[static_cast<size_t>(revision - 1)];
  if (h.reported) {
    if (!SameEvents(h.events, events)) {
      Fail(-1, revision,
           absl::StrCat("replicas disagree on revision ", revision, ": one applied ", DescribeEvents(h.events),
                        ", another ", DescribeEvents(events)));
    }
    return;
  }
  for (const Event& ev : events) {
    if (ev.kv().mod_revision() != revision) {
      return Fail(-1, revision, absl::StrCat("a replica applied ", DescribeEvent(ev), " at revision ", revision));
    }
  }
  h.reported = true;
  h.events = events;
  AdvanceKnown();
}

void WatchChecker::OnCompact(int64_t revision) { compacted_revision_ = std::max(compacted_revision_, revision); }

int WatchChecker::AddWatcher(const WatchSpec& spec) {
  Watcher w;
  w.spec = spec;
  w.from = spec.key.empty() ? std::string(1, '\0') : spec.key;
  if (spec.range_end == std::string(1, '\0')) {
    w.range = w.to_end = true;
  } else if (!spec.range_end.empty()) {
    w.range = true;
    w.to = spec.range_end;
  }
  watchers_.push_back(std::move(w));
  return static_cast<int>(watchers_.size()) - 1;
}

void WatchChecker::OnResponse(int id, const etcdserverpb::WatchResponse& r) {
  DETCD_CHECK_MSG(id >= 0 && static_cast<size_t>(id) < watchers_.size(), "watch checker: unknown watcher id");
  if (!ok()) return;
  Watcher& w = watchers_[static_cast<size_t>(id)];
  const int64_t header = r.header().revision();
  // Protocol order, checked on arrival: created first, fragments of one batch back to back, nothing after a cancel.
  if (w.ended) return Fail(id, header, "a response after the watcher was canceled");
  if (r.created()) {
    if (w.created) return Fail(id, header, "a second created response");
    if (r.events_size() > 0) return Fail(id, header, "a created response carries events");
    w.created = true;
    if (r.canceled()) {  // the create was refused: nothing was ever owed
      w.ended = true;
      return;
    }
    w.start_revision = w.spec.start_revision > 0 ? w.spec.start_revision : header + 1;
    w.covered = w.start_revision - 1;
    return;
  }
  if (!w.created) return Fail(id, header, "a response before the created response");
  // etcd sends a batch's parts back to back; an empty last part is taken as the end of the batch.
  if (w.in_fragments && r.canceled()) return Fail(id, header, "a fragmented batch was canceled before its last part");
  Step step;
  step.header_revision = header;
  if (r.canceled()) {
    if (r.events_size() > 0) return Fail(id, header, "a cancel response carries events");
    w.ended = true;
    step.kind = Step::Kind::kCancel;
    step.compact_revision = r.compact_revision();
  } else if (r.fragment()) {
    w.in_fragments = true;
    w.fragments.insert(w.fragments.end(), r.events().begin(), r.events().end());
    return;
  } else if (w.in_fragments || r.events_size() > 0) {
    step.kind = Step::Kind::kEvents;
    step.events = std::move(w.fragments);
    step.events.insert(step.events.end(), r.events().begin(), r.events().end());
    w.fragments.clear();
    w.in_fragments = false;
    step.needs_revision = header;
    for (const Event& ev : step.events) step.needs_revision = std::max(step.needs_revision, ev.kv().mod_revision());
  } else {
    step.kind = Step::Kind::kProgress;
    step.needs_revision = header;
  }
  w.waiting.push_back(std::move(step));
  Drain(id);
}

void WatchChecker::Finish() {
  if (!ok()) return;
  for (size_t id = 0; id < watchers_.size() && ok(); ++id) {
    const Watcher& w = watchers_[id];
    if (w.waiting.empty()) continue;
    const Step& step = w.waiting.front();
    for (const Event& ev : step.events) {
      const int64_t r = ev.kv().mod_revision();
      if (r < 1 || static_cast<size_t>(r) > history_.size() || !history_[static_cast<size_t>(r - 1)].reported) {
        return Fail(static_cast<int>(id), r,
                    absl::StrCat("event ", DescribeEvent(ev), " at revision ", r, " never applied by any replica"));
      }
    }
    Fail(static_cast<int>(id), known_revision_ + 1,
         absl::StrCat("revision ", known_revision_ + 1, " never applied by any replica, yet the watcher got a ",
                      step.kind == Step::Kind::kProgress ? "progress response" : "response", " with header revision ",
                      step.header_revision));
  }
  for (const auto& [id, c] : compact_cancels_) {
    if (!ok()) return;
    if (c > compacted_revision_) {
      Fail(id, c,
           absl::StrCat("canceled with compact_revision ", c, ", but no replica compacted beyond ",
                        compacted_revision_));
    }
  }
}

// ---- The history -------------------------------------------------------------------------------------------------

void WatchChecker::AdvanceKnown() {
  const int64_t before = known_revision_;
  while (static_cast<size_t>(known_revision_) < history_.size() &&
         history_[static_cast<size_t>(known_revision_)].reported) {
    Revision& h = history_[static_cast<size_t>(known_revision_)];
    ++known_revision_;
    h.prev.clear();
    for (const Event& ev : h.events) {
      auto it = live_.find(ev.kv().key());
      h.prev.push_back(it == live_.end() ? std::nullopt : std::optional<KeyValue>(it->second));
      if (ev.type() == Event::PUT) {
        live_[ev.kv().key()] = ev.kv();
      } else if (it != live_.end()) {
        live_.erase(it);
      }
    }
  }
  if (known_revision_ == before) return;
  for (size_t id = 0; id < watchers_.size() && ok(); ++id) Drain(static_cast<int>(id));
}

bool WatchChecker::Contains(const Watcher& w, const std::string& key) const {
  if (!w.range) return key == w.from;
  return !(key < w.from) && (w.to_end || key < w.to);
}

bool WatchChecker::Wants(const Watcher& w, const Event& ev) const {
  return Contains(w, ev.kv().key()) && !(ev.type() == Event::PUT ? w.spec.no_put : w.spec.no_delete);
}

std::vector<size_t> WatchChecker::Owed(const Watcher& w, int64_t revision) const {
  DETCD_CHECK(revision >= 1 && revision <= known_revision_);
  const Revision& h = history_[static_cast<size_t>(revision - 1)];
  std::vector<size_t> out;
  for (size_t i = 0; i < h.events.size(); ++i) {
    if (Wants(w, h.events[i])) out.push_back(i);
  }
  return out;
}

// ---- Checking ----------------------------------------------------------------------------------------------------

void WatchChecker::Drain(int id) {
  Watcher& w = watchers_[static_cast<size_t>(id)];
  while (ok() && !w.waiting.empty() && w.waiting.front().needs_revision <= known_revision_) {
    const Step step = std::move(w.waiting.front());
    w.waiting.pop_front();
    CheckStep(id, step);
  }
}

void WatchChecker::CheckStep(int id, const Step& step) {
  Watcher& w = watchers_[static_cast<size_t>(id)];
  switch (step.kind) {
    case Step::Kind::kEvents:
      return CheckEvents(id, step);
    case Step::Kind::kProgress:
      CheckNoGap(id, step.header_revision, {},
                 absl::StrCat("a progress response said every event up to ", step.header_revision, " was sent"));
      w.covered = std::max(w.covered, step.header_revision);
      return;
    case Step::Kind::kCancel:
      if (step.compact_revision <= 0) return;  // canceled by the client or the server: nothing more is owed
      // etcd cancels a watcher whose next revision N is below the compaction revision C; the server's N may be
      // further along than the client's (revisions with nothing for it), never behind.
      if (w.covered + 1 >= step.compact_revision) {
        return Fail(id, step.compact_revision,
                    absl::StrCat("canceled for compaction at ", step.compact_revision,
                                 ", but the watcher needed nothing below it: it had every event up to ", w.covered));
      }
      compact_cancels_.emplace_back(id, step.compact_revision);
      return;
  }
}

void WatchChecker::CheckEvents(int id, const Step& step) {
  Watcher& w = watchers_[static_cast<size_t>(id)];
  int64_t last = 0;  // revision of the previous event in this response
  std::vector<int64_t> revisions;
  std::vector<std::vector<const Event*>> by_revision;
  // Order, uniqueness, range and filters: what each event may be regardless of the history's contents.
  for (const Event& ev : step.events) {
    const int64_t r = ev.kv().mod_revision();
    const std::string what = DescribeEvent(ev);
    if (r < w.start_revision) {
      return Fail(id, r, absl::StrCat(what, " is before the watcher's start revision ", w.start_revision));
    }
    if (r < last) return Fail(id, r, absl::StrCat("went back in time: ", what, " after an event at revision ", last));
    if (r <= w.covered) {
      bool owed = false;
      for (size_t i : Owed(w, r)) owed |= history_[static_cast<size_t>(r - 1)].events[i].kv().key() == ev.kv().key();
      if (owed) return Fail(id, r, absl::StrCat(what, " delivered twice"));
      if (r <= w.last_event_revision) {
        return Fail(id, r,
                    absl::StrCat("went back in time: ", what, " after an event at revision ", w.last_event_revision));
      }
      return Fail(id, r, absl::StrCat(what, " after the watcher was told every event up to ", w.covered, " was sent"));
    }
    if (!Contains(w, ev.kv().key())) return Fail(id, r, absl::StrCat(what, " is outside the watched range"));
    if (ev.type() == Event::PUT && w.spec.no_put) return Fail(id, r, absl::StrCat(what, " delivered despite no_put"));
    if (ev.type() == Event::DELETE && w.spec.no_delete) {
      return Fail(id, r, absl::StrCat(what, " delivered despite no_delete"));
    }
    if (r != last) {
      revisions.push_back(r);
      by_revision.emplace_back();
    }
    by_revision.back().push_back(&ev);
    last = r;
  }
  if (step.header_revision != 0 && step.header_revision < last) {
    return Fail(
        id, last,
        absl::StrCat("the response's header revision ", step.header_revision, " is below its events' revision ", last));
  }
  for (size_t i = 0; i < revisions.size() && ok(); ++i) CheckRevision(id, revisions[i], by_revision[i]);
  const int64_t claim = std::max(step.header_revision, last);
  CheckNoGap(id, claim, revisions, absl::StrCat("the watcher got a response up to revision ", claim));
  w.covered = claim;
  w.last_event_revision = last;
}

void WatchChecker::CheckRevision(int id, int64_t r, const std::vector<const Event*>& delivered) {
  if (!ok()) return;
  const Watcher& w = watchers_[static_cast<size_t>(id)];
  const Revision& h = history_[static_cast<size_t>(r - 1)];
  const std::vector<size_t> owed = Owed(w, r);
  std::vector<bool> got(owed.size(), false);
  for (const Event* d : delivered) {
    size_t j = 0;
    while (j < owed.size() && h.events[owed[j]].kv().key() != d->kv().key()) ++j;
    if (j == owed.size()) {
      return Fail(id, r,
                  absl::StrCat(DescribeEvent(*d), " is not in the history, which has ", DescribeEvents(h.events)));
    }
    if (got[j]) return Fail(id, r, absl::StrCat(DescribeEvent(*d), " delivered twice in one response"));
    got[j] = true;
    const Event& want = h.events[owed[j]];
    if (!SameEvent(want, *d)) {
      return Fail(id, r, absl::StrCat("expected ", DescribeEvent(want), ", saw ", DescribeEvent(*d)));
    }
    // etcd reads prev_kv at r - 1 and leaves it out for a create, a key that did not exist, or a compacted r - 1.
    const bool creates = want.type() == Event::PUT && want.kv().create_revision() == want.kv().mod_revision();
    const std::optional<KeyValue>& prev = creates ? std::nullopt : h.prev[owed[j]];
    if (d->has_prev_kv() && !w.spec.prev_kv) {
      return Fail(id, r, absl::StrCat(DescribeEvent(*d), " carries prev_kv the watcher did not ask for"));
    }
    if (d->has_prev_kv() && !prev) {
      return Fail(id, r,
                  absl::StrCat(DescribeEvent(*d), " carries prev_kv ", DescribeKv(d->prev_kv()),
                               ", but the key did not exist before it"));
    }
    if (d->has_prev_kv() && !SameKv(*prev, d->prev_kv())) {
      return Fail(id, r,
                  absl::StrCat(DescribeEvent(*d), ": expected prev_kv ", DescribeKv(*prev), ", saw ",
                               DescribeKv(d->prev_kv())));
    }
    if (!d->has_prev_kv() && w.spec.prev_kv && prev && r - 1 >= compacted_revision_) {
      return Fail(id, r, absl::StrCat(DescribeEvent(*d), ": expected prev_kv ", DescribeKv(*prev), ", saw none"));
    }
    ++events_checked_;
  }
  for (size_t j = 0; j < owed.size(); ++j) {
    if (got[j]) continue;
    return Fail(id, r,
                absl::StrCat("only ", delivered.size(), " of the revision's ", owed.size(),
                             " matching events arrived in one response; missing ", DescribeEvent(h.events[owed[j]]),
                             " (a revision's events come together, and none is lost)"));
  }
}

void WatchChecker::CheckNoGap(int id, int64_t up_to, const std::vector<int64_t>& delivered_revisions,
                              const std::string& claim) {
  if (!ok()) return;
  const Watcher& w = watchers_[static_cast<size_t>(id)];
  for (int64_t r = w.covered + 1; r <= up_to; ++r) {
    if (std::binary_search(delivered_revisions.begin(), delivered_revisions.end(), r)) continue;
    const std::vector<size_t> owed = Owed(w, r);
    if (owed.empty()) continue;
    return Fail(
        id, r,
        absl::StrCat("missing ", DescribeEvent(history_[static_cast<size_t>(r - 1)].events[owed[0]]), ": ", claim));
  }
}

void WatchChecker::Fail(int id, int64_t revision, const std::string& what) {
  if (!violation_.empty()) return;
  if (id < 0) {
    violation_ = absl::StrCat("history: revision ", revision, ": ", what);
    return;
  }
  const WatchSpec& s = watchers_[static_cast<size_t>(id)].spec;
  violation_ =
      absl::StrCat("watcher ", id, " (key ", Quote(s.key), " range_end ", Quote(s.range_end), " start_revision ",
                   s.start_revision, " created_at_revision ", s.created_at_revision, s.prev_kv ? " prev_kv" : "",
                   s.no_put ? " no_put" : "", s.no_delete ? " no_delete" : "", "): revision ", revision, ": ", what);
}

}  // namespace detcd::sim
