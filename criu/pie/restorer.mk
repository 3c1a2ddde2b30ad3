# The restorer blob: criu/pie/restorer.c -> $(BUILD)/criu/pie/restorer-blob.h, a byte array
# (restorer_blob[], restorer_blob_len) of one flat image with its entry at offset 0.
# The blob must need no relocation: the rule fails if the object has any absolute one.

RESTORER_CFLAGS	:= -std=gnu11 -O2 $(WARN) -fpie -ffreestanding -fno-builtin -fno-stack-protector \
		   -fno-jump-tables -fno-asynchronous-unwind-tables -fno-unwind-tables \
		   -fcf-protection=none -nostdlib -fvisibility=hidden -mno-red-zone -Iinclude
RESTORER_BLOB_H	:= $(BUILD)/criu/pie/restorer-blob.h

$(BUILD)/criu/pie/restorer-pie.o: criu/pie/restorer.c include/proto/restorer.h | $(DEPS_OK)
	@mkdir -p $(@D)
	@echo "  CC PIE  $<"
	$(Q)$(CC) $(RESTORER_CFLAGS) -c -o $@ $<
	$(Q)if readelf -rW $@ | awk 'NR > 3 && $$3 ~ /^R_X86_64/ && $$3 !~ /^R_X86_64_(PC32|PLT32)$$/ { bad = 1 } END { exit !bad }'; then \
		echo "$<: the restorer must not need absolute relocations" >&2; rm -f $@; exit 1; fi

$(BUILD)/criu/pie/restorer.bin: $(BUILD)/criu/pie/restorer-pie.o criu/pie/restorer.lds
	@echo "  LD PIE  $@"
	$(Q)$(LD) -T criu/pie/restorer.lds -o $(@:.bin=.elf) $<
	$(Q)$(OBJCOPY) -O binary $(@:.bin=.elf) $@

$(RESTORER_BLOB_H): $(BUILD)/criu/pie/restorer.bin
	@echo "  GEN     $@"
	$(Q)cd $(<D) && xxd -i -n restorer_blob $(<F) > $(@F).tmp && mv $(@F).tmp $(@F)

$(BUILD)/criu/action-restore.o: $(RESTORER_BLOB_H)
