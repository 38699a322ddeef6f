#include "simbi/store/model_file.hpp"

#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "simbi/core/error.hpp"
#include "simbi/sim/prior.hpp"
#include "simbi/sim/task.hpp"
#include "simbi/store/atomic_file.hpp"
#include "simbi/store/torch_archive.hpp"

namespace simbi::store {

namespace {
constexpr const char* kMetadataKey = "simbi_metadata";

// The metadata record's text, or "" when there is none.
std::string metadata_text(torch::serialize::InputArchive& archive) {
  c10::IValue value;
  return archive.try_read(kMetadataKey, value) && value.isString() ? value.toStringRef() : std::string();
}

// Loads the archive and checks its checksum; files of format versions before the checksum have none.
torch::serialize::InputArchive open_archive(const std::string& path) {
  require(std::filesystem::exists(path), ErrorKind::io, path + ": no such file");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const std::exception&) {
    throw Error(ErrorKind::format, path + ": not a simbi model file (not a LibTorch archive, or a damaged one)");
  }
  if (verify_archive_checksum(archive, path)) return archive;
  const nlohmann::json record = nlohmann::json::parse(metadata_text(archive), nullptr, false);
  const int version = record.is_object() ? record.value("format_version", 0) : 0;
  require(version < kModelChecksumVersion, ErrorKind::format,
          path + ": no checksum record, which every model of format version " + std::to_string(version) +
              " has (file corrupted)");
  return archive;
}

// A field of the record as T, or Error(format) naming the file and the field.
template <typename T>
T field(const nlohmann::json& record, const char* name, const T& fallback, const std::string& path) {
  if (!record.contains(name) || record[name].is_null()) return fallback;
  try {
    return record[name].get<T>();
  } catch (const std::exception&) {
    throw Error(ErrorKind::format, path + ": model metadata field '" + name + "' has the wrong type (" +
                                       record[name].dump().substr(0, 80) + ")");
  }
}

}  // namespace

nlohmann::json ModelMeta::to_json() const {
  return {{"format", kModelFormat},
          {"format_version", format_version},
          {"method", method},
          {"task", task},
          {"theta_dim", theta_dim},
          {"x_dim", x_dim},
          {"theta_labels", theta_labels},
          {"prior", prior},
          {"estimator", estimator},
          {"training", training},
          {"history", history},
          {"data", data},
          {"ranks", ranks},
          {"threads_per_rank", threads_per_rank},
          {"device", device},
          {"backend", backend},
          {"train_seconds", train_seconds},
          {"epochs", epochs},
          {"simbi_version", simbi_version},
          {"created", created}};
}

ModelMeta ModelMeta::from_json(const nlohmann::json& r, const std::string& path) {
  require(r.is_object(), ErrorKind::format, path + ": the model's metadata is not a JSON object");
  const std::string format = field<std::string>(r, "format", "", path);
  require(format == kModelFormat, ErrorKind::format,
          path + ": metadata format is '" + format + "', expected '" + kModelFormat + "'");
  ModelMeta m;
  m.format_version = field<int>(r, "format_version", 0, path);
  require(m.format_version >= 1 && m.format_version <= kModelVersion, ErrorKind::format,
          path + ": model format version " + std::to_string(m.format_version) + " is not one this simbi reads (1.." +
              std::to_string(kModelVersion) + ")");
  m.estimator = r.value("estimator", nlohmann::json());
  require(m.estimator.is_object(), ErrorKind::format, path + ": model metadata has no 'estimator' record");
  // Method and dimensions: the top-level fields, else the estimator record's (files written by tools).
  m.method = field<std::string>(r, "method", field<std::string>(m.estimator, "method", "", path), path);
  m.theta_dim = field<int64_t>(r, "theta_dim", field<int64_t>(m.estimator, "theta_dim", 0, path), path);
  m.x_dim = field<int64_t>(r, "x_dim", field<int64_t>(m.estimator, "x_dim", 0, path), path);
  require(!m.method.empty(), ErrorKind::format, path + ": model metadata names no method");
  require(m.theta_dim > 0 && m.x_dim > 0, ErrorKind::format,
          path + ": model metadata 'theta_dim' and 'x_dim' must be positive");
  m.task = field<std::string>(r, "task", "", path);
  m.theta_labels = field<std::vector<std::string>>(r, "theta_labels", {}, path);
  // Version 1 kept the prior as JSON text ("" when none).
  m.prior = r.value("prior", nlohmann::json());
  if (m.prior.is_string()) {
    const std::string text = m.prior.get<std::string>();
    m.prior = text.empty() ? nlohmann::json() : nlohmann::json::parse(text, nullptr, false);
    require(!m.prior.is_discarded(), ErrorKind::format, path + ": the model's prior is not valid JSON");
  }
  m.training = r.value("training", nlohmann::json::object());
  m.history = r.value("history", nlohmann::json::object());
  m.data = r.value("data", nlohmann::json::object());
  m.ranks = field<int>(r, "ranks", 1, path);
  m.threads_per_rank = field<int>(r, "threads_per_rank", 1, path);
  m.device = field<std::string>(r, "device", "cpu", path);
  m.backend = field<std::string>(r, "backend", "", path);
  m.train_seconds = field<double>(r, "train_seconds", 0.0, path);
  m.epochs = field<int64_t>(r, "epochs", 0, path);
  m.simbi_version = field<std::string>(r, "simbi_version", "", path);
  m.created = field<std::string>(r, "created", "", path);
  return m;
}

