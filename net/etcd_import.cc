#include "net/etcd_import.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "api/authpb/auth.pb.h"
#include "api/etcdserverpb/rpc.pb.h"
#include "api/kv_snapshot.pb.h"
#include "api/leasepb/lease.pb.h"
#include "api/mvccpb/kv.pb.h"

namespace detcd::net {

namespace {

using Items = std::vector<std::pair<std::string, std::string>>;

absl::Status Bad(absl::string_view what) { return absl::DataLossError(absl::StrCat("etcd data: ", what)); }

const Items* Bucket(const storage::BboltDatabase& db, const std::string& name) {
  auto it = db.buckets.find(name);
  return it == db.buckets.end() ? nullptr : &it->second;
}

const std::string* Value(const Items* items, absl::string_view key) {
  if (items == nullptr) return nullptr;
  for (const auto& [k, v] : *items) {
    if (k == key) return &v;
  }
  return nullptr;
}

uint64_t BigEndian(absl::string_view s) {
  uint64_t v = 0;
  for (unsigned char c : s) v = (v << 8) | c;
  return v;
}

// etcd's revision bytes: 8-byte main, '_', 8-byte sub, and 't' for a tombstone.
bool ParseRevisionKey(absl::string_view k, int64_t* main, int64_t* sub, bool* tombstone) {
  if ((k.size() != 17 && k.size() != 18) || k[8] != '_') return false;
  if (k.size() == 18 && k[17] != 't') return false;
  *main = static_cast<int64_t>(BigEndian(k.substr(0, 8)));
  *sub = static_cast<int64_t>(BigEndian(k.substr(9, 8)));
  *tombstone = k.size() == 18;
  return *main >= 0 && *sub >= 0;
}

// meta's compaction revision: the later of scheduledCompactRev and finishedCompactRev (etcd finishes a scheduled one
// when it starts).
absl::StatusOr<int64_t> CompactionRevision(const Items* meta) {
  int64_t out = 0;
  for (const char* name : {"scheduledCompactRev", "finishedCompactRev"}) {
    const std::string* v = Value(meta, name);
    if (v == nullptr) continue;
    int64_t main = 0, sub = 0;
    bool tombstone = false;
    if (!ParseRevisionKey(*v, &main, &sub, &tombstone) || tombstone)
      return Bad(absl::StrCat("meta ", name, " malformed"));
    out = std::max(out, main);
  }
  return out;
}

absl::StatusOr<kvpb::StoreSnapshot> Store(const Items* keys, int64_t compacted, ImportedEtcdMember* out) {
  kvpb::StoreSnapshot store;
  store.set_compacted_revision(compacted);
  std::map<std::string, int> newest_compacted;  // key → its newest record at or below the compaction revision
  std::vector<kvpb::StoreRecord> records;
  int64_t last_main = 0, last_sub = -1;
  static const Items kNone;
  for (const auto& [k, v] : keys == nullptr ? kNone : *keys) {
    int64_t main = 0, sub = 0;
    bool tombstone = false;
    if (!ParseRevisionKey(k, &main, &sub, &tombstone)) return Bad("a key in bucket \"key\" is not a revision");
    if (main < last_main || (main == last_main && sub <= last_sub)) return Bad("revisions out of order in \"key\"");
    last_main = main;
    last_sub = sub;
    mvccpb::KeyValue kv;
    if (!kv.ParseFromString(v) || kv.key().empty()) {
      return Bad(absl::StrCat("the version at revision ", main, "_", sub, " does not decode"));
    }
    if (!tombstone &&
        (kv.mod_revision() != main || kv.create_revision() <= 0 || kv.create_revision() > main || kv.version() <= 0)) {
      return Bad(absl::StrCat("the version at revision ", main, "_", sub, " has inconsistent revisions"));
    }
    kvpb::StoreRecord r;
    r.set_main(main);
    r.set_sub(sub);
    r.set_key(kv.key());
    r.set_tombstone(tombstone);
    if (!tombstone) {
      r.set_value(kv.value());
      r.set_create_revision(kv.create_revision());
      r.set_version(kv.version());
      r.set_lease(kv.lease());
    }
    if (main <= compacted) newest_compacted[kv.key()] = static_cast<int>(records.size());
    records.push_back(std::move(r));
  }
  for (size_t i = 0; i < records.size(); ++i) {
    kvpb::StoreRecord& r = records[i];
    if (r.main() <= compacted) {
      const int newest = newest_compacted[r.key()];
      if (static_cast<size_t>(newest) != i || r.tombstone()) continue;  // what compaction removes
    }
    *store.add_records() = std::move(r);
  }
  // etcd's revision on start: the last version's main revision, or the compaction revision if later, at least 1.
  store.set_revision(std::max({last_main, compacted, int64_t{1}}));
  out->revision = store.revision();
  out->compacted_revision = compacted;
  out->versions = static_cast<size_t>(store.records_size());
  return store;
}

absl::StatusOr<kvpb::LeaseSnapshot> Leases(const Items* leases) {
  kvpb::LeaseSnapshot out;
  if (leases == nullptr) return out;
  for (const auto& [k, v] : *leases) {
    leasepb::Lease l;
    if (k.size() != 8 || !l.ParseFromString(v) || l.id() != static_cast<int64_t>(BigEndian(k))) {
      return Bad("a lease in bucket \"lease\" does not decode");
    }
    kvpb::LeaseRecord* r = out.add_leases();
    r->set_id(l.id());
    r->set_ttl(l.ttl());
  }
  return out;
}

// etcd's membership.Member JSON (its id comes from the bucket key or the conf change).
absl::StatusOr<kvpb::Member> MemberFromJson(uint64_t id, const std::string& json) {
  google::protobuf::Struct s;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(json, &s, options).ok()) {
    return Bad(absl::StrCat("member ", absl::Hex(id), ": not JSON"));
  }
  kvpb::Member m;
  m.set_id(id);
  const auto& f = s.fields();
  auto strings = [&](const char* name, google::protobuf::RepeatedPtrField<std::string>* to) {
    auto it = f.find(name);
    if (it == f.end() || !it->second.has_list_value()) return;
    for (const auto& v : it->second.list_value().values()) {
      if (v.has_string_value()) *to->Add() = v.string_value();
    }
  };
  strings("peerURLs", m.mutable_peer_urls());
  strings("clientURLs", m.mutable_client_urls());
  if (auto it = f.find("name"); it != f.end() && it->second.has_string_value()) m.set_name(it->second.string_value());
  if (auto it = f.find("isLearner"); it != f.end()) m.set_is_learner(it->second.bool_value());
  if (m.peer_urls().empty()) return Bad(absl::StrCat("member ", absl::Hex(id), " has no peer URLs"));
  return m;
}

struct Membership {
  std::map<uint64_t, kvpb::Member> members;
  std::set<uint64_t> removed;

