#include "sim/scenarios/timeline.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/check.h"
#include "sim/scenarios/scenario.h"

namespace detcd::sim {

void TimelineRecorder::Enter(int64_t now_us, uint64_t node, const std::string& state, uint64_t term) {
  auto it = open_.find(node);
  if (it != open_.end()) {
    Timeline::Span& open = out_->spans[it->second];
    DETCD_CHECK_MSG(open.from_us <= now_us, "a node's span ends before it began");
    open.to_us = now_us;
  }
  out_->spans.push_back(Timeline::Span{node, now_us, now_us, state, term});
  open_[node] = out_->spans.size() - 1;
}

void TimelineRecorder::Observe(int64_t now_us, uint64_t node, const std::string& state, uint64_t term) {
  auto it = open_.find(node);
  if (it != open_.end()) {
    const Timeline::Span& open = out_->spans[it->second];
    if (open.state == state && open.term == term) return;
  }
  Enter(now_us, node, state, term);
}

void TimelineRecorder::NodeEvent(int64_t now_us, uint64_t node, const std::string& what) {
  out_->marks.push_back(Timeline::Mark{node, now_us, what});
  if (what == "crash" || what == "disk error" || what == "refused to start") {
    Enter(now_us, node, "down", 0);
  } else if (what == "pause") {
    Enter(now_us, node, "paused", 0);
  } else if (what == "restart" || what == "resume") {
    Enter(now_us, node, "up", 0);  // its Raft state comes with the next observation
  }
}

namespace {

// "1 fault", "3 faults".
std::string Count(size_t n, absl::string_view thing) { return absl::StrCat(n, " ", thing, n == 1 ? "" : "s"); }

const char* FaultKindName(const simpb::Fault& f) {
  const google::protobuf::OneofDescriptor* kind = f.GetDescriptor()->FindOneofByName("kind");
  const google::protobuf::FieldDescriptor* set = f.GetReflection()->GetOneofFieldDescriptor(f, kind);
  return set == nullptr ? "fault" : set->name().c_str();
}

std::string OpText(const history::Operation& op) {
  switch (op.f) {
    case history::OpFunction::kRead:
      return absl::StrCat("read ", op.key,
                          op.outcome == history::OpOutcome::kOk ? absl::StrCat(" -> ", op.output.ToJson()) : "");
    case history::OpFunction::kWrite:
      return absl::StrCat("write ", op.key, " ", op.input.ToJson());
    case history::OpFunction::kCas:
      return absl::StrCat("cas ", op.key, " ", op.expected.ToJson(), "->", op.input.ToJson());
  }
  return "?";
}

// Whether `word` appears in `text` with no letter, digit or '_' right before or after it.
bool MentionsWord(const std::string& text, const std::string& word) {
  if (word.empty()) return false;
  auto part = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; };
  for (size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    const bool before = at > 0 && part(text[at - 1]);
    const bool after = at + word.size() < text.size() && part(text[at + word.size()]);
    if (!before && !after) return true;
  }
  return false;
}

}  // namespace

void TimelineRecorder::Finish(int nodes, int64_t phase_end_us, int64_t end_us,
                              const std::vector<simpb::Fault>& schedule, const history::History& history,
                              const std::string& verdict, const std::string& checker, const std::string& message,
                              int64_t failure_us) {
  Timeline& t = *out_;
  t.nodes = nodes;
  t.phase_end_us = phase_end_us;
  t.end_us = std::max(end_us, phase_end_us);
  for (const auto& [node, index] : open_) t.spans[index].to_us = std::max(t.spans[index].from_us, t.end_us);
  open_.clear();
  for (const simpb::Fault& f : schedule) {
    Timeline::Band b;
    b.from_us = f.at_ms() * 1000;
    int64_t lasts_ms = f.duration_ms();
    if (f.has_crash()) lasts_ms = f.crash().restart_after_ms();
    b.to_us = lasts_ms > 0 ? std::min(phase_end_us, b.from_us + lasts_ms * 1000) : phase_end_us;
    if (f.has_heal() || f.has_bit_rot() || f.has_wal_tail_corruption()) b.to_us = b.from_us;  // a moment
    b.kind = FaultKindName(f);
    b.summary = FaultSummary(f);
    t.bands.push_back(std::move(b));
  }
  t.verdict = verdict;
  t.checker = checker;
  t.message = message;
  t.failure_us = failure_us;
  bool any_key_named = false;
  for (const history::Operation& op : history.operations) {
    if (checker.empty() || !MentionsWord(message, op.key)) continue;
    any_key_named = true;
    break;
  }
  for (const history::Operation& op : history.operations) {
    Timeline::Op o;
    o.process = op.process;
    o.from_us = std::max<int64_t>(0, op.invoke_us);
    o.to_us = op.completion_us >= 0 ? op.completion_us : t.end_us;
    o.outcome = history::OpOutcomeName(op.outcome);
    o.text = OpText(op);
    o.key = op.key;
    if (!checker.empty()) {
      o.highlighted = any_key_named ? MentionsWord(message, op.key)
                                    : failure_us >= 0 && o.from_us <= failure_us && failure_us <= o.to_us;
    }
    t.ops.push_back(std::move(o));
  }
}

