// Matrices from CSV or HDF5 files, and posterior samples to CSV (table.hpp).
#include <algorithm>
#include <filesystem>

#include "simbi/core/error.hpp"
#include "simbi/store/hdf5_util.hpp"
#include "simbi/store/table.hpp"

namespace simbi::store {

// "file.csv" or "file.h5:/dataset" (a bare .h5 file means its /theta or /x dataset).
Matrix read_matrix(const std::string& spec, const std::string& default_dataset, std::vector<std::string>* header) {
  std::string path = spec, dataset = default_dataset;
  const auto colon = spec.rfind(':');
  if (colon != std::string::npos && colon > 0 && spec.find(".csv") == std::string::npos) {
    path = spec.substr(0, colon);
    dataset = spec.substr(colon + 1);
  }
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".csv" || ext == ".txt") {
    Table t = read_csv(path);
    if (header) *header = t.header;
    return std::move(t.values);
  }
  h5::Handle f = h5::open_file_read(path);
  const std::vector<int64_t> shape = h5::dataset_shape(f.get(), dataset);
  require(!shape.empty(), ErrorKind::format, path + ": dataset " + dataset + " is missing");
  require(
      shape.size() <= 2, ErrorKind::format,
      path + ": dataset " + dataset + " has " + std::to_string(shape.size()) + " dimensions, expected [rows, dims]");
  const int64_t rows = shape[0], cols = shape.size() == 2 ? shape[1] : 1;
  Matrix m(rows, cols);
  h5::Handle d(H5Dopen2(f.get(), dataset.c_str(), H5P_DEFAULT), H5Dclose);
  require(H5Dread(d.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, m.data()) >= 0, ErrorKind::format,
          path + ": dataset " + dataset + " cannot be read as numbers");
  return m;
}

void write_samples_csv(const std::string& path, const std::vector<std::string>& labels, ConstMatrixView theta) {
  Table table{labels, Matrix(theta.rows, theta.cols)};
  std::copy(theta.data, theta.data + theta.rows * theta.cols, table.values.data());
  write_csv(path, table);
}

}  // namespace simbi::store