  // "/0/members/<hex id>/attributes" → {"name":..., "clientURLs":[...]}; other v2 paths change no member.
  absl::Status ApplyV2(const storage::EtcdV2Request& r) {
    absl::string_view path = r.path;
    uint64_t id = 0;
    if (r.method != "PUT" || !absl::ConsumePrefix(&path, "/0/members/") || !absl::ConsumeSuffix(&path, "/attributes") ||
        !absl::SimpleHexAtoi(path, &id) || members.count(id) == 0) {
      return absl::OkStatus();
    }
    kvpb::Member& m = members[id];
    std::string json = r.value;
    if (json.size() < 2 || json.front() != '{') return Bad(absl::StrCat("member ", absl::Hex(id), ": bad attributes"));
    // The attributes object with the member's peer URLs added, read as a member.
    json.insert(1, absl::StrCat("\"peerURLs\":[\"", m.peer_urls(0), "\"]", json.size() > 2 ? "," : ""));
    absl::StatusOr<kvpb::Member> a = MemberFromJson(id, json);
    if (!a.ok()) return a.status();
    m.set_name(a->name());
    *m.mutable_client_urls() = a->client_urls();
    return absl::OkStatus();
  }

  absl::Status Apply(const storage::EtcdWalEntry& e) {
    absl::StatusOr<storage::EtcdConfChange> cc = storage::DecodeEtcdConfChange(e.data);
    if (!cc.ok()) return cc.status();
    switch (cc->type) {
      case 0:    // add
      case 3:    // add learner
      case 2: {  // update (its context is the whole member)
        absl::StatusOr<kvpb::Member> m = MemberFromJson(cc->node_id, cc->context);
        if (!m.ok()) return m.status();
        if (cc->type == 3) m->set_is_learner(true);
        if (cc->type == 2 && members.count(cc->node_id) > 0) {
          *members[cc->node_id].mutable_peer_urls() = m->peer_urls();
        } else {
          members[cc->node_id] = *std::move(m);
        }
        return absl::OkStatus();
      }
      case 1:
        members.erase(cc->node_id);
        removed.insert(cc->node_id);
        return absl::OkStatus();
      default:
        return Bad(absl::StrCat("WAL entry ", e.index, ": unknown conf change type ", cc->type));
    }
  }
};

absl::StatusOr<Membership> BackendMembership(const storage::BboltDatabase& db) {
  Membership out;
  if (const Items* members = Bucket(db, "members")) {
    for (const auto& [k, v] : *members) {
      uint64_t id = 0;
      if (!absl::SimpleHexAtoi(k, &id)) return Bad("a key in bucket \"members\" is not a member id");
      absl::StatusOr<kvpb::Member> m = MemberFromJson(id, v);
      if (!m.ok()) return m.status();
      out.members[id] = *std::move(m);
    }
  }
  if (const Items* removed = Bucket(db, "members_removed")) {
    for (const auto& [k, v] : *removed) {
      uint64_t id = 0;
      if (!absl::SimpleHexAtoi(k, &id)) return Bad("a key in bucket \"members_removed\" is not a member id");
      out.removed.insert(id);
    }
  }
  return out;
}

// A user or role of bucket `bucket`: its marshaled authpb message, keyed by its name (etcd's putUser, putRole).
template <typename Message>
absl::Status AuthEntries(const Items* items, const char* bucket, const char* what,
                         google::protobuf::RepeatedPtrField<Message>* out) {
  if (items == nullptr) return absl::OkStatus();
  for (const auto& [k, v] : *items) {
    Message m;
    if (!m.ParseFromString(v)) {
      return Bad(
          absl::StrCat("the ", what, " \"", absl::CHexEscape(k), "\" in bucket \"", bucket, "\" does not decode"));
    }
    if (m.name() != k) {
      return Bad(absl::StrCat("the ", what, " \"", absl::CHexEscape(k), "\" in bucket \"", bucket, "\" is named \"",
                              absl::CHexEscape(m.name()), "\""));
    }
    *out->Add() = std::move(m);
  }
  return absl::OkStatus();
}

// etcd's auth store (auth/store.go): the flag and revision in "auth", users in "authUsers", roles in "authRoles". No
// authRevision (a backend etcd never opened) or 0 is 1, as etcd's NewAuthStore makes it; no authEnabled is off.
absl::StatusOr<kvpb::AuthState> Auth(const storage::BboltDatabase& db) {
  kvpb::AuthState out;
  const Items* auth = Bucket(db, "auth");
  if (const std::string* enabled = Value(auth, "authEnabled")) {
    if (*enabled != std::string(1, '\0') && *enabled != std::string(1, '\x01')) {
      return Bad(
          absl::StrCat("authEnabled in bucket \"auth\" is \"", absl::CHexEscape(*enabled), "\", not one byte 0 or 1"));
    }
    out.set_enabled(*enabled == std::string(1, '\x01'));
  }
  out.set_revision(1);
  if (const std::string* revision = Value(auth, "authRevision")) {
    if (revision->size() != 8) {
      return Bad(absl::StrCat("authRevision in bucket \"auth\" is ", revision->size(), " bytes, not 8"));
    }
    out.set_revision(std::max<uint64_t>(BigEndian(*revision), 1));
  }
  if (absl::Status s = AuthEntries(Bucket(db, "authUsers"), "authUsers", "user", out.mutable_users()); !s.ok()) {
    return s;
  }
  if (absl::Status s = AuthEntries(Bucket(db, "authRoles"), "authRoles", "role", out.mutable_roles()); !s.ok()) {
    return s;
  }
  return out;
}

}  // namespace

