#include "jit/Jit.h"

#include "Codegen.h"

#include <llvm/ExecutionEngine/ObjectCache.h>
#include <llvm/ExecutionEngine/Orc/CompileUtils.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/Transforms/Utils/Cloning.h>

#include <algorithm>
#include <array>
#include <functional>
#include <mutex>

namespace route {

using PhaseFunction = void (*)(RouteCtx *);
using KeyFunction = void (*)(RouteCtx *, RouteStr *);

struct JitPolicy::Impl {
  std::unique_ptr<llvm::ObjectCache> objectCopy; // the JIT's compiler points at it: it goes last
  std::unique_ptr<llvm::orc::LLJIT> jit;
  jit::RuntimeData data;
  image::PolicyImage image; // its phases and upstreams; the tables are data's
  std::array<PhaseFunction, schema::kPhaseCount> phases{};
  std::vector<KeyFunction> keys; // by upstream; null where it has no balancing key
  std::string ir;
  std::string assembly;
  std::string object;
};

namespace {

void initializeLlvm() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

// Modules above this many instructions are compiled for compile time rather than speed.
constexpr size_t kLargeModule = 5000;

void optimize(llvm::Module &module, bool large) {
  llvm::LoopAnalysisManager loops;
  llvm::FunctionAnalysisManager functions;
  llvm::CGSCCAnalysisManager cgscc;
  llvm::ModuleAnalysisManager modules;
  llvm::PassBuilder builder;
  builder.registerModuleAnalyses(modules);
  builder.registerCGSCCAnalyses(cgscc);
  builder.registerFunctionAnalyses(functions);
  builder.registerLoopAnalyses(loops);
  builder.crossRegisterProxies(loops, functions, cgscc, modules);
  if (large) {
    // Stack slots to registers and repeated loads away: most of O2's gain on rule code.
    llvm::ModulePassManager pipeline;
    if (llvm::Error err = builder.parsePassPipeline(pipeline, "function(sroa,early-cse)")) {
      llvm::consumeError(std::move(err)); // cannot happen; fall back to O2
    } else {
      pipeline.run(module, modules);
      return;
    }
  }
  builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O2).run(module, modules);
}

std::string message(llvm::Error error) {
  return llvm::toString(std::move(error));
}

// Keeps a copy of the object file the JIT compiles; it never supplies one.
class ObjectCopy : public llvm::ObjectCache {
public:
  explicit ObjectCopy(std::string &out) : out_(out) {}
  void notifyObjectCompiled(const llvm::Module *, llvm::MemoryBufferRef object) override {
    out_.assign(object.getBufferStart(), object.getBufferSize());
  }
  std::unique_ptr<llvm::MemoryBuffer> getObject(const llvm::Module *) override { return nullptr; }

private:
  std::string &out_;
};

} // namespace

JitPolicy::JitPolicy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
}
JitPolicy::~JitPolicy() = default;

