#include "simbi/sim/user_simulator_config.hpp"

#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

#include "simbi/core/error.hpp"
#include "simbi/core/text.hpp"
#include "simbi/sim/command_simulator.hpp"
#include "simbi/sim/plugin_simulator.hpp"

namespace simbi::sim {

namespace {

// The prior fields each type accepts (their values are arrays of numbers).
const std::map<std::string, std::vector<std::string>>& prior_fields() {
  static const std::map<std::string, std::vector<std::string>> fields = {
      {"uniform", {"low", "high"}},       {"box_uniform", {"low", "high"}}, {"gaussian", {"mean", "cov", "std"}},
      {"normal", {"mean", "cov", "std"}}, {"lognormal", {"loc", "scale"}},  {"log_normal", {"loc", "scale"}},
  };
  return fields;
}

std::string shown(const std::vector<std::string>& inputs) {
  if (inputs.size() == 1) return "'" + inputs[0] + "'";
  std::string out = "[";
  for (size_t i = 0; i < inputs.size(); ++i) out += (i ? ", " : "") + inputs[i];
  return out + "]";
}

class Fields {
 public:
  explicit Fields(std::string where) : where_(std::move(where)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw Error(ErrorKind::format, where_ + ": field '" + field + "' " + what);
  }

  std::string string_value(const std::string& field, const std::vector<std::string>& in) const {
    if (in.size() != 1) fail(field, "must be a single string, got " + shown(in));
    return in[0];
  }

  int64_t positive_int(const std::string& field, const std::vector<std::string>& in) const {
    if (in.size() != 1) fail(field, "must be a positive integer, got " + shown(in));
    const std::string& s = in[0];
    int64_t v = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size() || v < 1 || v > INT32_MAX)
      fail(field, "must be a positive integer, got '" + s + "'");
    return v;
  }

  double number(const std::string& field, const std::string& s) const {
    double v = 0.0;
    const char* b = s.data();
    const char* e = s.data() + s.size();
    if (b < e && *b == '+') ++b;
    const auto r = std::from_chars(b, e, v);
    if (b == e || r.ec != std::errc() || r.ptr != e) fail(field, "must contain only numbers, got '" + s + "'");
    return v;
  }

  // Numbers of an array; nested arrays (a matrix written as [[..], [..]]) are flattened row-major.
  std::vector<double> numbers(const std::string& field, const std::vector<std::string>& in) const {
    std::vector<double> out;
    for (const std::string& raw : in) {
      std::string s;
      for (char c : raw)
        if (c != '[' && c != ']') s.push_back(c);
      size_t pos = 0;
      while (pos <= s.size()) {
        size_t comma = s.find(',', pos);
        if (comma == std::string::npos) comma = s.size();
        std::string tok = s.substr(pos, comma - pos);
        const size_t a = tok.find_first_not_of(" \t");
        const size_t b = tok.find_last_not_of(" \t");
        tok = a == std::string::npos ? "" : tok.substr(a, b - a + 1);
        if (!tok.empty()) out.push_back(number(field, tok));
        pos = comma + 1;
      }
    }
    if (out.empty()) fail(field, "must be a non-empty array of numbers");
    return out;
  }

 private:
  std::string where_;
};

std::string file_stem(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  const size_t dot = base.find_last_of('.');
  if (dot != std::string::npos && dot > 0) base = base.substr(0, dot);
  return base;
}

std::string dir_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string absolute(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf)) return buf;
  return path;
}

bool valid_name(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
  return true;
}

}  // namespace

