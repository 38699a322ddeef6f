// Embeds data/slcp_distractors_gmm.bin into the binary with GCC inline-asm .incbin (the build passes
// SIMBI_DATA_DIR and makes this object depend on the file), and exposes it as a ByteSpan.
#include "embedded_data.hpp"

#ifndef SIMBI_DATA_DIR
#error "SIMBI_DATA_DIR must be defined (CMakeLists.txt sets it for this file)"
#endif

// .balign 16 so the float64 payload (after a 32-byte header) is naturally aligned; the parser does
// not rely on it. Hidden symbols: they never leave the library that contains them.
// clang-format off
asm(".pushsection .rodata\n"
    ".balign 16\n"
    ".global simbi_slcp_distractors_gmm_begin\n"
    ".hidden simbi_slcp_distractors_gmm_begin\n"
    ".type simbi_slcp_distractors_gmm_begin, @object\n"
    "simbi_slcp_distractors_gmm_begin:\n"
    ".incbin \"" SIMBI_DATA_DIR "/slcp_distractors_gmm.bin\"\n"
    ".global simbi_slcp_distractors_gmm_end\n"
    ".hidden simbi_slcp_distractors_gmm_end\n"
    "simbi_slcp_distractors_gmm_end:\n"
    ".size simbi_slcp_distractors_gmm_begin, simbi_slcp_distractors_gmm_end - simbi_slcp_distractors_gmm_begin\n"
    ".popsection\n");
// clang-format on

extern "C" {
extern const unsigned char simbi_slcp_distractors_gmm_begin[] __attribute__((visibility("hidden")));
extern const unsigned char simbi_slcp_distractors_gmm_end[] __attribute__((visibility("hidden")));
}

namespace simbi::sim::tasks {

ByteSpan slcp_distractors_gmm_bytes() {
  return {simbi_slcp_distractors_gmm_begin,
          static_cast<size_t>(simbi_slcp_distractors_gmm_end - simbi_slcp_distractors_gmm_begin)};
}

}  // namespace simbi::sim::tasks
