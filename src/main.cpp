// simbi entry point: builds the CLI and runs it (src/cli).
#include "simbi/cli/app.hpp"

int main(int argc, char** argv) { return simbi::cli::run_main(argc, argv); }
