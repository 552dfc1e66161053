#pragma once
// Test certificates, made once per test program with the openssl command line in a temporary
// directory (removed at exit): a CA, a server certificate for DNS:localhost + IP:127.0.0.1, one
// for another host, a client (relay) certificate, and a client certificate from a rogue CA.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "net/tls.h"

namespace msrpd::net::testing {

struct TestCerts {
  std::string dir;
  std::string ca, rogue_ca;
  std::string server_cert, server_key;       // DNS:localhost, IP:127.0.0.1
  std::string wrong_cert, wrong_key;         // DNS:other.example.com
  std::string client_cert, client_key;       // DNS:relay-a.example.com, signed by ca
  std::string rogue_client_cert, rogue_key;  // signed by rogue_ca
  bool ok = false;
};

inline bool run_quiet(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;
}

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

inline const TestCerts& test_certs() {
  static TestCerts c = [] {
    TestCerts t;
    char tmpl[] = "/tmp/msrpd-tls-XXXXXX";
    if (!::mkdtemp(tmpl)) return t;
    t.dir = tmpl;
    const std::string d = t.dir + "/";
    write_file(d + "ca.cnf",
               "[req]\ndistinguished_name=dn\nx509_extensions=v3_ca\nprompt=no\n[dn]\nCN=msrpd test CA\n"
               "[v3_ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
               "subjectKeyIdentifier=hash\n");
    write_file(d + "leaf.cnf", "[req]\ndistinguished_name=dn\nprompt=no\n[dn]\nCN=leaf\n");
    const std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    auto make_ca = [&](const std::string& name) {
      return run_quiet("openssl req -x509 -config " + d + "ca.cnf" + key + " -keyout " + d + name +
                       ".key -out " + d + name + ".pem -days 2 -subj '/CN=msrpd test " + name + "'");
    };
    auto make_leaf = [&](const std::string& name, const std::string& cn, const std::string& san,
                         const std::string& ca) {
      write_file(
          d + name + ".ext",
          "subjectAltName=" + san + "\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n");
      return run_quiet("openssl req -new -config " + d + "leaf.cnf" + key + " -keyout " + d + name +
                       ".key -out " + d + name + ".csr -subj /CN=" + cn) &&
             run_quiet("openssl x509 -req -in " + d + name + ".csr -CA " + d + ca + ".pem -CAkey " + d + ca +
                       ".key -CAcreateserial -out " + d + name + ".pem -days 2 -extfile " + d + name +
                       ".ext");
    };
    t.ok = make_ca("ca") && make_ca("rogue") &&
           make_leaf("server", "localhost", "DNS:localhost,IP:127.0.0.1", "ca") &&
           make_leaf("wrong", "other.example.com", "DNS:other.example.com", "ca") &&
           make_leaf("client", "relay-a.example.com", "DNS:relay-a.example.com", "ca") &&
           make_leaf("rogueclient", "rogue.example.com", "DNS:rogue.example.com", "rogue");
    t.ca = d + "ca.pem";
    t.rogue_ca = d + "rogue.pem";
    t.server_cert = d + "server.pem";
    t.server_key = d + "server.key";
    t.wrong_cert = d + "wrong.pem";
    t.wrong_key = d + "wrong.key";
    t.client_cert = d + "client.pem";
    t.client_key = d + "client.key";
    t.rogue_client_cert = d + "rogueclient.pem";
    t.rogue_key = d + "rogueclient.key";
    static std::string cleanup_dir = t.dir;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(cleanup_dir, ec);
    });
    return t;
  }();
  return c;
}

// Settings of a relay that listens with the server certificate and trusts the test CA.
inline TlsSettings server_settings() {
  const TestCerts& c = test_certs();
  TlsSettings s;
  s.certificate = c.server_cert;
  s.private_key = c.server_key;
  s.ca_list = c.ca;
  return s;
}

// Settings of a peer that connects out (with the relay client certificate) and trusts the CA.
inline TlsSettings client_settings(bool with_certificate = true) {
  const TestCerts& c = test_certs();
  TlsSettings s;
  if (with_certificate) {
    s.certificate = c.client_cert;
    s.private_key = c.client_key;
  }
  s.ca_list = c.ca;
  return s;
}

inline std::unique_ptr<TlsContext> make_context(const TlsSettings& s) {
  auto r = TlsContext::create(s);
  if (!r) {
    ADD_FAILURE() << r.error().message;
    return nullptr;
  }
  return std::move(*r);
}

}  // namespace msrpd::net::testing
