# crit: the image decoder (decode/encode/show), linked with libcriu-core for the image layer.

CRIT_SRCS	:= $(wildcard crit/*.c)
CRIT_OBJS	:= $(patsubst %.c,$(BUILD)/%.o,$(CRIT_SRCS))
CRIT_BIN	:= $(BUILD)/bin/crit

CFLAGS_crit	:= -Icriu

$(CRIT_OBJS): | $(PROTO_HDRS)

$(CRIT_BIN): $(CRIT_OBJS) $(CRIU_CORE) $(COMPEL_LIB)
	@mkdir -p $(@D)
	@echo "  LINK    $@"
	$(Q)$(CC) -o $@ $(CRIT_OBJS) $(CRIU_CORE) $(COMPEL_LIB) $(CRIU_LIBS) -lm

ALL_TARGETS	+= $(CRIT_BIN)
INSTALL_BINS	+= $(CRIT_BIN)
