// msrpd: the MSRP relay daemon. Until the relay engine lands, it only reads its arguments and
// says what it cannot do yet.
#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  std::string cfg = "etc/msrpd.cfg";
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "-f") && i + 1 < argc) {
      cfg = argv[++i];
    } else if (!std::strcmp(argv[i], "-c")) {
      check_only = true;
    } else if (!std::strcmp(argv[i], "-V")) {
      std::puts("msrpd 0.1.0");
      return 0;
    }
  }
  std::fprintf(stderr, "msrpd: config %s: %s\n", cfg.c_str(),
               check_only ? "the config checker is not built yet" : "the relay engine is not built yet");
  return 2;
}
