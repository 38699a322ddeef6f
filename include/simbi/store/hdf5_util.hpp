// Small helpers over the HDF5 C API: RAII handles, attributes, and turning HDF5 failures into
// simbi::Error. Contract: serial helpers; collective-ness is the caller's (attribute writes in a
// parallel file must be made by all ranks with the same values).
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace simbi::store::h5 {

// Turns off HDF5's automatic error-stack printing (simbi reports its own one-line errors).
void silence_errors();

class Handle {
 public:
  Handle() = default;
  Handle(hid_t id, herr_t (*closer)(hid_t)) : id_(id), closer_(closer) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept : id_(o.id_), closer_(o.closer_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      closer_ = o.closer_;
      o.id_ = -1;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  hid_t release() {
    hid_t id = id_;
    id_ = -1;
    return id;
  }
  void reset() {
    if (id_ >= 0 && closer_) closer_(id_);
    id_ = -1;
  }

 private:
  hid_t id_ = -1;
  herr_t (*closer_)(hid_t) = nullptr;
};

bool has_attribute(hid_t obj, const std::string& name);
void write_string_attribute(hid_t obj, const std::string& name, const std::string& value);
void write_int_attribute(hid_t obj, const std::string& name, int64_t value);
void write_uint_attribute(hid_t obj, const std::string& name, uint64_t value);
void write_string_array_attribute(hid_t obj, const std::string& name, const std::vector<std::string>& values);
void write_int_array_attribute(hid_t obj, const std::string& name, const std::vector<int64_t>& values);
// Readers throw Error(format) naming `where` and the attribute when it is missing or of another type.
std::string read_string_attribute(hid_t obj, const std::string& name, const std::string& where);
int64_t read_int_attribute(hid_t obj, const std::string& name, const std::string& where);
uint64_t read_uint_attribute(hid_t obj, const std::string& name, const std::string& where);
std::vector<std::string> read_string_array_attribute(hid_t obj, const std::string& name, const std::string& where);
std::vector<int64_t> read_int_array_attribute(hid_t obj, const std::string& name, const std::string& where);

// Shape of a dataset (empty when it does not exist).
std::vector<int64_t> dataset_shape(hid_t file, const std::string& name);
bool has_dataset(hid_t file, const std::string& name);

// Opens an HDF5 file read-only (serial); Error(io) if missing, Error(format) if not HDF5 or damaged.
Handle open_file_read(const std::string& path);

}  // namespace simbi::store::h5
