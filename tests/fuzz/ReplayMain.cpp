// Replays fuzz inputs without libFuzzer: every file of the directories named on the command
// line, then hostile inputs generated here and deterministic mutations of the files.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace {

// Reports inputs slower than a second: the parser and checker must stay near-linear.
void run(const std::string &input) {
  auto start = std::chrono::steady_clock::now();
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(input.data()), input.size());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (seconds > 1.0)
    std::printf("slow input (%.1f s): %.60s\n", seconds, input.c_str());
}

std::string repeat(const std::string &piece, size_t times) {
  std::string out;
  out.reserve(piece.size() * times);
  for (size_t i = 0; i < times; ++i)
    out += piece;
  return out;
}

std::vector<std::string> hostileInputs() {
  std::vector<std::string> inputs = {
      repeat("(", 100000),
      "on request { if " + repeat("(", 5000) + "true" + repeat(")", 5000) + " { return } }",
      "on request { if " + repeat("not ", 100000) + "true { return } }",
      "on request { if " + repeat("-", 100000) + "1 == 1 { return } }",
      "on request { if 1" + repeat(" + 1", 100000) + " == 1 { return } }",
      "on request { if true" + repeat(" and true", 50000) + " { return } }",
      "on request {" + repeat(" if true {", 5000) + repeat(" }", 5000) + " }",
      "on request { let a = req.path" + repeat(".x", 50000) + " }",
      "on request { let a = req.header" + repeat("[\"x\"]", 50000) + " }",
      "const s = \"" + std::string(4 << 20, 'x') + "\"",
      "const i = " + std::string(100000, '9'),
      "const d = " + repeat("99999999999d", 1000),
      "acl a { " + repeat("1:", 50000) + ":1/999 }",
      "acl a { " + repeat("10.0.0.0/8, ", 100000) + " }",
      "on request { if req.path ~ r\"" + repeat("(a*)*", 2000) + "\" { return } }",
      "on request { if req.path ~ r\"" + repeat("(", 3000) + "\" { return } }",
      "\"" + repeat("\\x", 50000),
      "/*" + repeat("*", 100000),
      repeat("on request { }\n", 20000),
      "import \"/dev/zero\"\nimport \"/\"\nimport \"fuzz.route\"\n",
      repeat("\xff\xfe", 1000),
      std::string("on\0request { }", 14),
  };
  // Many unknown names against many declarations: "did you mean" must stay cheap.
  std::string typos;
  for (int i = 0; i < 3000; ++i)
    typos +=
        "upstream upstream_number_" + std::to_string(i) + " { servers = [\"127.0.0.1:80\"] }\n";
  typos += "on request {\n";
  for (int i = 0; i < 3000; ++i)
    typos += "  if req.path == \"/" + std::to_string(i) + "\" { route upstream_numbr_" +
             std::to_string(i) + " }\n";
  inputs.push_back(typos + "}\n");
  std::string all;
  for (int c = 0; c < 256; ++c)
    all += static_cast<char>(c);
  inputs.push_back(all);
  return inputs;
}

std::string mutate(const std::string &seed, std::mt19937 &rng) {
  std::string out = seed;
  int edits = 1 + static_cast<int>(rng() % 8);
  for (int i = 0; i < edits && !out.empty(); ++i) {
    size_t at = rng() % out.size();
    switch (rng() % 4) {
    case 0:
      out[at] = static_cast<char>(rng() % 256);
      break;
    case 1:
      out.erase(at, 1 + rng() % 16);
      break;
    case 2:
      out.insert(at, out.substr(rng() % out.size(), 1 + rng() % 32));
      break;
    default:
      out.resize(at);
    }
  }
  return out;
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> seeds;
  for (int i = 1; i < argc; ++i) {
    for (const auto &entry : std::filesystem::recursive_directory_iterator(argv[i])) {
      if (!entry.is_regular_file())
        continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::ostringstream text;
      text << in.rdbuf();
      seeds.push_back(text.str());
    }
  }
  size_t count = 0;
  for (const std::string &seed : seeds) {
    run(seed);
    ++count;
  }
  for (const std::string &input : hostileInputs()) {
    run(input);
    ++count;
  }
  std::mt19937 rng(20261128);
  for (int round = 0; round < 2000 && !seeds.empty(); ++round, ++count)
    run(mutate(seeds[rng() % seeds.size()], rng));
  std::printf("replayed %zu inputs without a crash\n", count);
  return 0;
}
