/*
 * AVX-512 state survives while live in registers: zmm0-31 and the opmask registers k0-k7 are
 * loaded with known values by one asm block that spins, not touching them, until the SIGTERM
 * flag (in memory) is set; then they are stored and compared. Skips without AVX-512F/BW or when
 * the kernel does not enable the AVX-512 state (XCR0).
 */
#include "zdtmtst.h"

#include <cpuid.h>
#include <stdint.h>
#include <string.h>

struct avx512_state {
	uint8_t zmm[32][64];
	uint64_t k[8];
};

static int have_avx512(void)
{
	unsigned int a, b, c, d, lo, hi;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE))
		return 0;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	if (!(b & bit_AVX512F) || !(b & bit_AVX512BW))
		return 0;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (lo & 0xe6) == 0xe6;	/* SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM */
}

__attribute__((target("avx512f,avx512bw")))
static void hold_registers(const struct avx512_state *in, struct avx512_state *out,
			   volatile sig_atomic_t *flag)
{
	__asm__ volatile(
		"vmovdqu64 0*64(%[in]), %%zmm0\n"
		"vmovdqu64 1*64(%[in]), %%zmm1\n"
		"vmovdqu64 2*64(%[in]), %%zmm2\n"
		"vmovdqu64 3*64(%[in]), %%zmm3\n"
		"vmovdqu64 4*64(%[in]), %%zmm4\n"
		"vmovdqu64 5*64(%[in]), %%zmm5\n"
		"vmovdqu64 6*64(%[in]), %%zmm6\n"
		"vmovdqu64 7*64(%[in]), %%zmm7\n"
		"vmovdqu64 8*64(%[in]), %%zmm8\n"
		"vmovdqu64 9*64(%[in]), %%zmm9\n"
		"vmovdqu64 10*64(%[in]), %%zmm10\n"
		"vmovdqu64 11*64(%[in]), %%zmm11\n"
		"vmovdqu64 12*64(%[in]), %%zmm12\n"
		"vmovdqu64 13*64(%[in]), %%zmm13\n"
		"vmovdqu64 14*64(%[in]), %%zmm14\n"
		"vmovdqu64 15*64(%[in]), %%zmm15\n"
		"vmovdqu64 16*64(%[in]), %%zmm16\n"
		"vmovdqu64 17*64(%[in]), %%zmm17\n"
		"vmovdqu64 18*64(%[in]), %%zmm18\n"
		"vmovdqu64 19*64(%[in]), %%zmm19\n"
		"vmovdqu64 20*64(%[in]), %%zmm20\n"
		"vmovdqu64 21*64(%[in]), %%zmm21\n"
		"vmovdqu64 22*64(%[in]), %%zmm22\n"
		"vmovdqu64 23*64(%[in]), %%zmm23\n"
		"vmovdqu64 24*64(%[in]), %%zmm24\n"
		"vmovdqu64 25*64(%[in]), %%zmm25\n"
		"vmovdqu64 26*64(%[in]), %%zmm26\n"
		"vmovdqu64 27*64(%[in]), %%zmm27\n"
		"vmovdqu64 28*64(%[in]), %%zmm28\n"
		"vmovdqu64 29*64(%[in]), %%zmm29\n"
		"vmovdqu64 30*64(%[in]), %%zmm30\n"
		"vmovdqu64 31*64(%[in]), %%zmm31\n"
		"kmovq 0(%[ink]), %%k0\n"
		"kmovq 8(%[ink]), %%k1\n"
		"kmovq 16(%[ink]), %%k2\n"
		"kmovq 24(%[ink]), %%k3\n"
		"kmovq 32(%[ink]), %%k4\n"
		"kmovq 40(%[ink]), %%k5\n"
		"kmovq 48(%[ink]), %%k6\n"
		"kmovq 56(%[ink]), %%k7\n"
		"1:	pause\n"
		"cmpl	$0, (%[flag])\n"
		"je	1b\n"
		"vmovdqu64 %%zmm0, 0*64(%[out])\n"
		"vmovdqu64 %%zmm1, 1*64(%[out])\n"
		"vmovdqu64 %%zmm2, 2*64(%[out])\n"
		"vmovdqu64 %%zmm3, 3*64(%[out])\n"
		"vmovdqu64 %%zmm4, 4*64(%[out])\n"
		"vmovdqu64 %%zmm5, 5*64(%[out])\n"
		"vmovdqu64 %%zmm6, 6*64(%[out])\n"
		"vmovdqu64 %%zmm7, 7*64(%[out])\n"
		"vmovdqu64 %%zmm8, 8*64(%[out])\n"
		"vmovdqu64 %%zmm9, 9*64(%[out])\n"
		"vmovdqu64 %%zmm10, 10*64(%[out])\n"
		"vmovdqu64 %%zmm11, 11*64(%[out])\n"
		"vmovdqu64 %%zmm12, 12*64(%[out])\n"
		"vmovdqu64 %%zmm13, 13*64(%[out])\n"
		"vmovdqu64 %%zmm14, 14*64(%[out])\n"
		"vmovdqu64 %%zmm15, 15*64(%[out])\n"
		"vmovdqu64 %%zmm16, 16*64(%[out])\n"
		"vmovdqu64 %%zmm17, 17*64(%[out])\n"
		"vmovdqu64 %%zmm18, 18*64(%[out])\n"
		"vmovdqu64 %%zmm19, 19*64(%[out])\n"
		"vmovdqu64 %%zmm20, 20*64(%[out])\n"
		"vmovdqu64 %%zmm21, 21*64(%[out])\n"
		"vmovdqu64 %%zmm22, 22*64(%[out])\n"
		"vmovdqu64 %%zmm23, 23*64(%[out])\n"
		"vmovdqu64 %%zmm24, 24*64(%[out])\n"
		"vmovdqu64 %%zmm25, 25*64(%[out])\n"
		"vmovdqu64 %%zmm26, 26*64(%[out])\n"
		"vmovdqu64 %%zmm27, 27*64(%[out])\n"
		"vmovdqu64 %%zmm28, 28*64(%[out])\n"
		"vmovdqu64 %%zmm29, 29*64(%[out])\n"
		"vmovdqu64 %%zmm30, 30*64(%[out])\n"
		"vmovdqu64 %%zmm31, 31*64(%[out])\n"
		"kmovq %%k0, 0(%[outk])\n"
		"kmovq %%k1, 8(%[outk])\n"
		"kmovq %%k2, 16(%[outk])\n"
		"kmovq %%k3, 24(%[outk])\n"
		"kmovq %%k4, 32(%[outk])\n"
		"kmovq %%k5, 40(%[outk])\n"
		"kmovq %%k6, 48(%[outk])\n"
		"kmovq %%k7, 56(%[outk])\n"
		"vzeroupper\n"
		:
		: [in] "r"(in->zmm), [out] "r"(out->zmm), [ink] "r"(in->k), [outk] "r"(out->k),
		  [flag] "r"(flag)
		: "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
		  "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16",
		  "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25",
		  "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "k0", "k1", "k2", "k3",
		  "k4", "k5", "k6", "k7");
}

int main(int argc, char **argv)
{
	static struct avx512_state in, out;

	test_init(argc, argv);
	if (!have_avx512())
		skip("no AVX-512F/BW on this CPU or kernel");
	test_fill(&in, sizeof(in), 0x512);

	test_ready();
	hold_registers(&in, &out, &test_sig_flag);

	for (int i = 0; i < 32; i++)
		if (memcmp(in.zmm[i], out.zmm[i], 64))
			fail("zmm%d changed%s", i, memcmp(in.zmm[i], out.zmm[i], 32) ? "" :
			     " (upper 256 bits only)");
	for (int i = 0; i < 8; i++)
		if (in.k[i] != out.k[i])
			fail("k%d was %#llx, is %#llx", i, (unsigned long long)in.k[i],
			     (unsigned long long)out.k[i]);
	pass();
}
