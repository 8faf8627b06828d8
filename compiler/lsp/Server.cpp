#include "lsp/Server.h"

#include "Analysis.h"
#include "Completion.h"
#include "Document.h"
#include "Transport.h"
#include "format/Format.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>

namespace route::lsp {

namespace {

using json = nlohmann::json;

// JSON-RPC and LSP error codes.
enum ErrorCode {
  kParseError = -32700,
  kInvalidRequest = -32600,
  kMethodNotFound = -32601,
  kInvalidParams = -32602,
  kInternalError = -32603,
  kServerNotInitialized = -32002,
};

struct ProtocolError : std::runtime_error {
  ProtocolError(int code, const std::string &message) : std::runtime_error(message), code(code) {}
  int code;
};

class Server {
public:
  Server(Transport &transport, std::FILE *log) : transport_(transport), log_(log) {}

  int run() {
    while (true) {
      json message;
      std::string error;
      switch (transport_.read(message, error)) {
      case Transport::Read::End:
        return shutdown_ ? 0 : 1;
      case Transport::Read::Malformed:
        std::fprintf(log_, "routec lsp: %s\n", error.c_str());
        transport_.write({{"jsonrpc", "2.0"},
                          {"id", nullptr},
                          {"error", {{"code", kParseError}, {"message", error}}}});
        continue;
      case Transport::Read::Message:
        break;
      }
      if (std::optional<int> exitCode = handle(message))
        return *exitCode;
    }
  }

private:
  // ------------------------------------------------------------------------ dispatch
  std::optional<int> handle(const json &message) {
    if (!message.is_object() || !message.contains("method") || !message["method"].is_string()) {
      if (message.is_object() && message.contains("id") && !message.contains("result") &&
          !message.contains("error"))
        reply(message["id"], ProtocolError(kInvalidRequest, "a request without a method"));
      return std::nullopt; // otherwise a response: this server sends no requests
    }
    std::string method = message["method"];
    json params = message.value("params", json::object());
    if (!message.contains("id")) {
      if (method == "exit")
        return shutdown_ ? 0 : 1;
      if (initialized_)
        guard([&] { notification(method, params); }, method);
      return std::nullopt;
    }
    const json &id = message["id"];
    try {
      reply(id, request(method, params));
    } catch (const ProtocolError &e) {
      reply(id, e);
    } catch (const json::exception &e) {
      reply(id, ProtocolError(kInvalidParams, e.what()));
    } catch (const std::exception &e) {
      reply(id, ProtocolError(kInternalError, e.what()));
    }
    return std::nullopt;
  }

  void reply(const json &id, const json &result) {
    transport_.write({{"jsonrpc", "2.0"}, {"id", id}, {"result", result}});
  }
  void reply(const json &id, const ProtocolError &error) {
    std::fprintf(log_, "routec lsp: request failed: %s\n", error.what());
    transport_.write({{"jsonrpc", "2.0"},
                      {"id", id},
                      {"error", {{"code", error.code}, {"message", error.what()}}}});
  }

  template <typename F> void guard(F &&body, const std::string &method) {
    try {
      body();
    } catch (const std::exception &e) {
      std::fprintf(log_, "routec lsp: %s: %s\n", method.c_str(), e.what());
    }
  }

  json request(const std::string &method, const json &params) {
    if (method == "initialize")
      return initialize(params);
    if (!initialized_)
      throw ProtocolError(kServerNotInitialized, "initialize first");
    if (shutdown_)
      throw ProtocolError(kInvalidRequest, "the server is shutting down");
    if (method == "shutdown") {
      shutdown_ = true;
      return nullptr;
    }
    if (method == "textDocument/hover")
      return hover(params);
    if (method == "textDocument/completion")
      return completion(params);
    if (method == "textDocument/definition")
      return definition(params);
    if (method == "textDocument/documentSymbol")
      return documentSymbol(params);
    if (method == "textDocument/formatting")
      return formatting(params);
    throw ProtocolError(kMethodNotFound, "no method " + method);
  }

