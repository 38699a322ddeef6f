// Expanding `--config FILE.toml` of a subcommand into command-line arguments (CLI11 2.1 reads config
// files only for the top-level app). Private to the cli module.
#pragma once
#include <string>
#include <vector>

namespace simbi::cli {

// argv without the program name, with each "--config F" (or "--config=F") after a subcommand
// replaced by the options F sets for that subcommand: top-level keys and keys of a [<subcommand>]
// section. They are placed before the user's own arguments, so the command line wins (options take
// their last value). Throws Error(format/io) naming the file.
std::vector<std::string> expand_config_args(int argc, char** argv, const std::vector<std::string>& subcommands);

}  // namespace simbi::cli
