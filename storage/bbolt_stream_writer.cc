#include "storage/bbolt_stream_writer.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/little_endian.h"

namespace detcd::storage {

namespace {

constexpr size_t kPageBytes = kBboltPageBytes;
constexpr size_t kMetaChecksumOffset = 56;
constexpr size_t kBucketHeaderBytes = 16;  // root pgid u64, sequence u64

void PutLe(std::string* out, size_t at, uint64_t v, int bytes) {
  DETCD_CHECK(at + static_cast<size_t>(bytes) <= out->size());
  StoreLittleEndian(out->data() + at, v, bytes);
}

// A node's page header: id, flags, element count, overflow pages.
void PutPageHeader(std::string* page, uint64_t pgid, uint16_t flags, size_t elements, uint64_t pages) {
  DETCD_CHECK_MSG(elements <= 0xffff && pages >= 1 && pages - 1 <= 0xffffffffu, "a node bbolt cannot describe");
  PutLe(page, 0, pgid, 8);
  PutLe(page, 8, flags, 2);
  PutLe(page, 10, elements, 2);
  PutLe(page, 12, pages - 1, 4);
}

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

// Packs a tree's levels above its leaves until one node is left (the root).
void BuildBranches(BboltLayout::Tree* tree) {
  DETCD_CHECK(tree->levels.size() == 1 && !tree->levels[0].empty());
  while (tree->levels.back().size() > 1) {
    const std::vector<BboltLayout::Node>& below = tree->levels.back();
    std::vector<BboltLayout::Node> up;
    BboltNodePacker packer(/*leaf=*/false);
    for (size_t i = 0; i < below.size(); ++i) {
      if (packer.Add(BboltNodePacker::BranchElementBytes(below[i].first_key.size()))) {
        BboltLayout::Node n;
        n.first_key = below[i].first_key;
        n.child_begin = i;
        up.push_back(std::move(n));
      }
      up.back().elements = packer.node_elements();
      up.back().bytes = packer.node_bytes();
      up.back().pages = BboltNodePacker::PagesFor(packer.node_bytes());
    }
    // A branch takes two elements at least: each level has at most half the nodes of the one below.
    DETCD_CHECK(up.size() <= (below.size() + 1) / 2);
    tree->levels.push_back(std::move(up));
  }
}

// Numbers a tree's levels [bottom, end) top-down, from *next.
void NumberLevels(BboltLayout::Tree* tree, size_t bottom, size_t end, uint64_t* next) {
  DETCD_CHECK(end <= tree->levels.size());
  for (size_t level = end; level-- > bottom;) {
    for (BboltLayout::Node& n : tree->levels[level]) {
      n.pgid = *next;
      *next += n.pages;
    }
  }
}

}  // namespace

bool BboltNodePacker::Add(size_t element_bytes) {
  const bool begins = node_elements_ == 0 || (node_elements_ >= elements_min_ && node_bytes_ + element_bytes > kPageBytes);
  if (begins) {
    node_bytes_ = kPageHeaderBytes;
    node_elements_ = 0;
  }
  node_bytes_ += element_bytes;
  ++node_elements_;
  return begins;
}

// ---- BboltLayout ----

absl::Status BboltLayout::Fail(std::string message) {
  failed_ = true;
  return absl::InvalidArgumentError(std::move(message));
}

absl::Status BboltLayout::BeginBucket(absl::string_view name) {
  DETCD_CHECK_MSG(!finished_, "a bucket added to a finished layout");
  if (failed_) return absl::InvalidArgumentError("bbolt: the layout already refused its input");
  if (absl::Status s = CheckKey("bucket names", name, names_.empty() ? "" : names_.back(), names_.empty());
      !s.ok()) {
    failed_ = true;
    return s;
  }
  if (bucket_open_) CloseBucket();
  names_.emplace_back(name.data(), name.size());
  trees_.emplace_back().levels.emplace_back();
  packer_ = BboltNodePacker(/*leaf=*/true);
  last_key_.clear();
  bucket_open_ = true;
  return absl::OkStatus();
}

absl::Status BboltLayout::AddItem(absl::string_view key, size_t value_bytes) {
  DETCD_CHECK_MSG(!finished_ && bucket_open_, "an item outside a bucket");
  if (failed_) return absl::InvalidArgumentError("bbolt: the layout already refused its input");
  std::vector<Node>& leaves = trees_.back().levels[0];
  const absl::string_view what = names_.back();
  if (absl::Status s = CheckKey(absl::StrCat("bucket ", what), key, last_key_, leaves.empty()); !s.ok()) {
    failed_ = true;
    return s;
  }
  if (value_bytes > kBboltValueBytesMax) {
    return Fail(absl::StrCat("bbolt: bucket ", what, ": value of ", value_bytes, " bytes is too long"));
  }
  if (packer_.Add(BboltNodePacker::LeafElementBytes(key.size(), value_bytes))) {
    Node n;
    n.first_key.assign(key.data(), key.size());
    leaves.push_back(std::move(n));
  }
  Node& leaf = leaves.back();
  leaf.elements = packer_.node_elements();
  leaf.bytes = packer_.node_bytes();
  leaf.pages = BboltNodePacker::PagesFor(leaf.bytes);
  last_key_.assign(key.data(), key.size());
  ++items_;
  return absl::OkStatus();
}

void BboltLayout::CloseBucket() {
  DETCD_CHECK(bucket_open_);
  std::vector<Node>& leaves = trees_.back().levels[0];
  if (leaves.empty()) leaves.emplace_back();  // an empty bucket is one empty leaf
  bucket_open_ = false;
}

absl::Status BboltLayout::Finish() {
  DETCD_CHECK_MSG(!finished_, "a layout finished twice");
  if (failed_) return absl::InvalidArgumentError("bbolt: the layout already refused its input");
  if (bucket_open_) CloseBucket();
  for (Tree& t : trees_) BuildBranches(&t);
  // The root bucket: an element per bucket, its value the bucket's header (16 bytes, filled once numbered).
  root_tree_.levels.emplace_back();
  BboltNodePacker packer(/*leaf=*/true);
  for (const std::string& name : names_) {
    root_items_.emplace_back(name, std::string(kBucketHeaderBytes, '\0'));
    if (packer.Add(BboltNodePacker::LeafElementBytes(name.size(), kBucketHeaderBytes))) {
      Node n;
      n.first_key = name;
      root_tree_.levels[0].push_back(std::move(n));
    }
    Node& leaf = root_tree_.levels[0].back();
    leaf.elements = packer.node_elements();
    leaf.bytes = packer.node_bytes();
    leaf.pages = BboltNodePacker::PagesFor(leaf.bytes);
  }
  if (root_tree_.levels[0].empty()) root_tree_.levels[0].emplace_back();
  BuildBranches(&root_tree_);
  // File order: meta, every bucket's branches, the root bucket's pages, every bucket's leaves.
  uint64_t next = 2;
  for (Tree& t : trees_) NumberLevels(&t, 1, t.levels.size(), &next);
  NumberLevels(&root_tree_, 0, root_tree_.levels.size(), &next);
  head_pages_ = next;
  for (Tree& t : trees_) NumberLevels(&t, 0, 1, &next);
  high_water_ = next;
  for (size_t b = 0; b < trees_.size(); ++b) PutLe(&root_items_[b].second, 0, trees_[b].root(), 8);
  finished_ = true;
  return absl::OkStatus();
}

size_t BboltLayout::leaf_count() const {
  size_t n = 0;
  for (const Tree& t : trees_) n += t.levels[0].size();
  return n;
}

// ---- BboltStreamWriter ----

BboltStreamWriter::BboltStreamWriter(const BboltLayout* layout) : layout_(layout) {
  DETCD_CHECK_MSG(layout_ != nullptr && layout_->finished(), "a bbolt file written from an unfinished layout");
}

void BboltStreamWriter::Emit(const std::string& page_bytes, uint64_t pgid, std::string* out) {
  DETCD_CHECK_MSG(pgid == next_pgid_, "a page out of file order");
  DETCD_CHECK(!page_bytes.empty() && page_bytes.size() % kPageBytes == 0);
  out->append(page_bytes);
  next_pgid_ += page_bytes.size() / kPageBytes;
  bytes_written_ += page_bytes.size();
}

void BboltStreamWriter::AppendMetaPages(std::string* out) const {
  std::string meta(2 * kPageBytes, '\0');
  for (uint64_t txid = 0; txid < 2; ++txid) {
    const size_t at = txid * kPageBytes;  // meta page id = txid % 2, as bbolt writes them
    PutLe(&meta, at, txid, 8);
    PutLe(&meta, at + 8, kBboltMetaPage, 2);
    const size_t m = at + BboltNodePacker::kPageHeaderBytes;
    PutLe(&meta, m, kBboltMagic, 4);
    PutLe(&meta, m + 4, kBboltVersion, 4);
    PutLe(&meta, m + 8, kPageBytes, 4);
    PutLe(&meta, m + 12, 0, 4);  // flags
    PutLe(&meta, m + 16, layout_->root_tree().root(), 8);
    PutLe(&meta, m + 24, 0, 8);  // the root bucket's sequence
    PutLe(&meta, m + 32, kBboltNoFreelist, 8);
    PutLe(&meta, m + 40, layout_->high_water_pgid(), 8);
    PutLe(&meta, m + 48, txid, 8);
    PutLe(&meta, m + kMetaChecksumOffset, BboltMetaChecksum(meta.data() + m, kMetaChecksumOffset), 8);
  }
  out->append(meta);
}

void BboltStreamWriter::AppendBranch(const BboltLayout::Tree& tree, size_t level, size_t index, std::string* out) {
  DETCD_CHECK(level >= 1 && level < tree.levels.size() && index < tree.levels[level].size());
  const BboltLayout::Node& node = tree.levels[level][index];
  const std::vector<BboltLayout::Node>& below = tree.levels[level - 1];
  DETCD_CHECK(node.elements >= 1 && node.child_begin + node.elements <= below.size());
  std::string page(node.pages * kPageBytes, '\0');
  PutPageHeader(&page, node.pgid, kBboltBranchPage, node.elements, node.pages);
  size_t element_at = BboltNodePacker::kPageHeaderBytes;
  size_t data_at = element_at + node.elements * BboltNodePacker::kElementBytes;
  for (size_t i = node.child_begin; i < node.child_begin + node.elements; ++i) {
    const BboltLayout::Node& child = below[i];
    // pos: from the element to its key, as bbolt's node.write lays them out (keys after all elements).
    PutLe(&page, element_at, data_at - element_at, 4);
    PutLe(&page, element_at + 4, child.first_key.size(), 4);
    PutLe(&page, element_at + 8, child.pgid, 8);
    std::memcpy(&page[data_at], child.first_key.data(), child.first_key.size());
    data_at += child.first_key.size();
    element_at += BboltNodePacker::kElementBytes;
  }
  DETCD_CHECK_MSG(data_at == node.bytes, "a branch written differently than laid out");
  Emit(page, node.pgid, out);
}

void BboltStreamWriter::AppendRootLeaf(size_t leaf, std::string* out) {
  const std::vector<BboltLayout::Node>& leaves = layout_->root_tree().levels[0];
  size_t first = 0;
  for (size_t i = 0; i < leaf; ++i) first += leaves[i].elements;
  const BboltLayout::Node& node = leaves[leaf];
  OpenLeaf(node);
  for (size_t i = first; i < first + node.elements; ++i) {
    const auto& [name, header] = layout_->root_items()[i];
    PutLeafElement(kBboltBucketLeafFlag, name, header);
  }
  CloseLeaf(out);
}

bool BboltStreamWriter::AppendHead(std::string* out, size_t max_bytes) {
  DETCD_CHECK_MSG(!bucket_begun_ && bucket_ == 0, "the head comes before any leaf");
  while (!head_done_ && out->size() < max_bytes) {
    if (!meta_done_) {
      AppendMetaPages(out);
      next_pgid_ = 2;
      bytes_written_ += 2 * kPageBytes;
      meta_done_ = true;
      continue;
    }
    const bool root = head_tree_ == layout_->buckets();
    const BboltLayout::Tree& tree = root ? layout_->root_tree() : layout_->bucket_tree(head_tree_);
    // Top-down; a bucket's leaves come later, the root bucket's now.
    const size_t bottom = root ? 0 : 1;
    const size_t levels = tree.levels.size();
    if (head_level_ + bottom >= levels) {
      if (root) {
        head_done_ = true;
        DETCD_CHECK_MSG(next_pgid_ == layout_->head_pages(), "the head's pages differ from its layout");
      } else {
        ++head_tree_;
        head_level_ = 0;
        head_node_ = 0;
      }
      continue;
    }
    const size_t level = levels - 1 - head_level_;
    if (head_node_ == tree.levels[level].size()) {
      ++head_level_;
      head_node_ = 0;
      continue;
    }
    if (level == 0) {
      AppendRootLeaf(head_node_, out);
    } else {
      AppendBranch(tree, level, head_node_, out);
    }
    ++head_node_;
  }
  return head_done_;
}

void BboltStreamWriter::OpenLeaf(const BboltLayout::Node& node) {
  DETCD_CHECK(!leaf_open_);
  // The writer's bound: a leaf of several elements fits a page; only a single element may take more.
  DETCD_CHECK_MSG(node.pages == 1 || node.elements == 1, "a leaf of several elements larger than a page");
  DETCD_CHECK(node.pages == BboltNodePacker::PagesFor(node.bytes));
  leaf_bytes_.assign(node.pages * kPageBytes, '\0');
  PutPageHeader(&leaf_bytes_, node.pgid, kBboltLeafPage, node.elements, node.pages);
  leaf_node_ = &node;
  leaf_elements_ = 0;
  leaf_element_at_ = BboltNodePacker::kPageHeaderBytes;
  leaf_data_at_ = leaf_element_at_ + node.elements * BboltNodePacker::kElementBytes;
  leaf_open_ = true;
  held_bytes_max_ = std::max(held_bytes_max_, leaf_bytes_.size());
}

void BboltStreamWriter::PutLeafElement(uint32_t flags, absl::string_view key, absl::string_view value) {
  DETCD_CHECK(leaf_open_ && leaf_elements_ < leaf_node_->elements);
  DETCD_CHECK_MSG(leaf_data_at_ + key.size() + value.size() <= leaf_bytes_.size(), "a leaf's items outgrow its layout");
  PutLe(&leaf_bytes_, leaf_element_at_, flags, 4);
  PutLe(&leaf_bytes_, leaf_element_at_ + 4, leaf_data_at_ - leaf_element_at_, 4);
  PutLe(&leaf_bytes_, leaf_element_at_ + 8, key.size(), 4);
  PutLe(&leaf_bytes_, leaf_element_at_ + 12, value.size(), 4);
  std::memcpy(&leaf_bytes_[leaf_data_at_], key.data(), key.size());
  leaf_data_at_ += key.size();
  if (!value.empty()) std::memcpy(&leaf_bytes_[leaf_data_at_], value.data(), value.size());
  leaf_data_at_ += value.size();
  leaf_element_at_ += BboltNodePacker::kElementBytes;
  ++leaf_elements_;
}

void BboltStreamWriter::CloseLeaf(std::string* out) {
  DETCD_CHECK(leaf_open_);
  DETCD_CHECK_MSG(leaf_elements_ == leaf_node_->elements && leaf_data_at_ == leaf_node_->bytes,
                  "a leaf written differently than laid out");
  Emit(leaf_bytes_, leaf_node_->pgid, out);
  leaf_open_ = false;
  leaf_node_ = nullptr;
  // Keep a page's room for the next leaf; a large item's pages go now.
  if (leaf_bytes_.capacity() > kPageBytes) {
    std::string().swap(leaf_bytes_);
  } else {
    leaf_bytes_.clear();
  }
}

void BboltStreamWriter::BeginBucket(size_t bucket, std::string* out) {
  DETCD_CHECK_MSG(head_done_, "leaves come after the head");
  DETCD_CHECK(!finished_);
  if (bucket_begun_) {
    EndBucket(out);
    ++bucket_;
  }
  DETCD_CHECK_MSG(bucket == bucket_ && bucket_ < layout_->buckets(), "buckets fed out of the layout's order");
  bucket_begun_ = true;
  leaf_ = 0;
  packer_ = BboltNodePacker(/*leaf=*/true);
}

void BboltStreamWriter::AddItem(absl::string_view key, absl::string_view value, std::string* out) {
  DETCD_CHECK_MSG(bucket_begun_ && !finished_, "an item outside a bucket");
  const std::vector<BboltLayout::Node>& leaves = layout_->bucket_tree(bucket_).levels[0];
  const bool begins = packer_.Add(BboltNodePacker::LeafElementBytes(key.size(), value.size()));
  DETCD_CHECK_MSG(begins == !leaf_open_, "an item packs differently than laid out (the items changed)");
  if (begins) {
    DETCD_CHECK_MSG(leaf_ < leaves.size(), "more items than laid out");
    DETCD_CHECK_MSG(leaves[leaf_].first_key == key, "a leaf begins at another key than laid out");
    OpenLeaf(leaves[leaf_]);
  }
  PutLeafElement(0, key, value);
  if (leaf_elements_ == leaf_node_->elements) {
    DETCD_CHECK(packer_.node_bytes() == leaf_node_->bytes);
    CloseLeaf(out);
    ++leaf_;
  }
}

void BboltStreamWriter::EndBucket(std::string* out) {
  DETCD_CHECK(bucket_begun_);
  DETCD_CHECK_MSG(!leaf_open_, "fewer items than laid out");
  const std::vector<BboltLayout::Node>& leaves = layout_->bucket_tree(bucket_).levels[0];
  if (leaf_ == 0 && leaves.size() == 1 && leaves[0].elements == 0) {  // an empty bucket's one empty leaf
    OpenLeaf(leaves[0]);
    CloseLeaf(out);
    ++leaf_;
  }
  DETCD_CHECK_MSG(leaf_ == leaves.size(), "fewer leaves than laid out");
  bucket_begun_ = false;
}

void BboltStreamWriter::Finish(std::string* out) {
  DETCD_CHECK_MSG(head_done_ && !finished_, "finishing a file without its head, or twice");
  if (bucket_begun_) {
    EndBucket(out);
    ++bucket_;
  }
  DETCD_CHECK_MSG(bucket_ == layout_->buckets(), "fewer buckets than laid out");
  DETCD_CHECK_MSG(next_pgid_ == layout_->high_water_pgid(), "the file's pages differ from its layout");
  finished_ = true;
}

}  // namespace detcd::storage
