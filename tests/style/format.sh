#!/usr/bin/env bash
# Every C and C++ file of the tree is as clang-format-19 lays it out under the root
# .clang-format, and no line is longer than its ColumnLimit (clang-format leaves a long
# string or raw string as it is). Fix with: clang-format-19 -i FILE...
set -uo pipefail
cd "$(dirname "$0")/../.."
limit=$(sed -n 's/^ColumnLimit: *//p' .clang-format)
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.h' '*.c' '*.cpp')
else
  mapfile -t files < <(find bench compiler runtime stdlib tests -name '*.h' -o -name '*.c' -o -name '*.cpp')
fi
status=0
clang-format-19 --dry-run --Werror "${files[@]}" || status=1
if ! awk -v limit="$limit" 'length > limit { printf "%s:%d: line of %d columns, over %d\n", FILENAME, FNR, length, limit; bad = 1 }
    END { exit bad }' "${files[@]}"; then
  status=1
fi
[ $status -eq 0 ] && echo "${#files[@]} files formatted"
exit $status
