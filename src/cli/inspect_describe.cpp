// The descriptions printed by `simbi inspect FILE` (src/cli/cmd_inspect.cpp).
#include "inspect_describe.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "simbi/sim/prior.hpp"
#include "simbi/store/atomic_file.hpp"
#include "simbi/store/model_file.hpp"
#include "simbi/store/sim_store.hpp"
#include "simbi/train/checkpoint.hpp"

namespace simbi::cli {

void describe_store(const std::string& path, bool as_json) {
  const store::SimStore s = store::SimStore::open_read(path);
  const store::SimStoreMeta& m = s.meta();
  const store::StatusCounts c = store::count_status(s.read_status());
  // The row shape: the store's x_shape attribute, or [x_dim] for flat rows.
  const std::vector<int64_t> x_shape = m.x_shape.empty() ? std::vector<int64_t>{m.x_dim} : m.x_shape;
  std::string prior = "(unknown)";
  if (!m.prior_json.empty()) prior = sim::prior_from_json(nlohmann::json::parse(m.prior_json), path)->describe();
  // A sequential store's rounds: each round's proposal (null while not drawn) and rows completed.
  nlohmann::json rounds = nlohmann::json::array();
  const std::vector<uint8_t> status = m.is_sequential() ? s.read_status() : std::vector<uint8_t>();
  for (int64_t r = 1; r <= m.rounds; ++r) {
    const std::string p = s.round_proposal(r);
    const auto first = status.begin() + m.round_first(r), end = status.begin() + m.round_end(r);
    rounds.push_back({{"round", r},
                      {"completed", store::count_status(std::vector<uint8_t>(first, end)).completed()},
                      {"proposal", p.empty() ? nlohmann::json() : nlohmann::json::parse(p, nullptr, false)}});
  }
  if (as_json) {
    nlohmann::json j = {{"file", path},
                        {"format", store::kSimsFormat},
                        {"version", m.version},
                        {"task", m.task},
                        {"simulator", m.simulator},
                        {"theta_dim", m.theta_dim},
                        {"x_dim", m.x_dim},
                        {"budget", m.budget},
                        {"chunk_rows", m.chunk_rows},
                        {"seed", m.seed},
                        {"completed", c.completed()},
                        {"ok", c.ok},
                        {"failed", c.failed},
                        {"not_simulated", c.not_simulated},
                        {"theta_labels", m.theta_labels},
                        {"prior", prior},
                        {"x_shape", x_shape},
                        {"created", m.created},
                        {"simbi_version", m.simbi_version}};
    if (m.is_sequential()) {
      j["sequential"] = nlohmann::json::parse(m.sequential, nullptr, false);
      j["rounds"] = rounds;
    }
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  const double pct = 100.0 * static_cast<double>(c.completed()) / static_cast<double>(m.budget);
  std::printf("%s: simbi simulation store (format %s v%lld)\n", path.c_str(), store::kSimsFormat,
              static_cast<long long>(m.version));
  std::printf("  task          %s (simulator: %s)\n", m.task.c_str(), m.simulator.c_str());
  std::printf("  theta_dim     %lld  [%s]\n", static_cast<long long>(m.theta_dim), join(m.theta_labels, ", ").c_str());
  std::string shape;
  for (size_t i = 0; i < m.x_shape.size(); ++i) shape += (i ? " x " : "") + std::to_string(m.x_shape[i]);
  std::printf("  x_dim         %lld%s\n", static_cast<long long>(m.x_dim),
              shape.empty() ? "" : ("  (row shape " + shape + ", row-major)").c_str());
  std::printf("  prior         %s\n", prior.c_str());
  std::printf("  budget        %lld rows (chunks of %lld)\n", static_cast<long long>(m.budget),
              static_cast<long long>(m.chunk_rows));
  std::printf("  completed     %lld / %lld (%.1f%%): ok %lld, failed %lld, not simulated %lld\n",
              static_cast<long long>(c.completed()), static_cast<long long>(m.budget), pct,
              static_cast<long long>(c.ok), static_cast<long long>(c.failed), static_cast<long long>(c.not_simulated));
  std::printf("  seed          %llu\n", static_cast<unsigned long long>(m.seed));
  if (m.is_sequential()) std::printf("  sequential    %s\n", m.sequential.c_str());
  for (const nlohmann::json& r : rounds)
    std::printf("  round %-7lld %lld / %lld rows, proposal %s\n", static_cast<long long>(r["round"].get<int64_t>()),
                static_cast<long long>(r["completed"].get<int64_t>()), static_cast<long long>(m.round_rows),
                r["proposal"].is_null() ? "(not drawn yet)" : r["proposal"].dump().c_str());
  std::printf("  created       %s by simbi %s\n", m.created.c_str(), m.simbi_version.c_str());
  if (c.not_simulated > 0)
    std::printf("  status        INCOMPLETE: finish it with %s\n",
                m.is_sequential() ? "the `simbi run ... --sequential` that made it (it resumes)"
                                  : "`simbi simulate ... --resume`");
}

void describe_model(const std::string& path, bool as_json) {
  nlohmann::json m = store::read_model_meta(path).to_json();
  m["file"] = path;
  if (as_json) {
    std::printf("%s\n", m.dump(2).c_str());
    return;
  }
  const nlohmann::json h = m.value("history", nlohmann::json::object());
  std::printf("%s: simbi model (format %s v%d)\n", path.c_str(), store::kModelFormat, m.value("format_version", 0));
  std::printf("  method        %s\n", m.value("method", std::string("?")).c_str());
  std::printf("  task          %s  (theta_dim %lld, x_dim %lld)\n", m.value("task", std::string("?")).c_str(),
              static_cast<long long>(m.value("theta_dim", 0)), static_cast<long long>(m.value("x_dim", 0)));
  std::printf("  estimator     %s\n", m.value("estimator", nlohmann::json::object()).dump().c_str());
  std::printf("  training      %s\n", m.value("training", nlohmann::json::object()).dump().c_str());
  std::printf("  data          %s\n", m.value("data", nlohmann::json::object()).dump().c_str());
  std::printf("  result        %lld epochs in %.1f s on %d rank(s); best epoch %lld, validation loss %.4f (%s)\n",
              static_cast<long long>(m.value("epochs", 0)), m.value("train_seconds", 0.0), m.value("ranks", 1),
              static_cast<long long>(h.value("best_epoch", 0)), h.value("best_val_loss", 0.0),
              h.value("stop_reason", std::string()).c_str());
  std::printf("  created       %s by simbi %s\n", m.value("created", std::string()).c_str(),
              m.value("simbi_version", std::string()).c_str());
}

void describe_checkpoint(const std::string& path, bool as_json) {
  const train::TrainState s = train::decode_checkpoint(store::read_whole_file(path), path);
  const nlohmann::json j = {{"file", path},
                            {"format", train::kCheckpointFormat},
                            {"format_version", s.format_version},
                            {"epochs", s.history.val_loss.size()},  // completed epochs
                            {"next_epoch", s.epoch + 1},
                            {"next_row", s.next_row},
                            {"ranks", s.rng.size()},
                            {"optimizer_steps", s.optimizer.t},
                            {"lr", s.optimizer.lr},
                            {"fingerprint", s.fingerprint},
                            {"history", s.history.to_json()}};
  if (as_json) {
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("%s: simbi training checkpoint (format %s v%d)\n", path.c_str(), train::kCheckpointFormat,
              s.format_version);
  std::printf("  position      %zu epochs done; continues at epoch %lld, row %lld (%lld optimizer steps, lr %.3g)\n",
              s.history.val_loss.size(), static_cast<long long>(s.epoch + 1), static_cast<long long>(s.next_row),
              static_cast<long long>(s.optimizer.t), s.optimizer.lr);
  if (s.history.best_epoch >= 0)
    std::printf("  best          epoch %lld, validation loss %.4f\n", static_cast<long long>(s.history.best_epoch + 1),
                s.history.best_val_loss);
  std::printf("  written by    %zu rank(s)\n", s.rng.size());
  std::printf("  estimator     %s\n", s.fingerprint.value("estimator", nlohmann::json::object()).dump().c_str());
  std::printf("  training      %s\n", s.fingerprint.value("training", nlohmann::json::object()).dump().c_str());
  std::printf("  data          %s\n", s.fingerprint.value("data", nlohmann::json::object()).dump().c_str());
}

}  // namespace simbi::cli
