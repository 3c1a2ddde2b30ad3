# Unit tests: test/unit/test-<module>.c -> build/test/unit/test-<module>, linked with libcriu-core.

UNIT_SRCS	:= $(wildcard test/unit/test-*.c)
UNIT_BINS	:= $(patsubst test/unit/%.c,$(BUILD)/test/unit/%,$(UNIT_SRCS))
CFLAGS_test	:= -Icriu -Itest/lib

$(UNIT_BINS): $(BUILD)/test/unit/%: $(BUILD)/test/unit/%.o $(CRIU_CORE) $(COMPEL_LIB)
	@echo "  LINK    $@"
	$(Q)$(CC) -o $@ $< $(CRIU_CORE) $(COMPEL_LIB) $(CRIU_LIBS)

$(patsubst %,%.o,$(UNIT_BINS)): | $(PROTO_HDRS)

UNIT_TESTS	+= $(UNIT_BINS)

.PHONY: test-deps
test-deps:
