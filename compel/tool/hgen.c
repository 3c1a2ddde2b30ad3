/*
 * compel hgen: turn a freestanding PIE object (`ld -r` with compel/arch/x86/pie.lds) into a C
 * header holding the blob's bytes, its runtime relocations and its symbol offsets.
 *
 * Layout: allocated PROGBITS sections in section-header order (each aligned), then NOBITS ones
 * (bss). PC-relative relocations are resolved here; R_X86_64_64 becomes a struct compel_reloc
 * applied at load time; anything else is an error naming the relocation, symbol or section.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/compiler.h"
#include "compel/plugins/std/infect-proto.h"
#include "tool.h"

#ifndef R_X86_64_GOTPCRELX
#define R_X86_64_GOTPCRELX	41
#endif
#ifndef R_X86_64_REX_GOTPCRELX
#define R_X86_64_REX_GOTPCRELX	42
#endif

struct hgen {
	const char *in;
	const uint8_t *elf;
	size_t elf_size;
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	const char *shstr;
	uint64_t *sec_addr;	/* per section: offset in the blob, or UINT64_MAX if not laid out */
	uint8_t *mem;
	uint64_t size;		/* PROGBITS bytes */
	uint64_t total;		/* with bss */
	struct { uint64_t off; int64_t addend; } *relocs;
	size_t nr_relocs;
};

static int fail(const struct hgen *h, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "compel hgen: %s: ", h->in);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -EINVAL;
}

static const char *sec_name(const struct hgen *h, unsigned int i)
{
	return h->shstr + h->sh[i].sh_name;
}

static int check_elf(struct hgen *h)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)h->elf;

	if (h->elf_size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG))
		return fail(h, "not an ELF file");
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64)
		return fail(h, "not an x86_64 ELF64 object");
	if (eh->e_type != ET_REL)
		return fail(h, "not a relocatable object (link the blob with ld -r)");
	if (eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > h->elf_size ||
	    eh->e_shstrndx >= eh->e_shnum)
		return fail(h, "truncated section headers");
	h->eh = eh;
	h->sh = (const Elf64_Shdr *)(h->elf + eh->e_shoff);
	h->shstr = (const char *)h->elf + h->sh[eh->e_shstrndx].sh_offset;
	return 0;
}

static int place(struct hgen *h, unsigned int i, uint64_t *cur)
{
	uint64_t align = h->sh[i].sh_addralign ? h->sh[i].sh_addralign : 1;

	*cur = ALIGN_UP(*cur, align);
	h->sec_addr[i] = *cur;
	*cur += h->sh[i].sh_size;
	return 0;
}

static int layout(struct hgen *h)
{
	unsigned int i, n = h->eh->e_shnum;
	uint64_t cur = 0;

	h->sec_addr = calloc(n, sizeof(*h->sec_addr));
	if (!h->sec_addr)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		h->sec_addr[i] = UINT64_MAX;

	for (i = 1; i < n; i++) {
		const Elf64_Shdr *s = &h->sh[i];

		if (!(s->sh_flags & SHF_ALLOC))
			continue;
		if (s->sh_type != SHT_PROGBITS && s->sh_type != SHT_NOBITS)
			return fail(h, "cannot handle allocated section '%s' of type %u",
				    sec_name(h, i), s->sh_type);
		if (s->sh_flags & SHF_TLS)
			return fail(h, "cannot handle TLS section '%s'", sec_name(h, i));
		if (s->sh_type == SHT_PROGBITS)
			place(h, i, &cur);
	}
	h->size = cur;
	for (i = 1; i < n; i++)
		if ((h->sh[i].sh_flags & SHF_ALLOC) && h->sh[i].sh_type == SHT_NOBITS)
			place(h, i, &cur);
	h->total = cur;

	h->mem = calloc(1, h->size ? h->size : 1);
	if (!h->mem)
		return -ENOMEM;
	for (i = 1; i < n; i++) {
		const Elf64_Shdr *s = &h->sh[i];

		if (h->sec_addr[i] == UINT64_MAX || s->sh_type != SHT_PROGBITS)
			continue;
		if (s->sh_offset + s->sh_size > h->elf_size)
			return fail(h, "section '%s' is truncated", sec_name(h, i));
		memcpy(h->mem + h->sec_addr[i], h->elf + s->sh_offset, s->sh_size);
	}
	return 0;
}

