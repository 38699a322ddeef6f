// C2ST as sbibm computes it: a clone of scikit-learn's MLPClassifier (adam, relu, hidden (10d, 10d)) and
// KFold cross-validation, written as a hand-made forward/backward on one flat parameter buffer so that a
// step is a handful of BLAS calls plus tight loops (no autograd, no per-parameter optimizer ops).
#include "simbi/metrics/c2st.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <mutex>
#include <numeric>
#include <string>
#include <thread>
#include <utility>

#include "simbi/core/error.hpp"
#include "simbi/core/random.hpp"
#include "simbi/core/text.hpp"
#include "simbi/core/timing.hpp"

namespace simbi::metrics {

namespace {

template <typename T>
constexpr torch::ScalarType scalar_type_of() {
  return std::is_same<T, double>::value ? torch::kFloat64 : torch::kFloat32;
}

// In-place ReLU on n contiguous values.
template <typename T>
inline void relu_inplace(T* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = x[i] > T(0) ? x[i] : T(0);
}

// delta *= (activation > 0): the ReLU derivative, as sklearn's inplace_relu_derivative.
template <typename T>
inline void relu_backward_inplace(T* delta, const T* activation, int64_t n) {
  for (int64_t i = 0; i < n; ++i) delta[i] = activation[i] > T(0) ? delta[i] : T(0);
}

// sklearn's MLPClassifier for one binary output: d -> h -> h -> 1, ReLU hidden units, logistic output.
// Parameters live in one flat buffer, weights first (so the L2 term is one pass over a prefix):
// [W1 (d×h) | W2 (h×h) | W3 (h×1) | b1 (h) | b2 (h) | b3 (1)], each W stored [fan_in, fan_out] row-major
// like sklearn's coefs_ (forward: a_next = a · W + b). Gradients and Adam moments use the same layout.
template <typename T>
class BinaryMlp {
 public:
  BinaryMlp(int64_t d, int64_t h) : d_(d), h_(h) {
    const auto opts = torch::TensorOptions().dtype(scalar_type_of<T>());
    n_weights_ = d * h + h * h + h;
    n_params_ = n_weights_ + 2 * h + 1;
    params_ = torch::zeros({n_params_}, opts);
    grads_ = torch::zeros({n_params_}, opts);
    m_.assign(static_cast<size_t>(n_params_), T(0));
    v_.assign(static_cast<size_t>(n_params_), T(0));
    int64_t off = 0;
    auto take = [&](torch::Tensor& flat, int64_t rows, int64_t cols) {
      torch::Tensor t = flat.narrow(0, off, rows * cols).view({rows, cols});
      off += rows * cols;
      return t;
    };
    for (torch::Tensor* flat : {&params_, &grads_}) {
      off = 0;
      Layer& l = flat == &params_ ? p_ : g_;
      l.W1 = take(*flat, d, h);
      l.W2 = take(*flat, h, h);
      l.W3 = take(*flat, h, 1);
      l.b1 = take(*flat, 1, h).view({h});
      l.b2 = take(*flat, 1, h).view({h});
      l.b3 = take(*flat, 1, 1).view({1});
    }
  }

  // sklearn's _init_coef: per layer, coef then intercept, U(±sqrt(6 / (fan_in + fan_out))) (factor 6:
  // the activation is not logistic).
  void init(RandomStream& rs) {
    const int64_t fans[3][2] = {{d_, h_}, {h_, h_}, {h_, 1}};
    torch::Tensor* W[3] = {&p_.W1, &p_.W2, &p_.W3};
    torch::Tensor* b[3] = {&p_.b1, &p_.b2, &p_.b3};
    for (int l = 0; l < 3; ++l) {
      const double bound = std::sqrt(6.0 / static_cast<double>(fans[l][0] + fans[l][1]));
      for (torch::Tensor* t : {W[l], b[l]}) {
        T* p = t->data_ptr<T>();
        for (int64_t i = 0; i < t->numel(); ++i) p[i] = static_cast<T>(rs.uniform(-bound, bound));
      }
    }
  }