  void notification(const std::string &method, const json &params) {
    if (method == "textDocument/didOpen")
      didOpen(params);
    else if (method == "textDocument/didChange")
      didChange(params);
    else if (method == "textDocument/didClose")
      didClose(params);
    // Everything else ($/cancelRequest, didSave, configuration) needs nothing here.
  }

  // -------------------------------------------------------------------- lifecycle
  json initialize(const json &params) {
    if (initialized_)
      throw ProtocolError(kInvalidRequest, "initialize was already called");
    initialized_ = true;
    json encodings = params.value("capabilities", json::object())
                         .value("general", json::object())
                         .value("positionEncodings", json::array());
    if (std::find(encodings.begin(), encodings.end(), "utf-8") != encodings.end())
      encoding_ = PositionEncoding::Utf8;
    return {{"capabilities",
             {{"positionEncoding", encoding_ == PositionEncoding::Utf8 ? "utf-8" : "utf-16"},
              {"textDocumentSync", {{"openClose", true}, {"change", 2}}}, // incremental
              {"hoverProvider", true},
              {"completionProvider", {{"triggerCharacters", {"."}}, {"resolveProvider", false}}},
              {"definitionProvider", true},
              {"documentSymbolProvider", true},
              {"documentFormattingProvider", true}}},
            {"serverInfo", {{"name", "routec lsp"}}}};
  }

  // -------------------------------------------------------------------- documents
  void didOpen(const json &params) {
    const json &item = params.at("textDocument");
    std::string uri = item.at("uri");
    std::string path = pathOfUri(uri);
    auto document = std::make_unique<Document>(uri, path.empty() ? uri : path,
                                               item.at("text").get<std::string>(),
                                               item.value("version", int64_t{0}));
    documents_[uri] = std::move(document);
    changed(uri);
  }

  void didChange(const json &params) {
    Document &document = documentOf(params);
    for (const json &change : params.at("contentChanges")) {
      if (change.contains("range"))
        document.change(false, position(change["range"].at("start")),
                        position(change["range"].at("end")), change.at("text"), encoding_);
      else
        document.change(true, {}, {}, change.at("text"), encoding_);
    }
    document.setVersion(params["textDocument"].value("version", document.version()));
    changed(document.uri());
  }

  void didClose(const json &params) {
    std::string uri = params.at("textDocument").at("uri");
    auto it = documents_.find(uri);
    if (it == documents_.end())
      return;
    std::string path = it->second->path();
    documents_.erase(it);
    analyses_.erase(uri);
    transport_.write({{"jsonrpc", "2.0"},
                      {"method", "textDocument/publishDiagnostics"},
                      {"params", {{"uri", uri}, {"diagnostics", json::array()}}}});
    dependentsOf(path);
  }

  // Analyses the changed buffer again, and every open buffer that imports it.
  void changed(const std::string &uri) {
    analyze(*documents_.at(uri));
    dependentsOf(documents_.at(uri)->path());
  }

  void dependentsOf(const std::string &path) {
    for (auto &[uri, analysis] : analyses_) {
      std::vector<std::string> files = analysis->files();
      if (files.size() > 1 && std::find(files.begin() + 1, files.end(), path) != files.end())
        analyze(*documents_.at(uri));
    }
  }

  void analyze(const Document &document) {
    std::map<std::string, std::string> overlays;
    for (const auto &[uri, other] : documents_)
      overlays[other->path()] = other->text();
    auto analysis = std::make_unique<Analysis>(document.path(), document.text(), overlays);
    json diagnostics = diagnosticsOf(*analysis, document);
    analyses_[document.uri()] = std::move(analysis);
    transport_.write({{"jsonrpc", "2.0"},
                      {"method", "textDocument/publishDiagnostics"},
                      {"params",
                       {{"uri", document.uri()},
                        {"version", document.version()},
                        {"diagnostics", std::move(diagnostics)}}}});
  }

