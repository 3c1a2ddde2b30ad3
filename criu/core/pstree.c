/*
 * The process tree of a dump (see pstree.h): items in the order they were found, which is
 * parents before children, and pstree.img.
 */
#include "core/pstree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "core/image.h"
#include "images/pstree.pb-c.h"

int pstree_add(struct pstree *t, pid_t pid, int parent, size_t *ret_idx)
{
	struct pstree_item *n, *it;

	if (t->nr == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;

		n = realloc(t->items, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		t->items = n;
		t->cap = cap;
	}
	it = &t->items[t->nr];
	memset(it, 0, sizeof(*it));
	it->pid = pid;
	it->parent = parent;
	it->ppid = parent < 0 ? 0 : t->items[parent].pid;
	*ret_idx = t->nr++;
	return 0;
}

int pstree_find(const struct pstree *t, pid_t pid)
{
	size_t i;

	for (i = 0; i < t->nr; i++)
		if (t->items[i].pid == pid)
			return (int)i;
	return -ENOENT;
}

int pstree_add_thread(struct pstree_item *it, pid_t tid, struct pstree_thread **ret_th)
{
	struct pstree_thread *n;

	n = realloc(it->threads, (it->nr_threads + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	it->threads = n;
	n = &it->threads[it->nr_threads++];
	memset(n, 0, sizeof(*n));
	n->tid = tid;
	*ret_th = n;
	return 0;
}

struct pstree_thread *pstree_find_thread(const struct pstree_item *it, pid_t tid)
{
	size_t i;

	for (i = 0; i < it->nr_threads; i++)
		if (it->threads[i].tid == tid)
			return &it->threads[i];
	return NULL;
}

bool pstree_leads_session(const struct pstree *t, pid_t sid)
{
	int i = pstree_find(t, sid);

	return i >= 0 && t->items[i].sid == sid;
}

bool pstree_leads_group(const struct pstree *t, pid_t pgid)
{
	int i = pstree_find(t, pgid);

	return i >= 0 && t->items[i].pgid == pgid;
}

struct pstree_helper *pstree_find_helper(const struct pstree *t, pid_t pid)
{
	size_t i;

	for (i = 0; i < t->nr_helpers; i++)
		if (t->helpers[i].pid == pid)
			return &t->helpers[i];
	return NULL;
}

int pstree_add_helper(struct pstree *t, const struct pstree_helper *h)
{
	struct pstree_helper *n;

	if (pstree_find(t, h->pid) >= 0 || pstree_find_helper(t, h->pid))
		return -EEXIST;
	n = realloc(t->helpers, (t->nr_helpers + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	t->helpers = n;
	t->helpers[t->nr_helpers++] = *h;
	return 0;
}

void pstree_release(struct pstree *t)
{
	size_t i;

	for (i = 0; i < t->nr; i++)
		free(t->items[i].threads);
	free(t->items);
	t->items = NULL;
	t->nr = t->cap = 0;
	free(t->helpers);
	t->helpers = NULL;
	t->nr_helpers = 0;
}

int pstree_write(const struct pstree *t, struct img_dir *dir)
{
	_cleanup_img_ struct cr_img *img = NULL;
	_cleanup_free_ uint32_t *tids = NULL;
	size_t i, j, max = 1;
	int ret;

	for (i = 0; i < t->nr; i++)
		if (t->items[i].nr_threads > max)
			max = t->items[i].nr_threads;
	tids = calloc(max, sizeof(*tids));
	if (!tids)
		return -ENOMEM;
	ret = img_open(dir, IMG_PSTREE, 0, O_WRONLY, &img);
	if (ret < 0)
		return ret;
	for (i = 0; i < t->nr; i++) {
		const struct pstree_item *it = &t->items[i];
		PstreeEntry e = PSTREE_ENTRY__INIT;

		e.pid = it->pid;
		e.ppid = it->ppid;
		e.pgid = it->pgid;
		e.sid = it->sid;
		if (it->zombie) {
			tids[0] = it->pid;
			e.n_threads = 1;
		} else {
			for (j = 0; j < it->nr_threads; j++)
				tids[j] = it->threads[j].tid;
			e.n_threads = it->nr_threads;
		}
		e.threads = tids;
		e.has_creator = it->creator != 0;
		e.creator = it->creator;
		e.has_before_setsid = it->before_setsid;
		e.before_setsid = it->before_setsid;
		ret = img_write(img, &e.base);
		if (ret < 0)
			return ret;
	}
	for (i = 0; i < t->nr_helpers; i++) {
		const struct pstree_helper *h = &t->helpers[i];
		PstreeEntry e = PSTREE_ENTRY__INIT;

		e.pid = h->pid;
		e.ppid = h->ppid;
		e.pgid = h->pgid;
		e.sid = h->sid;
		e.has_helper = e.helper = true;
		ret = img_write(img, &e.base);
		if (ret < 0)
			return ret;
	}
	return img_close(TAKE_PTR(img));
}
