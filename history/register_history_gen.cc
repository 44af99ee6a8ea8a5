#include "history/register_history_gen.h"

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/prng.h"

namespace detcd::history {
namespace {

enum class Fate { kOk, kFail, kUnknownInfo, kUnknownNever };
enum class Phase { kIdle, kInvoked, kEffected };

struct Client {
  int64_t process = 0;
  Phase phase = Phase::kIdle;
  int id = -1;  // the operation in flight
  OpFunction f = OpFunction::kRead;
  std::string key;
  RegisterValue input, expected, output;
  Fate fate = Fate::kOk;
  bool cas_held = false;  // a cas's compare held when it took effect
};

}  // namespace

History GenerateRegisterHistory(const RegisterWorkloadOptions& options) {
  DETCD_CHECK(options.processes > 0 && options.keys > 0 && options.operations >= 0);
  Prng prng(options.seed);
  HistoryRecorder recorder;
  absl::flat_hash_map<std::string, RegisterValue> store;         // the real register: absent keys are missing
  absl::flat_hash_map<std::string, std::vector<RegisterValue>> written;  // per key, for plausible cas arguments
  std::vector<Client> clients(options.processes);
  for (int p = 0; p < options.processes; ++p) clients[p].process = p;
  int64_t next_process = options.processes;
  int64_t next_value = 1;
  int issued = 0;
  int in_flight = 0;

  auto fresh_value = [&]() {
    const int64_t n = next_value++;
    return prng.Chance(0.25) ? RegisterValue::String(absl::StrCat("v", n)) : RegisterValue::Int(n);
  };

  while (issued < options.operations || in_flight > 0) {
    Client& c = clients[prng.Uniform(clients.size())];
    switch (c.phase) {
      case Phase::kIdle: {
        if (issued >= options.operations) break;
        ++issued;
        ++in_flight;
        c.key = absl::StrCat("k", prng.Uniform(static_cast<uint64_t>(options.keys)));
        c.input = c.expected = c.output = RegisterValue();
        c.cas_held = false;
        const double f = prng.Unit();
        c.f = f < options.read_fraction                            ? OpFunction::kRead
              : f < options.read_fraction + options.write_fraction ? OpFunction::kWrite
                                                                   : OpFunction::kCas;
        if (c.f != OpFunction::kRead) c.input = fresh_value();
        if (c.f == OpFunction::kCas) {
          // Mostly the current value (so that many succeed), else some value this key had, or absent.
          const std::vector<RegisterValue>& past = written[c.key];
          auto it = store.find(c.key);
          if (prng.Chance(0.6)) {
            c.expected = it == store.end() ? RegisterValue() : it->second;
          } else if (!past.empty() && prng.Chance(0.8)) {
            c.expected = past[prng.Uniform(past.size())];
          }
        }
        const double fate = prng.Unit();
        c.fate = fate < options.unknown_fraction ? (prng.Chance(0.5) ? Fate::kUnknownInfo : Fate::kUnknownNever)
                 : fate < options.unknown_fraction + options.fail_fraction && c.f != OpFunction::kCas ? Fate::kFail
                                                                                                     : Fate::kOk;
        c.id = recorder.Invoke(c.process, c.f, c.key, c.input, c.expected);
        c.phase = Phase::kInvoked;
        break;
      }
      case Phase::kInvoked: {
        // The atomic moment the operation takes effect on the real register (or is skipped: a failed read or
        // write, or an unknown outcome that never happened).
        const bool unknown = c.fate == Fate::kUnknownInfo || c.fate == Fate::kUnknownNever;
        const bool happens = c.fate == Fate::kOk || (unknown && prng.Chance(0.5));
        if (happens) {
          auto it = store.find(c.key);
          const RegisterValue current = it == store.end() ? RegisterValue() : it->second;
          switch (c.f) {
            case OpFunction::kRead:
              c.output = current;
              break;
            case OpFunction::kWrite:
              store[c.key] = c.input;
              written[c.key].push_back(c.input);
              break;
            case OpFunction::kCas:
              c.cas_held = current == c.expected;
              if (c.cas_held) {
                store[c.key] = c.input;
                written[c.key].push_back(c.input);
              }
              break;
          }
        }
        c.phase = Phase::kEffected;
        break;
      }
      case Phase::kEffected: {
        --in_flight;
        c.phase = Phase::kIdle;
        switch (c.fate) {
          case Fate::kOk:
            if (c.f == OpFunction::kCas && !c.cas_held) {
              recorder.Fail(c.id);
            } else {
              recorder.Ok(c.id, c.f == OpFunction::kRead ? c.output : RegisterValue());
            }
            break;
          case Fate::kFail:
            recorder.Fail(c.id);
            break;
          case Fate::kUnknownInfo:
            recorder.Info(c.id);
            break;
          case Fate::kUnknownNever:
            c.process = next_process++;  // the old process hangs forever; a new one takes its place
            break;
        }
        break;
      }
    }
  }
  return recorder.history();
}

}  // namespace detcd::history
