// Test helpers shared by net/'s tests: a fresh directory under Bazel's TEST_TMPDIR, the options of a single member
// with fast ticks and small WAL segments (etcd preallocates 64 MiB a segment; tests start many members), such a
// member started and waited on until it leads, requests to it, shell scripts run in a directory (test certificates)
// and self-signed peer TLS. Test-only.
#ifndef DETCD_NET_TEST_MEMBER_H_
#define DETCD_NET_TEST_MEMBER_H_

#include <functional>
#include <memory>
#include <string>

#include "net/member_runtime.h"
#include "net/peer_tls.h"

namespace detcd::net {

// An empty directory named `name` under TEST_TMPDIR (or /tmp).
std::string FreshTestDir(const std::string& name);

// Member 1 (named "default", peer URL http://localhost:2380) of cluster 0xc1, alone, ticking every 10 ms, its data
// in `dir`.
MemberRuntimeOptions SingleMemberOptions(const std::string& dir);

// Starts a single member in FreshTestDir(name) and waits (at most 5 s) until it has elected itself. Null, with a
// test failure recorded, if it does not start or does not lead.
// `configure`, if given, changes the options first.
std::unique_ptr<MemberRuntime> StartLeadingSingleMember(
    const std::string& name, const std::function<void(MemberRuntimeOptions*)>& configure = nullptr);

// A put of k=v and a get of k, as the member takes them.
kvpb::ClientRequest PutRequest(const std::string& k, const std::string& v);
kvpb::ClientRequest GetRequest(const std::string& k);

// rt.Call, retried for a while (about 2 s) while the member answers "etcdserver: no leader", as a client does.
kv::ClientReply CallUntilLeader(MemberRuntime& rt, const kvpb::ClientRequest& r);

// The name of the running test, for FreshTestDir.
std::string CurrentTestName();

// Runs a shell script (sh -c) with `dir` created and current, e.g. to make certificates with the openssl CLI; records
// a test failure (naming `what`) if it exits non-zero. Returns dir.
std::string RunScriptIn(const std::string& dir, const std::string& script, const std::string& what);

// The text of a file a test made; "" with a test failure if it cannot be read.
std::string TestFileText(const std::string& path);

// Peer TLS as --peer-auto-tls makes it: a self-signed certificate for 127.0.0.1 made in `dir`, peers not verified.
// Null, with a test failure, if it cannot be made.
std::shared_ptr<const PeerTls> SelfSignedPeerTls(const std::string& dir);

}  // namespace detcd::net

#endif  // DETCD_NET_TEST_MEMBER_H_