static const Elf64_Sym *symtab(const struct hgen *h, unsigned int *ret_nr, const char **ret_str)
{
	unsigned int i;

	for (i = 1; i < h->eh->e_shnum; i++) {
		if (h->sh[i].sh_type != SHT_SYMTAB)
			continue;
		*ret_nr = h->sh[i].sh_size / sizeof(Elf64_Sym);
		*ret_str = (const char *)h->elf + h->sh[h->sh[i].sh_link].sh_offset;
		return (const Elf64_Sym *)(h->elf + h->sh[i].sh_offset);
	}
	return NULL;
}

/* The symbol's offset in the blob; -errno for what we cannot resolve. */
static int sym_value(const struct hgen *h, const Elf64_Sym *sym, const char *name, int64_t *ret)
{
	if (sym->st_shndx == SHN_UNDEF)
		return fail(h, "undefined symbol '%s' (blobs link with the std plugin only)",
			    name);
	if (sym->st_shndx == SHN_COMMON)
		return fail(h, "common symbol '%s' (build with -fno-common)", name);
	if (sym->st_shndx == SHN_ABS)
		return fail(h, "absolute symbol '%s' in a relocation", name);
	if (sym->st_shndx >= h->eh->e_shnum || h->sec_addr[sym->st_shndx] == UINT64_MAX)
		return fail(h, "symbol '%s' lives in section %u, which is not part of the blob",
			    name, sym->st_shndx);
	*ret = (int64_t)(h->sec_addr[sym->st_shndx] + sym->st_value);
	return 0;
}

static int add_reloc(struct hgen *h, uint64_t off, int64_t addend)
{
	void *p = realloc(h->relocs, (h->nr_relocs + 1) * sizeof(*h->relocs));

	if (!p)
		return -ENOMEM;
	h->relocs = p;
	h->relocs[h->nr_relocs].off = off;
	h->relocs[h->nr_relocs].addend = addend;
	h->nr_relocs++;
	return 0;
}

static const char *reloc_name(unsigned int type)
{
	switch (type) {
	case R_X86_64_32: return "R_X86_64_32 (absolute 32-bit)";
	case R_X86_64_32S: return "R_X86_64_32S (absolute 32-bit)";
	case R_X86_64_GOT32: return "R_X86_64_GOT32";
	case R_X86_64_GOTPCREL: return "R_X86_64_GOTPCREL";
	case R_X86_64_TPOFF32: return "R_X86_64_TPOFF32 (TLS)";
	case R_X86_64_GOTTPOFF: return "R_X86_64_GOTTPOFF (TLS)";
	case R_X86_64_TLSGD: return "R_X86_64_TLSGD (TLS)";
	case R_X86_64_16: return "R_X86_64_16";
	case R_X86_64_8: return "R_X86_64_8";
	}
	return "unknown";
}

