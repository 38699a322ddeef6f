#include "config_args.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "commands.hpp"
#include "simbi/core/error.hpp"
#include "simbi/core/text.hpp"

namespace simbi::cli {

namespace {

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// Calls visit(i, c) for each character of `text` outside TOML quotes ("..." with backslash escapes,
// '...' literal), in order, until it returns false.
template <class Visit>
void scan_unquoted(const std::string& text, Visit visit) {
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote) {
      if (c == '\\' && quote == '"')
        ++i;
      else if (c == quote)
        quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (!visit(i, c)) {
      return;
    }
  }
}

// `line` without a trailing "# comment" (a '#' inside quotes is text).
std::string strip_comment(const std::string& line) {
  size_t cut = std::string::npos;
  scan_unquoted(line, [&](size_t i, char c) {
    if (c == '#') cut = i;
    return c != '#';
  });
  return cut == std::string::npos ? line : line.substr(0, cut);
}

// Opening minus closing brackets outside quotes: how far a multi-line array is still open.
int bracket_balance(const std::string& text) {
  int depth = 0;
  scan_unquoted(text, [&](size_t, char c) {
    depth += c == '[' ? 1 : (c == ']' ? -1 : 0);
    return true;
  });
  return depth;
}

std::string unquote(const std::string& s) {
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front())
    return s.substr(1, s.size() - 2);
  return s;
}

std::string where(const std::string& section) { return section.empty() ? "at the top level" : "in [" + section + "]"; }

// The option names (without dashes) a config key can set for `sub`: its long options but --help and
// --config.
std::vector<std::string> config_keys(const CLI::App& sub) {
  std::vector<std::string> keys;
  for (const CLI::Option* o : sub.get_options())
    for (const std::string& name : o->get_lnames())
      if (name != "help" && name != "config") keys.push_back(name);
  return keys;
}

std::vector<const CLI::App*> commands_of(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App*) { return true; });
}

struct Key {
  std::string section, name;  // section "" is the top level
  int line = 0;
};

