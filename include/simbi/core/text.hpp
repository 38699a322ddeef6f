// Small text helpers shared by every layer: printf-style number formatting and the comma-separated
// lists that options and config arrays arrive as. Contract: pure functions.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace simbi {

// One number formatted with a printf format holding one floating-point conversion, e.g.
// format_number("%.4f", 0.5) == "0.5000"; the default "%g" gives the shortest usual form.
std::string format_number(double value, const char* format = "%g");

// The items separated by `separator`, e.g. join({"a", "b"}, ", ") == "a, b".
std::string join(const std::vector<std::string>& items, const std::string& separator);
// Whether `text` ends with `suffix`.
bool ends_with(const std::string& text, const std::string& suffix);

// The Levenshtein distance (insertions, deletions, substitutions) between two strings.
size_t edit_distance(const std::string& a, const std::string& b);
// The `candidates` nearest to `word` by edit_distance, nearest first (ties in the candidates' order):
// those within max(2, |word| / 3) edits, at most `limit` of them. For "did you mean ...?" messages.
std::vector<std::string> nearest(const std::string& word, const std::vector<std::string>& candidates, size_t limit = 3);

// "a, b,[c]" -> {"a", "b", "c"}: a comma-separated list (as config arrays arrive), items trimmed of
// spaces, brackets and quotes; empty items dropped.
std::vector<std::string> split_list(const std::string& text);
// "64,64,64" -> {64, 64, 64}; Error(invalid_argument) naming `option` otherwise (also for no widths).
std::vector<int64_t> parse_widths(const std::string& text, const std::string& option);

}  // namespace simbi
