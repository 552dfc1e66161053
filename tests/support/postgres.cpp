#include "postgres.h"

#include <arpa/inet.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace msrpd::itest {

namespace {

namespace fs = std::filesystem;

uint16_t free_tcp_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string find_bindir() {
  if (const char* e = std::getenv("MSRPD_PG_BINDIR"); e && *e) return e;
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& d : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    if (fs::exists(d.path() / "bin" / "initdb")) found.push_back((d.path() / "bin").string());
  }
  // The newest version: compare as numbers (9.6 < 15).
  std::sort(found.begin(), found.end(), [](const std::string& a, const std::string& b) {
    return std::atof(fs::path(a).parent_path().filename().c_str()) <
           std::atof(fs::path(b).parent_path().filename().c_str());
  });
  return found.empty() ? std::string() : found.back();
}

}  // namespace

Postgres::Postgres() {
  bindir_ = find_bindir();
  if (bindir_.empty()) {
    fail(
        "no PostgreSQL server binaries (initdb) under /usr/lib/postgresql/*/bin: apt-get install postgresql "
        "(scripts/packages), or set MSRPD_PG_BINDIR");
    return;
  }
  char tmpl[] = "/tmp/msrpd-pg-XXXXXX";
  if (!::mkdtemp(tmpl)) {
    fail("mkdtemp failed");
    return;
  }
  dir_ = tmpl;
  data_ = dir_ + "/data";
  if (::geteuid() == 0) {
    // PostgreSQL refuses to run as root: the cluster belongs to an unprivileged user.
    for (const char* name : {"postgres", "nobody"}) {
      if (passwd* pw = ::getpwnam(name)) {
        run_as_ = name;
        if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
          fail("chown " + dir_ + " to " + name + " failed");
          return;
        }
        break;
      }
    }
    if (run_as_.empty()) {
      fail("running as root and no 'postgres' or 'nobody' user to run PostgreSQL as");
      return;
    }
  }
  std::string out;
  if (!run({bindir_ + "/initdb", "-D", data_, "-U", "postgres", "--auth-local=trust",
            "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale", "-N"},
           60, &out)) {
    fail("initdb failed: " + out);
    return;
  }
  // A test server: nothing needs to survive a crash; small, quick.
  std::ofstream(data_ + "/postgresql.conf", std::ios::app)
      << "\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '" << dir_
      << "'\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\nshared_buffers = 16MB\n"
         "max_connections = 60\nlog_min_messages = warning\n";
  // The port was free a moment ago; another program may take it meanwhile: try a few.
  for (int attempt = 0; attempt < 3 && !running_; ++attempt) {
    port_ = free_tcp_port();
    std::ofstream(data_ + "/postgresql.auto.conf", std::ios::trunc) << "port = " << port_ << "\n";
    error_.clear();
    start();
  }
  if (!running_) return;
  std::string e =
      exec("postgres", std::string("CREATE ROLE msrpd LOGIN CREATEDB PASSWORD '") + role_password() + "'");
  if (!e.empty()) fail("CREATE ROLE msrpd: " + e);
}

Postgres::~Postgres() {
  if (running_) {
    std::string out;
    // The data is thrown away: no checkpoint needed.
    run({bindir_ + "/pg_ctl", "-D", data_, "-m", "immediate", "-w", "-t", "10", "stop"}, 15, &out);
  }
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

Postgres& Postgres::shared() {
  static Postgres pg;
  return pg;
}

void Postgres::fail(const std::string& why) {
  error_ = "PostgreSQL test server: " + why;
  std::string l = log();
  if (!l.empty()) error_ += "\n--- server log ---\n" + l;
}

std::string Postgres::log() const {
  return dir_.empty() ? std::string() : slurp(dir_ + "/log");
}

bool Postgres::run(const std::vector<std::string>& argv, int timeout_s, std::string* output) {
  std::string out_path = dir_.empty() ? "/tmp/msrpd-pg-run.out" : dir_ + "/run.out";
  uid_t uid = 0;
  gid_t gid = 0;
  if (!run_as_.empty()) {
    passwd* pw = ::getpwnam(run_as_.c_str());
    if (!pw) {
      *output = "no user " + run_as_;
      return false;
    }
    uid = pw->pw_uid;
    gid = pw->pw_gid;
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    FILE* f = std::fopen(out_path.c_str(), "w");
    if (f) {
      ::dup2(fileno(f), 1);
      ::dup2(fileno(f), 2);
    }
    if (!run_as_.empty()) {
      if (f) (void)::fchown(fileno(f), uid, gid);
      if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) _exit(126);
    }
    if (::chdir(dir_.c_str()) != 0) _exit(126);
    std::vector<char*> cargv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    ::execv(cargv[0], cargv.data());
    _exit(127);
  }
  if (pid < 0) {
    *output = "fork failed";
    return false;
  }
  int status = 0;
  bool timed_out = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  *output = slurp(out_path);
  if (timed_out) *output += "\n(" + argv[0] + " killed after " + std::to_string(timeout_s) + " s)";
  return !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool Postgres::start() {
  if (running_) return true;
  std::string out;
  if (!run({bindir_ + "/pg_ctl", "-D", data_, "-l", dir_ + "/log", "-w", "-t", "10", "start"}, 15, &out)) {
    fail("pg_ctl start (port " + std::to_string(port_) + ") failed: " + out);
    return false;
  }
  running_ = true;
  return true;
}

bool Postgres::stop() {
  if (!running_) return true;
  std::string out;
  bool done = run({bindir_ + "/pg_ctl", "-D", data_, "-m", "fast", "-w", "-t", "10", "stop"}, 15, &out);
  if (!done) {
    // The postmaster's pid is the first line of postmaster.pid: make sure it is gone.
    std::string pidfile = slurp(data_ + "/postmaster.pid");
    pid_t pid = static_cast<pid_t>(std::atol(pidfile.c_str()));
    if (pid > 0) ::kill(pid, SIGKILL);
    fail("pg_ctl stop failed: " + out);
  }
  running_ = false;
  return done;
}

std::string Postgres::exec(const std::string& dbname, const std::string& sql) {
  std::string port = std::to_string(port_);
  const char* keys[] = {"host", "port", "user", "dbname", "connect_timeout", "options", nullptr};
  const char* values[] = {
      dir_.c_str(), port.c_str(), "postgres", dbname.c_str(), "5", "-c statement_timeout=10000", nullptr};
  PGconn* c = PQconnectdbParams(keys, values, 0);
  std::string err;
  if (PQstatus(c) != CONNECTION_OK) {
    err = PQerrorMessage(c);
  } else {
    PGresult* r = PQexec(c, sql.c_str());
    auto st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) err = PQresultErrorMessage(r);
    PQclear(r);
  }
  PQfinish(c);
  while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
  return err;
}

std::string Postgres::create_database(const std::string& hint) {
  std::string name = "t" + std::to_string(++databases_) + "_";
  for (char ch : hint) {
    if (name.size() >= 60) break;
    name += (std::isalnum(static_cast<unsigned char>(ch)) != 0) ? static_cast<char>(std::tolower(ch)) : '_';
  }
  std::string e = exec("postgres", "CREATE DATABASE " + name + " OWNER msrpd");
  if (!e.empty()) {
    fail("CREATE DATABASE " + name + ": " + e);
    return {};
  }
  return name;
}

std::string Postgres::url(const std::string& dbname) const {
  return "postgres://msrpd:" + std::string(role_password()) + "@127.0.0.1:" + std::to_string(port_) + "/" +
         dbname;
}

}  // namespace msrpd::itest
