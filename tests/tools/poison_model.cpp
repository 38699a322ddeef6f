// Test driver for tests/e2e/test_gbi_bad_input.sh and test_model_integrity.sh: rewrites a model file
// (with a valid checksum) with broken weights, as a diverged training would leave them, to check that
// loading refuses non-finite weights and that `simbi sample` handles a network whose outputs are not
// finite. Modes:
//   nan       every floating-point parameter NaN (refused on load).
//   huge      every floating-point parameter times 1e30: finite weights whose outputs overflow.
//   overflow  (ACE models) the first unit of the input layer gets 3e38 per unit of θ₁ − mean(θ₁) and
//             nothing else, so it overflows to ±inf for θ₁ more than ~1.1 from the training mean, and the
//             following layers turn +inf into NaN (inf − inf): NaN on part of the space only.
// Usage: simbi_poison_model --in model.pt --out bad.pt --mode nan|huge|overflow
#include <torch/torch.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "simbi/estimators/estimator.hpp"
#include "simbi/store/model_file.hpp"

int main(int argc, char** argv) {
  std::string in, out, mode = "nan";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--in"))
      in = argv[i + 1];
    else if (!std::strcmp(argv[i], "--out"))
      out = argv[i + 1];
    else if (!std::strcmp(argv[i], "--mode"))
      mode = argv[i + 1];
  }
  if (in.empty() || out.empty() || (mode != "nan" && mode != "huge" && mode != "overflow")) {
    std::fprintf(stderr, "usage: simbi_poison_model --in model.pt --out bad.pt --mode nan|huge|overflow\n");
    return 2;
  }
  try {
    const simbi::store::ModelMeta meta = simbi::store::read_model_meta(in);
    auto model = simbi::estimators::make_estimator(meta.estimator);
    simbi::store::load_model_weights(in, *model);
    torch::NoGradGuard no_grad;
    if (mode == "nan") {
      for (auto& p : model->parameters()) p.fill_(std::numeric_limits<float>::quiet_NaN());
    } else if (mode == "huge") {
      for (auto& p : model->parameters()) p.mul_(1e30);
    } else {
      auto params = model->named_parameters();
      auto buffers = model->named_buffers();
      if (!params.contains("net.input.weight") || !buffers.contains("theta_zscore.std")) {
        std::fprintf(stderr, "%s: overflow mode needs an ACE model\n", in.c_str());
        return 2;
      }
      const double sd = buffers["theta_zscore.std"][0].item<double>();
      params["net.input.weight"][0].zero_();
      params["net.input.weight"][0][0] = 3e38 * sd;
      params["net.input.bias"][0] = 0.0;
    }
    simbi::store::save_model_file(out, *model, meta);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
