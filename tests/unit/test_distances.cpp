// Tests of the pluggable distances (sim/distance.hpp): mse, mmd2, zmae against hand computations, the
// set distance's invariances, batched forms, fitting, JSON round trips, the tasks' own distances, errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "simbi/core/error.hpp"
#include "simbi/core/random.hpp"
#include "simbi/sim/distance.hpp"
#include "simbi/sim/task.hpp"

namespace {

using simbi::Error;
using simbi::ErrorKind;
using simbi::Matrix;
using simbi::RandomStream;
using simbi::StreamPurpose;
using simbi::sim::distance_from_json;
using simbi::sim::make_distance;
using simbi::sim::make_task;

std::vector<float> random_row(RandomStream& rng, int64_t n, double scale = 1.0) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float& e : v) e = static_cast<float>(scale * rng.normal());
  return v;
}

// Biased MMD² written out directly from the definition (all m² pairs of each term, diagonal included).
double mmd2_reference(const std::vector<float>& a, const std::vector<float>& b, int64_t m, int64_t d, double gamma) {
  auto k = [&](const std::vector<float>& u, int64_t i, const std::vector<float>& v, int64_t j) {
    double s = 0.0;
    for (int64_t c = 0; c < d; ++c) {
      const double e = static_cast<double>(u[i * d + c]) - v[j * d + c];
      s += e * e;
    }
    return std::exp(-gamma * s);
  };
  double aa = 0, bb = 0, ab = 0;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < m; ++j) {
      aa += k(a, i, a, j);
      bb += k(b, i, b, j);
      ab += k(a, i, b, j);
    }
  return (aa + bb - 2.0 * ab) / static_cast<double>(m * m);
}

TEST(Distances, MseIsTheMeanOverDimensions) {
  auto d = make_distance("mse", 3);
  const float a[] = {1.0f, 2.0f, 3.0f}, b[] = {0.0f, 0.0f, 0.0f}, c[] = {1.5f, 1.0f, 3.0f};
  EXPECT_EQ(d->name(), "mse");
  EXPECT_EQ(d->dim(), 3);
  EXPECT_DOUBLE_EQ((*d)(a, b), 14.0 / 3.0);
  EXPECT_DOUBLE_EQ((*d)(a, c), (0.25 + 1.0 + 0.0) / 3.0);
  EXPECT_DOUBLE_EQ((*d)(a, a), 0.0);
  EXPECT_FALSE(d->needs_fit());
  EXPECT_TRUE(d->ready());
}

TEST(Distances, Mmd2MatchesHandComputation) {
  // Two 1-D sets of 2 points, a = {0, 1}, b = {2, 2}, γ = 0.01:
  // mean k(a,a) = (2 + 2e^{-0.01})/4, mean k(b,b) = 1, mean k(a,b) = (2e^{-0.04} + 2e^{-0.01})/4.
  auto d = make_distance("mmd2", 2, {{"set_size", 2}, {"point_dim", 1}});
  const float a[] = {0.0f, 1.0f}, b[] = {2.0f, 2.0f};
  const double e1 = std::exp(-0.01), e4 = std::exp(-0.04);
  const double expect = (2.0 + 2.0 * e1) / 4.0 + 1.0 - 2.0 * (2.0 * e4 + 2.0 * e1) / 4.0;
  EXPECT_NEAR((*d)(a, b), expect, 1e-15);
  EXPECT_EQ(d->to_json()["gamma"].get<double>(), 0.01);

  // 5 points in 2-D (gbi_gaussian_mixture's shape) against the definition, for random sets.
  auto d52 = make_distance("mmd2", 10, {{"set_size", 5}, {"point_dim", 2}});
  RandomStream rng(11, StreamPurpose::test, 0);
  for (int rep = 0; rep < 20; ++rep) {
    const auto x = random_row(rng, 10, 3.0), y = random_row(rng, 10, 3.0);
    EXPECT_NEAR((*d52)(x.data(), y.data()), mmd2_reference(x, y, 5, 2, 0.01), 1e-13);
  }
  // Another kernel width.
  auto dg = make_distance("mmd2", 10, {{"set_size", 5}, {"point_dim", 2}, {"gamma", 0.5}});
  const auto x = random_row(rng, 10), y = random_row(rng, 10);
  EXPECT_NEAR((*dg)(x.data(), y.data()), mmd2_reference(x, y, 5, 2, 0.5), 1e-13);
}

