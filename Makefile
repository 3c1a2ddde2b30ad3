# The one top-level Makefile. Each area adds its rules in <area>/build.mk, included below.
#
#   make            build everything (installs missing Debian packages first, as root)
#   make test       unit tests, compel tests and the checkpoint/restore suite
#   make test-unit  tests that need no root
#   make demo       dump a counting process, restore it, watch it count on
#   make bench      dump/restore speed figures
#   make install    PREFIX=/usr/local DESTDIR=

BUILD		?= build
PREFIX		?= /usr/local
DESTDIR		?=
CC		?= gcc
LD		?= ld
OBJCOPY		?= objcopy
PYTHON		?= python3
V		?= 0

ifeq ($(V),0)
Q		:= @
else
Q		:=
endif

PKGS		:= libprotobuf-c libnl-3.0 libnl-route-3.0 libbsd
WARN		:= -Wall -Wextra -Werror
CFLAGS_BASE	:= -std=gnu11 -O2 -g $(WARN) -D_GNU_SOURCE -fno-strict-aliasing
INCLUDES	:= -Iinclude -I$(BUILD)
DEPFLAGS	= -MMD -MP

# The dependency stamp: everything we build waits for the packages to be present.
DEPS_OK		:= $(BUILD)/.deps-ok

# Lists each build.mk appends to.
ALL_TARGETS	:=
UNIT_TESTS	:=
CLEAN_EXTRA	:=
INSTALL_BINS	:=

.PHONY: all
all: real-all

include images/build.mk
include compel/build.mk
-include criu/pie/build.mk
include criu/build.mk
-include crit/build.mk
include test/build.mk
-include phaul/build.mk
-include soccr/build.mk

.PHONY: real-all
real-all: $(ALL_TARGETS)

$(DEPS_OK): scripts/install-deps.sh
	$(Q)scripts/install-deps.sh
	$(Q)mkdir -p $(@D) && touch $@

# Host objects: build/<path>.o from <path>.c
$(BUILD)/%.o: %.c | $(DEPS_OK)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS_BASE) $(DEPFLAGS) $(INCLUDES) $(CFLAGS_$(firstword $(subst /, ,$<))) -c -o $@ $<

.PHONY: test test-unit test-cr
test: all $(UNIT_TESTS) test-deps
	$(Q)$(PYTHON) test/run.py --build $(BUILD) --unit $(UNIT_TESTS)

test-unit: all $(UNIT_TESTS)
	$(Q)$(PYTHON) test/run.py --build $(BUILD) --unit-only --unit $(UNIT_TESTS)

test-cr: all test-deps
	$(Q)$(PYTHON) test/run.py --build $(BUILD) --cr-only

.PHONY: install
install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin
	$(foreach b,$(INSTALL_BINS),install -m 0755 $(b) $(DESTDIR)$(PREFIX)/$(if $(filter %/criu,$(b)),sbin,bin)/;)

.PHONY: clean
clean:
	rm -rf $(BUILD) $(CLEAN_EXTRA)

-include $(shell find $(BUILD) -name '*.d' -type f -not -path '$(BUILD)/test-out/*' 2>/dev/null)
