/* The compel host tool's subcommands. */
#ifndef COMPEL_TOOL_H
#define COMPEL_TOOL_H

/* Write the blob header @out for the `ld -r` object @in; symbols get @prefix. 0 or -errno. */
int hgen(const char *in, const char *out, const char *prefix);

#endif
