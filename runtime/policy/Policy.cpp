#include "policy/Policy.h"

#include "driver/Compilation.h"
#include "jit/Jit.h"

#include <openssl/evp.h>
#include <sys/mman.h>

#include <fstream>
#include <sstream>

namespace turnout {

namespace {
// The first 16 hex digits of the SHA-256 of every file the policy read (the root, then its
// imports), each preceded by its length: equal sources, equal ids.
std::string contentId(const route::SourceManager &sources) {
  EVP_MD_CTX *context = EVP_MD_CTX_new();
  EVP_DigestInit_ex(context, EVP_sha256(), nullptr);
  for (size_t file = 0; file < sources.fileCount(); ++file) {
    const std::string &text = sources.text(static_cast<route::FileId>(file));
    uint64_t size = text.size();
    EVP_DigestUpdate(context, &size, sizeof size);
    EVP_DigestUpdate(context, text.data(), text.size());
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned length = 0;
  EVP_DigestFinal_ex(context, digest, &length);
  EVP_MD_CTX_free(context);
  static const char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned i = 0; i < 8; ++i) {
    id += kHex[digest[i] >> 4];
    id += kHex[digest[i] & 15];
  }
  return id;
}
} // namespace

std::shared_ptr<const Policy> Policy::load(const std::string &path, std::string &diagnostics) {
  std::shared_ptr<Policy> policy(new Policy());
  policy->path_ = path;
  policy->compilation_ = std::make_unique<route::Compilation>();
  policy->loaded_ = policy->compilation_->load(path);
  diagnostics = policy->compilation_->diags().renderText();
  if (!policy->loaded_ || !policy->loaded_->ok)
    return nullptr;
  policy->id_ = contentId(policy->compilation_->sources());
  const route::Program &program = policy->loaded_->program;
  policy->interpreter_ = std::make_unique<route::Interpreter>(program);
  std::string why;
  policy->jit_ = route::JitPolicy::compile(program, why);
  if (policy->jit_) {
    policy->backend_ = "jit";
    const route::JitPolicy *jit = policy->jit_.get();
    policy->runner_ = [jit](route::schema::Phase phase, RouteCtx *ctx, std::vector<route::SourceRange> *) {
      jit->runPhase(phase, ctx);
    };
  } else {
    policy->backend_ = "interpreter (the JIT declined: " + why + ")";
    const route::Interpreter *interpreter = policy->interpreter_.get();
    policy->runner_ = [interpreter](route::schema::Phase phase, RouteCtx *ctx, std::vector<route::SourceRange> *) {
      interpreter->runPhase(phase, ctx, nullptr);
    };
  }
  return policy;
}

Policy::~Policy() = default;

const route::Program &Policy::program() const { return loaded_->program; }

std::string Policy::balanceKey(route::Exchange &exchange, uint32_t upstream) const {
  const route::ast::Expr *key = program().upstreams[upstream]->config.balanceKey;
  return key ? exchange.balanceKey(*interpreter_, *key) : std::string();
}

size_t Policy::releaseCompilerCode() {
  // Only executable mappings: their pages are never written, so dropping them loses
  // nothing. Data pages of the same libraries hold relocations and stay.
  static const char *const kCompileOnly[] = {"libLLVM", "libantlr4-runtime", "libz3", "libicu", "libxml2"};
  std::ifstream maps("/proc/self/maps");
  std::string line;
  size_t released = 0;
  while (std::getline(maps, line)) {
    std::istringstream fields(line);
    std::string range, permissions, offset, device, inode, path;
    fields >> range >> permissions >> offset >> device >> inode >> path;
    if (permissions != "r-xp" || path.empty())
      continue;
    bool compileOnly = false;
    for (const char *library : kCompileOnly)
      compileOnly = compileOnly || path.find(library) != std::string::npos;
    if (!compileOnly)
      continue;
    size_t dash = range.find('-');
    uintptr_t begin = std::stoull(range.substr(0, dash), nullptr, 16);
    uintptr_t end = std::stoull(range.substr(dash + 1), nullptr, 16);
    if (::madvise(reinterpret_cast<void *>(begin), end - begin, MADV_DONTNEED) == 0)
      released += end - begin;
  }
  return released;
}

} // namespace turnout
