/* Test plugin: exports the version and dims but not simbi_plugin_simulate (loading must fail). */
#include "simbi/sim/plugin_abi.h"

SIMBI_PLUGIN_EXPORT uint32_t simbi_plugin_abi_version(void) { return SIMBI_PLUGIN_ABI_VERSION; }

SIMBI_PLUGIN_EXPORT int simbi_plugin_dims(int32_t* theta_dim, int32_t* x_dim) {
  *theta_dim = 1;
  *x_dim = 1;
  return 0;
}
