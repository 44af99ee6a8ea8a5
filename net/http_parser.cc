// HttpParser: see http_parser.h. The buffer holds only what is not parsed yet (at most a partial head, a partial
// chunk-size or trailer line); body bytes move into the request as they arrive.
#include "net/http_parser.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace detcd::net {

namespace {

constexpr size_t kChunkLineBytesMax = 4096;  // a chunk-size line with its extensions

// RFC 9110 §5.6.2 tchar.
bool IsTokenChar(unsigned char c) {
  return absl::ascii_isalnum(c) || (c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);
}

bool IsToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return IsTokenChar(c); });
}

// field-value characters: visible ASCII, space, tab, obs-text.
bool IsFieldValue(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char ch) {
    const unsigned char c = ch;
    return c == '\t' || (c >= 0x20 && c != 0x7f);
  });
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (absl::ascii_tolower(a[i]) != absl::ascii_tolower(b[i])) return false;
  }
  return true;
}

// The comma-separated elements of every header `name`, trimmed, empty elements dropped (RFC 9110 §5.6.1).
std::vector<std::string> ListHeader(const HttpRequest& r, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [n, v] : r.headers) {
    if (!EqualsIgnoreCase(n, name)) continue;
    std::string_view rest = v;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string_view e = TrimOws(rest.substr(0, comma));
      if (!e.empty()) out.emplace_back(e);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return out;
}

bool HasHeader(const HttpRequest& r, std::string_view name) { return r.Header(name) != nullptr; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

const std::string* HttpRequest::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (EqualsIgnoreCase(n, name)) return &v;
  }
  return nullptr;
}

HttpParser::HttpParser(HttpParserLimits limits) : limits_(limits) {}

void HttpParser::Feed(std::string_view bytes) {
  if (state_ == State::kError || state_ == State::kDone) return;
  buf_.append(bytes.data(), bytes.size());
  Parse();
  // Drop what is parsed, so the buffer never holds more than one partial head or line.
  if (pos_ > 0) {
    buf_.erase(0, pos_);
    scan_ -= std::min(scan_, pos_);
    pos_ = 0;
  }
}

std::optional<HttpRequest> HttpParser::Next() {
  if (ready_.empty()) return std::nullopt;
  HttpRequest r = std::move(ready_.front());
  ready_.pop_front();
  return r;
}

bool HttpParser::TakeContinueExpected() {
  const bool in_body = state_ == State::kBody || state_ == State::kChunkSize || state_ == State::kChunkData ||
                       state_ == State::kChunkDataEnd;
  if (!continue_pending_ || !in_body) return false;
  continue_pending_ = false;
  return true;
}

bool HttpParser::idle() const { return state_ == State::kDone || (state_ == State::kHead && pos_ == buf_.size()); }

void HttpParser::Parse() {
  for (;;) {
    bool more = false;
    switch (state_) {
      case State::kHead:
        more = ParseHead();
        break;
      case State::kBody:
        more = ParseBody();
        break;
      case State::kChunkSize:
        more = ParseChunkSize();
        break;
      case State::kChunkData:
        more = ParseChunkData();
        break;
      case State::kChunkDataEnd:
        more = ParseChunkDataEnd();
        break;
      case State::kTrailer:
        more = ParseTrailer();
        break;
      case State::kDone:
      case State::kError:
        return;
    }
    if (!more) return;
  }
}

bool HttpParser::Fail(int status, std::string message) {
  state_ = State::kError;
  error_status_ = status;
  error_ = std::move(message);
  buf_.clear();
  pos_ = scan_ = 0;
  current_ = HttpRequest{};
  return false;
}

void HttpParser::Complete() {
  const bool keep_alive = current_.keep_alive;
  ready_.push_back(std::move(current_));
  current_ = HttpRequest{};
  continue_pending_ = false;
  remaining_ = 0;
  state_ = keep_alive ? State::kHead : State::kDone;
}

size_t HttpParser::LineEnd(size_t from) const {
  const size_t nl = buf_.find('\n', from);
  return nl == std::string::npos ? nl : nl + 1;
}

