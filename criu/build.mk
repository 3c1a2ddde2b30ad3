# criu: libcriu-core.a (everything but main.c, also linked into the unit tests) and the binary.

CRIU_SRCS	:= $(wildcard criu/*.c criu/core/*.c criu/res/*.c criu/arch/x86/*.c)
CRIU_SRCS	:= $(filter-out criu/main.c,$(CRIU_SRCS))
CRIU_OBJS	:= $(patsubst %.c,$(BUILD)/%.o,$(CRIU_SRCS))
CRIU_CORE	:= $(BUILD)/criu/libcriu-core.a
CRIU_BIN	:= $(BUILD)/bin/criu
CRIU_LIBS	= $(shell pkg-config --libs libprotobuf-c libnl-3.0 libnl-route-3.0 libbsd 2>/dev/null)

CFLAGS_criu	= -Icriu $(shell pkg-config --cflags libnl-3.0 2>/dev/null) $(CRIU_PIE_CFLAGS)

# Sources may include generated protobuf headers and blob headers.
$(CRIU_OBJS) $(BUILD)/criu/main.o: | $(PROTO_HDRS) $(CRIU_BLOB_HDRS)

$(CRIU_CORE): $(CRIU_OBJS) $(PROTO_OBJS)
	@mkdir -p $(@D)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(CRIU_BIN): $(BUILD)/criu/main.o $(CRIU_CORE) $(COMPEL_LIB)
	@mkdir -p $(@D)
	@echo "  LINK    $@"
	$(Q)$(CC) -o $@ $(BUILD)/criu/main.o $(CRIU_CORE) $(COMPEL_LIB) $(CRIU_LIBS)

ALL_TARGETS	+= $(CRIU_BIN)
INSTALL_BINS	+= $(CRIU_BIN)

# The restorer blob (criu/pie/restorer.mk: its own rules until compel's blob template is used).
include criu/pie/restorer.mk