namespace {

std::string Escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        // Control characters would make the page invalid XML inside the SVG: shown as U+FFFD.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') {
          out += "\xEF\xBF\xBD";
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string Seconds(int64_t us) { return absl::StrFormat("%.3fs", static_cast<double>(us) / 1e6); }

const char* StateColor(const std::string& state) {
  if (state == "leader") return "#2e9d4b";
  if (state == "candidate") return "#f0a030";
  if (state == "pre-candidate") return "#f5d08a";
  if (state == "follower") return "#b8c4d0";
  if (state == "down") return "#333333";
  if (state == "paused") return "#8a5cc2";
  return "#dde3e8";  // up, state not yet seen
}

const char* BandColor(const std::string& kind) {
  if (kind == "crash" || kind == "crash_after_send") return "#555555";
  if (kind == "pause") return "#8a5cc2";
  if (kind == "partition" || kind == "isolate" || kind == "bridge" || kind == "asymmetric" ||
      kind == "leader_with_learners" || kind == "snapshot_during_conf_change") {
    return "#d9534f";
  }
  if (kind == "clog" || kind == "lagging_follower") return "#e08a3c";
  if (kind == "clock_drift") return "#3c8dbc";
  if (kind == "disk_error" || kind == "disk_full" || kind == "bit_rot" || kind == "wal_tail_corruption") {
    return "#8b5a2b";
  }
  return "#999999";
}

const char* OpColor(const std::string& outcome) {
  if (outcome == "ok") return "#3a78c2";
  if (outcome == "fail") return "#c0c0c0";
  return "#e6b800";  // info: unknown outcome
}

}  // namespace

