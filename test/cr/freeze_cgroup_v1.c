/* A task in a cgroup v1 freezer cgroup, dumped with --freeze-cgroup (see freeze_cgroup.h). */
#define CG_ROOT	"/sys/fs/cgroup/freezer"
#define CG_NAME	"zdtm-freeze-v1"
#define CG_LINE	":freezer:/"	/* its line of /proc/self/cgroup, before the name */
#include "freeze_cgroup.h"