// The file's sections and keys with their lines, in order. Checks the structure: every header closed
// and naming a command, no key or section twice, every key one that its section's command (a top-level
// key: some command) has an option for.
std::vector<Key> scan_structure(const std::string& path, std::istream& in, const CLI::App& app) {
  const std::string p = "config " + path + ": ";
  std::vector<std::string> sections;
  for (const CLI::App* c : commands_of(app)) sections.push_back(c->get_name());
  std::vector<Key> keys;
  std::map<std::string, int> section_line;
  std::map<std::pair<std::string, std::string>, int> key_line;
  std::string section;
  int open_brackets = 0;  // of a value continued on the next lines
  std::string raw;
  for (int n = 1; std::getline(in, raw); ++n) {
    const std::string t = trim(strip_comment(raw));
    const std::string line = p + "line " + std::to_string(n) + ": ";
    if (open_brackets > 0) {
      open_brackets += bracket_balance(t);
      continue;
    }
    if (t.empty()) continue;
    if (t[0] == '[') {
      require(t.back() == ']', ErrorKind::format,
              line + "unterminated section header '" + t + "' (expected [name], the name of a command)");
      require(t.rfind("[[", 0) != 0, ErrorKind::format,
              line + "'" + t + "': arrays of tables are not config sections (use [name], the name of a command)");
      section = unquote(trim(t.substr(1, t.size() - 2)));
      if (std::find(sections.begin(), sections.end(), section) == sections.end()) {
        const std::vector<std::string> near = nearest(section, sections, 1);
        throw Error(ErrorKind::format, line + "unknown section [" + section + "]" +
                                           (near.empty() ? "" : "; did you mean [" + near[0] + "]?") +
                                           " (sections are the commands: " + join(sections, ", ") + ")");
      }
      const auto [it, fresh] = section_line.emplace(section, n);
      require(fresh, ErrorKind::format,
              line + "section [" + section + "] given twice (lines " + std::to_string(it->second) + " and " +
                  std::to_string(n) + ")");
      continue;
    }
    size_t eq = std::string::npos;
    for (size_t i = 0, quote = 0; i < t.size() && eq == std::string::npos; ++i) {
      if (quote) {
        if (t[i] == static_cast<char>(quote)) quote = 0;
      } else if (t[i] == '"' || t[i] == '\'') {
        quote = static_cast<unsigned char>(t[i]);
      } else if (t[i] == '=') {
        eq = i;
      }
    }
    require(eq != std::string::npos && eq > 0, ErrorKind::format,
            line + "expected 'key = value' or a [section] header, got '" + t + "'");
    const std::string name = unquote(trim(t.substr(0, eq)));
    open_brackets = std::max(0, bracket_balance(t.substr(eq + 1)));
    const auto [it, fresh] = key_line.emplace(std::make_pair(section, name), n);
    require(fresh, ErrorKind::format,
            p + "key " + name + " given twice " + where(section) + " (lines " + std::to_string(it->second) + " and " +
                std::to_string(n) + ")");
    keys.push_back({section, name, n});
  }
  require(open_brackets == 0, ErrorKind::format, p + "an array is not closed with ']' before the end of the file");

  for (const Key& k : keys) {
    std::vector<std::string> valid;
    if (!k.section.empty()) {
      valid = config_keys(*app.get_subcommand(k.section));
    } else {
      std::set<std::string> all;
      for (const CLI::App* c : commands_of(app))
        for (const std::string& name : config_keys(*c)) all.insert(name);
      valid.assign(all.begin(), all.end());
    }
    if (std::find(valid.begin(), valid.end(), k.name) != valid.end()) continue;
    const std::vector<std::string> near = nearest(k.name, valid);
    const std::string what = k.section.empty() ? "no command has an option --" + k.name
                                               : "`simbi " + k.section + "` has no option --" + k.name;
    throw Error(ErrorKind::format, p + "line " + std::to_string(k.line) + ": unknown key '" + k.name + "' " +
                                       where(k.section) + " (" + what +
                                       (near.empty() ? "" : "; nearest valid keys: " + join(near, ", ")) + ")");
  }
  return keys;
}

bool is_flag(const CLI::Option& o) { return o.get_expected_max() == 0; }

std::string base_type(const CLI::Option& o) {
  const std::string full = o.get_type_name();
  return full.substr(0, full.find(':'));
}

// Checks the values `item` gives option `o`; throws Error naming the file and the key.
void check_values(const std::string& path, const CLI::ConfigItem& item, const CLI::Option& o) {
  const std::string p = "config " + path + ": " + item.name + ": ";
  const std::string joined = join(item.inputs, ", ");
  if (is_flag(o)) {
    require(item.inputs.size() == 1 && (item.inputs[0] == "true" || item.inputs[0] == "false"), ErrorKind::format,
            p + "expected true or false, got " + joined);
    return;
  }
  // Text options take lists as one comma-separated value (e.g. encoder-hidden = [64, 64]).
  const std::string type = base_type(o);
  const bool number = type == "INT" || type == "UINT" || type == "FLOAT";
  require(item.inputs.size() == 1 || !number || o.get_items_expected_max() > 1, ErrorKind::format,
          p + "expected one value, got a list [" + joined + "]");
  for (std::string value : item.inputs) {
    if (type == "INT" || type == "UINT") {
      const CLI::Validator* check = const_cast<CLI::Option&>(o).get_validator(kIntegerCheck);
      const std::string error = (*check)(value);
      require(error.empty(), ErrorKind::format, p + error);
    } else if (type == "FLOAT") {
      double number = 0;
      require(CLI::detail::lexical_cast(value, number), ErrorKind::format, p + "expected a number, got " + value);
    }
  }
}

