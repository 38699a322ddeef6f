#include "simbi/store/hdf5_util.hpp"

#include <filesystem>

#include "simbi/core/error.hpp"

namespace simbi::store::h5 {

void silence_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

bool has_attribute(hid_t obj, const std::string& name) { return H5Aexists(obj, name.c_str()) > 0; }

namespace {

Handle make_attribute(hid_t obj, const std::string& name, hid_t type, hid_t space) {
  if (has_attribute(obj, name)) H5Adelete(obj, name.c_str());
  Handle a(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  require(a.valid(), ErrorKind::io, "cannot write HDF5 attribute '" + name + "'");
  return a;
}

Handle vlen_string_type() {
  Handle t(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(t.get(), H5T_VARIABLE);
  H5Tset_cset(t.get(), H5T_CSET_UTF8);
  return t;
}

template <typename T>
void write_scalar(hid_t obj, const std::string& name, hid_t type, T value) {
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle a = make_attribute(obj, name, type, space.get());
  require(H5Awrite(a.get(), type, &value) >= 0, ErrorKind::io, "cannot write HDF5 attribute '" + name + "'");
}

Handle open_attribute(hid_t obj, const std::string& name, const std::string& where) {
  require(has_attribute(obj, name), ErrorKind::format, where + ": attribute '" + name + "' is missing");
  Handle a(H5Aopen(obj, name.c_str(), H5P_DEFAULT), H5Aclose);
  require(a.valid(), ErrorKind::format, where + ": cannot read attribute '" + name + "'");
  return a;
}

}  // namespace

void write_string_attribute(hid_t obj, const std::string& name, const std::string& value) {
  Handle type = vlen_string_type();
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle a = make_attribute(obj, name, type.get(), space.get());
  const char* p = value.c_str();
  require(H5Awrite(a.get(), type.get(), &p) >= 0, ErrorKind::io, "cannot write HDF5 attribute '" + name + "'");
}

void write_int_attribute(hid_t obj, const std::string& name, int64_t value) {
  write_scalar(obj, name, H5T_NATIVE_INT64, value);
}

void write_uint_attribute(hid_t obj, const std::string& name, uint64_t value) {
  write_scalar(obj, name, H5T_NATIVE_UINT64, value);
}

void write_string_array_attribute(hid_t obj, const std::string& name, const std::vector<std::string>& values) {
  Handle type = vlen_string_type();
  const hsize_t n = values.size();
  Handle space(n == 0 ? H5Screate(H5S_NULL) : H5Screate_simple(1, &n, nullptr), H5Sclose);
  Handle a = make_attribute(obj, name, type.get(), space.get());
  if (n == 0) return;
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  require(H5Awrite(a.get(), type.get(), ptrs.data()) >= 0, ErrorKind::io,
          "cannot write HDF5 attribute '" + name + "'");
}

void write_int_array_attribute(hid_t obj, const std::string& name, const std::vector<int64_t>& values) {
  const hsize_t n = values.size();
  Handle space(n == 0 ? H5Screate(H5S_NULL) : H5Screate_simple(1, &n, nullptr), H5Sclose);
  Handle a = make_attribute(obj, name, H5T_STD_I64LE, space.get());
  if (n == 0) return;
  require(H5Awrite(a.get(), H5T_NATIVE_INT64, values.data()) >= 0, ErrorKind::io,
          "cannot write HDF5 attribute '" + name + "'");
}

std::string read_string_attribute(hid_t obj, const std::string& name, const std::string& where) {
  Handle a = open_attribute(obj, name, where);
  Handle ftype(H5Aget_type(a.get()), H5Tclose);
  require(H5Tget_class(ftype.get()) == H5T_STRING, ErrorKind::format,
          where + ": attribute '" + name + "' is not a string");
  if (H5Tis_variable_str(ftype.get()) > 0) {
    Handle type = vlen_string_type();
    char* p = nullptr;
    require(H5Aread(a.get(), type.get(), &p) >= 0, ErrorKind::format, where + ": cannot read attribute '" + name + "'");
    std::string s = p ? p : "";
    if (p) H5free_memory(p);
    return s;
  }
  const size_t size = H5Tget_size(ftype.get());
  std::string s(size, '\0');
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), size);
  require(H5Aread(a.get(), type.get(), s.data()) >= 0, ErrorKind::format,
          where + ": cannot read attribute '" + name + "'");
  const auto end = s.find('\0');
  if (end != std::string::npos) s.resize(end);
  return s;
}

namespace {
template <typename T>
T read_integer_attribute(hid_t obj, const std::string& name, const std::string& where, hid_t mem_type) {
  Handle a = open_attribute(obj, name, where);
  Handle ftype(H5Aget_type(a.get()), H5Tclose);
  require(H5Tget_class(ftype.get()) == H5T_INTEGER, ErrorKind::format,
          where + ": attribute '" + name + "' is not an integer");
  T v = 0;
  require(H5Aread(a.get(), mem_type, &v) >= 0, ErrorKind::format, where + ": cannot read attribute '" + name + "'");
  return v;
}
}  // namespace

int64_t read_int_attribute(hid_t obj, const std::string& name, const std::string& where) {
  return read_integer_attribute<int64_t>(obj, name, where, H5T_NATIVE_INT64);
}

uint64_t read_uint_attribute(hid_t obj, const std::string& name, const std::string& where) {
  return read_integer_attribute<uint64_t>(obj, name, where, H5T_NATIVE_UINT64);
}

std::vector<std::string> read_string_array_attribute(hid_t obj, const std::string& name, const std::string& where) {
  Handle a = open_attribute(obj, name, where);
  Handle space(H5Aget_space(a.get()), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (H5Sget_simple_extent_type(space.get()) == H5S_NULL || n <= 0) return {};
  Handle ftype(H5Aget_type(a.get()), H5Tclose);
  require(H5Tget_class(ftype.get()) == H5T_STRING && H5Tis_variable_str(ftype.get()) > 0, ErrorKind::format,
          where + ": attribute '" + name + "' is not an array of strings");
  Handle type = vlen_string_type();
  std::vector<char*> ptrs(static_cast<size_t>(n), nullptr);
  require(H5Aread(a.get(), type.get(), ptrs.data()) >= 0, ErrorKind::format,
          where + ": cannot read attribute '" + name + "'");
  std::vector<std::string> out;
  for (char* p : ptrs) {
    out.emplace_back(p ? p : "");
    if (p) H5free_memory(p);
  }
  return out;
}

std::vector<int64_t> read_int_array_attribute(hid_t obj, const std::string& name, const std::string& where) {
  Handle a = open_attribute(obj, name, where);
  Handle space(H5Aget_space(a.get()), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (H5Sget_simple_extent_type(space.get()) == H5S_NULL || n <= 0) return {};
  Handle ftype(H5Aget_type(a.get()), H5Tclose);
  require(H5Tget_class(ftype.get()) == H5T_INTEGER, ErrorKind::format,
          where + ": attribute '" + name + "' is not an array of integers");
  std::vector<int64_t> out(static_cast<size_t>(n));
  require(H5Aread(a.get(), H5T_NATIVE_INT64, out.data()) >= 0, ErrorKind::format,
          where + ": cannot read attribute '" + name + "'");
  return out;
}

bool has_dataset(hid_t file, const std::string& name) {
  if (H5Lexists(file, name.c_str(), H5P_DEFAULT) <= 0) return false;
  H5O_info_t info;
  if (H5Oget_info_by_name(file, name.c_str(), &info, H5P_DEFAULT) < 0) return false;
  return info.type == H5O_TYPE_DATASET;
}

std::vector<int64_t> dataset_shape(hid_t file, const std::string& name) {
  if (!has_dataset(file, name)) return {};
  Handle d(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose);
  Handle space(H5Dget_space(d.get()), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(static_cast<size_t>(std::max(rank, 0)));
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return std::vector<int64_t>(dims.begin(), dims.end());
}

Handle open_file_read(const std::string& path) {
  silence_errors();
  require(std::filesystem::exists(path), ErrorKind::io, path + ": no such file");
  require(!std::filesystem::is_directory(path), ErrorKind::io, path + ": is a directory, expected an HDF5 file");
  const htri_t is_h5 = H5Fis_hdf5(path.c_str());
  require(is_h5 > 0, ErrorKind::format, path + ": not an HDF5 file");
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  // Readers must work while a simulation is still writing the file (inspect during a run).
  H5Pset_file_locking(fapl.get(), false, true);
  Handle f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose);
  require(f.valid(), ErrorKind::format, path + ": HDF5 file is truncated or damaged (HDF5 cannot open it)");
  return f;
}

}  // namespace simbi::store::h5
