#include "exchange/EditedHeaders.h"

#include <utility>

namespace route {

EditedHeaders &EditedHeaders::operator=(const EditedHeaders &other) {
  if (this != &other) {
    HeaderList fields = other.headers();
    clear();
    own_ = std::move(fields);
  }
  return *this;
}

void EditedHeaders::view(const HeaderList &base) {
  clear();
  base_ = &base;
}

void EditedHeaders::detach() {
  if (!base_)
    return;
  HeaderList fields = headers();
  clear();
  own_ = std::move(fields);
}

void EditedHeaders::clear() {
  own_ = {};
  base_ = nullptr;
  edits_.clear();
  added_ = {};
  applied_.reset();
}

const HeaderList &EditedHeaders::headers() const {
  if (!base_)
    return own_;
  if (edits_.empty() && added_.fields().empty())
    return *base_;
  if (!applied_) {
    HeaderFields fields;
    forEachField(
        [&](std::string_view name, std::string_view value) { fields.emplace_back(name, value); });
    applied_.emplace(std::move(fields));
  }
  return *applied_;
}

void EditedHeaders::set(std::string_view name, std::string_view value) {
  if (!base_) {
    own_.set(name, value);
    return;
  }
  applied_.reset();
  if (added_.has(name)) {
    added_.set(name, value);
    return;
  }
  if (size_t e = editOf(name); e < edits_.size()) {
    Edit &edit = edits_[e];
    if (edit.value) { // replaced before: replaced again, in the same place
      edit.name = name;
      edit.value = std::string(value);
    } else { // removed before: a new field, after the others
      added_.add(name, value);
    }
    return;
  }
  const HeaderFields &fields = base_->fields();
  for (size_t i = 0; i < fields.size(); ++i)
    if (sameFieldName(fields[i].first, name)) {
      edits_.push_back({std::string(name), std::string(value), i});
      return;
    }
  added_.add(name, value);
}

void EditedHeaders::remove(std::string_view name) {
  if (!base_) {
    own_.remove(name);
    return;
  }
  applied_.reset();
  added_.remove(name);
  if (size_t e = editOf(name); e < edits_.size()) {
    edits_[e].value.reset();
    return;
  }
  if (base_->has(name))
    edits_.push_back({std::string(name), std::nullopt, 0});
}

} // namespace route