bool HttpParser::ParseHead() {
  // Empty lines before a request line are ignored (RFC 9112 §2.2).
  while (pos_ < buf_.size()) {
    if (buf_[pos_] == '\n') {
      ++pos_;
    } else if (buf_[pos_] == '\r') {
      if (pos_ + 1 >= buf_.size()) return false;
      if (buf_[pos_ + 1] != '\n') return Fail(400, "bare CR in request head");
      pos_ += 2;
    } else {
      break;
    }
  }
  if (pos_ >= buf_.size()) return false;
  scan_ = std::max(scan_, pos_);

  // The head ends at the first empty line (CRLF CRLF, or bare LFs, which RFC 9112 §2.2 lets a recipient accept).
  size_t end = std::string::npos;
  size_t i = scan_;
  for (; i < buf_.size(); ++i) {
    if (buf_[i] != '\n') continue;
    if (i + 1 >= buf_.size()) break;
    if (buf_[i + 1] == '\n') {
      end = i + 2;
      break;
    }
    if (buf_[i + 1] == '\r') {
      if (i + 2 >= buf_.size()) break;
      if (buf_[i + 2] == '\n') {
        end = i + 3;
        break;
      }
    }
  }
  scan_ = i;
  if (end == std::string::npos) {
    if (buf_.size() - pos_ > limits_.header_bytes_max) return Fail(431, "request header fields too large");
    return false;
  }
  if (end - pos_ > limits_.header_bytes_max) return Fail(431, "request header fields too large");

  // Lines without their line endings; the last one (the empty line) is dropped.
  std::vector<std::string_view> lines;
  const std::string_view head(buf_.data() + pos_, end - pos_);
  size_t start = 0;
  while (start < head.size()) {
    const size_t nl = head.find('\n', start);
    DETCD_CHECK(nl != std::string_view::npos);  // the head ends with a line ending
    std::string_view line = head.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\r') != std::string_view::npos) return Fail(400, "bare CR in request head");
    lines.push_back(line);
    start = nl + 1;
  }
  DETCD_CHECK(!lines.empty() && lines.back().empty());
  lines.pop_back();
  DETCD_CHECK(!lines.empty() && !lines.front().empty());  // leading empty lines were skipped

  HttpRequest& r = current_;
  // request-line = method SP request-target SP HTTP-version
  const std::string_view line = lines.front();
  const size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return Fail(400, "malformed request line");
  const size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return Fail(400, "malformed request line");
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method)) return Fail(400, "malformed method");
  for (const char ch : target) {
    const unsigned char c = ch;
    if (c <= 0x20 || c == 0x7f) return Fail(400, "malformed request target");
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !absl::ascii_isdigit(version[5]) || version[6] != '.' ||
      !absl::ascii_isdigit(version[7])) {
    return Fail(400, "malformed HTTP version");
  }
  if (version[5] != '1') return Fail(505, "HTTP version not supported");
  r.method = std::string(method);
  r.target = std::string(target);
  r.version_minor = version[7] - '0';

  // origin-form "/path?query", absolute-form "http://host/path?query", asterisk-form "*" (OPTIONS only).
  std::string_view path_and_query;
  if (target.front() == '/') {
    path_and_query = target;
  } else if (target == "*" && method == "OPTIONS") {
    path_and_query = "*";
  } else if (const size_t scheme_end = target.find("://"); scheme_end != std::string_view::npos && scheme_end > 0) {
    const size_t slash = target.find('/', scheme_end + 3);
    path_and_query = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  } else {
    return Fail(400, "malformed request target");
  }
  path_and_query = path_and_query.substr(0, path_and_query.find('#'));
  const size_t q = path_and_query.find('?');
  r.path = std::string(path_and_query.substr(0, q));
  if (q != std::string_view::npos) r.query = std::string(path_and_query.substr(q + 1));

  for (size_t k = 1; k < lines.size(); ++k) {
    const std::string_view field = lines[k];
    if (field.front() == ' ' || field.front() == '\t') return Fail(400, "obsolete header line folding");
    const size_t colon = field.find(':');
    if (colon == std::string_view::npos) return Fail(400, "malformed header field");
    const std::string_view name = field.substr(0, colon);
    const std::string_view value = TrimOws(field.substr(colon + 1));
    if (!IsToken(name)) return Fail(400, "malformed header field name");
    if (!IsFieldValue(value)) return Fail(400, "malformed header field value");
    r.headers.emplace_back(std::string(name), std::string(value));
  }

  // Connection persistence (RFC 9112 §9.3).
  bool close = false, keep_alive = false;
  for (const std::string& option : ListHeader(r, "Connection")) {
    if (EqualsIgnoreCase(option, "close")) close = true;
    if (EqualsIgnoreCase(option, "keep-alive")) keep_alive = true;
  }
  r.keep_alive = !close && (r.version_minor >= 1 || keep_alive);

  // Message body length (RFC 9112 §6.3).
  const bool has_te = HasHeader(r, "Transfer-Encoding");
  const bool has_cl = HasHeader(r, "Content-Length");
  if (has_te && has_cl) return Fail(400, "both Transfer-Encoding and Content-Length");
  pos_ = scan_ = end;
  if (has_te) {
    if (r.version_minor == 0) return Fail(400, "Transfer-Encoding in an HTTP/1.0 request");
    const std::vector<std::string> codings = ListHeader(r, "Transfer-Encoding");
    if (codings.empty() || !EqualsIgnoreCase(codings.back(), "chunked")) {
      return Fail(400, "Transfer-Encoding does not end with chunked");
    }
    if (codings.size() > 1) {
      return Fail(501, absl::StrCat("transfer coding not implemented: ", codings.front()));
    }
    state_ = State::kChunkSize;
  } else if (has_cl) {
    const std::vector<std::string> lengths = ListHeader(r, "Content-Length");
    if (lengths.empty()) return Fail(400, "malformed Content-Length");
    for (const std::string& l : lengths) {
      if (l != lengths.front()) return Fail(400, "conflicting Content-Length values");
    }
    const std::string& digits = lengths.front();
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return absl::ascii_isdigit(c); })) {
      return Fail(400, "malformed Content-Length");
    }
    const size_t significant = digits.size() - std::min(digits.size(), digits.find_first_not_of('0'));
    if (significant > 18) return Fail(413, "request body too large");
    uint64_t length = 0;
    for (const char c : digits) length = length * 10 + static_cast<uint64_t>(c - '0');
    if (length > limits_.body_bytes_max) return Fail(413, "request body too large");
    remaining_ = length;
    state_ = State::kBody;
  } else {
    remaining_ = 0;
    state_ = State::kBody;
  }
  if (const std::string* expect = r.Header("Expect")) {
    continue_pending_ = EqualsIgnoreCase(*expect, "100-continue");
  }
  if (state_ == State::kBody && remaining_ == 0) Complete();
  return true;
}

