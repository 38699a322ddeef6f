#include "simbi/store/model_file.hpp"

#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "simbi/core/error.hpp"
#include "simbi/store/atomic_file.hpp"
#include "simbi/store/torch_archive.hpp"

namespace simbi::store {

namespace {
constexpr const char* kMetadataKey = "simbi_metadata";

torch::serialize::InputArchive open_archive(const std::string& path) {
  require(std::filesystem::exists(path), ErrorKind::io, path + ": no such file");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const std::exception&) {
    throw Error(ErrorKind::format, path + ": not a simbi model file (not a LibTorch archive)");
  }
  return archive;
}

}  // namespace

void save_model_file(const std::string& path, const torch::nn::Module& module, nlohmann::json metadata) {
  metadata["format"] = kModelFormat;
  metadata["format_version"] = kModelVersion;
  torch::serialize::OutputArchive archive;
  module.save(archive);
  archive.write(kMetadataKey, c10::IValue(metadata.dump()));
  write_file_atomically(path, archive_bytes(archive));
}

nlohmann::json read_model_metadata(const std::string& path) {
  torch::serialize::InputArchive archive = open_archive(path);
  c10::IValue value;
  const bool found = archive.try_read(kMetadataKey, value);
  require(found && value.isString(), ErrorKind::format,
          path + ": a LibTorch archive but not a simbi model (no '" + std::string(kMetadataKey) + "' record)");
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(value.toStringRef());
  } catch (const std::exception&) {
    throw Error(ErrorKind::format, path + ": the model's metadata is not valid JSON");
  }
  require(meta.value("format", "") == kModelFormat, ErrorKind::format,
          path + ": metadata format is '" + meta.value("format", "") + "', expected '" + kModelFormat + "'");
  require(meta.value("format_version", 0) <= kModelVersion, ErrorKind::format,
          path + ": model format version " + std::to_string(meta.value("format_version", 0)) +
              " is newer than this simbi reads (" + std::to_string(kModelVersion) + ")");
  return meta;
}

void load_model_weights(const std::string& path, torch::nn::Module& module) {
  torch::serialize::InputArchive archive = open_archive(path);
  try {
    module.load(archive);
  } catch (const std::exception& e) {
    throw Error(ErrorKind::format, path + ": the weights do not match the architecture in its metadata (" +
                                       std::string(e.what()).substr(0, 200) + ")");
  }
}

bool is_model_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[2] = {0, 0};
  in.read(magic, 2);
  return in.gcount() == 2 && magic[0] == 'P' && magic[1] == 'K';  // LibTorch archives are zip files
}

}  // namespace simbi::store
