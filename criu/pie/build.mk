# criu's PIE blobs: code that runs inside the target, built with compel's PIE_BLOB template
# (defined in compel/build.mk):
#
#   $(eval $(call PIE_BLOB,NAME,SOURCES,EXTRA_OBJS))
#
# compiles SOURCES freestanding (PIE_CFLAGS), links them with the std plugin (entry, daemon loop,
# raw syscalls, string functions, fd passing) through `ld -r -T compel/arch/x86/pie.lds`, and
# runs `compel hgen` into build/<dir of first source>/NAME-blob.h, named by $(NAME_BLOB_HDR).
# For the restorer: $(eval $(call PIE_BLOB,restorer,criu/pie/restorer.c,))
#   -> build/criu/pie/restorer-blob.h, `#include "criu/pie/restorer-blob.h"`, restorer_blob_desc,
#   restorer_sym_<function> offsets; then CRIU_BLOB_HDRS += $(restorer_BLOB_HDR).
# A blob defines parasite_daemon_cmd() and parasite_daemon_fini() (see
# include/compel/plugins/std/std.h); one that is not run as a daemon defines them empty.

$(eval $(call PIE_BLOB,parasite,criu/pie/parasite.c,))
CRIU_BLOB_HDRS	+= $(parasite_BLOB_HDR)