static int apply_one(struct hgen *h, unsigned int tsec, const Elf64_Rela *r,
		     const Elf64_Sym *syms, unsigned int nr_syms, const char *strs)
{
	unsigned int type = ELF64_R_TYPE(r->r_info), si = ELF64_R_SYM(r->r_info);
	const Elf64_Sym *sym;
	const char *name;
	uint64_t p, width;
	int64_t s = 0, v;
	int ret;

	if (type == R_X86_64_NONE)
		return 0;
	if (si >= nr_syms)
		return fail(h, "relocation against symbol %u out of range", si);
	sym = &syms[si];
	name = ELF64_ST_TYPE(sym->st_info) == STT_SECTION ?
		sec_name(h, sym->st_shndx) : strs + sym->st_name;
	width = type == R_X86_64_64 || type == R_X86_64_PC64 ? 8 : 4;
	if (r->r_offset + width > h->sh[tsec].sh_size)
		return fail(h, "relocation outside section '%s'", sec_name(h, tsec));
	p = h->sec_addr[tsec] + r->r_offset;
	if (h->sh[tsec].sh_type == SHT_NOBITS)
		return fail(h, "relocation in bss section '%s'", sec_name(h, tsec));
	ret = sym_value(h, sym, name, &s);
	if (ret)
		return ret;

	switch (type) {
	case R_X86_64_64:
		memcpy(h->mem + p, &(int64_t){ s + r->r_addend }, 8);
		return add_reloc(h, p, s + r->r_addend);
	case R_X86_64_PC64:
		memcpy(h->mem + p, &(int64_t){ s + r->r_addend - (int64_t)p }, 8);
		return 0;
	case R_X86_64_GOTPCRELX:
	case R_X86_64_REX_GOTPCRELX:
		/* mov foo@GOTPCREL(%rip), %reg -> lea foo(%rip), %reg: no GOT needed */
		if (p < 2 || h->mem[p - 2] != 0x8b)
			return fail(h, "GOT relocation against '%s' that is not a mov (build the "
				    "blob with -fvisibility=hidden)", name);
		h->mem[p - 2] = 0x8d;
		/* fall through */
	case R_X86_64_PC32:
	case R_X86_64_PLT32:
		v = s + r->r_addend - (int64_t)p;
		if (v != (int32_t)v)
			return fail(h, "PC-relative relocation against '%s' overflows", name);
		memcpy(h->mem + p, &(int32_t){ (int32_t)v }, 4);
		return 0;
	default:
		return fail(h, "cannot handle relocation type %u %s against '%s' in '%s' "
			    "(is the blob built with -fpie?)", type, reloc_name(type), name,
			    sec_name(h, tsec));
	}
}

