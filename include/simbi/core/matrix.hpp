// Row-major float32 matrices for batches (rows = simulations) and non-owning views of them.
// Contract: plain values, no synchronisation; views must not outlive the buffer they point into.
#pragma once
#include <cstdint>
#include <vector>

#include "simbi/core/error.hpp"

namespace simbi {

struct ConstMatrixView {
  const float* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  const float* row(int64_t i) const { return data + i * cols; }
  float operator()(int64_t i, int64_t j) const { return data[i * cols + j]; }
};

struct MatrixView {
  float* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  float* row(int64_t i) const { return data + i * cols; }
  float& operator()(int64_t i, int64_t j) const { return data[i * cols + j]; }
  operator ConstMatrixView() const { return {data, rows, cols}; }
  // Rows [begin, begin + count) as a view of the same buffer.
  MatrixView rows_range(int64_t begin, int64_t count) const { return {data + begin * cols, count, cols}; }
};

class Matrix {
 public:
  Matrix() = default;
  Matrix(int64_t rows, int64_t cols, float fill = 0.0f)
      : rows_(rows), cols_(cols), data_(static_cast<size_t>(rows * cols), fill) {
    require(rows >= 0 && cols >= 0, ErrorKind::internal, "Matrix: negative shape");
  }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  float* data() { return data_.data(); }
  const float* data() const { return data_.data(); }
  float* row(int64_t i) { return data_.data() + i * cols_; }
  const float* row(int64_t i) const { return data_.data() + i * cols_; }
  float& operator()(int64_t i, int64_t j) { return data_[static_cast<size_t>(i * cols_ + j)]; }
  float operator()(int64_t i, int64_t j) const { return data_[static_cast<size_t>(i * cols_ + j)]; }
  MatrixView view() { return {data_.data(), rows_, cols_}; }
  ConstMatrixView view() const { return {data_.data(), rows_, cols_}; }
  operator MatrixView() { return view(); }
  operator ConstMatrixView() const { return view(); }
  std::vector<float>& storage() { return data_; }
  const std::vector<float>& storage() const { return data_; }

 private:
  int64_t rows_ = 0;
  int64_t cols_ = 0;
  std::vector<float> data_;
};

}  // namespace simbi
