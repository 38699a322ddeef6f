#include "simbi/train/checkpoint.hpp"

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <set>

#include "simbi/core/error.hpp"
#include "simbi/core/random.hpp"
#include "simbi/core/version.hpp"
#include "simbi/store/atomic_file.hpp"
#include "simbi/store/sim_store.hpp"
#include "simbi/store/torch_archive.hpp"

namespace simbi::train {

namespace {
constexpr const char* kMetaKey = "simbi_checkpoint";

void write_group(torch::serialize::OutputArchive& archive, const std::string& group, const NamedTensors& tensors,
                 nlohmann::json& names) {
  names[group] = nlohmann::json::array();
  for (size_t i = 0; i < tensors.size(); ++i) {
    // Archive keys must be plain identifiers (parameter names contain dots): the names go to the JSON.
    archive.write(group + "_" + std::to_string(i), tensors[i].second.contiguous());
    names[group].push_back(tensors[i].first);
  }
}

torch::Tensor read_tensor(torch::serialize::InputArchive& archive, const std::string& key, const std::string& path) {
  torch::Tensor t;
  try {
    archive.read(key, t);
  } catch (const std::exception&) {
    throw Error(ErrorKind::format, path + ": checkpoint record '" + key + "' is missing");
  }
  return t;
}

NamedTensors read_group(torch::serialize::InputArchive& archive, const std::string& group, const nlohmann::json& names,
                        const std::string& path) {
  NamedTensors out;
  for (size_t i = 0; i < names.size(); ++i)
    out.emplace_back(names[i].get<std::string>(), read_tensor(archive, group + "_" + std::to_string(i), path));
  return out;
}

// 64-bit hash of a float tensor's bytes (word-wise multiply-xor, then mix64): cheap enough to cover
// every training row (~GB/s), so any change of the data changes it.
uint64_t hash_tensor(const torch::Tensor& t, uint64_t h) {
  const torch::Tensor c = t.contiguous().to(torch::kFloat);
  const auto* bytes = static_cast<const unsigned char*>(c.data_ptr());
  const size_t n = static_cast<size_t>(c.numel()) * sizeof(float);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, bytes + i, 8);
    h = (h ^ w) * 0x100000001b3ULL;
    h ^= h >> 29;
  }
  for (; i < n; ++i) h = (h ^ bytes[i]) * 0x100000001b3ULL;
  return mix64(h ^ static_cast<uint64_t>(t.size(0)));
}

std::string hex(uint64_t v) {
  char s[17];
  std::snprintf(s, sizeof s, "%016" PRIx64, v);
  return s;
}

// "k = v, ..." for the keys of a and b (objects) whose values differ, as seen from `side`.
std::string describe_differences(const nlohmann::json& side, const nlohmann::json& other) {
  std::set<std::string> keys;
  for (const auto& [k, v] : side.items()) keys.insert(k);
  for (const auto& [k, v] : other.items()) keys.insert(k);
  std::string out;
  for (const std::string& k : keys) {
    const nlohmann::json a = side.value(k, nlohmann::json()), b = other.value(k, nlohmann::json());
    if (a == b || k == "method") continue;
    out += (out.empty() ? "" : ", ") + k + " = " + (a.is_null() ? std::string("(unset)") : a.dump());
  }
  return out;
}
}  // namespace

std::string encode_checkpoint(const TrainState& s) {
  torch::serialize::OutputArchive archive;
  nlohmann::json names;
  write_group(archive, "model", s.model, names);
  write_group(archive, "best", s.best, names);
  archive.write("adam_m", s.optimizer.m.contiguous());
  archive.write("adam_v", s.optimizer.v.contiguous());
  if (s.ema.defined()) archive.write("ema", s.ema.contiguous());
  for (size_t r = 0; r < s.rng.size(); ++r) archive.write("rng_" + std::to_string(r), s.rng[r]);
  const nlohmann::json meta = {{"format", kCheckpointFormat},
                               {"format_version", kCheckpointVersion},
                               {"epoch", s.epoch},
                               {"next_row", s.next_row},
                               {"epoch_loss_sum", s.epoch_loss_sum},
                               {"epoch_seconds", s.epoch_seconds},
                               {"last_decay_epoch", s.last_decay_epoch},
                               {"history", s.history.to_json()},
                               {"tensors", names},
                               {"optimizer", {{"t", s.optimizer.t}, {"lr", s.optimizer.lr}}},
                               {"ema", s.ema.defined()},
                               {"ranks", s.rng.size()},
                               {"fingerprint", s.fingerprint},
                               {"simbi_version", kVersion},
                               {"created", store::utc_now_iso8601()}};
  archive.write(kMetaKey, c10::IValue(meta.dump()));
  return store::archive_bytes_with_checksum(archive);
}