std::string TimelineHtml(const Timeline& t) {
  constexpr int kLeft = 120, kWidth = 1400, kLane = 22, kOpLane = 12, kGap = 18;
  const int64_t end = std::max<int64_t>(1, t.end_us);
  auto x = [&](int64_t us) {
    return kLeft + static_cast<double>(std::clamp<int64_t>(us, 0, end)) * kWidth / static_cast<double>(end);
  };
  auto w = [&](int64_t from, int64_t to) { return std::max(1.5, x(to) - x(from)); };

  // Fault bands packed into rows: a band goes in the first row whose last band ended before it starts.
  std::vector<int64_t> row_end;
  std::vector<int> band_row;
  for (const Timeline::Band& b : t.bands) {
    size_t r = 0;
    while (r < row_end.size() && row_end[r] > b.from_us) ++r;
    if (r == row_end.size()) row_end.push_back(0);
    row_end[r] = std::max(b.to_us, b.from_us + end / 200);  // keep a moment's mark from overlapping the next
    band_row.push_back(static_cast<int>(r));
  }
  std::vector<int64_t> processes;
  for (const Timeline::Op& o : t.ops) processes.push_back(o.process);
  std::sort(processes.begin(), processes.end());
  processes.erase(std::unique(processes.begin(), processes.end()), processes.end());
  auto process_row = [&](int64_t p) {
    return static_cast<int>(std::lower_bound(processes.begin(), processes.end(), p) - processes.begin());
  };

  const int axis_y = 20;
  const int nodes_y = axis_y + 16;
  const int bands_y = nodes_y + t.nodes * kLane + kGap;
  const int ops_y = bands_y + static_cast<int>(row_end.size()) * kLane + kGap;
  const int height = ops_y + static_cast<int>(processes.size()) * kOpLane + kGap;

  std::string svg;
  absl::StrAppend(&svg, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"", kLeft + kWidth + 20, "\" height=\"",
                  height, "\" font-family=\"sans-serif\" font-size=\"11\">\n");
  // The time axis: a tick every 1, 2 or 5 × 10^k seconds, about ten in all.
  double step_s = 1000;
  for (double candidate :
       {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0}) {
    if (static_cast<double>(end) / 1e6 / candidate <= 12) {
      step_s = candidate;
      break;
    }
  }
  for (double s = 0; s * 1e6 <= static_cast<double>(end); s += step_s) {
    const double at = x(static_cast<int64_t>(s * 1e6));
    absl::StrAppend(&svg, "<line x1=\"", at, "\" y1=\"", axis_y, "\" x2=\"", at, "\" y2=\"", height - kGap,
                    "\" stroke=\"#eeeeee\"/><text x=\"", at, "\" y=\"", axis_y - 6, "\" text-anchor=\"middle\">",
                    absl::StrFormat("%gs", s), "</text>\n");
  }
  absl::StrAppend(&svg, "<text x=\"4\" y=\"", bands_y - 4, "\" font-weight=\"bold\">faults</text>\n");
  absl::StrAppend(&svg, "<text x=\"4\" y=\"", ops_y - 4, "\" font-weight=\"bold\">clients</text>\n");
  for (int n = 1; n <= t.nodes; ++n) {
    absl::StrAppend(&svg, "<text x=\"4\" y=\"", nodes_y + (n - 1) * kLane + 15, "\">node ", n, "</text>\n");
  }
  for (const Timeline::Span& s : t.spans) {
    if (s.node < 1 || s.node > static_cast<uint64_t>(t.nodes) || s.to_us <= s.from_us) continue;
    const int y = nodes_y + static_cast<int>(s.node - 1) * kLane;
    const std::string label = s.term > 0 ? absl::StrCat(s.state, ", term ", s.term) : s.state;
    absl::StrAppend(&svg, "<rect class=\"span ", s.state == "pre-candidate" ? "precandidate" : s.state,
                    "\" data-node=\"", s.node, "\" x=\"", x(s.from_us), "\" y=\"", y + 2, "\" width=\"",
                    w(s.from_us, s.to_us), "\" height=\"", kLane - 4, "\" fill=\"", StateColor(s.state),
                    "\"><title>node ", s.node, ": ", Escape(label), " from ", Seconds(s.from_us), " to ",
                    Seconds(s.to_us), "</title></rect>\n");
    if (s.state == "leader" && x(s.to_us) - x(s.from_us) > 28) {
      absl::StrAppend(&svg, "<text x=\"", x(s.from_us) + 3, "\" y=\"", y + 15, "\" fill=\"white\">T", s.term,
                      "</text>\n");
    }
  }
  for (const Timeline::Mark& m : t.marks) {
    if (m.node < 1 || m.node > static_cast<uint64_t>(t.nodes)) continue;
    const int y = nodes_y + static_cast<int>(m.node - 1) * kLane;
    const double at = x(m.at_us);
    absl::StrAppend(&svg, "<path class=\"mark\" data-what=\"", Escape(m.what), "\" d=\"M", at - 4, " ", y, " L", at + 4,
                    " ", y, " L", at, " ", y + 7, " Z\" fill=\"#d00000\"><title>node ", m.node, ": ", Escape(m.what),
                    " at ", Seconds(m.at_us), "</title></path>\n");
  }
  for (size_t i = 0; i < t.bands.size(); ++i) {
    const Timeline::Band& b = t.bands[i];
    const int y = bands_y + band_row[i] * kLane;
    absl::StrAppend(&svg, "<rect class=\"band ", Escape(b.kind), "\" x=\"", x(b.from_us), "\" y=\"", y + 2,
                    "\" width=\"", w(b.from_us, b.to_us), "\" height=\"", kLane - 4, "\" fill=\"", BandColor(b.kind),
                    "\" fill-opacity=\"0.8\"><title>", Escape(b.summary), "</title></rect>\n");
    if (x(b.to_us) - x(b.from_us) > 60) {
      absl::StrAppend(&svg, "<text x=\"", x(b.from_us) + 3, "\" y=\"", y + 15, "\" fill=\"white\">", Escape(b.kind),
                      "</text>\n");
    }
  }
  for (const Timeline::Op& o : t.ops) {
    const int y = ops_y + process_row(o.process) * kOpLane;
    absl::StrAppend(&svg, "<rect class=\"op ", o.outcome, o.highlighted ? " named" : "", "\" x=\"", x(o.from_us),
                    "\" y=\"", y + 1, "\" width=\"", w(o.from_us, o.to_us), "\" height=\"", kOpLane - 2, "\" fill=\"",
                    OpColor(o.outcome), "\"", o.highlighted ? " stroke=\"#d00000\" stroke-width=\"2\"" : "",
                    "><title>process ", o.process, ": ", Escape(o.text), " (", o.outcome, ") ", Seconds(o.from_us),
                    " to ", Seconds(o.to_us), "</title></rect>\n");
  }
  absl::StrAppend(&svg, "<line class=\"heal\" x1=\"", x(t.phase_end_us), "\" y1=\"", axis_y, "\" x2=\"",
                  x(t.phase_end_us), "\" y2=\"", height - kGap,
                  "\" stroke=\"#2e9d4b\" stroke-dasharray=\"6 4\"><title>every fault healed at ",
                  Seconds(t.phase_end_us), "</title></line>\n");
  if (t.failure_us >= 0) {
    absl::StrAppend(&svg, "<line class=\"failure\" x1=\"", x(t.failure_us), "\" y1=\"", axis_y - 4, "\" x2=\"",
                    x(t.failure_us), "\" y2=\"", height - kGap, "\" stroke=\"#d00000\" stroke-width=\"2\"><title>",
                    Escape(t.checker), ": ", Escape(t.message), "</title></line>\n");
  }
  svg += "</svg>\n";

  size_t named = 0;
  for (const Timeline::Op& o : t.ops) named += o.highlighted ? 1 : 0;
  std::string html = absl::StrCat(
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>", Escape(t.title),
      "</title>\n<style>body{font-family:sans-serif;margin:16px}#verdict{padding:8px 12px;margin:8px 0;"
      "border-radius:4px}#verdict.pass{background:#e3f4e6}#verdict.fail{background:#fbe3e3;border:1px solid #d00000}"
      ".legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;width:12px;height:12px;"
      "margin-right:4px;vertical-align:middle}div.scroll{overflow-x:auto}</style></head><body>\n<h2>",
      Escape(t.title), "</h2>\n");
  if (t.checker.empty()) {
    absl::StrAppend(&html, "<div id=\"verdict\" class=\"pass\">passed</div>\n");
  } else {
    absl::StrAppend(&html, "<div id=\"verdict\" class=\"fail\"><b>", Escape(t.verdict), "</b> found by <b>",
                    Escape(t.checker), "</b> at ", Seconds(t.failure_us), ": <span id=\"message\">", Escape(t.message),
                    "</span>", named > 0 ? absl::StrCat(" (", named, " operations outlined in red)") : "", "</div>\n");
  }
  absl::StrAppend(&html, "<div class=\"legend\">");
  for (const char* s : {"leader", "candidate", "pre-candidate", "follower", "down", "paused"}) {
    absl::StrAppend(&html, "<span><i style=\"background:", StateColor(s), "\"></i>", s, "</span>");
  }
  absl::StrAppend(&html, "<span><i style=\"background:", OpColor("ok"),
                  "\"></i>ok</span><span><i style=\"background:", OpColor("fail"),
                  "\"></i>fail</span><span><i style=\"background:", OpColor("info"),
                  "\"></i>unknown</span><span><i style=\"background:#d00000\"></i>crash, restart, pause (marks); the "
                  "failure (line)</span></div>\n<p>",
                  Count(static_cast<size_t>(t.nodes), "node"), ", ", Count(t.bands.size(), "fault"), ", ",
                  Count(t.ops.size(), "client operation"), "; faults heal at ", Seconds(t.phase_end_us),
                  ", run ends at ", Seconds(t.end_us),
                  ". Hover over anything for its details.</p>\n<div class=\"scroll\">\n", svg,
                  "</div>\n</body></html>\n");
  return html;
}

}  // namespace detcd::sim
