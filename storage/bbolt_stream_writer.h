// BboltStreamWriter: a bbolt database file (the format storage/bbolt_writer.h describes) written strictly in file
// order with bounded memory, for a keyspace too large to hold twice. Two passes over the same items:
//   1. layout (BboltLayout): every bucket's items, in order, as key and value *size* only. The one packing algorithm
//      (BboltNodePacker) decides where each leaf ends and how many pages it takes; the layout keeps one small record
//      per leaf (its first key, element count, page count), builds the branch levels over them and gives every page
//      its id, so the meta pages (root page, high-water mark) and every branch page are known before a byte is made.
//   2. bytes (BboltStreamWriter): the head — meta pages, every branch page of every bucket, the root bucket's pages —
//      in pieces of a bounded size, then every bucket's leaves as their items are fed again in the same order. Each
//      leaf is checked (DETCD_CHECK) to pack exactly as the layout said: the caller must feed the same items (a
//      pinned store guarantees it); anything else is a broken contract, not bad input.
// File order: pages 0-1 meta; each bucket's branch pages (bucket order, each tree top-down); the root bucket's pages
// (branches, then leaves); then every bucket's leaves (bucket order). The whole-file builder (BuildBboltFile) is
// these two passes over vectors, so both produce the same bytes.
// Pure: no IO, no clock, no threads. The writer never holds more than one leaf (a page, or one large item's pages);
// checked at every item. The layout's memory is O(leaves + branch nodes), never O(items).
#ifndef DETCD_STORAGE_BBOLT_STREAM_WRITER_H_
#define DETCD_STORAGE_BBOLT_STREAM_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "storage/bbolt_writer.h"

namespace detcd::storage {

// The packing rule for one level of a B+tree: a node takes elements while they fit in a page; a leaf takes at least
// one element and a branch at least two (so each branch level has at most half the nodes of the one below, even
// when keys are larger than a page); a node larger than a page continues on overflow pages.
class BboltNodePacker {
 public:
  static constexpr size_t kPageHeaderBytes = 16;  // id u64, flags u16, count u16, overflow u32
  static constexpr size_t kElementBytes = 16;     // leaf: flags, pos, ksize, vsize; branch: pos, ksize, pgid
  static size_t LeafElementBytes(size_t key_bytes, size_t value_bytes) {
    return kElementBytes + key_bytes + value_bytes;
  }
  static size_t BranchElementBytes(size_t key_bytes) { return kElementBytes + key_bytes; }
  static uint64_t PagesFor(size_t node_bytes) { return (node_bytes + kBboltPageBytes - 1) / kBboltPageBytes; }

  explicit BboltNodePacker(bool leaf) : elements_min_(leaf ? 1 : 2) {}
  // Adds an element of `element_bytes`; true if it begins a new node (the first element always does; the node
  // before it is then complete).
  bool Add(size_t element_bytes);
  // The node being filled: its bytes (page header included) and elements.
  size_t node_bytes() const { return node_bytes_; }
  size_t node_elements() const { return node_elements_; }

 private:
  size_t elements_min_;
  size_t node_bytes_ = kPageHeaderBytes;
  size_t node_elements_ = 0;
};

// Pass 1: the file's layout from item sizes.
class BboltLayout {
 public:
  // One node of a tree: a leaf (level 0) or a branch over nodes [child_begin, child_begin + elements) of the level
  // below. first_key: the key of its first element (what its parent's element says); empty for an empty leaf.
  struct Node {
    std::string first_key;
    size_t elements = 0;
    size_t bytes = BboltNodePacker::kPageHeaderBytes;
    uint64_t pages = 1;
    uint64_t pgid = 0;
    size_t child_begin = 0;
  };
  struct Tree {
    std::vector<std::vector<Node>> levels;  // levels[0]: the leaves; the last level holds the root alone
    uint64_t root() const { return levels.back().front().pgid; }
  };

  BboltLayout() = default;
  BboltLayout(const BboltLayout&) = delete;
  BboltLayout& operator=(const BboltLayout&) = delete;

  // Buckets in bytewise name order (unique, non-empty), each bucket's items in bytewise key order (unique,
  // non-empty, within bbolt's key and value limits). InvalidArgument otherwise (the layout is then unusable).
  absl::Status BeginBucket(absl::string_view name);
  absl::Status AddItem(absl::string_view key, size_t value_bytes);
  // Ends the last bucket, builds the branch levels and numbers every page in file order.
  absl::Status Finish();