bool HttpParser::ParseBody() {
  const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, buf_.size() - pos_));
  current_.body.append(buf_, pos_, n);
  pos_ += n;
  remaining_ -= n;
  if (remaining_ > 0) return false;
  Complete();
  return true;
}

bool HttpParser::ParseChunkSize() {
  const size_t end = LineEnd(pos_);
  if (end == std::string::npos) {
    if (buf_.size() - pos_ > kChunkLineBytesMax) return Fail(400, "chunk size line too long");
    return false;
  }
  if (end - pos_ > kChunkLineBytesMax) return Fail(400, "chunk size line too long");
  std::string_view line(buf_.data() + pos_, end - pos_ - 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  // chunk-size [ chunk-ext ]: 1*HEXDIG, then BWS ";" extensions, which are ignored.
  size_t digits = 0;
  uint64_t size = 0;
  while (digits < line.size() && HexValue(line[digits]) >= 0) {
    if (size >> 60 != 0) return Fail(413, "request body too large");
    size = size * 16 + static_cast<uint64_t>(HexValue(line[digits]));
    ++digits;
  }
  if (digits == 0) return Fail(400, "malformed chunk size");
  const std::string_view ext = TrimOws(line.substr(digits));
  if (!ext.empty() && (ext.front() != ';' || !IsFieldValue(ext))) return Fail(400, "malformed chunk extension");
  if (size > limits_.body_bytes_max - current_.body.size()) return Fail(413, "request body too large");
  pos_ = end;
  if (size == 0) {
    trailer_bytes_ = 0;
    state_ = State::kTrailer;
  } else {
    remaining_ = size;
    state_ = State::kChunkData;
  }
  return true;
}

bool HttpParser::ParseChunkData() {
  const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, buf_.size() - pos_));
  current_.body.append(buf_, pos_, n);
  pos_ += n;
  remaining_ -= n;
  if (remaining_ > 0) return false;
  state_ = State::kChunkDataEnd;
  return true;
}

bool HttpParser::ParseChunkDataEnd() {
  if (pos_ >= buf_.size()) return false;
  if (buf_[pos_] == '\n') {
    pos_ += 1;
  } else if (buf_[pos_] == '\r') {
    if (pos_ + 1 >= buf_.size()) return false;
    if (buf_[pos_ + 1] != '\n') return Fail(400, "chunk data not followed by CRLF");
    pos_ += 2;
  } else {
    return Fail(400, "chunk data not followed by CRLF");
  }
  state_ = State::kChunkSize;
  return true;
}

bool HttpParser::ParseTrailer() {
  const size_t end = LineEnd(pos_);
  if (end == std::string::npos) {
    if (trailer_bytes_ + (buf_.size() - pos_) > limits_.header_bytes_max) {
      return Fail(431, "request trailer fields too large");
    }
    return false;
  }
  trailer_bytes_ += end - pos_;
  if (trailer_bytes_ > limits_.header_bytes_max) return Fail(431, "request trailer fields too large");
  std::string_view line(buf_.data() + pos_, end - pos_ - 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  pos_ = end;
  if (line.empty()) {
    Complete();
    return true;
  }
  // Trailer fields are checked and dropped: nothing here needs them.
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || !IsToken(line.substr(0, colon)) || !IsFieldValue(line.substr(colon + 1))) {
    return Fail(400, "malformed trailer field");
  }
  return true;
}

}  // namespace detcd::net
