#include "ast/Types.h"

namespace route {

std::string Type::str() const {
  switch (kind_) {
  case TypeKind::Error:
    return "<error>";
  case TypeKind::Bool:
    return "bool";
  case TypeKind::Int:
    return "int";
  case TypeKind::String:
    return "string";
  case TypeKind::Ip:
    return "ip";
  case TypeKind::Cidr:
    return "cidr";
  case TypeKind::Duration:
    return "duration";
  case TypeKind::Regex:
    return "regex";
  case TypeKind::List:
    return "list<" + first_->str() + ">";
  case TypeKind::Map:
    return "map<" + first_->str() + ", " + second_->str() + ">";
  case TypeKind::Acl:
    return "acl";
  case TypeKind::Upstream:
    return "upstream";
  case TypeKind::Headers:
    return "headers";
  case TypeKind::Strings:
    return "strings";
  }
  return "<error>";
}

TypeContext::TypeContext() = default;

const Type *TypeContext::get(TypeKind kind) {
  auto [it, inserted] = simple_.try_emplace(kind, nullptr);
  if (inserted)
    it->second = &storage_.emplace_back(Type(kind, nullptr, nullptr));
  return it->second;
}

const Type *TypeContext::list(const Type *element) {
  auto [it, inserted] = lists_.try_emplace(element, nullptr);
  if (inserted)
    it->second = &storage_.emplace_back(Type(TypeKind::List, element, nullptr));
  return it->second;
}

const Type *TypeContext::map(const Type *key, const Type *value) {
  auto [it, inserted] = maps_.try_emplace({key, value}, nullptr);
  if (inserted)
    it->second = &storage_.emplace_back(Type(TypeKind::Map, key, value));
  return it->second;
}

} // namespace route