namespace {

// An LLJIT for this host, giving the objects it compiles to `objectCopy` when there is one.
llvm::Expected<std::unique_ptr<llvm::orc::LLJIT>>
createJit(llvm::orc::JITTargetMachineBuilder machine, llvm::ObjectCache *objectCopy) {
  llvm::orc::LLJITBuilder builder;
  builder.setJITTargetMachineBuilder(std::move(machine));
  if (objectCopy) {
    builder.setCompileFunctionCreator(
        [objectCopy](llvm::orc::JITTargetMachineBuilder machine)
            -> llvm::Expected<std::unique_ptr<llvm::orc::IRCompileLayer::IRCompiler>> {
          auto target = machine.createTargetMachine();
          if (!target)
            return target.takeError();
          return std::make_unique<llvm::orc::TMOwningSimpleCompiler>(std::move(*target),
                                                                     objectCopy);
        });
  }
  return builder.create();
}

// The code's imports bound (host functions and the image's objects), its code added by
// `add`, and the entry points the image names looked up.
bool bindAndAdd(JitPolicy::Impl *impl, const std::function<llvm::Error()> &add,
                std::string &error) {
  llvm::orc::SymbolMap symbols;
  for (const auto &[name, address] : jit::hostSymbols())
    symbols[impl->jit->mangleAndIntern(name)] = {llvm::orc::ExecutorAddr::fromPtr(address),
                                                 llvm::JITSymbolFlags::Exported |
                                                     llvm::JITSymbolFlags::Callable};
  for (size_t i = 0; i < impl->data.objects.size(); ++i)
    symbols[impl->jit->mangleAndIntern(jit::objectSymbol(i))] = {
        llvm::orc::ExecutorAddr::fromPtr(impl->data.objects[i]), llvm::JITSymbolFlags::Exported};
  if (auto err =
          impl->jit->getMainJITDylib().define(llvm::orc::absoluteSymbols(std::move(symbols)))) {
    error = message(std::move(err));
    return false;
  }
  if (auto err = add()) {
    error = message(std::move(err));
    return false;
  }
  for (schema::Phase phase : impl->image.phases) {
    auto address = impl->jit->lookup(jit::phaseSymbol(phase));
    if (!address) {
      error = message(address.takeError());
      return false;
    }
    impl->phases[static_cast<size_t>(phase)] = address->toPtr<PhaseFunction>();
  }
  impl->keys.resize(impl->image.upstreams.size());
  for (size_t u = 0; u < impl->image.upstreams.size(); ++u) {
    if (!impl->image.upstreams[u].keyed)
      continue;
    auto address = impl->jit->lookup(jit::keySymbol(u));
    if (!address) {
      error = message(address.takeError());
      return false;
    }
    impl->keys[u] = address->toPtr<KeyFunction>();
  }
  return true;
}

} // namespace

std::unique_ptr<JitPolicy> JitPolicy::compile(const Program &program, std::string &error,
                                              JitOptions options) {
  initializeLlvm();
  auto impl = std::make_unique<Impl>();
  for (const schema::PhaseInfo &phase : schema::phases())
    if (program.phases[static_cast<size_t>(phase.id)])
      impl->image.phases.push_back(phase.id);
  impl->image.upstreams = image::upstreamsOf(program.upstreams);
  for (const Program::Rule &rule : program.rules)
    impl->image.rules.push_back({rule.range, std::string(rule.action)});
  auto context = std::make_unique<llvm::LLVMContext>();
  auto module = std::make_unique<llvm::Module>("policy", *context);
  try {
    jit::generate(program, *module, impl->data);
  } catch (const jit::Unsupported &unsupported) {
    error = std::string("the JIT does not compile ") + unsupported.what() + " yet";
    return nullptr;
  }
  // Large policies (thousands of rules) get a short pipeline and fast instruction
  // selection: the full O2 pipeline and selector cost seconds on them, for little gain
  // once rule chains are hash lookups.
  size_t instructions = module->getInstructionCount();
  bool large = instructions > kLargeModule;
  auto machine = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!machine) {
    error = message(machine.takeError());
    return nullptr;
  }
  machine->setCodeGenOptLevel(large ? llvm::CodeGenOptLevel::None : llvm::CodeGenOptLevel::Default);
  llvm::orc::JITTargetMachineBuilder machineForAssembly = *machine;
  if (options.keepObject)
    impl->objectCopy = std::make_unique<ObjectCopy>(impl->object);
  auto jit = createJit(std::move(*machine), impl->objectCopy.get());
  if (!jit) {
    error = message(jit.takeError());
    return nullptr;
  }
  impl->jit = std::move(*jit);

  module->setDataLayout(impl->jit->getDataLayout());
  module->setTargetTriple(impl->jit->getTargetTriple().str());
  std::string broken;
  llvm::raw_string_ostream brokenStream(broken);
  if (llvm::verifyModule(*module, &brokenStream)) {
    error = "the JIT produced invalid IR: " + broken;
    return nullptr;
  }
  optimize(*module, large);
  if (options.keepIr) {
    llvm::raw_string_ostream irStream(impl->ir);
    module->print(irStream, nullptr);
  }
  if (options.keepAssembly) {
    auto target = machineForAssembly.createTargetMachine();
    if (!target) {
      error = message(target.takeError());
      return nullptr;
    }
    llvm::SmallString<0> text;
    llvm::raw_svector_ostream textStream(text);
    llvm::legacy::PassManager passes;
    if ((*target)->addPassesToEmitFile(passes, textStream, nullptr,
                                       llvm::CodeGenFileType::AssemblyFile)) {
      error = "this target cannot print assembly";
      return nullptr;
    }
    std::unique_ptr<llvm::Module> copy = llvm::CloneModule(*module);
    passes.run(*copy);
    impl->assembly = text.str().str();
  }
  llvm::orc::LLJIT &lljit = *impl->jit;
  if (!bindAndAdd(
          impl.get(),
          [&] {
            return lljit.addIRModule(
                llvm::orc::ThreadSafeModule(std::move(module), std::move(context)));
          },
          error))
    return nullptr;
  return std::unique_ptr<JitPolicy>(new JitPolicy(std::move(impl)));
}

