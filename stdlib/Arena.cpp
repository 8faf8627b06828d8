// A bump allocator for the values a phase builds: allocation is a pointer increment, and
// the whole exchange's memory goes at once.
#include "route/abi.h"

#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

struct RouteArena {
  static constexpr uint64_t kBlock = 16 * 1024;
  std::vector<std::unique_ptr<char[]>> blocks;
  char *next = nullptr;
  uint64_t left = 0;
};

extern "C" {

RouteArena *route_arena_create(void) {
  return new RouteArena();
}

void route_arena_destroy(RouteArena *arena) {
  delete arena;
}

void route_arena_reset(RouteArena *arena) {
  if (arena->blocks.size() > 1)
    arena->blocks.erase(arena->blocks.begin() + 1, arena->blocks.end());
  if (arena->blocks.empty()) {
    arena->next = nullptr;
    arena->left = 0;
  } else {
    arena->next = arena->blocks.front().get();
    arena->left = RouteArena::kBlock;
  }
}

char *route_arena_alloc(RouteArena *arena, uint64_t size) {
  // Never null, even for nothing: callers may pass the pointer to memcpy with size 0.
  size = size == 0 ? 16 : (size + 15) & ~uint64_t(15);
  if (size > arena->left) {
    uint64_t block = size > RouteArena::kBlock ? size : RouteArena::kBlock;
    // A large allocation gets a block of its own, kept after the current one so that the
    // current block's remaining space is not lost.
    arena->blocks.emplace_back(new char[block]);
    if (block > RouteArena::kBlock)
      return arena->blocks.back().get();
    arena->next = arena->blocks.back().get();
    arena->left = block;
  }
  char *out = arena->next;
  arena->next += size;
  arena->left -= size;
  return out;
}

} // extern "C"
