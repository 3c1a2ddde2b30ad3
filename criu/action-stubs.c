/* Actions whose implementation has not landed yet: they say so and fail. */
#define LOG_PREFIX ""
#include "actions.h"
#include "opts.h"
#include "core/log.h"

static int not_yet(const char *what)
{
	pr_err("'%s' is not available in this build yet", what);
	return -ENOSYS;
}

int action_pre_dump(const struct cr_opts *opts) { (void)opts; return not_yet("pre-dump"); }
int action_page_server(const struct cr_opts *opts) { (void)opts; return not_yet("page-server"); }