TrainState decode_checkpoint(const std::string& bytes, const std::string& path) {
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(bytes.data(), bytes.size());
  } catch (const std::exception&) {
    throw Error(ErrorKind::format, path + ": not a simbi training checkpoint (not a LibTorch archive; truncated?)");
  }
  const bool has_checksum = store::verify_archive_checksum(archive, path);
  c10::IValue value;
  require(
      archive.try_read(kMetaKey, value) && value.isString(), ErrorKind::format,
      path + ": a LibTorch archive but not a simbi training checkpoint (no '" + std::string(kMetaKey) + "' record)");
  nlohmann::json m = nlohmann::json::parse(value.toStringRef(), nullptr, false);
  require(m.is_object() && m.value("format", "") == kCheckpointFormat, ErrorKind::format,
          path + ": not a simbi training checkpoint (metadata format is not '" + std::string(kCheckpointFormat) + "')");
  const int version = m.value("format_version", 0);
  require(version >= 1 && version <= kCheckpointVersion, ErrorKind::format,
          path + ": checkpoint format version " + std::to_string(version) + " is not one this simbi reads (1.." +
              std::to_string(kCheckpointVersion) + ")");
  require(has_checksum || version < kCheckpointChecksumVersion, ErrorKind::format,
          path + ": no checksum record, which every checkpoint of format version " + std::to_string(version) +
              " has (file corrupted)");
  TrainState s;
  s.format_version = version;
  try {
    s.epoch = m.at("epoch").get<int64_t>();
    s.next_row = m.at("next_row").get<int64_t>();
    s.epoch_loss_sum = m.at("epoch_loss_sum").get<double>();
    s.epoch_seconds = m.at("epoch_seconds").get<double>();
    s.last_decay_epoch = m.at("last_decay_epoch").get<int64_t>();
    s.history = TrainHistory::from_json(m.at("history"));
    s.optimizer.t = m.at("optimizer").at("t").get<int64_t>();
    s.optimizer.lr = m.at("optimizer").at("lr").get<double>();
    s.fingerprint = m.at("fingerprint");
    s.model = read_group(archive, "model", m.at("tensors").at("model"), path);
    s.best = read_group(archive, "best", m.at("tensors").at("best"), path);
    const int64_t ranks = m.at("ranks").get<int64_t>();
    for (int64_t r = 0; r < ranks; ++r) s.rng.push_back(read_tensor(archive, "rng_" + std::to_string(r), path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::format, path + ": checkpoint metadata is incomplete (" + std::string(e.what()) + ")");
  }
  s.optimizer.m = read_tensor(archive, "adam_m", path);
  s.optimizer.v = read_tensor(archive, "adam_v", path);
  if (m.value("ema", false)) s.ema = read_tensor(archive, "ema", path);
  return s;
}

std::vector<std::string> verify_checkpoint(const std::string& path) {
  const TrainState s = decode_checkpoint(store::read_whole_file(path), path);
  int64_t values = 0;
  for (const NamedTensors* group : {&s.model, &s.best})
    for (const auto& [name, t] : *group) {
      require(!t.is_floating_point() || torch::isfinite(t).all().item<bool>(), ErrorKind::format,
              path + ": " + (group == &s.model ? "weight" : "best-weights snapshot") + " '" + name +
                  "' has non-finite values (a diverged training or a damaged file)");
      values += t.numel();
    }
  return {
      s.format_version >= kCheckpointChecksumVersion
          ? "checksum (XXH3-64 of the content) matches"
          : "no checksum: format version " + std::to_string(s.format_version) + " was written before checksums existed",
      "metadata and every tensor record decode (epoch " + std::to_string(s.epoch + 1) + ", row " +
          std::to_string(s.next_row) + ", " + std::to_string(s.rng.size()) + " rank(s))",
      "all " + std::to_string(values) + " values of the weights and best-weights snapshot are finite"};
}

std::string hash_rows(const torch::Tensor& theta, const torch::Tensor& x) {
  return hex(hash_tensor(x, hash_tensor(theta, 0xcbf29ce484222325ULL)));
}

nlohmann::json in_memory_data_fingerprint(const std::string& store_path, const TrainingData& data) {
  return {{"store", store_path},
          {"rows", data.theta.size(0)},
          {"dropped_rows", data.dropped_rows},
          {"hash", hash_rows(data.theta, data.x)},
          {"loading", "memory"}};
}

nlohmann::json training_fingerprint(const nlohmann::json& estimator_config, const TrainOptions& options,
                                    const nlohmann::json& data) {
  nlohmann::json training = options.to_json();
  training.erase("max_epochs");
  return {{"estimator", estimator_config}, {"training", training}, {"data", data}};
}

std::string fingerprint_difference(const nlohmann::json& saved, const nlohmann::json& now, const std::string& what) {
  for (const char* part : {"estimator", "training"}) {
    const nlohmann::json a = saved.value(part, nlohmann::json::object()), b = now.value(part, nlohmann::json::object());
    if (a == b) continue;
    const std::string method_a = saved.value("estimator", nlohmann::json::object()).value("method", "?");
    const std::string method_b = now.value("estimator", nlohmann::json::object()).value("method", "?");
    auto side = [&](const std::string& method, const nlohmann::json& x, const nlohmann::json& y) {
      const std::string diff = describe_differences(x, y);
      return method + (diff.empty() ? "" : " with " + diff);
    };
    return what + " was written for " + side(method_a, a, b) + ", not " + side(method_b, b, a);
  }
  const nlohmann::json a = saved.value("data", nlohmann::json::object()),
                       b = now.value("data", nlohmann::json::object());
  // In memory and streaming see the rows in different orders: a run continues the way it started.
  const std::string loading_a = a.value("loading", "memory"), loading_b = b.value("loading", "memory");
  if (loading_a != loading_b) return what + " was written with --data-loading " + loading_a + ", not " + loading_b;
  if (a.value("rows", -1) != b.value("rows", -2) || a.value("hash", "a") != b.value("hash", "b")) {
    return "store " + b.value("store", "?") + " changed since " + what + " was written (" +
           std::to_string(a.value("rows", int64_t{-1})) + " usable rows then, " +
           std::to_string(b.value("rows", int64_t{-1})) + " now; " +
           (a.value("hash", "") == b.value("hash", "") ? "same" : "different") + " contents)";
  }
  return "";
}

void check_fingerprint(const nlohmann::json& saved, const nlohmann::json& now, const std::string& path) {
  const std::string difference = fingerprint_difference(saved, now, "checkpoint " + path);
  require(difference.empty(), ErrorKind::invalid_argument,
          difference + " (delete the checkpoint, or train without --resume to start over)");
}

}  // namespace simbi::train
