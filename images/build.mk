# images/*.proto -> build/images/*.pb-c.[ch] (generated at build time, never committed)

PROTOS		:= $(wildcard images/*.proto)
PROTO_SRCS	:= $(patsubst images/%.proto,$(BUILD)/images/%.pb-c.c,$(PROTOS))
PROTO_HDRS	:= $(PROTO_SRCS:.c=.h)
PROTO_OBJS	:= $(PROTO_SRCS:.c=.o)

$(BUILD)/images/%.pb-c.c $(BUILD)/images/%.pb-c.h: images/%.proto | $(DEPS_OK)
	@mkdir -p $(@D)
	@echo "  PROTOC  $<"
	$(Q)protoc-c --proto_path=images --c_out=$(BUILD)/images $<

# Generated code is compiled without -Wextra's unused-parameter noise.
$(PROTO_OBJS): %.o: %.c $(PROTO_HDRS)
	@echo "  CC      $<"
	$(Q)$(CC) -std=gnu11 -O2 -g -Wall -Werror $(INCLUDES) -c -o $@ $<
