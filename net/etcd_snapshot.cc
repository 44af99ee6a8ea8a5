#include "net/etcd_snapshot.h"

#include <openssl/evp.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "api/authpb/auth.pb.h"
#include "api/etcdserverpb/rpc.pb.h"
#include "api/kv_snapshot.pb.h"
#include "api/leasepb/lease.pb.h"
#include "base/check.h"

namespace detcd::net {

namespace {

using Items = std::vector<std::pair<std::string, std::string>>;

std::string BigEndian8(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) out[static_cast<size_t>(i)] = static_cast<char>(v & 0xff);
  return out;
}

// A JSON string as Go's encoding/json writes it (HTML-safe: <, > and & escaped; U+2028 and U+2029 too).
void AppendGoJsonString(std::string* out, const std::string& s) {
  out->push_back('"');
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        *out += "\\\"";
        continue;
      case '\\':
        *out += "\\\\";
        continue;
      case '\n':
        *out += "\\n";
        continue;
      case '\r':
        *out += "\\r";
        continue;
      case '\t':
        *out += "\\t";
        continue;
      case '<':
      case '>':
      case '&':
        absl::StrAppendFormat(out, "\\u%04x", c);
        continue;
      default:
        break;
    }
    if (c < 0x20) {
      absl::StrAppendFormat(out, "\\u%04x", c);
    } else if (c == 0xe2 && i + 2 < s.size() && s[i + 1] == '\x80' && (s[i + 2] == '\xa8' || s[i + 2] == '\xa9')) {
      absl::StrAppend(out, s[i + 2] == '\xa8' ? "\\u2028" : "\\u2029");
      i += 2;
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
  out->push_back('"');
}

void AppendGoJsonStrings(std::string* out, const google::protobuf::RepeatedPtrField<std::string>& list) {
  out->push_back('[');
  for (int i = 0; i < list.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendGoJsonString(out, list[i]);
  }
  out->push_back(']');
}

void SortByKey(Items* items) {
  if (!std::is_sorted(items->begin(), items->end())) std::sort(items->begin(), items->end());
}

Items MetaBucket(int64_t compacted_revision, uint64_t consistent_index) {
  Items items = {{"consistent_index", BigEndian8(consistent_index)}};
  if (compacted_revision > 0) {
    const std::string rev = EtcdRevisionKey(compacted_revision, 0);
    items.emplace_back("finishedCompactRev", rev);
    items.emplace_back("scheduledCompactRev", rev);
  }
  return items;
}

Items LeaseBucket(const kvpb::LeaseSnapshot& leases) {
  Items items;
  for (const kvpb::LeaseRecord& r : leases.leases()) {
    leasepb::Lease l;
    l.set_id(r.id());
    l.set_ttl(r.ttl());
    items.emplace_back(BigEndian8(static_cast<uint64_t>(r.id())), l.SerializeAsString());
  }
  SortByKey(&items);
  return items;
}

// etcd's auth store (auth/store.go). authRevision: etcd starts a fresh store at 1 (a state from before detcd had
// auth has none: 1 too). authEnabled: etcd writes it when auth is enabled (1) or disabled again (0), and never for a
// store auth was never enabled in; detcd does not remember whether auth was ever on, so it writes the key while auth
// is on and leaves it out otherwise — etcd reads an absent key and 0 alike.
absl::Status AuthBuckets(const kvpb::AuthState& auth, Items* flags, Items* users, Items* roles) {
  if (auth.enabled()) flags->emplace_back("authEnabled", std::string(1, '\x01'));
  flags->emplace_back("authRevision", BigEndian8(auth.revision() == 0 ? 1 : auth.revision()));
  for (const authpb::User& u : auth.users()) {
    if (u.name().empty()) return absl::FailedPreconditionError("detcd: the auth state has a user with no name");
    users->emplace_back(u.name(), u.SerializeAsString());
  }
  for (const authpb::Role& r : auth.roles()) {
    if (r.name().empty()) return absl::FailedPreconditionError("detcd: the auth state has a role with no name");
    roles->emplace_back(r.name(), r.SerializeAsString());
  }
  SortByKey(users);
  SortByKey(roles);
  for (const Items* items : {users, roles}) {
    if (std::adjacent_find(items->begin(), items->end(),
                           [](const auto& a, const auto& b) { return a.first == b.first; }) != items->end()) {
      return absl::FailedPreconditionError("detcd: the auth state has two users or two roles of one name");
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string EtcdMemberJson(const kvpb::Member& member) {
  std::string out = absl::StrCat("{\"id\":", member.id(), ",\"peerURLs\":");
  // Go writes a nil slice as null; etcd's members always have peer URLs.
  if (member.peer_urls().empty()) {
    out += "null";
  } else {
    AppendGoJsonStrings(&out, member.peer_urls());
  }
  if (member.is_learner()) out += ",\"isLearner\":true";
  if (!member.name().empty()) {
    out += ",\"name\":";
    AppendGoJsonString(&out, member.name());
  }
  if (!member.client_urls().empty()) {
    out += ",\"clientURLs\":";
    AppendGoJsonStrings(&out, member.client_urls());
  }
  out.push_back('}');
  return out;
}

void EtcdKeyItem(const kvpb::StoreRecord& r, std::string* key, std::string* value) {
  *key = EtcdRevisionKey(r.main(), r.sub(), r.tombstone());
  value->clear();
  kv::AppendEtcdVersionValue(kv::EtcdVersion{r.key(), r.main(), r.sub(), r.tombstone(), r.create_revision(),
                                             r.version(), r.value(), r.lease()},
                             value);
}

absl::Status CheckEtcdRevision(int64_t revision, int64_t last_main, int64_t compacted_revision) {
  // etcd restores its revision as max(last key's main revision, compaction revision), starting from 1.
  if (revision > std::max({last_main, compacted_revision, int64_t{1}})) {
    return absl::FailedPreconditionError(absl::StrCat("detcd: the store's revision ", revision,
                                                      " is not in etcd's backend format (newest version kept: ",
                                                      last_main, ", compacted at ", compacted_revision, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<storage::BboltBucket>> EtcdSmallBuckets(const kvpb::StateSnapshot& state,
                                                                   int64_t compacted_revision,
                                                                   uint64_t consistent_index) {
  kvpb::LeaseSnapshot leases;
  if (!leases.ParseFromString(state.leases())) return absl::DataLossError("detcd: lease snapshot does not parse");
  Items alarms;
  for (const etcdserverpb::AlarmMember& a : state.alarms()) alarms.emplace_back(a.SerializeAsString(), "");
  SortByKey(&alarms);
  alarms.erase(std::unique(alarms.begin(), alarms.end()), alarms.end());
  Items members;
  for (const kvpb::Member& m : state.cluster_members()) {
    members.emplace_back(absl::StrFormat("%x", m.id()), EtcdMemberJson(m));
  }
  SortByKey(&members);
  Items removed;
  for (uint64_t id : state.removed_member_ids()) removed.emplace_back(absl::StrFormat("%x", id), "removed");
  SortByKey(&removed);
  Items auth_flags, users, roles;
  if (absl::Status s = AuthBuckets(state.auth(), &auth_flags, &users, &roles); !s.ok()) return s;

  std::vector<storage::BboltBucket> buckets;
  buckets.push_back({"alarm", std::move(alarms)});
  buckets.push_back({"auth", std::move(auth_flags)});
  buckets.push_back({"authRoles", std::move(roles)});
  buckets.push_back({"authUsers", std::move(users)});
  buckets.push_back({"cluster", {{"clusterVersion", "3.4.0"}}});
  buckets.push_back({kEtcdKeyBucket, {}});
  buckets.push_back({"lease", LeaseBucket(leases)});
  buckets.push_back({"members", std::move(members)});
  buckets.push_back({"members_removed", std::move(removed)});
  buckets.push_back({"meta", MetaBucket(compacted_revision, consistent_index)});
  DETCD_CHECK(buckets[kEtcdKeyBucketIndex].name == kEtcdKeyBucket);
  return buckets;
}

absl::StatusOr<std::vector<storage::BboltBucket>> EtcdBackendBuckets(kvpb::StateSnapshot* state,
                                                                     uint64_t consistent_index) {
  kvpb::StoreSnapshot store;
  if (!store.ParseFromString(state->store())) return absl::DataLossError("detcd: store snapshot does not parse");
  state->clear_store();
  absl::StatusOr<std::vector<storage::BboltBucket>> buckets =
      EtcdSmallBuckets(*state, store.compacted_revision(), consistent_index);
  if (!buckets.ok()) return buckets.status();
  state->clear_leases();
  Items& keys = (*buckets)[kEtcdKeyBucketIndex].items;
  keys.resize(static_cast<size_t>(store.records_size()));
  int64_t last_main = 0;
  for (int i = 0; i < store.records_size(); ++i) {
    const kvpb::StoreRecord& r = store.records(i);
    EtcdKeyItem(r, &keys[static_cast<size_t>(i)].first, &keys[static_cast<size_t>(i)].second);
    last_main = std::max(last_main, r.main());
  }
  if (absl::Status s = CheckEtcdRevision(store.revision(), last_main, store.compacted_revision()); !s.ok()) return s;
  return buckets;
}

absl::StatusOr<std::string> EtcdSnapshotFile(std::string state_snapshot, uint64_t consistent_index) {
  kvpb::StateSnapshot state;
  if (!state.ParseFromString(state_snapshot)) return absl::DataLossError("detcd: state snapshot does not parse");
  std::string().swap(state_snapshot);
  absl::StatusOr<std::vector<storage::BboltBucket>> buckets = EtcdBackendBuckets(&state, consistent_index);
  if (!buckets.ok()) return buckets.status();
  absl::StatusOr<std::string> file = storage::BuildBboltFile(*buckets);
  buckets->clear();
  if (!file.ok()) return file.status();
  // etcdctl snapshot restore takes a file whose size is 32 past a multiple of 512 as ending in a SHA-256 of the rest.
  file->resize((file->size() + 511) / 512 * 512, '\0');
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(file->data(), file->size(), digest, &len, EVP_sha256(), nullptr) != 1 || len != 32) {
    return absl::InternalError("detcd: cannot hash the snapshot");
  }
  file->append(reinterpret_cast<const char*>(digest), len);
  return file;
}

}  // namespace detcd::net
