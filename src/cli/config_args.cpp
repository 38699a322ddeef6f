#include "config_args.hpp"

#include <algorithm>
#include <fstream>
#include <set>

#include <CLI/CLI.hpp>

#include "simbi/core/error.hpp"

namespace simbi::cli {

namespace {

using HasOption = std::function<bool(const std::string&, const std::string&)>;

// The config's settings for `subcommand` as command-line tokens, leaving out the options in `given` (the
// command line's own: it overrides the file, and list options such as --beta would otherwise append).
std::vector<std::string> config_tokens(const std::string& path, const std::string& subcommand,
                                       const HasOption& has_option, const std::set<std::string>& given) {
  std::ifstream in(path);
  require(in.good(), ErrorKind::io, path + ": cannot open the config file");
  std::vector<CLI::ConfigItem> items;
  try {
    items = CLI::ConfigTOML().from_config(in);
  } catch (const std::exception& e) {
    throw Error(ErrorKind::format, path + ": not a valid TOML config: " + e.what());
  }
  std::vector<std::string> tokens;
  for (const auto& item : items) {
    if (item.name == "++" || item.name == "--") continue;  // section markers
    const bool top = item.parents.empty();
    const bool mine = item.parents.size() == 1 && item.parents[0] == subcommand;
    if (!top && !mine) continue;  // a section for another command
    const std::string option = "--" + item.name;
    if (top && !has_option(subcommand, option)) continue;  // a key for other commands
    if (given.count(option)) continue;
    if (item.inputs.size() == 1 && (item.inputs[0] == "true" || item.inputs[0] == "false")) {
      if (item.inputs[0] == "true") tokens.push_back(option);  // a flag
      continue;
    }
    std::string joined;
    for (const auto& value : item.inputs) joined += (joined.empty() ? "" : ",") + value;
    tokens.push_back(option);
    tokens.push_back(joined);
  }
  return tokens;
}

}  // namespace

std::vector<std::string> expand_config_args(const std::vector<std::string>& args,
                                            const std::vector<std::string>& subcommands, const HasOption& has_option) {
  const auto sub_it = std::find_if(args.begin(), args.end(), [&](const std::string& a) {
    return std::find(subcommands.begin(), subcommands.end(), a) != subcommands.end();
  });
  if (sub_it == args.end()) return args;
  const std::string subcommand = *sub_it;
  std::vector<std::string> before(args.begin(), sub_it + 1), user, from_config;
  std::set<std::string> given;
  for (auto it = sub_it + 1; it != args.end(); ++it)
    if (it->rfind("--", 0) == 0) given.insert(it->substr(0, it->find('=')));
  for (auto it = sub_it + 1; it != args.end(); ++it) {
    std::string path;
    if (*it == "--config") {
      require(it + 1 != args.end(), ErrorKind::invalid_argument, "--config needs a file name");
      path = *++it;
    } else if (it->rfind("--config=", 0) == 0) {
      path = it->substr(9);
    } else {
      user.push_back(*it);
      continue;
    }
    const std::vector<std::string> tokens = config_tokens(path, subcommand, has_option, given);
    from_config.insert(from_config.end(), tokens.begin(), tokens.end());
    // `run` hands the file on to its stages, so it keeps the option itself too.
    if (subcommand == "run") user.insert(user.end(), {"--config", path});
  }
  before.insert(before.end(), from_config.begin(), from_config.end());
  before.insert(before.end(), user.begin(), user.end());
  return before;
}

}  // namespace simbi::cli