static int relocate(struct hgen *h)
{
	unsigned int i, j, nr_syms = 0;
	const char *strs = NULL;
	const Elf64_Sym *syms = symtab(h, &nr_syms, &strs);
	int ret;

	for (i = 1; i < h->eh->e_shnum; i++) {
		const Elf64_Shdr *s = &h->sh[i];
		const Elf64_Rela *r;

		if (s->sh_type == SHT_REL)
			return fail(h, "REL relocation section '%s' (expected RELA)", sec_name(h, i));
		if (s->sh_type != SHT_RELA)
			continue;
		if (s->sh_info >= h->eh->e_shnum || h->sec_addr[s->sh_info] == UINT64_MAX) {
			if (s->sh_info < h->eh->e_shnum && !(h->sh[s->sh_info].sh_flags & SHF_ALLOC))
				continue;	/* debug info */
			return fail(h, "relocations '%s' for a section not in the blob",
				    sec_name(h, i));
		}
		if (!syms)
			return fail(h, "relocations but no symbol table");
		r = (const Elf64_Rela *)(h->elf + s->sh_offset);
		for (j = 0; j < s->sh_size / sizeof(*r); j++) {
			ret = apply_one(h, s->sh_info, &r[j], syms, nr_syms, strs);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static void emit_syms(const struct hgen *h, FILE *f, const char *prefix, int64_t *ret_entry)
{
	unsigned int i, nr = 0;
	const char *strs = NULL;
	const Elf64_Sym *syms = symtab(h, &nr, &strs);

	*ret_entry = -1;
	for (i = 1; syms && i < nr; i++) {
		const Elf64_Sym *s = &syms[i];
		const char *name = strs + s->st_name;

		if (ELF64_ST_BIND(s->st_info) != STB_GLOBAL || s->st_shndx == SHN_UNDEF ||
		    s->st_shndx >= h->eh->e_shnum || h->sec_addr[s->st_shndx] == UINT64_MAX)
			continue;
		fprintf(f, "#define %s_sym%s%s 0x%lxUL\n", prefix, name[0] == '_' ? "" : "_", name,
			(unsigned long)(h->sec_addr[s->st_shndx] + s->st_value));
		if (!strcmp(name, COMPEL_ENTRY_SYM))
			*ret_entry = (int64_t)(h->sec_addr[s->st_shndx] + s->st_value);
	}
}

static int emit(const struct hgen *h, const char *out, const char *prefix)
{
	char tmp[4096];
	int64_t entry;
	uint64_t i;
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "compel hgen: cannot create '%s': %s\n", tmp, strerror(errno));
		return -errno;
	}
	fprintf(f, "/* Generated by compel hgen from %s. Do not edit. */\n", h->in);
	fprintf(f, "#ifndef __%s_BLOB_H__\n#define __%s_BLOB_H__\n\n", prefix, prefix);
	fprintf(f, "#include \"uapi/compel/compel.h\"\n\n");
	emit_syms(h, f, prefix, &entry);
	fprintf(f, "\nstatic const unsigned char %s_blob[%lu] __attribute__((unused, aligned(16))) = {",
		prefix, (unsigned long)(h->size ? h->size : 1));
	for (i = 0; i < h->size; i++)
		fprintf(f, "%s0x%02x,", i % 12 ? " " : "\n\t", h->mem[i]);
	fprintf(f, "\n};\n\n");
	if (h->nr_relocs) {
		fprintf(f, "static const struct compel_reloc %s_relocs[%zu] __attribute__((unused)) = {\n",
			prefix, h->nr_relocs);
		for (i = 0; i < h->nr_relocs; i++)
			fprintf(f, "\t{ 0x%lx, %ld },\n", (unsigned long)h->relocs[i].off,
				(long)h->relocs[i].addend);
		fprintf(f, "};\n\n");
	}
	fprintf(f, "static const struct compel_blob_desc %s_blob_desc __attribute__((unused)) = {\n"
		"\t.mem = %s_blob,\n\t.size = %lu,\n\t.bss_size = %lu,\n\t.entry_off = %ld,\n"
		"\t.args_off = 0,\n\t.relocs = %s%s,\n\t.nr_relocs = %zu,\n};\n\n#endif\n",
		prefix, prefix, (unsigned long)h->size, (unsigned long)(h->total - h->size),
		(long)(entry < 0 ? 0 : entry), h->nr_relocs ? prefix : "NULL",
		h->nr_relocs ? "_relocs" : "", h->nr_relocs);
	if (fclose(f)) {
		unlink(tmp);
		return fail(h, "cannot write '%s'", tmp);
	}
	if (entry < 0) {
		unlink(tmp);
		return fail(h, "no global '%s' symbol (link the std plugin's entry)",
			    COMPEL_ENTRY_SYM);
	}
	if (rename(tmp, out)) {
		unlink(tmp);
		return -errno;
	}
	return 0;
}

int hgen(const char *in, const char *out, const char *prefix)
{
	struct hgen h = { .in = in };
	struct stat st;
	int fd, ret;

	fd = open(in, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "compel hgen: cannot open '%s': %s\n", in, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	h.elf_size = st.st_size;
	h.elf = mmap(NULL, h.elf_size ? h.elf_size : 1, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (h.elf == MAP_FAILED)
		return fail(&h, "cannot map: %s", strerror(errno));

	ret = check_elf(&h);
	if (!ret)
		ret = layout(&h);
	if (!ret)
		ret = relocate(&h);
	if (!ret)
		ret = emit(&h, out, prefix);

	munmap((void *)h.elf, h.elf_size ? h.elf_size : 1);
	free(h.sec_addr);
	free(h.mem);
	free(h.relocs);
	return ret;
}
