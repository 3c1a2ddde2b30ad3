/*
 * x86_64 restore helpers: the rt_sigframe (layout of the kernel's x86_64 signal ABI) and the jump
 * into the restorer blob.
 */
#include "arch/x86/sigframe.h"

#include <errno.h>
#include <string.h>
#include <cpuid.h>

#include "images/core-x86.pb-c.h"

#define FP_MAGIC1		0x46505853U
#define FP_MAGIC2		0x46505845U
#define UC_FP_XSTATE		0x1
#define UC_SIGCONTEXT_SS	0x2
#define UC_STRICT_RESTORE_SS	0x4
#define SS_DISABLE_FLAG		2
#define RED_ZONE		128
#define FXSAVE_SIZE		512
#define XSAVE_HDR_SIZE		64
#define SW_BYTES_OFF		464

/* struct sigcontext of the x86_64 signal ABI. */
struct x86_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t di, si, bp, bx, dx, ax, cx, sp, ip, flags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2;
	uint64_t fpstate;
	uint64_t reserved1[8];
};
_Static_assert(sizeof(struct x86_sigcontext) == 256, "sigcontext layout");

struct x86_ucontext {
	uint64_t uc_flags;
	uint64_t uc_link;
	uint64_t ss_sp;
	int32_t ss_flags;
	int32_t ss_pad;
	uint64_t ss_size;
	struct x86_sigcontext mc;
	uint64_t uc_sigmask;
};

struct x86_rt_sigframe {
	uint64_t pretcode;
	struct x86_ucontext uc;
	uint8_t info[128];	/* siginfo: unused by rt_sigreturn */
};

/* The software bytes in the FXSAVE area that tell rt_sigreturn an xsave area follows. */
struct x86_fpx_sw_bytes {
	uint32_t magic1;
	uint32_t extended_size;
	uint64_t xfeatures;
	uint32_t xstate_size;
	uint32_t padding[7];
};
_Static_assert(sizeof(struct x86_fpx_sw_bytes) == 48, "fpx_sw_bytes layout");

void arch_xsave_caps(uint64_t *ret_xcr0, uint32_t *ret_size)
{
	unsigned int eax, ebx, ecx, edx, lo, hi;

	__cpuid_count(0xd, 0, eax, ebx, ecx, edx);
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	*ret_xcr0 = ((uint64_t)hi << 32) | lo;
	*ret_size = ebx;
}

size_t arch_sigframe_max_size(size_t xsave_size)
{
	return sizeof(struct x86_rt_sigframe) + xsave_size + sizeof(uint32_t) + 64 + 16;
}

static void fill_sigcontext(struct x86_sigcontext *sc, const UserX86RegsEntry *r)
{
	sc->r8 = r->r8;
	sc->r9 = r->r9;
	sc->r10 = r->r10;
	sc->r11 = r->r11;
	sc->r12 = r->r12;
	sc->r13 = r->r13;
	sc->r14 = r->r14;
	sc->r15 = r->r15;
	sc->di = r->di;
	sc->si = r->si;
	sc->bp = r->bp;
	sc->bx = r->bx;
	sc->dx = r->dx;
	sc->ax = r->ax;
	sc->cx = r->cx;
	sc->sp = r->sp;
	sc->ip = r->ip;
	sc->flags = r->flags;
	sc->cs = r->cs;
	sc->gs = r->gs;
	sc->fs = r->fs;
	sc->ss = r->ss;
}

int arch_build_sigframe(const struct UserX86RegsEntry *regs, const struct UserX86XsaveEntry *xsave,
			uint64_t xfeatures, uint64_t sigmask, void *buf, size_t buf_len,
			uint64_t *ret_dst, uint64_t *ret_size)
{
	size_t xsize = xsave->area.len;
	struct x86_fpx_sw_bytes sw = {
		.magic1		= FP_MAGIC1,
		.extended_size	= xsize + sizeof(uint32_t),
		.xfeatures	= xfeatures,
		.xstate_size	= xsize,
	};
	uint64_t fp_addr, frame_addr, end;
	struct x86_rt_sigframe *f;
	uint32_t magic2 = FP_MAGIC2;
	uint8_t *fp;

	if (xsize < FXSAVE_SIZE + XSAVE_HDR_SIZE)
		return -EINVAL;

	fp_addr = ALIGN_DOWN(regs->sp - RED_ZONE - xsize - sizeof(uint32_t), 64);
	frame_addr = ALIGN_DOWN(fp_addr - sizeof(*f), 16) - 8;
	end = fp_addr + xsize + sizeof(uint32_t);
	if (end - frame_addr > buf_len)
		return -ENOSPC;

	memset(buf, 0, end - frame_addr);
	f = buf;
	fp = (uint8_t *)buf + (fp_addr - frame_addr);

	f->uc.uc_flags = UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	f->uc.ss_flags = SS_DISABLE_FLAG;
	fill_sigcontext(&f->uc.mc, regs);
	f->uc.mc.fpstate = fp_addr;
	f->uc.uc_sigmask = sigmask;

	memcpy(fp, xsave->area.data, xsize);
	memcpy(fp + SW_BYTES_OFF, &sw, sizeof(sw));
	memcpy(fp + xsize, &magic2, sizeof(magic2));

	*ret_dst = frame_addr;
	*ret_size = end - frame_addr;
	return 0;
}

void arch_sigframe_set_altstack(void *frame, uint64_t sp, int32_t flags, uint64_t size)
{
	struct x86_rt_sigframe *f = frame;

	f->uc.ss_sp = sp;
	f->uc.ss_flags = flags;
	f->uc.ss_size = size;
}

void arch_jump_to_restorer(unsigned long entry, unsigned long stack_top, unsigned long args)
{
	__asm__ volatile("movq %0, %%rsp\n\t"
			 "jmpq *%1\n\t"
			 :
			 : "r"(stack_top), "r"(entry), "D"(args)
			 : "memory");
	__builtin_unreachable();
}