  // Forward pass of rows x [b, d] into a1, a2 [b, h] (post-ReLU) and z [b, 1] (pre-logistic).
  void forward(const torch::Tensor& x, torch::Tensor& a1, torch::Tensor& a2, torch::Tensor& z) const {
    at::addmm_out(a1, p_.b1, x, p_.W1);
    relu_inplace(a1.data_ptr<T>(), a1.numel());
    at::addmm_out(a2, p_.b2, a1, p_.W2);
    relu_inplace(a2.data_ptr<T>(), a2.numel());
    at::addmm_out(z, p_.b3, a2, p_.W3);
  }

  // sklearn's _backprop for a batch of b rows whose output deltas (p - y) are in d3 and sum to delta_sum:
  // coef grad = (a^T delta + alpha W) / b, intercept grad = mean(delta). d1, d2 are scratch [b, h].
  void backward(const torch::Tensor& x, const torch::Tensor& a1, const torch::Tensor& a2, torch::Tensor& d1,
                torch::Tensor& d2, const torch::Tensor& d3, T delta_sum, double alpha) {
    const int64_t b = x.size(0);
    const double inv_b = 1.0 / static_cast<double>(b), alpha_b = alpha * inv_b;
    at::addmm_out(g_.W3, p_.W3, a2.t(), d3, alpha_b, inv_b);
    g_.b3.template data_ptr<T>()[0] = static_cast<T>(delta_sum * static_cast<T>(inv_b));
    at::mm_out(d2, d3, p_.W3.t());
    relu_backward_inplace(d2.data_ptr<T>(), a2.data_ptr<T>(), b * h_);
    at::addmm_out(g_.W2, p_.W2, a1.t(), d2, alpha_b, inv_b);
    at::mean_out(g_.b2, d2, {0});
    at::mm_out(d1, d2, p_.W2.t());
    relu_backward_inplace(d1.data_ptr<T>(), a1.data_ptr<T>(), b * h_);
    at::addmm_out(g_.W1, p_.W1, x.t(), d1, alpha_b, inv_b);
    at::mean_out(g_.b1, d1, {0});
  }

  // Sum of squared weights (the L2 term's prefix of the buffer), four accumulators as sklearn's BLAS dot.
  double squared_weight_norm() const {
    const T* P = params_.template data_ptr<T>();
    T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t i = 0;
    for (; i + 4 <= n_weights_; i += 4) {
      s0 += P[i] * P[i];
      s1 += P[i + 1] * P[i + 1];
      s2 += P[i + 2] * P[i + 2];
      s3 += P[i + 3] * P[i + 3];
    }
    for (; i < n_weights_; ++i) s0 += P[i] * P[i];
    return static_cast<double>(s0) + s1 + s2 + s3;
  }

  // sklearn's AdamOptimizer update with the bias-corrected step lr_t: p -= lr_t·m / (sqrt(v) + eps).
  void adam_step(T lr_t, T beta1, T beta2, T eps) {
    T* P = params_.template data_ptr<T>();
    const T* G = grads_.template data_ptr<T>();
    T* M = m_.data();
    T* V = v_.data();
    for (int64_t i = 0; i < n_params_; ++i) {
      const T g = G[i];
      M[i] = beta1 * M[i] + (T(1) - beta1) * g;
      V[i] = beta2 * V[i] + (T(1) - beta2) * (g * g);
      P[i] -= lr_t * M[i] / (std::sqrt(V[i]) + eps);
    }
  }

  struct Layer {
    torch::Tensor W1, W2, W3, b1, b2, b3;
  };

