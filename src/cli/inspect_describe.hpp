// `simbi inspect`'s descriptions of the files it reads (text or --json). Private to the cli module.
#pragma once
#include <string>

namespace simbi::cli {

void describe_store(const std::string& path, bool as_json);
void describe_model(const std::string& path, bool as_json);
void describe_checkpoint(const std::string& path, bool as_json);

}  // namespace simbi::cli