UserSimulatorConfig parse_user_simulator_config(std::istream& in, const std::string& where,
                                                const std::string& default_name) {
  std::vector<CLI::ConfigItem> items;
  try {
    items = CLI::ConfigTOML().from_config(in);
  } catch (const CLI::Error& e) {
    throw Error(ErrorKind::format, where + ": not a valid TOML file: " + e.what());
  }
  Fields f(where);
  UserSimulatorConfig cfg;
  cfg.name = default_name;
  bool has_theta_dim = false, has_x_dim = false, has_prior_type = false;
  std::string prior_type;
  std::map<std::string, std::vector<std::string>> prior_values;
  std::set<std::string> seen;

  for (const CLI::ConfigItem& item : items) {
    if (item.name == "++" || item.name == "--") continue;                        // CLI11's section open/close markers
    if (!item.parents.empty() && item.parents.front() == "simulator") continue;  // the user's own table
    const std::string full = item.fullname();
    if (!seen.insert(full).second) f.fail(full, "is given more than once");
    if (item.parents.empty()) {
      const std::string& k = item.name;
      if (k == "name") {
        cfg.name = f.string_value(k, item.inputs);
        if (!valid_name(cfg.name))
          f.fail(k, "must be a non-empty name of letters, digits, '_', '-' and '.', got '" + cfg.name + "'");
        if (is_builtin_task(cfg.name))
          f.fail(k, "'" + cfg.name + "' is the name of a built-in task; choose another name");
      } else if (k == "description") {
        cfg.description = f.string_value(k, item.inputs);
      } else if (k == "theta_dim") {
        cfg.theta_dim = f.positive_int(k, item.inputs);
        has_theta_dim = true;
      } else if (k == "x_dim") {
        cfg.x_dim = f.positive_int(k, item.inputs);
        has_x_dim = true;
      } else if (k == "theta_labels") {
        cfg.theta_labels = item.inputs;
        for (const auto& l : cfg.theta_labels)
          if (l.empty()) f.fail(k, "must not contain empty labels");
      } else if (k == "library") {
        cfg.library = f.string_value(k, item.inputs);
      } else if (k == "command") {
        cfg.command = f.string_value(k, item.inputs);
      } else if (k == "timeout_s") {
        if (item.inputs.size() != 1) f.fail(k, "must be a number of seconds >= 0, got " + shown(item.inputs));
        cfg.timeout_s = f.number(k, item.inputs[0]);
        if (!(cfg.timeout_s >= 0.0)) f.fail(k, "must be a number of seconds >= 0, got '" + item.inputs[0] + "'");
      } else if (k == "on_timeout") {
        const std::string v = f.string_value(k, item.inputs);
        if (v != "stop" && v != "fail_row") f.fail(k, "must be \"stop\" or \"fail_row\", got '" + v + "'");
        cfg.on_timeout = v == "stop" ? OnTimeout::stop : OnTimeout::fail_row;
      } else {
        f.fail(k,
               "is not a known field (expected name, description, theta_dim, x_dim, theta_labels, library, "
               "command, timeout_s, on_timeout, and the tables [prior] and [simulator])");
      }
    } else if (item.parents.size() == 1 && item.parents[0] == "prior") {
      if (item.name == "type") {
        prior_type = f.string_value(full, item.inputs);
        has_prior_type = true;
      } else {
        prior_values[item.name] = item.inputs;
      }
    } else {
      f.fail(full, "is not in a known table (simbi reads [prior]; put your own settings under [simulator])");
    }
  }

  if (!has_theta_dim) f.fail("theta_dim", "is missing (the number of parameters, >= 1)");
  if (!has_x_dim) f.fail("x_dim", "is missing (the number of simulator outputs, >= 1)");
  if (!cfg.theta_labels.empty() && static_cast<int64_t>(cfg.theta_labels.size()) != cfg.theta_dim)
    f.fail("theta_labels", "has " + std::to_string(cfg.theta_labels.size()) +
                               " labels, expected theta_dim = " + std::to_string(cfg.theta_dim));
  if (!has_prior_type) {
    if (prior_values.empty()) throw Error(ErrorKind::format, where + ": the [prior] table is missing");
    f.fail("prior.type", "is missing (uniform, gaussian or lognormal)");
  }
  const auto known = prior_fields().find(prior_type);
  if (known == prior_fields().end())
    f.fail("prior.type", "is '" + prior_type + "', expected uniform, gaussian or lognormal");
  nlohmann::json spec = {{"type", prior_type}};
  for (const auto& [key, values] : prior_values) {
    if (std::find(known->second.begin(), known->second.end(), key) == known->second.end())
      f.fail("prior." + key,
             "is not a field of a " + prior_type + " prior (expected " + join(known->second, ", ") + ")");
    spec[key] = f.numbers("prior." + key, values);
  }
  const auto prior = prior_from_json(spec, where + " [prior]");
  if (prior->dim() != cfg.theta_dim)
    f.fail("prior",
           "has dimension " + std::to_string(prior->dim()) + " but theta_dim = " + std::to_string(cfg.theta_dim));
  cfg.prior = std::move(spec);
  return cfg;
}

