/* Test plugin: complete, but reports ABI version 99 (loading must fail before calling anything else). */
#include <stdlib.h>

#include "simbi/sim/plugin_abi.h"

SIMBI_PLUGIN_EXPORT uint32_t simbi_plugin_abi_version(void) { return 99; }

SIMBI_PLUGIN_EXPORT int simbi_plugin_dims(int32_t* theta_dim, int32_t* x_dim) {
  abort(); /* must not be called for a wrong version */
  *theta_dim = 1;
  *x_dim = 1;
  return 0;
}

SIMBI_PLUGIN_EXPORT int simbi_plugin_simulate(const float* theta, int64_t n, float* x, const uint64_t* seeds) {
  (void)theta, (void)n, (void)x, (void)seeds;
  abort();
  return 0;
}