absl::StatusOr<ImportedEtcdMember> ImportEtcdMember(const storage::BboltDatabase& db, const storage::EtcdWal& wal) {
  ImportedEtcdMember out;
  out.member_id = wal.member_id;
  out.cluster_id = wal.cluster_id;
  if (out.member_id == 0 || out.cluster_id == 0) return Bad("the WAL's metadata has no member or cluster id");
  const Items* meta = Bucket(db, "meta");
  const std::string* ci = Value(meta, "consistent_index");
  if (ci == nullptr || ci->size() != 8) return Bad("no consistent_index in bucket \"meta\" (not an etcd 3.4 backend)");
  uint64_t applied = BigEndian(*ci);
  absl::StatusOr<kvpb::AuthState> auth = Auth(db);
  if (!auth.ok()) return auth.status();

  // Membership: replayed from a WAL that holds the whole log, else the backend's.
  const bool whole_log = !wal.entries.empty() && wal.entries.front().index == 1;
  absl::StatusOr<Membership> membership = whole_log ? Membership() : BackendMembership(db);
  if (!membership.ok()) return membership.status();
  uint64_t applied_term = 0;
  if (wal.snapshot_index == applied) applied_term = wal.snapshot_term;
  for (const storage::EtcdWalEntry& e : wal.entries) {
    if (e.index == applied) applied_term = e.term;
    const bool committed = e.index <= wal.commit;
    if (e.index <= applied) {
      if (whole_log && e.type == 1) {
        if (absl::Status s = membership->Apply(e); !s.ok()) return s;
      }
      if (whole_log && e.type == 0) {
        if (std::optional<storage::EtcdV2Request> v2 = storage::DecodeEtcdV2Request(e.data)) {
          if (absl::Status s = membership->ApplyV2(*v2); !s.ok()) return s;
        }
      }
      continue;
    }
    if (e.type == 0 && e.data.empty()) {  // a new leader's empty entry: nothing to apply
      if (committed) {
        applied = e.index;
        applied_term = e.term;
        ++out.skipped_entries;
      }
      continue;
    }
    if (e.type == 0 && committed) {
      // etcd's own v2 writes (a member's published attributes, the cluster version) touch no v3 data; a member's
      // attributes go to its member, the rest (detcd has no v2 store) is dropped.
      if (std::optional<storage::EtcdV2Request> v2 = storage::DecodeEtcdV2Request(e.data)) {
        if (absl::Status s = membership->ApplyV2(*v2); !s.ok()) return s;
        applied = e.index;
        applied_term = e.term;
        ++out.skipped_entries;
        continue;
      }
    }
    if (e.type == 1 && committed) {
      if (absl::Status s = membership->Apply(e); !s.ok()) return s;
      applied = e.index;
      applied_term = e.term;
      ++out.skipped_entries;
      continue;
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "etcd data: the WAL holds ", committed ? "a committed" : "an uncommitted", " entry at index ", e.index,
        " (type ", e.type, ", ", e.data.size(), " bytes) past the backend's consistent index ", BigEndian(*ci), ": ",
        e.type == 0   ? "an etcd request"
        : e.type == 1 ? "an uncommitted conf change"
                      : "a ConfChangeV2",
        " detcd cannot replay. Start etcd on this directory and stop it cleanly, or move with "
        "`etcdctl snapshot save` and `etcdctl snapshot restore`"));
  }
  if (applied_term == 0) {
    return Bad(
        absl::StrCat("the WAL has no entry or snapshot at the applied index ", applied, " (its term is unknown)"));
  }
  if (membership->members.empty()) return Bad("no members");
  if (membership->members.count(out.member_id) == 0) {
    return Bad(absl::StrCat("this member (", absl::Hex(out.member_id), ") is not among the cluster's members"));
  }

  absl::StatusOr<int64_t> compacted = CompactionRevision(meta);
  if (!compacted.ok()) return compacted.status();
  absl::StatusOr<kvpb::StoreSnapshot> store = Store(Bucket(db, "key"), *compacted, &out);
  if (!store.ok()) return store.status();
  absl::StatusOr<kvpb::LeaseSnapshot> leases = Leases(Bucket(db, "lease"));
  if (!leases.ok()) return leases.status();
  out.leases = static_cast<size_t>(leases->leases_size());
  *out.state.mutable_auth() = *std::move(auth);
  out.state.set_store(store->SerializeAsString());
  out.state.set_leases(leases->SerializeAsString());
  if (const Items* alarms = Bucket(db, "alarm")) {
    for (const auto& [k, v] : *alarms) {
      if (!out.state.add_alarms()->ParseFromString(k)) return Bad("an alarm does not decode");
    }
  }
  for (const auto& [id, m] : membership->members) {
    *out.state.add_cluster_members() = m;
    if (m.is_learner()) {
      out.snapshot.mutable_conf_state()->add_learners(id);
    } else {
      out.snapshot.mutable_conf_state()->add_voters(id);
    }
  }
  for (uint64_t id : membership->removed) out.state.add_removed_member_ids(id);
  out.snapshot.set_index(applied);
  out.snapshot.set_term(applied_term);
  out.hard_state.set_term(std::max(wal.term, applied_term));
  out.hard_state.set_vote(wal.term >= applied_term ? wal.vote : 0);
  out.hard_state.set_commit(applied);
  return out;
}

}  // namespace detcd::net
