/* Example simbi simulator plugin (C ABI version 1, see include/simbi/sim/plugin_abi.h and
 * docs/user_simulators.md): a noisy damped harmonic oscillator.
 *
 *   theta = (omega, zeta): natural frequency and damping ratio.
 *   The oscillator starts at displacement 1 with zero velocity; x is its displacement at
 *   t = 0.5, 1.0, 1.5, 2.0 plus independent N(0, noise_sd^2) measurement noise.
 *   The closed form used here holds only for an underdamped oscillator: rows with zeta >= 0.95
 *   (or omega <= 0, or non-finite theta) are failed simulations and are written as NaN rows,
 *   which simbi records as failed (status 2) and keeps going.
 *
 * Randomness: row i uses a private SplitMix64 generator seeded with seeds[i] only, so a row's output
 * does not depend on which batch it is simulated in.
 *
 * Build (CMake does this as build/examples/libexample_simulator.so):
 *   cc -O2 -shared -fPIC -I include examples/plugin/example_simulator.c -o libexample_simulator.so -lm
 * Use:
 *   simbi simulate --simulator-lib build/examples/libexample_simulator.so \
 *                  --simulator-config examples/plugin/example_simulator.toml --budget 1000 --out sims.h5
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "simbi/sim/plugin_abi.h"

#define THETA_DIM 2
#define X_DIM 4
#define MAX_ZETA 0.95

static const double kTimes[X_DIM] = {0.5, 1.0, 1.5, 2.0};
static double g_noise_sd = 0.05; /* may be set by noise_sd in the config's [simulator] table */
static char g_last_error[256] = "";

/* ---- a tiny RNG: SplitMix64 (a Weyl counter through a 64-bit mix) --------------------------- */

typedef struct {
  uint64_t state;
} Rng;

static uint64_t rng_next(Rng* r) {
  uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Uniform in (0, 1): 53 random bits, never 0 (safe for log). */
static double rng_uniform_open(Rng* r) { return ((double)(rng_next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0); }

/* Standard normal by Box-Muller (one value per call keeps the row's stream simple). */
static double rng_normal(Rng* r) {
  const double u1 = rng_uniform_open(r), u2 = rng_uniform_open(r);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ---- the ABI ---------------------------------------------------------------------------------- */

SIMBI_PLUGIN_EXPORT uint32_t simbi_plugin_abi_version(void) { return SIMBI_PLUGIN_ABI_VERSION; }

/* Reads an optional "noise_sd = <number>" from the [simulator] table of simbi's config file. */
SIMBI_PLUGIN_EXPORT int simbi_plugin_init(const char* config_path) {
  if (!config_path) return 0;
  FILE* f = fopen(config_path, "r");
  if (!f) {
    snprintf(g_last_error, sizeof g_last_error, "example_simulator: cannot open config '%s'", config_path);
    return 1;
  }
  char line[512];
  int in_simulator_table = 0;
  while (fgets(line, sizeof line, f)) {
    char* p = line;
    while (*p == ' ' || *p == '\t') ++p;
    if (*p == '[') {
      in_simulator_table = strncmp(p, "[simulator]", 11) == 0;
      continue;
    }
    double value;
    if (in_simulator_table && sscanf(p, "noise_sd = %lf", &value) == 1) {
      if (!(value >= 0.0)) {
        snprintf(g_last_error, sizeof g_last_error, "example_simulator: noise_sd must be >= 0 in '%s'", config_path);
        fclose(f);
        return 2;
      }
      g_noise_sd = value;
    }
  }
  fclose(f);
  return 0;
}

SIMBI_PLUGIN_EXPORT int simbi_plugin_dims(int32_t* theta_dim, int32_t* x_dim) {
  *theta_dim = THETA_DIM;
  *x_dim = X_DIM;
  return 0;
}

SIMBI_PLUGIN_EXPORT int simbi_plugin_simulate(const float* theta, int64_t n, float* x, const uint64_t* seeds) {
  if (!theta || !x || !seeds || n < 0) {
    snprintf(g_last_error, sizeof g_last_error, "example_simulator: invalid arguments (n = %lld)", (long long)n);
    return 1;
  }
  for (int64_t i = 0; i < n; ++i) {
    const double omega = theta[i * THETA_DIM + 0];
    const double zeta = theta[i * THETA_DIM + 1];
    float* row = x + i * X_DIM;
    if (!isfinite(omega) || !isfinite(zeta) || omega <= 0.0 || zeta < 0.0 || zeta >= MAX_ZETA) {
      for (int j = 0; j < X_DIM; ++j) row[j] = NAN; /* a failed simulation, not an error */
      continue;
    }
    Rng rng = {seeds[i]};
    const double omega_d = omega * sqrt(1.0 - zeta * zeta);
    const double decay = zeta * omega;
    for (int j = 0; j < X_DIM; ++j) {
      const double t = kTimes[j];
      const double y = exp(-decay * t) * (cos(omega_d * t) + decay / omega_d * sin(omega_d * t));
      row[j] = (float)(y + g_noise_sd * rng_normal(&rng));
    }
  }
  return 0;
}

SIMBI_PLUGIN_EXPORT void simbi_plugin_finalize(void) {}

SIMBI_PLUGIN_EXPORT const char* simbi_plugin_last_error(void) { return g_last_error[0] ? g_last_error : NULL; }
