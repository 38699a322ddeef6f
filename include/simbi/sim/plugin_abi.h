/* The C ABI of a simbi simulator plugin (a shared library a user builds; loaded with dlopen).
 * Thread contract: simbi calls a plugin's functions one at a time per process (never concurrently). */
#ifndef SIMBI_SIM_PLUGIN_ABI_H
#define SIMBI_SIM_PLUGIN_ABI_H

/*
 * simbi simulator plugin ABI, version 1
 * =====================================
 *
 * A plugin is a shared library (.so) exporting the functions below with C linkage. It can be written
 * in C, C++ (declare them extern "C"; this header does it for you), Fortran (via ISO_C_BINDING with
 * BIND(C, NAME="simbi_plugin_simulate") etc.) or anything else that can export C symbols.
 * Full guide: docs/user_simulators.md.
 *
 * Call sequence (per process, per load of the library):
 *
 *   simbi_plugin_abi_version()            required; must return SIMBI_PLUGIN_ABI_VERSION (1)
 *   simbi_plugin_init(config_path)        optional; called once, before anything below
 *   simbi_plugin_dims(&theta_dim, &x_dim) required; must agree with the simulator config file
 *   simbi_plugin_simulate(...)            required; called many times, one batch per call
 *   simbi_plugin_finalize()               optional; called once before the library is unloaded
 *   simbi_plugin_last_error()             optional; called after any function above reported failure
 *
 * Data layout: theta is row-major float32 [n, theta_dim]; x is row-major float32 [n, x_dim].
 *
 * Seeds contract: row i of a batch must draw its randomness only from seeds[i] (e.g. seed a small
 * private generator with it). simbi derives seeds[i] from (run seed, global row index), so a row's
 * output is then the same whatever batch, chunk or MPI rank it is simulated in, and a run can be
 * resumed bit-identically. Do not keep a generator across calls or across rows.
 *
 * Failures: a single failed simulation writes NaN into its row (x is NaN-filled before the call, so
 * leaving the row untouched also works); any non-finite value (NaN, +-inf) marks the whole row as
 * failed, and simbi records it as failed (status 2) instead of stopping. A non-zero return value from
 * any function means the whole call failed (a bug, a missing input file, ...): simbi stops with an
 * error that includes simbi_plugin_last_error() when the plugin exports it.
 *
 * Threading: simbi serialises all calls into one loaded plugin with a process-wide lock, so a plugin
 * need not be thread-safe. A plugin may use threads (OpenMP, ...) inside one call, but must not call
 * back into simbi and must not leave threads writing into theta/x after returning. Under MPI every
 * rank is its own process and loads its own copy.
 *
 * Do not: throw C++ exceptions or longjmp out of these functions, call exit()/abort() for a bad theta,
 * print to stdout (it may be simbi's output). A crash in a plugin kills simbi: run untrusted or
 * fragile simulators as an external command instead (docs/user_simulators.md).
 */

#include <stdint.h>

#define SIMBI_PLUGIN_ABI_VERSION 1

#if defined(_WIN32)
#define SIMBI_PLUGIN_EXPORT __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define SIMBI_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define SIMBI_PLUGIN_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- required ---------------------------------------------------------------------------------- */

/* Returns the ABI version the plugin was written against: return SIMBI_PLUGIN_ABI_VERSION.
 * simbi refuses to load a plugin reporting another version. Called first, before init. */
SIMBI_PLUGIN_EXPORT uint32_t simbi_plugin_abi_version(void);

/* Writes the dimension of one parameter vector (theta_dim >= 1) and of one simulator output
 * (x_dim >= 1). Called after init, once per load. simbi checks both against the simulator config
 * file's theta_dim and x_dim. Returns 0 on success, non-zero on failure. */
SIMBI_PLUGIN_EXPORT int simbi_plugin_dims(int32_t* theta_dim, int32_t* x_dim);

/* Simulates a batch of n >= 1 rows.
 *   theta  [n * theta_dim] row-major input parameters (read-only),
 *   x      [n * x_dim]     row-major outputs, NaN-filled on entry; write every value of every row,
 *   seeds  [n]             seeds[i] is the only source of randomness allowed for row i.
 * Returns 0 on success (failed single simulations are NaN rows, still a success). Any non-zero
 * return means the whole batch failed: simbi stops and reports simbi_plugin_last_error().
 * Must be deterministic given (theta row, seed): same inputs, same outputs, whatever n is. */
SIMBI_PLUGIN_EXPORT int simbi_plugin_simulate(const float* theta, int64_t n, float* x, const uint64_t* seeds);

/* ---- optional ---------------------------------------------------------------------------------- */

/* Called once after loading, before simbi_plugin_dims. config_path is the absolute path of the
 * simulator config file (TOML) that declared this plugin, so the plugin may read its own settings
 * from it (simbi ignores the [simulator] table; put them there), or NULL when there is none.
 * Returns 0 on success; non-zero stops simbi with simbi_plugin_last_error(). */
SIMBI_PLUGIN_EXPORT int simbi_plugin_init(const char* config_path);

/* Called once before simbi unloads the library (release memory, close files). No return value. */
SIMBI_PLUGIN_EXPORT void simbi_plugin_finalize(void);

/* A NUL-terminated, human-readable, single-line description of the last failure (of init, dims or
 * simulate), or NULL. The string must stay valid until the next call into the plugin; simbi copies
 * it at once. */
SIMBI_PLUGIN_EXPORT const char* simbi_plugin_last_error(void);

/* Pointer types of the functions above, for loaders (simbi's own, or a user's test harness). */
typedef uint32_t (*simbi_plugin_abi_version_fn)(void);
typedef int (*simbi_plugin_dims_fn)(int32_t* theta_dim, int32_t* x_dim);
typedef int (*simbi_plugin_simulate_fn)(const float* theta, int64_t n, float* x, const uint64_t* seeds);
typedef int (*simbi_plugin_init_fn)(const char* config_path);
typedef void (*simbi_plugin_finalize_fn)(void);
typedef const char* (*simbi_plugin_last_error_fn)(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SIMBI_SIM_PLUGIN_ABI_H */
