#pragma once
// A real PostgreSQL for the tests: a cluster made by Debian's initdb in a temporary directory and
// run by pg_ctl, listening on a free 127.0.0.1 port (password auth, scram-sha-256) and on a unix
// socket in that directory (trust, for the fixture's own setup). Tests run as root in CI and
// PostgreSQL refuses to run as root, so initdb and pg_ctl run as the `postgres` system user (or
// `nobody`) through runuser. Every wait is bounded; the destructor stops the server and removes
// the directory. Nothing is skipped: when the cluster cannot be made or started, ok() is false
// and error() says why (with the server's log), and the test that wanted it fails with that.
//
//   Postgres& pg = Postgres::shared();           // one cluster per test program run
//   ASSERT_TRUE(pg.ok()) << pg.error();
//   std::string url = pg.url(pg.create_database("t1"));  // postgres://msrpd:...@127.0.0.1:port/t1
//
// The binaries: $MSRPD_PG_BINDIR, else the newest /usr/lib/postgresql/<version>/bin.

#include <cstdint>
#include <string>
#include <vector>

namespace msrpd::itest {

class Postgres {
 public:
  // Makes the cluster (initdb) and starts it; the role `msrpd` (password role_password())
  // may create databases.
  Postgres();
  ~Postgres();
  Postgres(const Postgres&) = delete;
  Postgres& operator=(const Postgres&) = delete;

  // The cluster of this test program, made on first use and stopped at exit.
  static Postgres& shared();

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  bool running() const { return running_; }

  // pg_ctl stop -m fast / pg_ctl start, each bounded (10 s). False: error() says why.
  bool stop();
  bool start();

  // A new, empty database owned by msrpd (a unique name from `hint`); its name, "" on failure.
  std::string create_database(const std::string& hint);
  // SQL as the superuser over the unix socket; "" on success, else the server's message.
  std::string exec(const std::string& dbname, const std::string& sql);

  // postgres://msrpd:<password>@127.0.0.1:<port>/<dbname>
  std::string url(const std::string& dbname) const;
  uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_; }
  static const char* role_password() { return "pg-test-pw"; }
  // The server's log so far (for a failing test's output).
  std::string log() const;

 private:
  bool run(const std::vector<std::string>& argv, int timeout_s, std::string* output);
  void fail(const std::string& why);

  std::string bindir_, dir_, data_, run_as_;
  uint16_t port_ = 0;
  bool running_ = false;
  unsigned databases_ = 0;
  std::string error_;
};

}  // namespace msrpd::itest
