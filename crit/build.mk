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

# crit's own unit test: JSON <-> protobuf over a message with every field type.
CRIT_TEST_PROTO	:= $(BUILD)/crit/test/alltypes.pb-c
CRIT_TEST_BIN	:= $(BUILD)/crit/test/test-pb-json
CRIT_LIB_OBJS	:= $(BUILD)/crit/json.o $(BUILD)/crit/pb-json.o

$(CRIT_TEST_PROTO).c $(CRIT_TEST_PROTO).h: crit/test/alltypes.proto | $(DEPS_OK)
	@mkdir -p $(@D)
	@echo "  PROTOC  $<"
	$(Q)protoc-c --proto_path=crit/test --c_out=$(@D) $<

$(CRIT_TEST_PROTO).o: $(CRIT_TEST_PROTO).c $(CRIT_TEST_PROTO).h
	@echo "  CC      $<"
	$(Q)$(CC) -std=gnu11 -O2 -g -Wall -Werror $(INCLUDES) -c -o $@ $<

$(BUILD)/crit/test/test-pb-json.o: CFLAGS_crit += -Icrit
$(BUILD)/crit/test/test-pb-json.o: | $(CRIT_TEST_PROTO).h

$(CRIT_TEST_BIN): $(BUILD)/crit/test/test-pb-json.o $(CRIT_TEST_PROTO).o $(CRIT_LIB_OBJS)
	@echo "  LINK    $@"
	$(Q)$(CC) -o $@ $^ $(CRIU_LIBS) -lm

UNIT_TESTS	+= $(CRIT_TEST_BIN)
