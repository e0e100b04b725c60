// Small string helpers shared by the parsers: edit distance for "did you mean" hints.
#pragma once
#include <cstddef>
#include <string>

namespace zt {

// Levenshtein distance (insertions, deletions, substitutions each cost 1).
size_t edit_distance(const std::string& a, const std::string& b);

}  // namespace zt