  int64_t d_, h_, n_weights_ = 0, n_params_ = 0;
  torch::Tensor params_, grads_;
  Layer p_, g_;
  std::vector<T> m_, v_;
};

struct FoldData {
  torch::Tensor x_train, x_test;  // [n_train, d], [n_test, d] (working dtype)
  std::vector<uint8_t> y_train, y_test;
};

// Logistic output of the pre-activations z [b, 1], binary log-loss on p clipped to [eps, 1 - eps] against
// the labels y; writes the output delta p - y into delta [b, 1]. Returns the mean log-loss and the sum of
// the deltas.
template <typename T>
std::pair<double, T> log_loss_and_delta(const torch::Tensor& z, torch::Tensor& delta, const T* y) {
  const int64_t b = z.size(0);
  const T eps_clip = std::numeric_limits<T>::epsilon();
  const T* zp = z.data_ptr<T>();
  T* dp = delta.data_ptr<T>();
  double log_loss = 0.0;
  T delta_sum = 0;
  for (int64_t i = 0; i < b; ++i) {
    const T p = T(1) / (T(1) + std::exp(-zp[i]));
    const T pc = std::min(std::max(p, eps_clip), T(1) - eps_clip);
    log_loss -= y[i] > T(0) ? std::log(pc) : std::log(T(1) - pc);
    dp[i] = p - y[i];
    delta_sum += dp[i];
  }
  return {log_loss / static_cast<double>(b), delta_sum};
}

// Fraction of test rows classified correctly (class 1 when the logistic output exceeds 0.5).
template <typename T>
double test_accuracy(const BinaryMlp<T>& net, const FoldData& data) {
  const int64_t nt = data.x_test.size(0), h = net.h_;
  const auto opts = torch::TensorOptions().dtype(scalar_type_of<T>());
  torch::Tensor t1 = torch::empty({nt, h}, opts), t2 = torch::empty({nt, h}, opts), tz = torch::empty({nt, 1}, opts);
  net.forward(data.x_test, t1, t2, tz);
  const T* zp = tz.data_ptr<T>();
  int64_t correct = 0;
  for (int64_t i = 0; i < nt; ++i) {
    const T p = T(1) / (T(1) + std::exp(-zp[i]));
    const uint8_t pred = p > T(0.5) ? 1 : 0;
    correct += pred == data.y_test[static_cast<size_t>(i)];
  }
  return nt > 0 ? static_cast<double>(correct) / static_cast<double>(nt) : std::nan("");
}

// Trains a fresh classifier as sklearn's MLPClassifier.fit (solver adam, shuffle every epoch, batches of
// min(batch, n) with a smaller last batch, stopping rule on the epoch-average training loss) and scores it
// on the test rows.
template <typename T>
C2stFold fit_and_score(const FoldData& data, const C2stOptions& o) {
  const int64_t n = data.x_train.size(0), d = data.x_train.size(1), h = o.hidden_factor * d;
  const int64_t B = std::min<int64_t>(o.batch, n);
  const auto opts = torch::TensorOptions().dtype(scalar_type_of<T>());
  BinaryMlp<T> net(d, h);
  // Every fold uses the same streams, like sklearn's clones with one random_state.
  RandomStream init_stream(o.seed, StreamPurpose::init, 0);
  RandomStream shuffle_stream(o.seed, StreamPurpose::shuffle, 1);
  net.init(init_stream);

  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  torch::Tensor order_t = torch::from_blob(order.data(), {n}, torch::kInt64);
  torch::Tensor x_epoch = torch::empty({n, d}, opts);
  std::vector<T> y_epoch(static_cast<size_t>(n));
  torch::Tensor a1 = torch::empty({B, h}, opts), a2 = torch::empty({B, h}, opts), z = torch::empty({B, 1}, opts);
  torch::Tensor d1 = torch::empty({B, h}, opts), d2 = torch::empty({B, h}, opts), d3 = torch::empty({B, 1}, opts);
  const T b1 = static_cast<T>(o.beta1), b2 = static_cast<T>(o.beta2), adam_eps = static_cast<T>(o.epsilon);
  double beta1_t = 1.0, beta2_t = 1.0;

  C2stFold out;
  double best_loss = std::numeric_limits<double>::infinity();
  int no_improvement = 0;
  const auto t0 = SteadyClock::now();
  for (int64_t epoch = 0; epoch < o.max_epochs; ++epoch) {
    for (int64_t i = n - 1; i > 0; --i)  // Fisher-Yates, continuing from the last epoch's order
      std::swap(order[static_cast<size_t>(i)], order[shuffle_stream.below(static_cast<uint64_t>(i + 1))]);
    at::index_select_out(x_epoch, data.x_train, 0, order_t);
    for (int64_t i = 0; i < n; ++i) y_epoch[static_cast<size_t>(i)] = data.y_train[static_cast<size_t>(order[i])];

    double accumulated_loss = 0.0;
    for (int64_t start = 0; start < n; start += B) {
      const int64_t b = std::min(B, n - start);
      const torch::Tensor xb = x_epoch.narrow(0, start, b);
      torch::Tensor a1b = a1.narrow(0, 0, b), a2b = a2.narrow(0, 0, b), zb = z.narrow(0, 0, b);
      torch::Tensor d1b = d1.narrow(0, 0, b), d2b = d2.narrow(0, 0, b), d3b = d3.narrow(0, 0, b);
      net.forward(xb, a1b, a2b, zb);
      const auto [log_loss, delta_sum] = log_loss_and_delta<T>(zb, d3b, y_epoch.data() + start);
      net.backward(xb, a1b, a2b, d1b, d2b, d3b, delta_sum, o.alpha);
      // The L2 term of this batch's loss uses the weights before the update.
      const double l2 = 0.5 * o.alpha * net.squared_weight_norm() * (1.0 / static_cast<double>(b));
      accumulated_loss += (log_loss + l2) * static_cast<double>(b);
      // sklearn's AdamOptimizer: lr_t = lr·sqrt(1-β2^t)/(1-β1^t).
      beta1_t *= o.beta1;
      beta2_t *= o.beta2;
      net.adam_step(static_cast<T>(o.lr * std::sqrt(1.0 - beta2_t) / (1.0 - beta1_t)), b1, b2, adam_eps);
    }

    const double loss = accumulated_loss / static_cast<double>(n);
    out.epochs = epoch + 1;
    out.final_loss = loss;
    out.loss_curve.push_back(loss);
    if (loss > best_loss - o.tol)
      ++no_improvement;
    else
      no_improvement = 0;
    if (loss < best_loss) best_loss = loss;
    if (no_improvement > o.n_iter_no_change) {
      out.converged = true;
      break;
    }
  }
  out.test_size = data.x_test.size(0);
  out.accuracy = test_accuracy(net, data);
  out.seconds = seconds_since(t0);
  return out;
}

void check_options(const C2stOptions& o) {
  require(o.folds >= 2, ErrorKind::invalid_argument, "c2st: folds = " + std::to_string(o.folds) + ", expected >= 2");
  require(o.max_epochs >= 1, ErrorKind::invalid_argument, "c2st: max_epochs must be >= 1");
  require(o.batch >= 1, ErrorKind::invalid_argument, "c2st: batch must be >= 1");
  require(o.hidden_factor >= 1, ErrorKind::invalid_argument, "c2st: hidden_factor must be >= 1");
  require(o.lr > 0 && o.alpha >= 0 && o.tol >= 0 && o.n_iter_no_change >= 0, ErrorKind::invalid_argument,
          "c2st: lr must be > 0 and alpha, tol, n_iter_no_change >= 0");
  for (int f : o.fold_subset)
    require(f >= 0 && f < o.folds, ErrorKind::invalid_argument,
            "c2st: fold_subset holds fold " + std::to_string(f) + ", expected 0.." + std::to_string(o.folds - 1));
}

template <typename T>
C2stResult run_c2st(const torch::Tensor& X_in, const torch::Tensor& Y_in, const C2stOptions& o) {
  c10::InferenceMode inference;
  const int64_t n = X_in.size(0), m = Y_in.size(0), d = X_in.size(1);
  torch::Tensor X = X_in.to(torch::kFloat64).contiguous(), Y = Y_in.to(torch::kFloat64).contiguous();
  if (o.z_score) {
    const torch::Tensor mean = X.mean(0), std = X.std(0, /*unbiased=*/true);
    const torch::Tensor bad = (std <= 0) | ~torch::isfinite(std);
    if (bad.any().item<bool>()) {
      const int64_t col = bad.to(torch::kInt64).argmax().item<int64_t>();
      throw Error(ErrorKind::numeric, "c2st: reference column " + std::to_string(col + 1) +
                                          " has zero spread; z-scoring needs a standard deviation > 0");
    }
    X = (X - mean) / std;
    Y = (Y - mean) / std;
  }
  const torch::Tensor data = torch::cat({X, Y}).to(scalar_type_of<T>()).contiguous();
  const int64_t N = n + m;

  std::vector<int> subset = o.fold_subset;
  if (subset.empty()) {
    subset.resize(static_cast<size_t>(o.folds));
    std::iota(subset.begin(), subset.end(), 0);
  }
  std::sort(subset.begin(), subset.end());
  subset.erase(std::unique(subset.begin(), subset.end()), subset.end());

  const std::vector<std::vector<int64_t>> tests = kfold_test_sets(N, o.folds, o.seed);
  C2stResult r;
  r.n_reference = n;
  r.n_samples = m;
  r.dim = d;
  r.fold_accuracy.assign(static_cast<size_t>(o.folds), std::nan(""));
  r.fold_epochs.assign(static_cast<size_t>(o.folds), 0);

  // One fold: KFold's train rows (ascending) and test rows, a fresh classifier, its test accuracy.
  auto run_fold = [&](int f) {
    const std::vector<int64_t>& test = tests[static_cast<size_t>(f)];
    std::vector<uint8_t> in_test(static_cast<size_t>(N), 0);
    for (int64_t i : test) in_test[static_cast<size_t>(i)] = 1;
    std::vector<int64_t> train;
    train.reserve(static_cast<size_t>(N) - test.size());
    for (int64_t i = 0; i < N; ++i)
      if (!in_test[static_cast<size_t>(i)]) train.push_back(i);
    std::vector<int64_t> test_rows = test;
    auto as_index = [](std::vector<int64_t>& v) {
      return torch::from_blob(v.data(), {static_cast<int64_t>(v.size())}, torch::kInt64);
    };
    FoldData fd;
    fd.x_train = data.index_select(0, as_index(train));
    fd.x_test = data.index_select(0, as_index(test_rows));
    for (int64_t i : train) fd.y_train.push_back(i >= n ? 1 : 0);
    for (int64_t i : test) fd.y_test.push_back(i >= n ? 1 : 0);
    C2stFold fold = fit_and_score<T>(fd, o);
    fold.fold = f;
    return fold;
  };

  // Folds are trained by `threads` workers taking the next fold from a shared counter; each worker
  // runs torch/BLAS single-threaded (small matrices: fold-level parallelism is what scales, and a fold's
  // result then does not depend on the thread count or on how folds are spread over ranks).
  std::vector<C2stFold> done(subset.size());
  std::atomic<size_t> next{0};
  std::mutex callback_mutex;
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto worker = [&] {
    try {
      c10::InferenceMode worker_inference;
      at::set_num_threads(1);
      for (size_t k = next++; k < subset.size(); k = next++) {
        done[k] = run_fold(subset[k]);
        if (o.on_fold) {
          std::lock_guard<std::mutex> lock(callback_mutex);
          o.on_fold(done[k]);
        }
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      next = subset.size();
    }
  };
  const int caller_threads = at::get_num_threads();
  const size_t n_workers = std::min<size_t>(static_cast<size_t>(std::max(1, o.threads)), subset.size());
  std::vector<std::thread> pool;
  for (size_t w = 0; w < n_workers; ++w) pool.emplace_back(worker);
  for (std::thread& t : pool) t.join();
  at::set_num_threads(caller_threads);  // the workers' setting is global for torch's own pool
  if (failure) std::rethrow_exception(failure);

  double sum = 0.0;
  for (const C2stFold& fold : done) {
    r.fold_accuracy[static_cast<size_t>(fold.fold)] = fold.accuracy;
    r.fold_epochs[static_cast<size_t>(fold.fold)] = fold.epochs;
    sum += fold.accuracy;
    r.computed.push_back(fold);
  }
  r.accuracy = r.computed.empty() ? std::nan("") : sum / static_cast<double>(r.computed.size());
  return r;
}

}  // namespace

std::vector<int> folds_of_rank(int folds, int rank, int size) {
  std::vector<int> out;
  for (int f = 0; f < folds; ++f)
    if (size <= 0 || f % size == rank) out.push_back(f);
  return out;
}

std::vector<std::vector<int64_t>> kfold_test_sets(int64_t n, int folds, uint64_t seed) {
  require(folds >= 1 && n >= folds, ErrorKind::invalid_argument,
          "c2st: " + std::to_string(n) + " rows cannot be split into " + std::to_string(folds) + " folds");
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  RandomStream rs(seed, StreamPurpose::shuffle, 0);
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(perm[static_cast<size_t>(i)], perm[rs.below(static_cast<uint64_t>(i + 1))]);
  std::vector<std::vector<int64_t>> out;
  int64_t start = 0;
  for (int f = 0; f < folds; ++f) {
    const int64_t size = n / folds + (f < n % folds ? 1 : 0);
    out.emplace_back(perm.begin() + start, perm.begin() + start + size);
    start += size;
  }
  return out;
}

C2stResult c2st(const at::Tensor& reference, const at::Tensor& samples, const C2stOptions& options) {
  check_options(options);
  require(reference.dim() == 2 && samples.dim() == 2, ErrorKind::invalid_argument,
          "c2st: reference and samples must be 2-D [rows, dims]");
  require(reference.size(1) == samples.size(1), ErrorKind::invalid_argument,
          "c2st: reference has " + std::to_string(reference.size(1)) + " columns but samples have " +
              std::to_string(samples.size(1)));
  require(reference.size(1) >= 1, ErrorKind::invalid_argument, "c2st: no columns");
  require(reference.size(0) + samples.size(0) >= options.folds && reference.size(0) >= 2, ErrorKind::invalid_argument,
          "c2st: " + std::to_string(reference.size(0)) + " reference and " + std::to_string(samples.size(0)) +
              " sample rows are too few for " + std::to_string(options.folds) + " folds");
  require(torch::isfinite(reference).all().item<bool>(), ErrorKind::numeric, "c2st: reference has non-finite values");
  require(torch::isfinite(samples).all().item<bool>(), ErrorKind::numeric, "c2st: samples have non-finite values");
  return options.double_precision ? run_c2st<double>(reference.cpu(), samples.cpu(), options)
                                  : run_c2st<float>(reference.cpu(), samples.cpu(), options);
}

C2stResult c2st(ConstMatrixView reference, ConstMatrixView samples, const C2stOptions& options) {
  // from_blob does not copy and does not own: the views outlive the call.
  const torch::Tensor X =
      torch::from_blob(const_cast<float*>(reference.data), {reference.rows, reference.cols}, torch::kFloat32);
  const torch::Tensor Y =
      torch::from_blob(const_cast<float*>(samples.data), {samples.rows, samples.cols}, torch::kFloat32);
  return c2st(X, Y, options);
}

}  // namespace simbi::metrics
