// Expanding `--config FILE.toml` of a subcommand into command-line arguments (CLI11 2.1 reads config
// files only for the top-level app), and naming an unknown command. Private to the cli module.
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace simbi::cli {

// The arguments (without the program name) with each "--config F" (or "--config=F") after a
// subcommand replaced by the options F sets for that subcommand: keys of a [<subcommand>] section,
// and top-level keys the subcommand has an option for (one file can then serve simulate, train,
// sample... and `run`). They go before the user's own arguments, so the command line wins (options
// take their last value). Arrays become one comma-separated value.
// The whole file is checked first, whichever command reads it, and any mistake is one Error(format)
// starting "config F: " that names it: a section that is not a command of `app` (with the nearest
// one), an unterminated [header (with its line), a key given twice, a key that its section's command
// (a top-level key: every command) has no option for (with the nearest valid keys), a value of the
// wrong kind (a boolean for a non-flag option, a list for a one-value option, an integer out of its
// option's range, a non-number for a number). Error(io) when F cannot be read.
std::vector<std::string> expand_config_args(const std::vector<std::string>& args, const CLI::App& app);

// Throws Error(invalid_argument) naming the first argument that is not an option when it is not one
// of `app`'s commands, with the nearest command and the list of them.
void check_command_name(const std::vector<std::string>& args, const CLI::App& app);

}  // namespace simbi::cli
