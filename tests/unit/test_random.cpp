#include <gtest/gtest.h>

#include "simbi/core/random.hpp"

TEST(RandomStream, SameIdentityGivesSameNumbers) {
  simbi::RandomStream a(42, simbi::StreamPurpose::test, 7), b(42, simbi::StreamPurpose::test, 7);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.next_u32(), b.next_u32());
}