TEST(Distances, Mmd2IsZeroOnItselfSymmetricAndPermutationInvariant) {
  auto d = make_distance("mmd2", 10, {{"set_size", 5}, {"point_dim", 2}});
  RandomStream rng(12, StreamPurpose::test, 0);
  for (int rep = 0; rep < 20; ++rep) {
    const auto a = random_row(rng, 10, 2.0), b = random_row(rng, 10, 2.0);
    EXPECT_NEAR((*d)(a.data(), a.data()), 0.0, 1e-14);
    const double ab = (*d)(a.data(), b.data());
    EXPECT_GT(ab, 0.0);
    EXPECT_NEAR((*d)(b.data(), a.data()), ab, 1e-14);
    // Permuting the points of either set (not the coordinates within a point) changes nothing.
    std::vector<int> perm = {3, 0, 4, 1, 2};
    for (int k = 0; k <= rep % 5; ++k) std::next_permutation(perm.begin(), perm.end());
    std::vector<float> ap(10), bp(10);
    for (int j = 0; j < 5; ++j)
      for (int c = 0; c < 2; ++c) {
        ap[j * 2 + c] = a[perm[j] * 2 + c];
        bp[j * 2 + c] = b[perm[(j + 2) % 5] * 2 + c];
      }
    EXPECT_NEAR((*d)(ap.data(), b.data()), ab, 1e-14);
    EXPECT_NEAR((*d)(a.data(), bp.data()), ab, 1e-14);
    EXPECT_NEAR((*d)(ap.data(), bp.data()), ab, 1e-14);
    EXPECT_NEAR((*d)(ap.data(), a.data()), 0.0, 1e-14);
  }
  // The default shape is m = x_dim points in 1-D.
  auto d1 = make_distance("mmd2", 4);
  EXPECT_EQ(d1->to_json()["set_size"].get<int64_t>(), 4);
  EXPECT_EQ(d1->to_json()["point_dim"].get<int64_t>(), 1);
}

TEST(Distances, ZmaeMatchesHandComputationAndFitsScales) {
  auto d = make_distance("zmae", 2, {{"scales", {2.0, 0.5}}});
  EXPECT_TRUE(d->ready());
  const float a[] = {1.0f, 1.0f}, b[] = {4.0f, 0.0f};
  EXPECT_DOUBLE_EQ((*d)(a, b), (3.0 / 2.0 + 1.0 / 0.5) / 2.0);

  // Fitted: s_k = std (N − 1) of each column; rows with a NaN are skipped.
  auto f = make_distance("zmae", 2);
  EXPECT_TRUE(f->needs_fit());
  EXPECT_FALSE(f->ready());
  EXPECT_THROW((*f)(a, b), Error);
  Matrix x(5, 2);
  const float col0[] = {1, 2, 3, 4, 0}, col1[] = {10, 10, 20, 20, 0};
  for (int i = 0; i < 4; ++i) {
    x(i, 0) = col0[i];
    x(i, 1) = col1[i];
  }
  x(4, 0) = std::numeric_limits<float>::quiet_NaN();  // a failed simulation
  x(4, 1) = 1e6f;
  f->fit(x);
  ASSERT_TRUE(f->ready());
  const double s0 = std::sqrt(5.0 / 3.0), s1 = std::sqrt(100.0 / 3.0);  // var of {1,2,3,4}, {10,10,20,20}
  const auto scales = f->to_json()["scales"].get<std::vector<double>>();
  ASSERT_EQ(scales.size(), 2u);
  EXPECT_NEAR(scales[0], s0, 1e-12);
  EXPECT_NEAR(scales[1], s1, 1e-12);
  EXPECT_NEAR((*f)(a, b), (3.0 / s0 + 1.0 / s1) / 2.0, 1e-12);

  // A constant feature gets scale 1 (with a warning) instead of a division by zero.
  auto c = make_distance("zmae", 1);
  Matrix flat(3, 1, 7.0f);
  c->fit(flat);
  const float p[] = {7.0f}, q[] = {9.0f};
  EXPECT_DOUBLE_EQ((*c)(p, q), 2.0);
  // Too few finite rows.
  Matrix one(1, 1, 1.0f);
  EXPECT_THROW(make_distance("zmae", 1)->fit(one), Error);
}

TEST(Distances, BatchedFormsEqualSingleCalls) {
  RandomStream rng(13, StreamPurpose::test, 0);
  for (const char* name : {"mse", "mmd2", "zmae"}) {
    SCOPED_TRACE(name);
    const nlohmann::json params = std::string(name) == "mmd2"   ? nlohmann::json{{"set_size", 3}, {"point_dim", 2}}
                                  : std::string(name) == "zmae" ? nlohmann::json{{"scales", {1, 2, 3, 4, 5, 6}}}
                                                                : nlohmann::json::object();
    auto d = make_distance(name, 6, params);
    const int64_t n = 7;
    const auto a = random_row(rng, n * 6), b = random_row(rng, n * 6);
    std::vector<double> pairs(n), to_one(n), view(n);
    d->pairs(a.data(), b.data(), n, pairs.data());
    d->to_one(a.data(), n, b.data(), to_one.data());
    d->pairs(simbi::ConstMatrixView{a.data(), n, 6}, simbi::ConstMatrixView{b.data(), n, 6}, view.data());
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_EQ(pairs[i], (*d)(a.data() + i * 6, b.data() + i * 6));
      EXPECT_EQ(view[i], pairs[i]);
      EXPECT_EQ(to_one[i], (*d)(a.data() + i * 6, b.data()));
    }
    EXPECT_THROW(
        d->pairs(simbi::ConstMatrixView{a.data(), n, 6}, simbi::ConstMatrixView{b.data(), n - 1, 6}, view.data()),
        Error);
    // A NaN in a row gives NaN, not an exception.
    auto nan_row = a;
    nan_row[0] = std::numeric_limits<float>::quiet_NaN();
    EXPECT_TRUE(std::isnan((*d)(nan_row.data(), b.data())));
  }
}

