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

# Checkpoint/restore tests: test/cr/<name>.c -> build/test/cr/<name>, linked with the test library.
# Error-case helpers: test/errors/<name>.c -> build/test/errors/<name>.
TESTLIB_OBJ	:= $(BUILD)/test/lib/zdtmtst.o
CR_TEST_SRCS	:= $(wildcard test/cr/*.c)
CR_TEST_BINS	:= $(patsubst test/cr/%.c,$(BUILD)/test/cr/%,$(CR_TEST_SRCS))
ERR_TEST_SRCS	:= $(wildcard test/errors/*.c)
ERR_TEST_BINS	:= $(patsubst test/errors/%.c,$(BUILD)/test/errors/%,$(ERR_TEST_SRCS))

$(CR_TEST_BINS): $(BUILD)/test/cr/%: $(BUILD)/test/cr/%.o $(TESTLIB_OBJ)
	@echo "  LINK    $@"
	$(Q)$(CC) -pthread -o $@ $^

$(ERR_TEST_BINS): $(BUILD)/test/errors/%: $(BUILD)/test/errors/%.o $(TESTLIB_OBJ)
	@echo "  LINK    $@"
	$(Q)$(CC) -pthread -o $@ $^

# Deep recursion must stay recursion.
$(BUILD)/test/cr/deep_stack.o: CFLAGS_test += -O0 -fno-optimize-sibling-calls

test-deps: $(CR_TEST_BINS) $(ERR_TEST_BINS)

# make demo: dump a counting process, restore it, watch it count on.
DEMO_BINS	:= $(BUILD)/scripts/demo/counter $(BUILD)/scripts/demo/subreaper

$(DEMO_BINS): $(BUILD)/scripts/demo/%: $(BUILD)/scripts/demo/%.o
	@echo "  LINK    $@"
	$(Q)$(CC) -o $@ $^

.PHONY: demo bench
demo: all $(DEMO_BINS)
	$(Q)$(BUILD)/scripts/demo/subreaper scripts/demo.sh $(BUILD)

# make bench: dump/restore speed next to the machine's ceilings.
BENCH_SRCS	:= $(wildcard test/bench/*.c)
BENCH_BINS	:= $(patsubst test/bench/%.c,$(BUILD)/test/bench/%,$(BENCH_SRCS))

$(BENCH_BINS): $(BUILD)/test/bench/%: $(BUILD)/test/bench/%.o
	@echo "  LINK    $@"
	$(Q)$(CC) -o $@ $^

bench: all $(BENCH_BINS)
	$(Q)$(PYTHON) test/bench/bench.py --build $(BUILD)
