// PosixDisk's File on a real file system (under TEST_TMPDIR): appends land where the offset says; a preallocated file
// has zeros written a bounded way past its data (so the extents the next records land in are real blocks, not
// fallocate's "unwritten" ones) and never past its preallocated size; a file nobody preallocated gets nothing past
// its data.
#include "storage/posix_disk.h"

#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace detcd::storage {
namespace {

std::string FreshFile(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = absl::StrCat(tmp ? tmp : "/tmp", "/", name);
  unlink(path.c_str());
  return path;
}

std::string ReadAll(PosixDisk& disk, const std::string& path) {
  auto data = disk.Read(path);
  EXPECT_TRUE(data.ok()) << data.status();
  return data.ok() ? *data : std::string();
}

// Whether the byte at `offset` lies in an extent fallocate reserved and nothing has written yet. nullopt: the file
// system does not report extents (then the test cannot tell, and says so).
std::optional<bool> Unwritten(const std::string& path, uint64_t offset) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  alignas(struct fiemap) char buf[sizeof(struct fiemap) + sizeof(struct fiemap_extent)] = {};
  auto* map = reinterpret_cast<struct fiemap*>(buf);
  map->fm_start = offset;
  map->fm_length = 1;
  map->fm_flags = FIEMAP_FLAG_SYNC;
  map->fm_extent_count = 1;
  const int rc = ioctl(fd, FS_IOC_FIEMAP, map);
  close(fd);
  if (rc != 0 || map->fm_mapped_extents != 1) return std::nullopt;
  return (map->fm_extents[0].fe_flags & FIEMAP_EXTENT_UNWRITTEN) != 0;
}

TEST(PosixFileTest, PreallocatedFileGetsZerosWrittenAheadOfItsDataBoundedBySize) {
  PosixDisk disk;
  const std::string path = FreshFile("prealloc");
  auto f = disk.Create(path);
  ASSERT_TRUE(f.ok()) << f.status();
  constexpr uint64_t kSize = 4 << 20;
  ASSERT_TRUE((*f)->Preallocate(kSize).ok());
  ASSERT_TRUE((*f)->Append("records").ok());
  ASSERT_TRUE((*f)->Sync().ok());
  EXPECT_EQ((*f)->offset(), 7u);
  const std::string data = ReadAll(disk, path);
  ASSERT_EQ(data.size(), kSize) << "appends into preallocated space must not change the file's size";
  EXPECT_EQ(data.substr(0, 7), "records");
  EXPECT_EQ(data.find_first_not_of('\0', 7), std::string::npos);

  const std::optional<bool> ahead = Unwritten(path, 100 << 10);
  const std::optional<bool> far = Unwritten(path, 3 << 20);
  if (!ahead.has_value() || !far.has_value()) {
    GTEST_SKIP() << "the file system under TEST_TMPDIR reports no extents; zero-ahead not observable";
  }
  EXPECT_FALSE(*ahead) << "the space just past the data should hold written zeros";
  EXPECT_TRUE(*far) << "zeros are written a bounded way ahead, not over the whole preallocation";
}

TEST(PosixFileTest, ZerosAheadNeverGrowTheFileAndFollowTheData) {
  PosixDisk disk;
  const std::string path = FreshFile("prealloc-small");
  auto f = disk.Create(path);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Preallocate(1000).ok());
  ASSERT_TRUE((*f)->Append(std::string(600, 'a')).ok());
  EXPECT_EQ(ReadAll(disk, path).size(), 1000u);
  ASSERT_TRUE((*f)->Append(std::string(600, 'b')).ok());  // past the preallocation: the data alone grows the file
  const std::string data = ReadAll(disk, path);
  ASSERT_EQ(data.size(), 1200u);
  EXPECT_EQ(data, std::string(600, 'a') + std::string(600, 'b'));

  // A cut below the preallocation takes the reservation with it: later appends write only their data.
  ASSERT_TRUE((*f)->Truncate(100).ok());
  ASSERT_TRUE((*f)->Append("xyz").ok());
  EXPECT_EQ(ReadAll(disk, path), std::string(100, 'a') + "xyz");
}

TEST(PosixFileTest, FileNobodyPreallocatedKeepsWhatLiesPastItsData) {
  PosixDisk disk;
  const std::string path = FreshFile("plain");
  {
    auto f = disk.Create(path);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append(std::string(5000, 'x')).ok());
  }
  auto f = disk.OpenAt(path, 10);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("new").ok());
  EXPECT_EQ((*f)->offset(), 13u);
  EXPECT_EQ(ReadAll(disk, path), std::string(10, 'x') + "new" + std::string(4987, 'x'));
}

TEST(PosixFileTest, ReopenedPreallocatedFileWritesZerosAheadAgain) {
  PosixDisk disk;
  const std::string path = FreshFile("reopen");
  constexpr uint64_t kSize = 4 << 20;
  {
    auto f = disk.Create(path);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Preallocate(kSize).ok());
    ASSERT_TRUE((*f)->Append("first").ok());
    ASSERT_TRUE((*f)->Sync().ok());
  }
  auto f = disk.OpenAt(path, 5);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Preallocate(kSize).ok());  // already that large: only declares the reservation
  ASSERT_TRUE((*f)->Append(std::string(300 << 10, 'y')).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  const std::string data = ReadAll(disk, path);
  ASSERT_EQ(data.size(), kSize);
  EXPECT_EQ(data.substr(0, 5), "first");
  EXPECT_EQ(data.find_first_not_of('y', 5), 5u + (300 << 10));
  EXPECT_EQ(data.find_first_not_of('\0', 5 + (300 << 10)), std::string::npos);
  const std::optional<bool> ahead = Unwritten(path, 5 + (300 << 10) + (100 << 10));
  if (!ahead.has_value()) GTEST_SKIP() << "the file system under TEST_TMPDIR reports no extents";
  EXPECT_FALSE(*ahead) << "zeros past the data of a reopened file";
}

}  // namespace
}  // namespace detcd::storage