std::unique_ptr<JitPolicy> JitPolicy::link(const std::string &object,
                                           const image::PolicyImage &image, std::string &error) {
  initializeLlvm();
  auto impl = std::make_unique<Impl>();
  impl->image.phases = image.phases;
  impl->image.upstreams = image.upstreams;
  impl->image.rules = image.rules;
  for (const image::Table &table : image.tables) {
    if (!impl->data.add(table)) {
      error = "a table of the artifact does not build";
      return nullptr;
    }
  }
  auto machine = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!machine) {
    error = message(machine.takeError());
    return nullptr;
  }
  auto jit = createJit(std::move(*machine), nullptr);
  if (!jit) {
    error = message(jit.takeError());
    return nullptr;
  }
  impl->jit = std::move(*jit);
  llvm::orc::LLJIT &lljit = *impl->jit;
  if (!bindAndAdd(
          impl.get(),
          [&] {
            return lljit.addObjectFile(llvm::MemoryBuffer::getMemBufferCopy(object, "policy.o"));
          },
          error))
    return nullptr;
  return std::unique_ptr<JitPolicy>(new JitPolicy(std::move(impl)));
}

const std::vector<image::Upstream> &JitPolicy::upstreams() const {
  return impl_->image.upstreams;
}

const std::vector<image::Rule> &JitPolicy::rules() const {
  return impl_->image.rules;
}

image::PolicyImage JitPolicy::image() const {
  return {impl_->image.phases, impl_->image.upstreams, impl_->data.tables, impl_->image.rules};
}

bool JitPolicy::hasBalanceKey(uint32_t upstream) const {
  return upstream < impl_->keys.size() && impl_->keys[upstream];
}

RouteStr JitPolicy::balanceKey(uint32_t upstream, RouteCtx *ctx) const {
  RouteStr key{nullptr, 0};
  impl_->keys[upstream](ctx, &key);
  return key;
}

void JitPolicy::runPhase(schema::Phase phase, RouteCtx *ctx) const {
  if (PhaseFunction function = impl_->phases[static_cast<size_t>(phase)])
    function(ctx);
}

const std::string &JitPolicy::ir() const {
  return impl_->ir;
}
const std::string &JitPolicy::assembly() const {
  return impl_->assembly;
}
const std::string &JitPolicy::object() const {
  return impl_->object;
}

HostTarget hostTarget() {
  HostTarget host;
  host.triple = llvm::sys::getProcessTriple();
  host.cpu = llvm::sys::getHostCPUName().str();
  std::vector<std::string> features;
  for (const auto &[feature, on] : llvm::sys::getHostCPUFeatures())
    features.push_back((on ? "+" : "-") + feature.str());
  std::sort(features.begin(), features.end());
  for (const std::string &feature : features)
    host.features += (host.features.empty() ? "" : ",") + feature;
  return host;
}

} // namespace route
