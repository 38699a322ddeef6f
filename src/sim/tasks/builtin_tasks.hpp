// Factories of the built-in tasks, one .cpp per task in this folder (docs/methods.md §7). Private to src/sim.
#pragma once
#include "simbi/sim/task.hpp"

namespace simbi::sim::tasks {

Task make_two_moons();
Task make_gaussian_linear();
Task make_gaussian_linear_uniform();
Task make_slcp();
Task make_slcp_distractors();
Task make_bernoulli_glm();
Task make_bernoulli_glm_raw();
Task make_gaussian_mixture();
Task make_sir();
Task make_lotka_volterra();
Task make_gbi_uniform_1d();
Task make_gbi_linear_gaussian();
Task make_gbi_gaussian_mixture();
Task make_hh_ace();
Task make_lorenz96();
Task make_lorenz96_x();
Task make_lorenz96_short();
Task make_lorenz96_stats();

}  // namespace simbi::sim::tasks
