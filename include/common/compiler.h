/* Compiler helpers. Freestanding: usable by criu, compel, soccr and the PIE blobs. */
#ifndef COMMON_COMPILER_H
#define COMMON_COMPILER_H

#define __packed		__attribute__((packed))
#define __aligned(x)		__attribute__((aligned(x)))
#define __maybe_unused		__attribute__((unused))
#define __noreturn		__attribute__((noreturn))
#define __printf(a, b)		__attribute__((format(printf, a, b)))
#define __section(s)		__attribute__((section(s)))
#define __used			__attribute__((used))

#define likely(x)		__builtin_expect(!!(x), 1)
#define unlikely(x)		__builtin_expect(!!(x), 0)

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define __stringify_1(x)	#x
#define __stringify(x)		__stringify_1(x)

#define ALIGN_UP(x, a)		(((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a)	((x) & ~((__typeof__(x))(a) - 1))

#define min(a, b)		({ __typeof__(a) _a = (a); __typeof__(b) _b = (b); _a < _b ? _a : _b; })
#define max(a, b)		({ __typeof__(a) _a = (a); __typeof__(b) _b = (b); _a > _b ? _a : _b; })

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - __builtin_offsetof(type, member)))

#define barrier()		__asm__ __volatile__("" ::: "memory")

#endif
