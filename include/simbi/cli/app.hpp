// The simbi command line: subcommands, options, config files, and turning errors into one clear line
// and a non-zero exit on every rank. Contract: run_main() initialises and finalises MPI itself.
#pragma once

namespace simbi::cli {

int run_main(int argc, char** argv);

}  // namespace simbi::cli