  // The diagnostics of `routec check`. One in an imported file is shown at the import
  // that brings the file in, naming where it is.
  json diagnosticsOf(const Analysis &analysis, const Document &document) {
    json out = json::array();
    const SourceManager &sources = analysis.sources();
    for (const Diagnostic *d : analysis.diags().sorted()) {
      json item = {{"severity", d->severity == Severity::Error     ? 1
                                : d->severity == Severity::Warning ? 2
                                                                   : 3},
                   {"code", d->code},
                   {"source", "routec"}};
      std::string message = d->message;
      if (d->range.valid() && d->range.file == analysis.root()) {
        item["range"] = rangeOf(sources, d->range, document);
      } else if (d->range.valid()) {
        SourceRange at = importBringing(analysis, d->range.file);
        LineColumn lc = sources.lineColumn(d->range.file, d->range.begin);
        message = fmt::format("in {}:{}:{}: {}", sources.path(d->range.file), lc.line, lc.column,
                              message);
        item["range"] = rangeOf(sources, at, document);
      } else {
        item["range"] = {{"start", {{"line", 0}, {"character", 0}}},
                         {"end", {{"line", 0}, {"character", 0}}}};
      }
      if (!d->hint.empty())
        message += "\nhint: " + d->hint;
      item["message"] = message;
      json related = json::array();
      for (const DiagnosticNote &note : d->notes)
        if (note.range.valid())
          related.push_back(
              {{"location", locationOf(sources, note.range, &document, analysis.root())},
               {"message", note.message}});
      if (!related.empty())
        item["relatedInformation"] = std::move(related);
      out.push_back(std::move(item));
    }
    return out;
  }

  // The import in the buffer through which `file` came in (directly or not).
  static SourceRange importBringing(const Analysis &analysis, FileId file) {
    const ast::Module *root = analysis.rootModule();
    SourceRange first{analysis.root(), 0, 0};
    bool any = false;
    if (!root)
      return first;
    for (const ast::DeclPtr &decl : root->decls) {
      if (decl->kind != ast::DeclKind::Import)
        continue;
      if (ast::as<ast::ImportDecl>(*decl).target == file)
        return decl->range;
      if (!any)
        first = decl->range;
      any = true;
    }
    return first;
  }

  // ------------------------------------------------------------------- positions
  Position position(const json &p) const {
    auto clamp = [](const json &v) {
      return static_cast<uint32_t>(std::clamp<int64_t>(v.get<int64_t>(), 0, UINT32_MAX));
    };
    return {clamp(p.at("line")), clamp(p.at("character"))};
  }

  json positionJson(Position p) const { return {{"line", p.line}, {"character", p.character}}; }

  // A range of the buffer (its text is the document's) or of a file the compiler read.
  json rangeOf(const SourceManager &sources, SourceRange range, const Document &document) const {
    const std::string &text = sources.text(range.file);
    bool own = sources.path(range.file) == document.path();
    auto at = [&](uint32_t offset) {
      return own ? document.position(offset, encoding_) : positionIn(text, offset, encoding_);
    };
    return {{"start", positionJson(at(range.begin))}, {"end", positionJson(at(range.end))}};
  }

  json locationOf(const SourceManager &sources, SourceRange range, const Document *document,
                  FileId root) const {
    if (document && range.file == root)
      return {{"uri", document->uri()}, {"range", rangeOf(sources, range, *document)}};
    const std::string &path = sources.path(range.file);
    Document other(uriOfPath(path), path, sources.text(range.file), 0);
    auto open = std::find_if(documents_.begin(), documents_.end(),
                             [&](const auto &entry) { return entry.second->path() == path; });
    std::string uri = open != documents_.end() ? open->first : other.uri();
    return {{"uri", uri}, {"range", rangeOf(sources, range, other)}};
  }

  Document &documentOf(const json &params) {
    std::string uri = params.at("textDocument").at("uri");
    auto it = documents_.find(uri);
    if (it == documents_.end())
      throw ProtocolError(kInvalidParams, "the document is not open: " + uri);
    return *it->second;
  }

