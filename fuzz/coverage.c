/*
 * Edge coverage of the kernel for atheris's libFuzzer, with gcc.
 *
 * libFuzzer's usual instrumentation (-fsanitize=fuzzer-no-link) is clang's; gcc offers
 * -fsanitize-coverage=trace-pc, which calls __sanitizer_cov_trace_pc() at every basic block.
 * This file implements that callback (hidden, so it binds inside the kernel's .so only) as a
 * hashed 8-bit counter per block address, and exposes the counter array, which the harness
 * registers with libFuzzer (__sanitizer_cov_8bit_counters_init / __sanitizer_cov_pcs_init from
 * atheris's core module). Only built into the fuzz variant (fuzz/build_kernel.py --coverage).
 */
#include <stdint.h>

#define NCOUNTERS 16384

static uint8_t counters[NCOUNTERS];
static uintptr_t pcs[2 * NCOUNTERS]; /* (pc, flags) pairs as libFuzzer wants: fake pcs */

__attribute__((visibility("hidden"), no_sanitize_coverage, no_sanitize_address,
               no_sanitize_undefined)) void
__sanitizer_cov_trace_pc(void) {
    uintptr_t pc = (uintptr_t)__builtin_return_address(0);
    counters[(uint32_t)((pc * 0x9E3779B97F4A7C15ULL) >> 50)]++;
}

/* The arrays to register: counters[0:n] and pcs[0:2n]. */
__attribute__((no_sanitize_coverage)) void metacurate_coverage(uint8_t **c, uintptr_t **p,
                                                               uintptr_t *n) {
    for (uintptr_t i = 0; i < NCOUNTERS; i++) pcs[2 * i] = 0x10000 + i;
    *c = counters;
    *p = pcs;
    *n = NCOUNTERS;
}
