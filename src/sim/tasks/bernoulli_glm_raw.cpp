// bernoulli_glm_raw (sbibm): the Bernoulli GLM of bernoulli_glm with x = y, the raw 100-bin binary
// spike train (implementation shared in bernoulli_glm.cpp). Contract: stateless simulator.
#include "bernoulli_glm_common.hpp"
#include "builtin_tasks.hpp"

namespace simbi::sim::tasks {

Task make_bernoulli_glm_raw() { return make_bernoulli_glm_task(true); }

}  // namespace simbi::sim::tasks