std::unique_ptr<sim::Prior> ModelMeta::make_prior(const std::string& path) const {
  if (prior.is_null()) return nullptr;
  return sim::prior_from_json(prior, path);
}

std::vector<std::string> ModelMeta::labels() const {
  if (static_cast<int64_t>(theta_labels.size()) == theta_dim) return theta_labels;
  return sim::default_theta_labels(theta_dim);
}

void save_model_file(const std::string& path, const torch::nn::Module& module, const ModelMeta& meta) {
  torch::serialize::OutputArchive archive;
  module.save(archive);
  nlohmann::json record = meta.to_json();
  record["format_version"] = kModelVersion;
  archive.write(kMetadataKey, c10::IValue(record.dump()));
  write_file_atomically(path, archive_bytes_with_checksum(archive));
}

ModelMeta read_model_meta(const std::string& path) {
  torch::serialize::InputArchive archive = open_archive(path);
  const std::string text = metadata_text(archive);
  require(!text.empty(), ErrorKind::format,
          path + ": a LibTorch archive but not a simbi model (no '" + std::string(kMetadataKey) + "' record)");
  const nlohmann::json record = nlohmann::json::parse(text, nullptr, false);
  require(!record.is_discarded(), ErrorKind::format, path + ": the model's metadata is not valid JSON");
  return ModelMeta::from_json(record, path);
}

void load_model_weights(const std::string& path, torch::nn::Module& module) {
  torch::serialize::InputArchive archive = open_archive(path);
  try {
    module.load(archive);
  } catch (const std::exception& e) {
    throw Error(ErrorKind::format, path + ": the weights do not match the architecture in its metadata (" +
                                       std::string(e.what()).substr(0, 200) + ")");
  }
  // A diverged training or a damaged file: NaN weights would give NaN draws without any error.
  torch::NoGradGuard no_grad;
  auto check = [&](const std::string& kind, const std::string& name, const torch::Tensor& t) {
    if (!t.defined() || !t.is_floating_point()) return;
    const int64_t bad = t.numel() - torch::isfinite(t).sum().item<int64_t>();
    require(bad == 0, ErrorKind::numeric,
            path + ": " + kind + " '" + name + "' has " + std::to_string(bad) + " non-finite value(s) of " +
                std::to_string(t.numel()) + " (a diverged training or a damaged file; the model cannot be used)");
  };
  for (const auto& p : module.named_parameters()) check("parameter", p.key(), p.value());
  for (const auto& b : module.named_buffers()) check("buffer", b.key(), b.value());
}

bool is_model_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[2] = {0, 0};
  in.read(magic, 2);
  return in.gcount() == 2 && magic[0] == 'P' && magic[1] == 'K';  // LibTorch archives are zip files
}

}  // namespace simbi::store
