#include "storage/bbolt_writer.h"

#include <array>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "base/check.h"

namespace detcd::storage {

namespace {

constexpr size_t kPageBytes = kBboltPageBytes;
constexpr size_t kPageHeaderBytes = 16;  // id u64, flags u16, count u16, overflow u32
constexpr size_t kElementBytes = 16;     // leaf: flags, pos, ksize, vsize (u32 each); branch: pos, ksize u32, pgid u64
constexpr size_t kMetaChecksumOffset = 56;
constexpr size_t kBucketHeaderBytes = 16;  // root pgid u64, sequence u64
constexpr size_t kBranchElementsMin = 2;

void PutLe(std::string* out, size_t at, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) (*out)[at + static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// One element of a node: a leaf's key/value (flags: kBboltBucketLeafFlag for a bucket), or a branch's child with
// the first key under it.
struct Element {
  uint32_t flags = 0;
  absl::string_view key;
  absl::string_view value;
  uint64_t child = 0;
};

size_t ElementBytes(bool leaf, const Element& e) { return kElementBytes + e.key.size() + (leaf ? e.value.size() : 0); }

// Appends nodes as pages, in page-id order, after the two meta pages.
class PageWriter {
 public:
  PageWriter() : out_(2 * kPageBytes, '\0') {}

  // Writes a B+tree over `elements` (a leaf level, sorted) bottom-up and returns its root page. A node takes
  // elements while they fit in a page; a branch takes at least two (so each branch level has at most half the nodes
  // of the one below, even when keys are larger than a page); a node larger than a page continues on overflow pages.
  uint64_t WriteTree(std::vector<Element> elements) {
    bool leaf = true;
    std::vector<Element> level = std::move(elements);
    for (;;) {
      std::vector<Element> parents;
      size_t begin = 0;
      size_t bytes = kPageHeaderBytes;
      for (size_t i = 0; i < level.size(); ++i) {
        const size_t add = ElementBytes(leaf, level[i]);
        if (i - begin >= (leaf ? 1 : kBranchElementsMin) && bytes + add > kPageBytes) {
          parents.push_back(
              Element{0, level[begin].key, {}, WriteNode(leaf, absl::MakeConstSpan(level).subspan(begin, i - begin))});
          begin = i;
          bytes = kPageHeaderBytes;
        }
        bytes += add;
      }
      // The last node; an empty bucket is one empty leaf.
      parents.push_back(Element{0,
                                level.empty() ? absl::string_view() : level[begin].key,
                                {},
                                WriteNode(leaf, absl::MakeConstSpan(level).subspan(begin, level.size() - begin))});
      if (parents.size() == 1) return parents[0].child;
      level = std::move(parents);
      leaf = false;
    }
  }

  // The file: both meta pages filled in, pointing at `root` (the root bucket's root page).
  std::string Finish(uint64_t root) && {
    const uint64_t high_water = out_.size() / kPageBytes;
    for (uint64_t txid = 0; txid < 2; ++txid) {
      const size_t at = txid * kPageBytes;  // meta page id = txid % 2, as bbolt writes them
      PutLe(&out_, at, txid, 8);
      PutLe(&out_, at + 8, kBboltMetaPage, 2);
      const size_t m = at + kPageHeaderBytes;
      PutLe(&out_, m, kBboltMagic, 4);
      PutLe(&out_, m + 4, kBboltVersion, 4);
      PutLe(&out_, m + 8, kPageBytes, 4);
      PutLe(&out_, m + 12, 0, 4);  // flags
      PutLe(&out_, m + 16, root, 8);
      PutLe(&out_, m + 24, 0, 8);  // the root bucket's sequence
      PutLe(&out_, m + 32, kBboltNoFreelist, 8);
      PutLe(&out_, m + 40, high_water, 8);
      PutLe(&out_, m + 48, txid, 8);
      PutLe(&out_, m + kMetaChecksumOffset, BboltMetaChecksum(out_.data() + m, kMetaChecksumOffset), 8);
    }
    return std::move(out_);
  }

 private:
  uint64_t WriteNode(bool leaf, absl::Span<const Element> elements) {
    size_t bytes = kPageHeaderBytes;
    for (const Element& e : elements) bytes += ElementBytes(leaf, e);
    // By construction: at most a page of 16-byte elements, one leaf element, or two branch elements (within bbolt's
    // key and value limits).
    DETCD_CHECK(elements.size() <= 0xffff && bytes <= 0xffffffffu);
    const size_t pages = (bytes + kPageBytes - 1) / kPageBytes;
    const uint64_t pgid = out_.size() / kPageBytes;
    const size_t base = out_.size();
    out_.resize(base + pages * kPageBytes, '\0');
    PutLe(&out_, base, pgid, 8);
    PutLe(&out_, base + 8, leaf ? kBboltLeafPage : kBboltBranchPage, 2);
    PutLe(&out_, base + 10, elements.size(), 2);
    PutLe(&out_, base + 12, pages - 1, 4);  // overflow pages
    size_t element_at = base + kPageHeaderBytes;
    size_t data_at = element_at + elements.size() * kElementBytes;
    for (const Element& e : elements) {
      // pos: from the element to its key, as bbolt's node.write lays them out (keys and values after all elements).
      const uint64_t pos = data_at - element_at;
      if (leaf) {
        PutLe(&out_, element_at, e.flags, 4);
        PutLe(&out_, element_at + 4, pos, 4);
        PutLe(&out_, element_at + 8, e.key.size(), 4);
        PutLe(&out_, element_at + 12, e.value.size(), 4);
      } else {
        PutLe(&out_, element_at, pos, 4);
        PutLe(&out_, element_at + 4, e.key.size(), 4);
        PutLe(&out_, element_at + 8, e.child, 8);
      }
      std::memcpy(&out_[data_at], e.key.data(), e.key.size());
      data_at += e.key.size();
      if (leaf) {
        if (!e.value.empty()) std::memcpy(&out_[data_at], e.value.data(), e.value.size());
        data_at += e.value.size();
      }
      element_at += kElementBytes;
    }
    return pgid;
  }

  std::string out_;
};

absl::Status CheckKey(absl::string_view what, absl::string_view key, absl::string_view previous, bool first) {
  if (key.empty()) return absl::InvalidArgumentError(absl::StrCat("bbolt: ", what, ": empty key"));
  if (key.size() > kBboltKeyBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("bbolt: ", what, ": key of ", key.size(), " bytes is too long"));
  }
  if (!first && !(previous < key)) {
    return absl::InvalidArgumentError(absl::StrCat("bbolt: ", what, ": keys not sorted or not unique"));
  }
  return absl::OkStatus();
}

}  // namespace

uint64_t BboltMetaChecksum(const char* meta, size_t bytes) {
  uint64_t h = 14695981039346656037ull;  // FNV-64a offset basis
  for (size_t i = 0; i < bytes; ++i) {
    h ^= static_cast<unsigned char>(meta[i]);
    h *= 1099511628211ull;  // FNV-64 prime
  }
  return h;
}

absl::StatusOr<std::string> BuildBboltFile(const std::vector<BboltBucket>& buckets) {
  for (size_t b = 0; b < buckets.size(); ++b) {
    const BboltBucket& bucket = buckets[b];
    if (absl::Status s = CheckKey("bucket names", bucket.name, b > 0 ? buckets[b - 1].name : "", b == 0); !s.ok()) {
      return s;
    }
    for (size_t i = 0; i < bucket.items.size(); ++i) {
      const auto& [key, value] = bucket.items[i];
      const absl::string_view previous = i > 0 ? absl::string_view(bucket.items[i - 1].first) : "";
      if (absl::Status s = CheckKey(absl::StrCat("bucket ", bucket.name), key, previous, i == 0); !s.ok()) return s;
      if (value.size() > kBboltValueBytesMax) {
        return absl::InvalidArgumentError(
            absl::StrCat("bbolt: bucket ", bucket.name, ": value of ", value.size(), " bytes is too long"));
      }
    }
  }

  PageWriter pages;
  // Each bucket's tree, then the root bucket's, whose leaf elements are the buckets: flag 0x01, value = the bucket
  // header {root page, sequence 0}.
  std::vector<std::array<char, kBucketHeaderBytes>> headers(buckets.size());
  std::vector<Element> root_elements;
  root_elements.reserve(buckets.size());
  for (size_t b = 0; b < buckets.size(); ++b) {
    std::vector<Element> elements;
    elements.reserve(buckets[b].items.size());
    for (const auto& [key, value] : buckets[b].items) elements.push_back(Element{0, key, value, 0});
    const uint64_t root = pages.WriteTree(std::move(elements));
    for (int i = 0; i < 8; ++i) headers[b][static_cast<size_t>(i)] = static_cast<char>((root >> (8 * i)) & 0xff);
    for (size_t i = 8; i < kBucketHeaderBytes; ++i) headers[b][i] = '\0';
    root_elements.push_back(
        Element{kBboltBucketLeafFlag, buckets[b].name, absl::string_view(headers[b].data(), kBucketHeaderBytes), 0});
  }
  const uint64_t root = pages.WriteTree(std::move(root_elements));
  return std::move(pages).Finish(root);
}

}  // namespace detcd::storage