  bool finished() const { return finished_; }
  size_t buckets() const { return names_.size(); }
  const std::string& bucket_name(size_t b) const { return names_[b]; }
  const Tree& bucket_tree(size_t b) const { return trees_[b]; }
  const Tree& root_tree() const { return root_tree_; }
  // The root bucket's items: each bucket's name and its 16-byte header {root page, sequence 0}.
  const std::vector<std::pair<std::string, std::string>>& root_items() const { return root_items_; }
  uint64_t high_water_pgid() const { return high_water_; }
  uint64_t file_bytes() const { return high_water_ * kBboltPageBytes; }
  // Pages before the first bucket leaf: meta, branches, the root bucket's.
  uint64_t head_pages() const { return head_pages_; }
  // Leaves and the items in them, over all buckets (bookkeeping the layout keeps, for callers that bound memory).
  size_t leaf_count() const;
  uint64_t items() const { return items_; }

 private:
  absl::Status Fail(std::string message);
  // Closes the open bucket's last leaf.
  void CloseBucket();

  std::vector<std::string> names_;
  std::vector<Tree> trees_;
  Tree root_tree_;
  std::vector<std::pair<std::string, std::string>> root_items_;
  BboltNodePacker packer_{true};  // the open bucket's leaves
  std::string last_key_;          // the open bucket's last key
  bool bucket_open_ = false;
  bool failed_ = false;
  bool finished_ = false;
  uint64_t items_ = 0;
  uint64_t high_water_ = 0;
  uint64_t head_pages_ = 0;
};

// Pass 2: the file's bytes in order.
class BboltStreamWriter {
 public:
  // The layout must be finished and outlive the writer.
  explicit BboltStreamWriter(const BboltLayout* layout);
  BboltStreamWriter(const BboltStreamWriter&) = delete;
  BboltStreamWriter& operator=(const BboltStreamWriter&) = delete;

  // The head, a node at a time, appended to `out` until it holds at least max_bytes; true once the head is all
  // out. Before any item.
  bool AppendHead(std::string* out, size_t max_bytes);
  // Every bucket's items again, in the layout's order: BeginBucket(b) for b = 0, 1, ... then its items. Each leaf's
  // pages are appended to `out` as the leaf completes.
  void BeginBucket(size_t bucket, std::string* out);
  void AddItem(absl::string_view key, absl::string_view value, std::string* out);
  // After the last bucket's last item: its last leaf; the file is then complete.
  void Finish(std::string* out);

  bool finished() const { return finished_; }
  uint64_t bytes_written() const { return bytes_written_; }
  // The most the writer held at once (one leaf being filled), and its bound: a page, or one element's pages.
  size_t held_bytes_max() const { return held_bytes_max_; }

 private:
  void AppendMetaPages(std::string* out) const;
  void AppendBranch(const BboltLayout::Tree& tree, size_t level, size_t index, std::string* out);
  // The root bucket's leaves, from the layout's root items.
  void AppendRootLeaf(size_t leaf, std::string* out);
  // The open leaf: begun at its layout node, filled an item at a time, appended once its last element is in.
  void OpenLeaf(const BboltLayout::Node& node);
  void PutLeafElement(uint32_t flags, absl::string_view key, absl::string_view value);
  void CloseLeaf(std::string* out);
  // Closes the bucket being fed: its last leaf (or its one empty leaf).
  void EndBucket(std::string* out);
  void Emit(const std::string& page_bytes, uint64_t pgid, std::string* out);

  const BboltLayout* layout_;
  // Head cursor: the meta pages, then (bucket, level top-down, node) over every bucket's branches, then the root
  // bucket's tree.
  bool meta_done_ = false;
  size_t head_tree_ = 0;  // 0..buckets(): a bucket's tree, then the root bucket's
  size_t head_level_ = 0;  // counted from the top
  size_t head_node_ = 0;
  bool head_done_ = false;
  // Leaves.
  size_t bucket_ = 0;
  bool bucket_begun_ = false;
  size_t leaf_ = 0;  // the bucket's next (or open) leaf
  BboltNodePacker packer_{true};
  bool leaf_open_ = false;
  size_t leaf_elements_ = 0;
  size_t leaf_element_at_ = 0;
  size_t leaf_data_at_ = 0;
  const BboltLayout::Node* leaf_node_ = nullptr;
  std::string leaf_bytes_;  // the open leaf's pages
  uint64_t next_pgid_ = 0;  // the page the next bytes out are
  uint64_t bytes_written_ = 0;
  size_t held_bytes_max_ = 0;
  bool finished_ = false;
};

}  // namespace detcd::storage

#endif  // DETCD_STORAGE_BBOLT_STREAM_WRITER_H_
