/*
 * FPU state survives while live in registers: x87 st0-st7 with a non-default control word,
 * xmm/ymm0-15 and MXCSR are loaded with known values by one asm block that then spins, not
 * touching them, until the SIGTERM flag (in memory) is set; then they are stored and compared.
 * Skips when the CPU or the kernel does not offer AVX.
 */
#include "zdtmtst.h"

#include <cpuid.h>
#include <stdint.h>
#include <string.h>

#define NR_YMM	16

struct fpu_state {
	uint8_t ymm[NR_YMM][32];
	double st[8];
	uint16_t fcw;
	uint32_t mxcsr;
};

static int have_avx(void)
{
	unsigned int a, b, c, d, lo, hi;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	if (!(c & bit_AVX) || !(c & bit_OSXSAVE))
		return 0;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (lo & 6) == 6;	/* the OS saves SSE and AVX state */
}

static void expected(struct fpu_state *s)
{
	memset(s, 0, sizeof(*s));
	test_fill(s->ymm, sizeof(s->ymm), 0xf00d);
	for (int i = 0; i < 8; i++)
		s->st[i] = 1.5 + i * 1024.25;	/* exact in double and in x87 */
	s->fcw = 0x0e7f;	/* round toward zero, 64-bit precision, all masked */
	s->mxcsr = 0x3f80 | 0x2000;	/* all masked, round down */
}

/*
 * Loads @in into the registers, spins until *@flag is non-zero, stores the registers in @out.
 * st values are pushed st[7] first, so st(0) holds st[0]; they are popped in the same order.
 */
static void hold_registers(const struct fpu_state *in, struct fpu_state *out,
			   volatile sig_atomic_t *flag)
{
	__asm__ volatile(
		"fldcw	%c[fcw](%[in])\n"
		"ldmxcsr %c[mxcsr](%[in])\n"
		"fldl	56(%[in_st])\n"
		"fldl	48(%[in_st])\n"
		"fldl	40(%[in_st])\n"
		"fldl	32(%[in_st])\n"
		"fldl	24(%[in_st])\n"
		"fldl	16(%[in_st])\n"
		"fldl	8(%[in_st])\n"
		"fldl	0(%[in_st])\n"
		"vmovdqu 0*32(%[in]), %%ymm0\n"
		"vmovdqu 1*32(%[in]), %%ymm1\n"
		"vmovdqu 2*32(%[in]), %%ymm2\n"
		"vmovdqu 3*32(%[in]), %%ymm3\n"
		"vmovdqu 4*32(%[in]), %%ymm4\n"
		"vmovdqu 5*32(%[in]), %%ymm5\n"
		"vmovdqu 6*32(%[in]), %%ymm6\n"
		"vmovdqu 7*32(%[in]), %%ymm7\n"
		"vmovdqu 8*32(%[in]), %%ymm8\n"
		"vmovdqu 9*32(%[in]), %%ymm9\n"
		"vmovdqu 10*32(%[in]), %%ymm10\n"
		"vmovdqu 11*32(%[in]), %%ymm11\n"
		"vmovdqu 12*32(%[in]), %%ymm12\n"
		"vmovdqu 13*32(%[in]), %%ymm13\n"
		"vmovdqu 14*32(%[in]), %%ymm14\n"
		"vmovdqu 15*32(%[in]), %%ymm15\n"
		"1:	pause\n"
		"cmpl	$0, (%[flag])\n"
		"je	1b\n"
		"vmovdqu %%ymm0, 0*32(%[out])\n"
		"vmovdqu %%ymm1, 1*32(%[out])\n"
		"vmovdqu %%ymm2, 2*32(%[out])\n"
		"vmovdqu %%ymm3, 3*32(%[out])\n"
		"vmovdqu %%ymm4, 4*32(%[out])\n"
		"vmovdqu %%ymm5, 5*32(%[out])\n"
		"vmovdqu %%ymm6, 6*32(%[out])\n"
		"vmovdqu %%ymm7, 7*32(%[out])\n"
		"vmovdqu %%ymm8, 8*32(%[out])\n"
		"vmovdqu %%ymm9, 9*32(%[out])\n"
		"vmovdqu %%ymm10, 10*32(%[out])\n"
		"vmovdqu %%ymm11, 11*32(%[out])\n"
		"vmovdqu %%ymm12, 12*32(%[out])\n"
		"vmovdqu %%ymm13, 13*32(%[out])\n"
		"vmovdqu %%ymm14, 14*32(%[out])\n"
		"vmovdqu %%ymm15, 15*32(%[out])\n"
		"vzeroupper\n"
		"fnstcw	%c[fcw](%[out])\n"
		"stmxcsr %c[mxcsr](%[out])\n"
		"fstpl	0(%[out_st])\n"
		"fstpl	8(%[out_st])\n"
		"fstpl	16(%[out_st])\n"
		"fstpl	24(%[out_st])\n"
		"fstpl	32(%[out_st])\n"
		"fstpl	40(%[out_st])\n"
		"fstpl	48(%[out_st])\n"
		"fstpl	56(%[out_st])\n"
		:
		: [in] "r"(in), [out] "r"(out), [in_st] "r"(in->st), [out_st] "r"(out->st),
		  [flag] "r"(flag), [fcw] "i"(offsetof(struct fpu_state, fcw)),
		  [mxcsr] "i"(offsetof(struct fpu_state, mxcsr))
		: "memory", "cc", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)",
		  "st(7)", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
		  "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

int main(int argc, char **argv)
{
	static struct fpu_state in, out;
	uint16_t default_fcw = 0x037f;
	uint32_t default_mxcsr = 0x1f80;

	test_init(argc, argv);
	if (!have_avx())
		skip("no AVX on this CPU or kernel");
	expected(&in);

	test_ready();
	hold_registers(&in, &out, &test_sig_flag);
	__asm__ volatile("fldcw %0\n ldmxcsr %1" : : "m"(default_fcw), "m"(default_mxcsr));

	for (int i = 0; i < NR_YMM; i++)
		if (memcmp(in.ymm[i], out.ymm[i], 32))
			fail("ymm%d changed%s", i, memcmp(in.ymm[i], out.ymm[i], 16) ?
			     "" : " (upper half only)");
	for (int i = 0; i < 8; i++)
		if (in.st[i] != out.st[i])
			fail("st(%d) was %g, is %g", i, in.st[i], out.st[i]);
	if ((out.fcw & 0x1f3f) != (in.fcw & 0x1f3f))
		fail("x87 control word was %#x, is %#x", in.fcw, out.fcw);
	if ((out.mxcsr & ~0x3fu) != (in.mxcsr & ~0x3fu))
		fail("mxcsr was %#x, is %#x", in.mxcsr, out.mxcsr);
	pass();
}
