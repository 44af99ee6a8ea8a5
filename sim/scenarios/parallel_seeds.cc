#include "sim/scenarios/parallel_seeds.h"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/little_endian.h"

namespace detcd::sim {
namespace {

// Frames on a worker's socket: parent -> worker, 8 bytes of seed (little-endian); worker -> parent, 4 bytes of
// length then an EncodeSeedRun record. The parent closing its end tells the worker to exit.
constexpr size_t kSeedBytes = 8;
constexpr size_t kLengthBytes = 4;

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = send(fd, data, size, MSG_NOSIGNAL);  // a dead peer is an error, not SIGPIPE
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// false at end of file (the parent is done) or on an error.
bool ReadAll(int fd, char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = read(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// The worker's whole life: seeds in, results out, until the parent closes the socket. Never returns.
[[noreturn]] void WorkerMain(int fd, const std::function<SeedRun(uint64_t)>& run_seed) {
  for (;;) {
    char seed_bytes[kSeedBytes];
    if (!ReadAll(fd, seed_bytes, kSeedBytes)) _exit(0);
    const uint64_t seed = LoadLittleEndian(seed_bytes, static_cast<int>(kSeedBytes));
    const std::string record = EncodeSeedRun(run_seed(seed));
    DETCD_CHECK(record.size() < (uint64_t{1} << 32));
    std::string frame;
    AppendLittleEndian(&frame, record.size(), static_cast<int>(kLengthBytes));
    frame += record;
    // _exit, not exit: the worker shares the parent's stdio buffers and static objects, which are the parent's.
    if (!WriteAll(fd, frame.data(), frame.size())) _exit(1);
  }
}

std::string HowItEnded(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return absl::StrCat("was killed by signal ", sig, " (", strsignal(sig), ")");
  }
  if (WIFEXITED(status)) return absl::StrCat("exited with status ", WEXITSTATUS(status));
  return "ended";  // waitpid reports only exits and signals for a process it was not asked to trace
}

SeedRun WorkerDied(uint64_t seed, const std::string& how) {
  SeedRun run;
  run.seed = seed;
  run.result.outcome = Outcome::kSafety;
  run.result.checker = kWorkerDiedChecker;
  run.result.detail =
      absl::StrCat("the worker process running this seed ", how, "; run the seed alone (--seed) to see why");
  return run;
}

struct Worker {
  pid_t pid = -1;
  int fd = -1;                   // the parent's end of the socket; -1 once closed
  std::optional<uint64_t> seed;  // the seed it is running, if any
  std::string buffer;            // bytes read but not yet a whole frame
};

class Pool {
 public:
  Pool(uint64_t first, uint64_t last, const std::function<SeedRun(uint64_t)>& run_seed,
       const std::function<void(const SeedRun&)>& done)
      : next_(first), last_(last), run_seed_(run_seed), done_(done) {}

  ~Pool() {
    for (Worker& w : workers_) Retire(w);
  }

  absl::Status Run(int jobs) {
    const uint64_t count = last_ - next_ + 1;  // 0 when the range is all 2^64 seeds: more than enough workers
    const int processes = count != 0 && count < static_cast<uint64_t>(jobs) ? static_cast<int>(count) : jobs;
    workers_.resize(static_cast<size_t>(processes));
    for (Worker& w : workers_) {
      if (absl::Status s = Start(w); !s.ok()) return s;
      Assign(w);
    }
    while (Busy()) {
      std::vector<pollfd> fds;
      std::vector<Worker*> owners;
      for (Worker& w : workers_) {
        if (w.fd < 0 || !w.seed) continue;
        fds.push_back(pollfd{w.fd, POLLIN, 0});
        owners.push_back(&w);
      }
      const int n = poll(fds.data(), fds.size(), -1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return absl::InternalError(absl::StrCat("poll: ", std::strerror(errno)));
      for (size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        if (absl::Status s = Drain(*owners[i]); !s.ok()) return s;
      }
    }
    return absl::OkStatus();
  }

 private:
  bool Busy() const {
    for (const Worker& w : workers_) {
      if (w.seed) return true;
    }
    return false;
  }

  absl::Status Start(Worker& w) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
      return absl::InternalError(absl::StrCat("socketpair: ", std::strerror(errno)));
    }
    std::fflush(nullptr);  // nothing buffered may be written twice
    const pid_t pid = fork();
    if (pid < 0) {
      close(sv[0]);
      close(sv[1]);
      return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
    }
    if (pid == 0) {
      // Close the parent's ends of the other workers' sockets, or those workers would never see end of file.
      for (const Worker& other : workers_) {
        if (other.fd >= 0) close(other.fd);
      }
      close(sv[0]);
      WorkerMain(sv[1], run_seed_);
    }
    close(sv[1]);
    w = Worker{};
    w.pid = pid;
    w.fd = sv[0];
    return absl::OkStatus();
  }

  // Gives the worker the next seed, or tells it to exit when none is left.
  void Assign(Worker& w) {
    DETCD_CHECK(!w.seed);
    if (exhausted_) {
      Retire(w);
      return;
    }
    const uint64_t seed = next_;
    if (next_ == last_) {
      exhausted_ = true;  // written this way so that last == UINT64_MAX terminates
    } else {
      ++next_;
    }
    char bytes[kSeedBytes];
    StoreLittleEndian(bytes, seed, static_cast<int>(kSeedBytes));
    w.seed = seed;
    // A failed write means the worker is gone; reading its socket then finds end of file and reports the seed.
    (void)WriteAll(w.fd, bytes, kSeedBytes);
  }

  // Reads what the worker sent; reports whole results; on end of file, the worker has died holding its seed.
  absl::Status Drain(Worker& w) {
    char chunk[65536];
    ssize_t n = read(w.fd, chunk, sizeof chunk);
    while (n < 0 && errno == EINTR) n = read(w.fd, chunk, sizeof chunk);
    if (n <= 0) return Died(w);
    w.buffer.append(chunk, static_cast<size_t>(n));
    while (w.buffer.size() >= kLengthBytes) {
      const uint64_t length = LoadLittleEndian(w.buffer.data(), static_cast<int>(kLengthBytes));
      if (w.buffer.size() < kLengthBytes + length) break;
      absl::StatusOr<SeedRun> run = DecodeSeedRun(absl::string_view(w.buffer).substr(kLengthBytes, length));
      w.buffer.erase(0, kLengthBytes + length);
      if (!run.ok()) return run.status();
      if (!w.seed || run->seed != *w.seed) {
        return absl::DataLossError(absl::StrCat("a worker sent the result of seed ", run->seed, " it was not running"));
      }
      w.seed.reset();
      done_(*run);
      Assign(w);
    }
    return absl::OkStatus();
  }

  absl::Status Died(Worker& w) {
    const uint64_t seed = *w.seed;
    w.seed.reset();
    const int status = Retire(w);
    done_(WorkerDied(seed, HowItEnded(status)));
    if (exhausted_) return absl::OkStatus();
    if (absl::Status s = Start(w); !s.ok()) return s;
    Assign(w);
    return absl::OkStatus();
  }

  // Closes the socket (the worker exits when it reads end of file) and reaps the process; its wait status.
  int Retire(Worker& w) {
    if (w.fd >= 0) close(w.fd);
    w.fd = -1;
    int status = 0;
    if (w.pid > 0) {
      while (waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
    w.pid = -1;
    return status;
  }

  uint64_t next_;
  const uint64_t last_;
  bool exhausted_ = false;
  const std::function<SeedRun(uint64_t)>& run_seed_;
  const std::function<void(const SeedRun&)>& done_;
  std::vector<Worker> workers_;
};

}  // namespace

absl::Status RunSeedsInWorkers(uint64_t first, uint64_t last, int jobs,
                               const std::function<SeedRun(uint64_t)>& run_seed,
                               const std::function<void(const SeedRun&)>& done) {
  if (jobs < 1) return absl::InvalidArgumentError(absl::StrCat("jobs must be at least 1, not ", jobs));
  if (first > last) return absl::InvalidArgumentError(absl::StrCat("empty seed range ", first, "..", last));
  if (jobs == 1) {
    for (uint64_t seed = first;; ++seed) {
      done(run_seed(seed));
      if (seed == last) break;
    }
    return absl::OkStatus();
  }
  return Pool(first, last, run_seed, done).Run(jobs);
}

}  // namespace detcd::sim
