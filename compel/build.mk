# compel: libcompel.a, the `compel` host tool (hgen), the std blob runtime, the PIE blob
# template, and compel's own tests. See compel/README.md.

COMPEL_LIB	:= $(BUILD)/compel/libcompel.a
COMPEL_BIN	:= $(BUILD)/bin/compel
COMPEL_LIB_SRCS	:= $(wildcard compel/lib/*.c) compel/arch/x86/cpu.c
COMPEL_LIB_OBJS	:= $(patsubst %.c,$(BUILD)/%.o,$(COMPEL_LIB_SRCS))
COMPEL_TOOL_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard compel/tool/*.c))
CRIU_BLOB_HDRS	:=

# Host code of compel/: the library exports only what is marked COMPEL_API.
CFLAGS_compel	:= -fvisibility=hidden

$(COMPEL_LIB): $(COMPEL_LIB_OBJS)
	@mkdir -p $(@D)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(COMPEL_BIN): $(COMPEL_TOOL_OBJS)
	@mkdir -p $(@D)
	@echo "  LINK    $@"
	$(Q)$(CC) -o $@ $^

ALL_TARGETS	+= $(COMPEL_LIB) $(COMPEL_BIN)
INSTALL_BINS	+= $(COMPEL_BIN)

# ---- PIE blobs ---------------------------------------------------------------------------------
# Code that runs inside a target: freestanding, position independent, no libc. Objects go to
# build/pie/<path>.o (the shorter pattern stem wins over the host rule).
PIE_LDS		:= compel/arch/x86/pie.lds
PIE_CFLAGS	:= -std=gnu11 -O2 $(WARN) -fpie -ffreestanding -nostdlib -fno-stack-protector \
		   -fno-builtin -mno-red-zone -fno-asynchronous-unwind-tables -fno-jump-tables \
		   -fno-common -fvisibility=hidden -fcf-protection=none -mgeneral-regs-only \
		   -D__PIE__ -DCOMPEL_PIE $(INCLUDES)

$(BUILD)/pie/%.o: %.c | $(DEPS_OK)
	@mkdir -p $(@D)
	@echo "  PIECC   $<"
	$(Q)$(CC) $(PIE_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/pie/%.o: %.S | $(DEPS_OK)
	@mkdir -p $(@D)
	@echo "  PIEAS   $<"
	$(Q)$(CC) $(PIE_CFLAGS) $(DEPFLAGS) -c -o $@ $<

# The std plugin: entry, daemon loop, string functions, fd passing. Every blob links it.
COMPEL_STD_OBJS	:= $(BUILD)/pie/compel/arch/x86/entry.o \
		   $(patsubst %.c,$(BUILD)/pie/%.o,$(wildcard compel/plugins/std/*.c))

# $(eval $(call PIE_BLOB,NAME,SOURCES,EXTRA_OBJS)) builds the freestanding SOURCES (+ the std
# plugin + EXTRA_OBJS, already-built PIE objects) into build/<dir of first source>/NAME-blob.h,
# which defines `static const struct compel_blob_desc NAME_blob_desc` and NAME_sym_<symbol>
# offsets. The variable NAME_BLOB_HDR names the header (add it to CRIU_BLOB_HDRS for criu).
define PIE_BLOB
$(1)_BLOB_OBJS	:= $(patsubst %.c,$(BUILD)/pie/%.o,$(2)) $(3) $(COMPEL_STD_OBJS)
$(1)_BLOB_HDR	:= $(BUILD)/$(dir $(firstword $(2)))$(1)-blob.h
$(BUILD)/pie/$(1).built.o: $$($(1)_BLOB_OBJS) $(PIE_LDS)
	@echo "  LD      $$@"
	$(Q)$(LD) -r -T $(PIE_LDS) -o $$@ $$($(1)_BLOB_OBJS)
$$($(1)_BLOB_HDR): $(BUILD)/pie/$(1).built.o $(COMPEL_BIN)
	@mkdir -p $$(@D)
	@echo "  HGEN    $$@"
	$(Q)$(COMPEL_BIN) hgen -f $$< -o $$@ -p $(1)
endef

# ---- tests --------------------------------------------------------------------------------------
$(eval $(call PIE_BLOB,compel_test,compel/test/parasite-test.c,))

COMPEL_TESTS	:= $(BUILD)/compel/test/test-compel $(BUILD)/compel/test/test-parasite
COMPEL_TEST_HELPERS := $(BUILD)/compel/test/victim

$(BUILD)/compel/test/test-compel.o: | $(compel_test_BLOB_HDR)

$(BUILD)/compel/test/test-compel: $(BUILD)/compel/test/test-compel.o $(COMPEL_LIB) \
				  | $(COMPEL_TEST_HELPERS)
	@echo "  LINK    $@"
	$(Q)$(CC) -o $@ $< $(COMPEL_LIB)

# criu's parasite through its criu-side wrappers: only parasite.o and the log of libcriu-core.
COMPEL_PARASITE_TEST_OBJS := $(BUILD)/compel/test/test-parasite.o $(BUILD)/criu/core/parasite.o \
			     $(BUILD)/criu/core/log.o
$(BUILD)/compel/test/test-parasite.o: CFLAGS_compel += -Icriu
$(BUILD)/compel/test/test-parasite.o: | $(CRIU_BLOB_HDRS)

$(BUILD)/compel/test/test-parasite: $(COMPEL_PARASITE_TEST_OBJS) $(COMPEL_LIB) \
				    | $(COMPEL_TEST_HELPERS)
	@echo "  LINK    $@"
	$(Q)$(CC) -o $@ $(COMPEL_PARASITE_TEST_OBJS) $(COMPEL_LIB)

$(BUILD)/compel/test/victim: $(BUILD)/compel/test/victim.o
	@echo "  LINK    $@"
	$(Q)$(CC) -o $@ $<

UNIT_TESTS	+= $(COMPEL_TESTS)