TEST(Distances, JsonRoundTripKeepsParametersAndScales) {
  RandomStream rng(14, StreamPurpose::test, 0);
  auto fitted = make_distance("zmae", 4);
  Matrix x(50, 4);
  for (float& v : x.storage()) v = static_cast<float>(3.0 * rng.normal());
  fitted->fit(x);
  std::vector<std::unique_ptr<simbi::sim::Distance>> ds;
  ds.push_back(make_distance("mse", 4));
  ds.push_back(make_distance("mmd2", 4, {{"set_size", 2}, {"point_dim", 2}, {"gamma", 0.3}}));
  ds.push_back(std::move(fitted));
  for (const auto& d : ds) {
    SCOPED_TRACE(d->name());
    const nlohmann::json j = d->to_json();
    EXPECT_EQ(j["name"], d->name());
    EXPECT_EQ(j["dim"], 4);
    // Through text, as a model file stores it.
    auto back = distance_from_json(nlohmann::json::parse(j.dump()));
    EXPECT_EQ(back->to_json(), j);
    auto copy = d->clone();
    const auto a = random_row(rng, 4), b = random_row(rng, 4);
    EXPECT_EQ((*back)(a.data(), b.data()), (*d)(a.data(), b.data()));
    EXPECT_EQ((*copy)(a.data(), b.data()), (*d)(a.data(), b.data()));
  }
  // An unfitted zmae round-trips unfitted.
  EXPECT_FALSE(distance_from_json(make_distance("zmae", 3)->to_json())->ready());
  EXPECT_THROW(distance_from_json(nlohmann::json{{"dim", 3}}), Error);
  EXPECT_THROW(distance_from_json(nlohmann::json{{"name", "mse"}}), Error);
  EXPECT_THROW(distance_from_json(nlohmann::json::array()), Error);
}

TEST(Distances, UnknownNameAndBadParametersAreClearErrors) {
  try {
    make_distance("wasserstein", 3);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("unknown distance 'wasserstein' (known distances: mse, mmd2, zmae)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(make_distance("mmd2", 10, {{"set_size", 3}, {"point_dim", 2}}), Error);
  EXPECT_THROW(make_distance("mmd2", 10, {{"set_size", 5}, {"point_dim", 2}, {"gamma", -1}}), Error);
  EXPECT_THROW(make_distance("mmd2", 10, {{"set_size", "five"}}), Error);
  EXPECT_THROW(make_distance("zmae", 2, {{"scales", {1.0}}}), Error);
  EXPECT_THROW(make_distance("zmae", 2, {{"scales", {1.0, 0.0}}}), Error);
  EXPECT_THROW(make_distance("mse", 0), Error);
  EXPECT_THROW(make_distance("mse", 2, nlohmann::json::array()), Error);
}

TEST(Distances, EachTaskDeclaresItsDistance) {
  struct Expect {
    const char* task;
    const char* distance;
    int64_t dim;
  };
  for (const Expect& e :
       {Expect{"two_moons", "mse", 2}, Expect{"gbi_uniform_1d", "mse", 1}, Expect{"gbi_linear_gaussian", "mse", 10},
        Expect{"gbi_gaussian_mixture", "mmd2", 10}, Expect{"hh_ace", "zmae", 7}, Expect{"slcp", "mse", 8}}) {
    SCOPED_TRACE(e.task);
    const simbi::sim::Task t = make_task(e.task);
    auto d = make_distance(t);
    EXPECT_EQ(d->name(), e.distance);
    EXPECT_EQ(d->dim(), e.dim);
  }
  const auto j = make_distance(make_task("gbi_gaussian_mixture"))->to_json();
  EXPECT_EQ(j["set_size"], 5);
  EXPECT_EQ(j["point_dim"], 2);
  EXPECT_EQ(j["gamma"].get<double>(), 0.01);
  EXPECT_TRUE(make_distance(make_task("hh_ace"))->needs_fit());
  // two_moons: the mean over its two dims.
  auto d = make_distance(make_task("two_moons"));
  const float a[] = {0.0f, 0.0f}, b[] = {1.0f, 2.0f};
  EXPECT_DOUBLE_EQ((*d)(a, b), 2.5);
}

}  // namespace
