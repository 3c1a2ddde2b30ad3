/* A task in a cgroup v2 cgroup, dumped with --freeze-cgroup (see freeze_cgroup.h). */
#define CG_ROOT	"/sys/fs/cgroup/unified"
#define CG_NAME	"zdtm-freeze-v2"
#define CG_LINE	"0::/"		/* its line of /proc/self/cgroup, before the name */
#include "freeze_cgroup.h"
