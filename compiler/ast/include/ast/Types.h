// Route's static types. Types are interned by a TypeContext, so two types are equal exactly
// when their pointers are.
#pragma once

#include <deque>
#include <map>
#include <string>
#include <utility>

namespace route {

enum class TypeKind : uint8_t {
  Error, // the type of an expression that already has a diagnostic; silences follow-ups
  Bool,
  Int,
  String,
  Ip,
  Cidr,
  Duration,
  Regex,
  List,     // list<T>
  Map,      // map<K, V>, from a `map` declaration
  Acl,      // a set of addresses and networks, from an `acl` declaration
  Upstream, // an upstream's name, as `route` takes it
  Headers,  // req.header and friends: string-indexed, assignable, deletable
  Strings,  // req.cookie and req.arg: string-indexed, read-only
};

class Type {
public:
  TypeKind kind() const { return kind_; }
  bool isError() const { return kind_ == TypeKind::Error; }
  const Type *element() const { return first_; } // List
  const Type *key() const { return first_; }     // Map
  const Type *value() const { return second_; }  // Map
  std::string str() const;

private:
  friend class TypeContext;
  Type(TypeKind kind, const Type *first, const Type *second)
      : kind_(kind), first_(first), second_(second) {}
  TypeKind kind_;
  const Type *first_;
  const Type *second_;
};

class TypeContext {
public:
  TypeContext();
  const Type *get(TypeKind kind); // any kind but List and Map
  const Type *list(const Type *element);
  const Type *map(const Type *key, const Type *value);

  const Type *error() { return get(TypeKind::Error); }
  const Type *boolean() { return get(TypeKind::Bool); }
  const Type *integer() { return get(TypeKind::Int); }
  const Type *string() { return get(TypeKind::String); }

private:
  std::deque<Type> storage_;
  std::map<TypeKind, const Type *> simple_;
  std::map<const Type *, const Type *> lists_;
  std::map<std::pair<const Type *, const Type *>, const Type *> maps_;
};

} // namespace route