// The config's settings for `subcommand` as command-line tokens, leaving out the options in `given` (the
// command line's own: it overrides the file, and list options such as --beta would otherwise append).
// Checks the whole file first (every section, whichever command reads it), so that `simbi run` stops
// before its first stage.
std::vector<std::string> config_tokens(const std::string& path, const CLI::App& app, const std::string& subcommand,
                                       const std::set<std::string>& given) {
  std::ifstream in(path);
  require(in.good(), ErrorKind::io, path + ": cannot open the config file");
  std::stringstream text;
  text << in.rdbuf();
  scan_structure(path, text, app);
  text.clear();
  text.seekg(0);
  std::vector<CLI::ConfigItem> items;
  try {
    items = CLI::ConfigTOML().from_config(text);
  } catch (const std::exception& e) {
    throw Error(ErrorKind::format, "config " + path + ": not a valid TOML config: " + e.what());
  }
  std::vector<std::string> tokens;
  for (const auto& item : items) {
    if (item.name == "++" || item.name == "--") continue;  // section markers
    const std::string section = item.parents.empty() ? "" : item.parents[0];
    const std::string option = "--" + item.name;
    for (const CLI::App* c : commands_of(app)) {
      if (!section.empty() && c->get_name() != section) continue;
      const CLI::Option* o = c->get_option_no_throw(option);
      if (o == nullptr) continue;  // a top-level key for other commands
      check_values(path, item, *o);
      if (c->get_name() != subcommand || given.count(option)) continue;
      if (is_flag(*o)) {
        if (item.inputs[0] == "true") tokens.push_back(option);
        continue;
      }
      tokens.push_back(option);
      tokens.push_back(join(item.inputs, ","));
    }
  }
  return tokens;
}

}  // namespace

void check_command_name(const std::vector<std::string>& args, const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* c : commands_of(app)) names.push_back(c->get_name());
  for (const std::string& a : args) {
    if (!a.empty() && a[0] == '-') continue;  // simbi's own flags (-q, --help, --version) take no value
    if (std::find(names.begin(), names.end(), a) != names.end()) return;
    const std::vector<std::string> near = nearest(a, names, 1);
    throw Error(ErrorKind::invalid_argument, "unknown command '" + a + "'" +
                                                 (near.empty() ? "" : "; did you mean '" + near[0] + "'?") +
                                                 " (commands: " + join(names, ", ") + ")");
  }
}

std::vector<std::string> expand_config_args(const std::vector<std::string>& args, const CLI::App& app) {
  std::vector<std::string> subcommands;
  for (const CLI::App* c : commands_of(app)) subcommands.push_back(c->get_name());
  const auto sub_it = std::find_if(args.begin(), args.end(), [&](const std::string& a) {
    return std::find(subcommands.begin(), subcommands.end(), a) != subcommands.end();
  });
  if (sub_it == args.end()) return args;
  const std::string subcommand = *sub_it;
  // An unknown option is named here: CLI11 would report a missing required option first.
  const CLI::App& sub = *app.get_subcommand(subcommand);
  for (auto it = sub_it + 1; it != args.end(); ++it) {
    if (it->rfind("--", 0) != 0 || *it == "--") continue;
    const std::string name = it->substr(0, it->find('='));
    if (name == "--help" || name == "--config" || sub.get_option_no_throw(name) != nullptr) continue;
    std::vector<std::string> options;
    for (const std::string& key : config_keys(sub)) options.push_back("--" + key);
    const std::vector<std::string> near = nearest(name, options, 1);
    throw Error(ErrorKind::invalid_argument, "`simbi " + subcommand + "` has no option " + name +
                                                 (near.empty() ? "" : "; did you mean " + near[0] + "?") +
                                                 " (see `simbi " + subcommand + " --help`)");
  }
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
    const std::vector<std::string> tokens = config_tokens(path, app, subcommand, given);
    from_config.insert(from_config.end(), tokens.begin(), tokens.end());
    // `run` hands the file on to its stages, so it keeps the option itself too.
    if (subcommand == "run") user.insert(user.end(), {"--config", path});
  }
  before.insert(before.end(), from_config.begin(), from_config.end());
  before.insert(before.end(), user.begin(), user.end());
  return before;
}

}  // namespace simbi::cli
