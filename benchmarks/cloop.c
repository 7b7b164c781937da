/* A plain C loop over the same buffer, the baseline the batch core is compared with.
 * Per packet: big-endian 16-bit words into a 64-bit accumulator, fold, complement.
 * Compiled on the spot by benchmarks/conftest.py (cc -O3); never shipped. */
#include <stddef.h>
#include <stdint.h>

void csum_batch(const uint8_t *buf, const int64_t *off, const int64_t *len, int64_t n,
                uint16_t *out) {
    for (int64_t k = 0; k < n; k++) {
        const uint8_t *p = buf + off[k];
        int64_t l = len[k];
        uint64_t s = 0;
        int64_t i = 0;
        for (; i + 1 < l; i += 2) s += (uint32_t)((p[i] << 8) | p[i + 1]);
        if (l & 1) s += (uint32_t)(p[l - 1] << 8);
        while (s >> 16) s = (s & 0xffff) + (s >> 16);
        out[k] = (uint16_t)~s;
    }
}
