/* Logging from inside the task: a tiny formatter, the text goes to the host's log. */
#include <stdarg.h>
#include <stdint.h>

#include "compel/plugins/std/infect-proto.h"
#include "compel/plugins/std/std.h"

#define MSG_NOSIGNAL_	0x4000

struct log_buf {
	struct compel_rpc_msg h;
	char text[COMPEL_LOG_MSG_MAX];
	unsigned int len;
};

static void put_c(struct log_buf *b, char c)
{
	if (b->len < sizeof(b->text))
		b->text[b->len++] = c;
}

static void put_s(struct log_buf *b, const char *s)
{
	if (!s)
		s = "(null)";
	while (*s)
		put_c(b, *s++);
}

static void put_num(struct log_buf *b, unsigned long long v, unsigned int base, int neg)
{
	char tmp[24];
	int i = 0;

	if (neg)
		put_c(b, '-');
	do {
		tmp[i++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (i)
		put_c(b, tmp[--i]);
}

static void format(struct log_buf *b, const char *fmt, va_list ap)
{
	unsigned long long u;
	long long d;
	int lng;

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put_c(b, *fmt);
			continue;
		}
		lng = 0;
		while (*++fmt == 'l')
			lng++;
		switch (*fmt) {
		case 'd':
		case 'i':
			d = lng > 1 ? va_arg(ap, long long) : lng ? va_arg(ap, long) : va_arg(ap, int);
			put_num(b, d < 0 ? -(unsigned long long)d : (unsigned long long)d, 10, d < 0);
			break;
		case 'u':
		case 'x':
			u = lng > 1 ? va_arg(ap, unsigned long long) :
			    lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
			put_num(b, u, *fmt == 'x' ? 16 : 10, 0);
			break;
		case 'p':
			put_s(b, "0x");
			put_num(b, (uintptr_t)va_arg(ap, void *), 16, 0);
			break;
		case 's':
			put_s(b, va_arg(ap, const char *));
			break;
		case 'c':
			put_c(b, (char)va_arg(ap, int));
			break;
		case '%':
			put_c(b, '%');
			break;
		case '\0':
			return;
		default:
			put_c(b, '?');
		}
	}
}

void std_log(unsigned int level, const char *fmt, ...)
{
	struct log_buf b;
	va_list ap;

	b.h.cmd = COMPEL_CMD_LOG;
	b.h.ret = (int32_t)level;
	b.len = 0;
	va_start(ap, fmt);
	format(&b, fmt, ap);
	va_end(ap);
	__SC(__NR_sendto, std_ctl_sock(), &b, sizeof(b.h) + b.len, MSG_NOSIGNAL_, 0, 0);
}
