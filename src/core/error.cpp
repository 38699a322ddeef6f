#include "simbi/core/error.hpp"

namespace simbi {

const char* to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid_argument: return "invalid_argument";
    case ErrorKind::io: return "io";
    case ErrorKind::format: return "format";
    case ErrorKind::numeric: return "numeric";
    case ErrorKind::runtime: return "runtime";
    case ErrorKind::internal: return "internal";
  }
  return "unknown";
}

}  // namespace simbi
