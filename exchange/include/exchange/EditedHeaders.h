// Header fields a policy changes a little, without copying them: a view of another list's
// fields, with the policy's assignments and deletions kept as edits over them and applied
// as the fields are read out (forEachField). The proxy's response (resp) views the
// upstream response's fields this way, and the request going upstream (upstream.req) the
// client request's: their header strings are then never copied.
#pragma once

#include "exchange/HeaderList.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace route {

class EditedHeaders {
public:
  // Fields of its own, none at first.
  EditedHeaders() = default;
  // A copy owns its fields, as they read: the list it viewed belongs to another. Moves
  // copy too: the viewed list is often a member of the same object (an exchange's), which
  // a move leaves empty.
  EditedHeaders(const EditedHeaders &other) : own_(other.headers()) {}
  EditedHeaders &operator=(const EditedHeaders &other);

  // Reads `base`'s fields in place from now on, unedited: `base` must outlive this use and
  // must not change meanwhile (detach() first).
  void view(const HeaderList &base);
  // Owns the fields as they read now, and no longer reads the list it viewed.
  void detach();
  // Back to fields of its own, none.
  void clear();

  // The fields, edits applied (built once when read after an edit).
  const HeaderList &headers() const;
  // As HeaderList's set and remove on a copy would change the fields.
  void set(std::string_view name, std::string_view value);
  void remove(std::string_view name);
  // Calls fn(name, value) for each field, edits applied, in order.
  template <typename Fn> void forEachField(Fn fn) const {
    if (!base_) {
      for (const auto &[name, value] : own_.fields())
        fn(name, value);
      return;
    }
    const HeaderFields &fields = base_->fields();
    for (size_t i = 0; i < fields.size(); ++i) {
      size_t e = edits_.empty() ? 0 : editOf(fields[i].first);
      if (e == edits_.size())
        fn(fields[i].first, fields[i].second);
      else if (edits_[e].value && edits_[e].at == i)
        fn(edits_[e].name, *edits_[e].value);
    }
    for (const auto &[name, value] : added_.fields())
      fn(name, value);
  }

private:
  // An edit of a viewed field: the base's fields of this name are replaced by one, at the
  // place of the first (index `at`), or removed when there is no value.
  struct Edit {
    std::string name;
    std::optional<std::string> value;
    size_t at = 0;
  };
  // The edit of fields named `name`; edits_.size() when there is none. Inline: the fields
  // going out are looked up one by one.
  size_t editOf(std::string_view name) const {
    size_t e = 0;
    while (e < edits_.size() && !sameFieldName(edits_[e].name, name))
      ++e;
    return e;
  }

  HeaderList own_;                            // when viewing nothing
  const HeaderList *base_ = nullptr;          // the viewed fields
  std::vector<Edit> edits_;                   // over base_'s fields
  HeaderList added_;                          // after base_'s fields
  mutable std::optional<HeaderList> applied_; // headers() after edits
};

} // namespace route
