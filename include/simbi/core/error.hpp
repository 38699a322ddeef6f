// simbi::Error: the one exception type of the project, with a kind. Thread/rank contract: none
// (a plain value type); the CLI turns it into one "error: ..." line and a non-zero exit on every rank.
#pragma once
#include <stdexcept>
#include <string>

namespace simbi {

enum class ErrorKind {
  invalid_argument,  // a user-given value is out of range or inconsistent
  io,                // a file cannot be opened, read or written
  format,            // a file exists but is not what was expected (foreign, truncated, wrong dims)
  numeric,           // NaN/inf where a number was required
  runtime,           // a failing external component (plugin, external command, MPI)
  internal,          // a bug: an invariant of simbi itself does not hold
};

const char* to_string(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// Shorthand: throw Error(kind, message) unless cond holds.
inline void require(bool cond, ErrorKind kind, const std::string& message) {
  if (!cond) throw Error(kind, message);
}

}  // namespace simbi
