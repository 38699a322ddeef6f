/* Test plugin whose behaviour the test scripts through theta: theta_dim = 2, x_dim = 3.
 *   normal rows:        x = (theta_0, theta_1, u) with u in [0, 1) drawn from seeds[i]
 *   theta_0 == 1000:    the row is left untouched (simbi pre-fills NaN)
 *   theta_0 == 2000:    x_1 = +inf, the rest finite (simbi must turn the whole row into NaN)
 *   theta_0 <  0:       the whole batch fails: returns 7 with a last_error naming the row
 * It also counts simbi_plugin_init calls and records the config path it was given. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "simbi/sim/plugin_abi.h"

static int g_init_calls = 0;
static int g_finalize_calls = 0;
static char g_init_path[1024] = "";
static char g_error[256] = "";

SIMBI_PLUGIN_EXPORT int scripted_init_calls(void) { return g_init_calls; }
SIMBI_PLUGIN_EXPORT int scripted_finalize_calls(void) { return g_finalize_calls; }
SIMBI_PLUGIN_EXPORT const char* scripted_init_path(void) { return g_init_path; }

SIMBI_PLUGIN_EXPORT uint32_t simbi_plugin_abi_version(void) { return SIMBI_PLUGIN_ABI_VERSION; }

SIMBI_PLUGIN_EXPORT int simbi_plugin_init(const char* config_path) {
  ++g_init_calls;
  snprintf(g_init_path, sizeof g_init_path, "%s", config_path ? config_path : "(null)");
  return 0;
}

SIMBI_PLUGIN_EXPORT void simbi_plugin_finalize(void) { ++g_finalize_calls; }

SIMBI_PLUGIN_EXPORT int simbi_plugin_dims(int32_t* theta_dim, int32_t* x_dim) {
  *theta_dim = 2;
  *x_dim = 3;
  return 0;
}

SIMBI_PLUGIN_EXPORT int simbi_plugin_simulate(const float* theta, int64_t n, float* x, const uint64_t* seeds) {
  for (int64_t i = 0; i < n; ++i) {
    if (theta[2 * i] < 0.0f) {
      snprintf(g_error, sizeof g_error, "scripted plugin: negative theta_0 in row %lld", (long long)i);
      return 7;
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    const float t0 = theta[2 * i], t1 = theta[2 * i + 1];
    float* row = x + 3 * i;
    if (t0 == 1000.0f) continue;
    row[0] = t0;
    row[1] = t0 == 2000.0f ? INFINITY : t1;
    row[2] = (float)((double)(seeds[i] >> 11) * (1.0 / 9007199254740992.0));
  }
  return 0;
}

SIMBI_PLUGIN_EXPORT const char* simbi_plugin_last_error(void) { return g_error; }
