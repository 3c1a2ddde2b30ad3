/* A task in a cgroup v1 freezer cgroup, dumped with --freeze-cgroup (see freeze_cgroup.h). */
#define CG_ROOT	"/sys/fs/cgroup/freezer"
#define CG_NAME	"zdtm-freeze-v1"
#include "freeze_cgroup.h"