  const Analysis &analysisOf(const Document &document) { return *analyses_.at(document.uri()); }

  // The buffer, its analysis and the offset a TextDocumentPositionParams names.
  struct Cursor {
    Document &document;
    const Analysis &analysis;
    uint32_t offset;
  };
  Cursor cursorOf(const json &params) {
    Document &document = documentOf(params);
    return {document, analysisOf(document),
            document.offset(position(params.at("position")), encoding_)};
  }

  // -------------------------------------------------------------------- features
  json hover(const json &params) {
    Cursor at = cursorOf(params);
    std::optional<Hover> found = at.analysis.hover(at.offset);
    if (!found)
      return nullptr;
    return {{"contents", {{"kind", "markdown"}, {"value", found->markdown}}},
            {"range", rangeOf(at.analysis.sources(), found->range, at.document)}};
  }

  json completion(const json &params) {
    Cursor at = cursorOf(params);
    Completions found = complete(at.document.text(), at.offset, at.analysis);
    json range = {{"start", positionJson(at.document.position(found.replaceBegin, encoding_))},
                  {"end", positionJson(at.document.position(at.offset, encoding_))}};
    json items = json::array();
    for (const CompletionItem &item : found.items) {
      json entry = {{"label", item.label},
                    {"kind", item.kind},
                    {"textEdit", {{"range", range}, {"newText", item.label}}}};
      if (!item.detail.empty())
        entry["detail"] = item.detail;
      if (!item.documentation.empty())
        entry["documentation"] = {{"kind", "markdown"}, {"value", item.documentation}};
      items.push_back(std::move(entry));
    }
    return {{"isIncomplete", false}, {"items", std::move(items)}};
  }

  json definition(const json &params) {
    Cursor at = cursorOf(params);
    std::optional<SourceRange> found = at.analysis.definition(at.offset);
    if (!found)
      return nullptr;
    return locationOf(at.analysis.sources(), *found, &at.document, at.analysis.root());
  }

  json documentSymbol(const json &params) {
    Document &document = documentOf(params);
    const Analysis &analysis = analysisOf(document);
    std::function<json(const Symbol &)> convert = [&](const Symbol &symbol) {
      json children = json::array();
      for (const Symbol &child : symbol.children)
        children.push_back(convert(child));
      return json{{"name", symbol.name},
                  {"detail", symbol.detail},
                  {"kind", symbol.kind},
                  {"range", rangeOf(analysis.sources(), symbol.range, document)},
                  {"selectionRange", rangeOf(analysis.sources(), symbol.selection, document)},
                  {"children", std::move(children)}};
    };
    json out = json::array();
    for (const Symbol &symbol : analysis.symbols())
      out.push_back(convert(symbol));
    return out;
  }

  // The whole buffer in the canonical layout; no edit when it has syntax errors (the
  // diagnostics already say where) or is formatted.
  json formatting(const json &params) {
    Document &document = documentOf(params);
    SourceManager sources;
    FileId file = sources.add(document.path(), document.text());
    DiagnosticEngine diags(sources);
    std::optional<std::string> formatted = formatFile(sources, file, diags);
    if (!formatted || *formatted == document.text())
      return json::array();
    json whole = {{"start", positionJson({0, 0})},
                  {"end", positionJson(document.position(
                              static_cast<uint32_t>(document.text().size()), encoding_))}};
    return json::array({{{"range", whole}, {"newText", *formatted}}});
  }

  Transport &transport_;
  std::FILE *log_;
  PositionEncoding encoding_ = PositionEncoding::Utf16;
  bool initialized_ = false;
  bool shutdown_ = false;
  std::map<std::string, std::unique_ptr<Document>> documents_; // by URI
  std::map<std::string, std::unique_ptr<Analysis>> analyses_;  // by URI
};

} // namespace

int serve(std::FILE *in, std::FILE *out, std::FILE *log) {
  Transport transport(in, out);
  Server server(transport, log);
  return server.run();
}

} // namespace route::lsp
