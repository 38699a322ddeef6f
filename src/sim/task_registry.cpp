#include "simbi/core/error.hpp"
#include "simbi/sim/task.hpp"
#include "tasks/builtin_tasks.hpp"

namespace simbi::sim {

const std::vector<TaskInfo>& builtin_tasks() {
  static const std::vector<TaskInfo> tasks = {
      {"two_moons", &tasks::make_two_moons},
      {"gaussian_linear", &tasks::make_gaussian_linear},
      {"gaussian_linear_uniform", &tasks::make_gaussian_linear_uniform},
      {"slcp", &tasks::make_slcp},
      {"slcp_distractors", &tasks::make_slcp_distractors},
      {"bernoulli_glm", &tasks::make_bernoulli_glm},
      {"bernoulli_glm_raw", &tasks::make_bernoulli_glm_raw},
      {"gaussian_mixture", &tasks::make_gaussian_mixture},
      {"sir", &tasks::make_sir},
      {"lotka_volterra", &tasks::make_lotka_volterra},
      {"gbi_uniform_1d", &tasks::make_gbi_uniform_1d},
      {"gbi_linear_gaussian", &tasks::make_gbi_linear_gaussian},
      {"gbi_gaussian_mixture", &tasks::make_gbi_gaussian_mixture},
      {"hh_ace", &tasks::make_hh_ace},
      {"lorenz96", &tasks::make_lorenz96},
      {"lorenz96_x", &tasks::make_lorenz96_x},
      {"lorenz96_short", &tasks::make_lorenz96_short},
      {"lorenz96_stats", &tasks::make_lorenz96_stats},
  };
  return tasks;
}

bool is_builtin_task(const std::string& name) {
  for (const auto& t : builtin_tasks())
    if (t.name == name) return true;
  return false;
}

Task make_task(const std::string& name) {
  for (const auto& t : builtin_tasks())
    if (t.name == name) return t.make();
  std::string known;
  for (const auto& t : builtin_tasks()) known += (known.empty() ? "" : ", ") + t.name;
  throw Error(ErrorKind::invalid_argument, "unknown task '" + name + "' (known tasks: " + known + ")");
}

std::vector<std::string> default_theta_labels(int64_t dim) {
  std::vector<std::string> labels;
  for (int64_t i = 1; i <= dim; ++i) labels.push_back("parameter_" + std::to_string(i));
  return labels;
}

}  // namespace simbi::sim
