// Expanding `--config FILE.toml` of a subcommand into command-line arguments (CLI11 2.1 reads config
// files only for the top-level app). Private to the cli module.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace simbi::cli {

// The arguments (without the program name) with each "--config F" (or "--config=F") after a
// subcommand replaced by the options F sets for that subcommand: keys of a [<subcommand>] section,
// and top-level keys the subcommand has an option for (one file can then serve simulate, train,
// sample... and `run`). They go before the user's own arguments, so the command line wins (options
// take their last value). Arrays become one comma-separated value. Throws Error(format/io).
std::vector<std::string> expand_config_args(
    const std::vector<std::string>& args, const std::vector<std::string>& subcommands,
    const std::function<bool(const std::string& subcommand, const std::string& option)>& has_option);

}  // namespace simbi::cli