UserSimulatorConfig load_user_simulator_config(const std::string& path) {
  std::ifstream in(path);
  require(static_cast<bool>(in), ErrorKind::io, "simulator config '" + path + "': cannot open the file");
  UserSimulatorConfig cfg = parse_user_simulator_config(in, "simulator config '" + path + "'", file_stem(path));
  cfg.path = path;
  if (!cfg.library.empty() && cfg.library.find('/') != 0) {
    // Relative to the config file's folder (a bare name stays a bare name only if no such file exists
    // there, so that system libraries on the loader's path can be named too).
    const std::string candidate = dir_of(path) + "/" + cfg.library;
    struct stat st {};
    if (cfg.library.find('/') != std::string::npos || ::stat(candidate.c_str(), &st) == 0) cfg.library = candidate;
  }
  return cfg;
}

Task make_user_task(const UserSimulatorOptions& options) {
  require(!options.config_path.empty(), ErrorKind::invalid_argument,
          "a user simulator needs a config file (--simulator-config) declaring its name, dims and prior");
  require(options.library.empty() || options.command.empty(), ErrorKind::invalid_argument,
          "give either a simulator library (--simulator-lib) or a command (--simulator-cmd), not both");
  const UserSimulatorConfig cfg = load_user_simulator_config(options.config_path);
  const std::string config_abs = absolute(options.config_path);
  const std::string where = "simulator config '" + options.config_path + "'";

  std::string library = options.library, command = options.command, working_dir;
  if (library.empty() && command.empty()) {
    require(cfg.library.empty() || cfg.command.empty(), ErrorKind::format,
            where +
                ": fields 'library' and 'command' are both set; keep one (or choose with --simulator-lib / "
                "--simulator-cmd)");
    library = cfg.library;
    command = cfg.command;
    if (!command.empty()) working_dir = dir_of(config_abs);
  }
  require(!library.empty() || !command.empty(), ErrorKind::invalid_argument,
          where +
              ": no simulator given: pass --simulator-lib LIB or --simulator-cmd CMD, or set 'library' or "
              "'command' in the config");

  Task task;
  task.name = cfg.name;
  task.prior = prior_from_json(cfg.prior, where + " [prior]");
  task.theta_labels = cfg.theta_labels.empty() ? default_theta_labels(cfg.theta_dim) : cfg.theta_labels;
  if (!library.empty()) {
    PluginOptions po;
    po.expected_theta_dim = cfg.theta_dim;
    po.expected_x_dim = cfg.x_dim;
    po.init_config_path = config_abs;
    po.config_name = where;
    task.simulator = load_plugin_simulator(library, po);
    task.description = cfg.description.empty() ? "user plugin " + library : cfg.description;
  } else {
    CommandOptions co;
    co.command = command;
    co.theta_dim = cfg.theta_dim;
    co.x_dim = cfg.x_dim;
    co.working_dir = working_dir;
    co.config_path = config_abs;
    co.timeout_s = options.timeout_s >= 0.0 ? options.timeout_s : cfg.timeout_s;
    co.on_timeout = cfg.on_timeout;
    task.simulator = make_command_simulator(co);
    task.description = cfg.description.empty() ? "user command '" + command + "'" : cfg.description;
  }
  task.description += " (prior " + task.prior->describe() + ")";
  return task;
}

}  // namespace simbi::sim
