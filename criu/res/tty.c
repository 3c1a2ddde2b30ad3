/*
 * Terminals (file_entry.tty: TtyEntry): pty masters (/dev/ptmx) and their slaves (/dev/pts/N)
 * owned by the task, and with --shell-job a pty slave the task shares with its caller.
 *
 * Dump: a master gives its index (fdinfo tty-index), termios (TCGETS2 on the master acts on the
 * pair), window size, lock and packet mode, the session the pty controls and its foreground
 * group. A slave whose master the task has is PTY_SLAVE; another pty slave is the caller's
 * terminal: refused unless --shell-job (SHELL_TTY); the master may be in another task of the
 * tree. The data waiting in the pty is read: what the slave wrote (to_master, read from the
 * master) and the input (to_slave, read through a new slave fd from TIOCGPTPEER, with ICANON
 * off for the read in canonical mode, so that the line being typed is read too); then put back
 * with processing off (canonical input byte by byte with TIOCSTI: the line being typed is the
 * line being typed again), so a dump -R or a failed dump leaves it as it was. A pty that is the
 * controlling terminal of a session whose leader (another task of the tree) holds no end of
 * it is refused.
 * Ends held by different tasks: the first task of the tree holding an end restores the pty
 * and hands the other ends over (files.h); a session leader taking a slave makes it its
 * controlling terminal.
 * Restore: a master is a new /dev/ptmx; when the dumped index is free, ptmx is opened until it
 * gives that index (else the kernel's choice stands: the slave's path then differs).
 * A slave is opened from its restored master (TIOCGPTPEER), so the pair is right whatever the
 * index. Data is written back the same way as at dump, then the exact termios is set. The
 * slave the dumped session had as controlling terminal becomes the restored session's
 * (TIOCSCTTY), with its foreground group (TIOCSPGRP). A SHELL_TTY is a new
 * open file description of criu's own terminal (the first of its fds 0, 1, 2 that is one).
 * Controlling terminal of the other tasks of the session: a task that does not lead its session
 * only gets one by fork (the kernel copies it; TIOCSCTTY and open() give one to the leader
 * only). So a leader whose terminal other tasks of its session had (tty_nr, core.proto) takes
 * it before it creates its children (tty_ctty_early(): it opens the master itself when it
 * creates the pty, else it takes a copy of its end from the task that restores it, once that
 * task's fds are in place); every task that had no terminal drops the one it inherited after
 * creating its own children (tty_ctty_drop(): TIOCNOTTY, for that task only). criu then checks
 * every task's terminal against its dumped tty_nr (action-restore.c).
 */
#define LOG_PREFIX "tty: "
#include "res/files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <asm/termbits.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "common/cleanup.h"
#include "core/image.h"
#include "core/log.h"
#include "opts.h"
#include "images/core.pb-c.h"
#include "images/pstree.pb-c.h"
#include "images/fdinfo.pb-c.h"

#define PTS_MAJOR_FIRST	136
#define PTS_MAJOR_LAST	143
#define PTY_DATA_MAX	(1 << 20)
#define PTMX_TRIES_MAX	64	/* ptmx opens to reach a wanted index */
#define PTY_SETTLE_TRIES	2000	/* ms to wait for written input to be taken */

/* ================================= dump side ================================= */

static bool is_ptmx(const struct fd_parms *p)
{
	return S_ISCHR(p->st.st_mode) && ((major(p->st.st_rdev) == 5 &&
		minor(p->st.st_rdev) == 2) || !strcmp(p->link, "/dev/ptmx") ||
		!strcmp(p->link, "/dev/pts/ptmx"));
}

static bool is_pts(const struct fd_parms *p)
{
	unsigned int maj = major(p->st.st_rdev);

	return S_ISCHR(p->st.st_mode) && maj >= PTS_MAJOR_FIRST && maj <= PTS_MAJOR_LAST;
}

static int pts_index(dev_t rdev)
{
	return (int)((major(rdev) - PTS_MAJOR_FIRST) * 256 + minor(rdev));
}

static bool tty_match(const struct fd_parms *p)
{
	return is_ptmx(p) || is_pts(p);
}

/* The pty index of master fd @fd of task @pid (fdinfo tty-index), or -errno. */
static int master_index(pid_t pid, int fd)
{
	char buf[4096];
	const char *v;
	int ret;

	ret = fdinfo_read(pid, fd, buf, sizeof(buf));
	if (ret < 0)
		return ret;
	v = fdinfo_field(buf, "tty-index:");
	return v ? atoi(v) : -ENOENT;
}

/* Has the task the master of pty @index? */
static bool task_has_master(struct dump_ctx *dc, int index)
{
	_cleanup_free_ int *fds = NULL;
	char what[32], link[64];
	int nr, i;

	nr = proc_list_fds(dc->pid, &fds);
	for (i = 0; i < nr; i++) {
		snprintf(what, sizeof(what), "fd/%d", fds[i]);
		if (proc_readlink(dc->pid, what, link, sizeof(link)) < 0 ||
		    (strcmp(link, "/dev/ptmx") && strcmp(link, "/dev/pts/ptmx")))
			continue;
		if (master_index(dc->pid, fds[i]) == index)
			return true;
	}
	return false;
}

/* Another task of the tree with the master of pty @index (ptys across tasks), or 0. */
static pid_t tree_task_of_master(struct dump_ctx *dc, int index)
{
	_cleanup_free_ pid_t *pids = NULL;
	_cleanup_free_ int *fds = NULL;
	char what[32], link[64];
	int nr, n, i, j;

	nr = files_tree_other_tasks(dc, &pids);
	for (i = 0; i < nr; i++) {
		free(fds);
		fds = NULL;
		n = proc_list_fds(pids[i], &fds);
		for (j = 0; j < n; j++) {
			snprintf(what, sizeof(what), "fd/%d", fds[j]);
			if (proc_readlink(pids[i], what, link, sizeof(link)) >= 0 &&
			    (!strcmp(link, "/dev/ptmx") || !strcmp(link, "/dev/pts/ptmx")) &&
			    master_index(pids[i], fds[j]) == index)
				return pids[i];
		}
	}
	return 0;
}

/* Has task @pid an end (the master or a slave) of pty @index open? */
static bool pid_has_pty_end(pid_t pid, int index)
{
	_cleanup_free_ int *fds = NULL;
	char what[32], link[64];
	struct stat st;
	int n, j;

	n = proc_list_fds(pid, &fds);
	for (j = 0; j < n; j++) {
		snprintf(what, sizeof(what), "fd/%d", fds[j]);
		if (proc_readlink(pid, what, link, sizeof(link)) < 0)
			continue;
		if (!strcmp(link, "/dev/ptmx") || !strcmp(link, "/dev/pts/ptmx")) {
			if (master_index(pid, fds[j]) == index)
				return true;
			continue;
		}
		snprintf(what, sizeof(what), "/proc/%d/fd/%d", pid, fds[j]);
		if (!strncmp(link, "/dev/pts/", 9) && stat(what, &st) == 0 &&
		    major(st.st_rdev) >= PTS_MAJOR_FIRST && major(st.st_rdev) <= PTS_MAJOR_LAST &&
		    pts_index(st.st_rdev) == index)
			return true;
	}
	return false;
}

/* Is task @pid a session leader whose controlling terminal is pty @index? */
static bool pid_leads_pty_session(pid_t pid, int index)
{
	char path[64], *buf = NULL, *s;
	int sid = 0, tty = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (proc_read_file(path, &buf) < 0)
		return false;
	s = strrchr(buf, ')');
	if (!s || sscanf(s + 1, " %*c %*d %*d %d %d", &sid, &tty) != 2)
		sid = 0;
	free(buf);
	return sid == pid && major((dev_t)tty) >= PTS_MAJOR_FIRST &&
	       major((dev_t)tty) <= PTS_MAJOR_LAST && pts_index((dev_t)tty) == index;
}

/*
 * Pty @index of master @p is the controlling terminal of a session: its leader, when it is
 * another task of the tree, makes it its controlling terminal again on restore through the
 * end it holds; a leader that holds none is refused (its terminal would be lost).
 */
static int tty_check_session(struct dump_ctx *dc, const struct fd_parms *p, int index)
{
	_cleanup_free_ pid_t *pids = NULL;
	int nr, i;

	nr = files_tree_other_tasks(dc, &pids);
	for (i = 0; i < nr; i++) {
		if (!pid_leads_pty_session(pids[i], index) || pid_has_pty_end(pids[i], index))
			continue;
		pr_err("fd %d of task %d: pty %d is the controlling terminal of the session of task "
		       "%d, which holds no end of it: not supported", p->fd, p->pid, index,
		       pids[i]);
		return -EOPNOTSUPP;
	}
	return 0;
}

static int tty_can_dump(struct dump_ctx *dc, const struct fd_parms *p)
{
	pid_t pid;
	int idx;

	if (is_ptmx(p)) {
		idx = master_index(p->pid, p->fd);
		if (idx < 0)
			return pr_err_ret(idx, "fd %d of task %d: cannot read the pty index of '%s'",
					  p->fd, p->pid, p->link);
		return tty_check_session(dc, p, idx);
	}
	if (task_has_master(dc, pts_index(p->st.st_rdev)))
		return 0;
	pid = tree_task_of_master(dc, pts_index(p->st.st_rdev));
	if (pid) {
		pr_debug("fd %d of task %d: the master of '%s' is in task %d", p->fd, p->pid,
			 p->link, pid);
		return 0;
	}
	if (dc->opts->shell_job)
		return 0;
	pr_err("fd %d of task %d is a terminal ('%s') the dumped tree does not own: use "
	       "--shell-job", p->fd, p->pid, p->link);
	return -EOPNOTSUPP;
}

/* Read the @n bytes waiting in @fd into *@ret (malloc'ed). */
static int tty_read_queued(int fd, size_t n, ProtobufCBinaryData *ret)
{
	size_t got = 0;
	ssize_t r;

	ret->data = malloc(n ? n : 1);
	if (!ret->data)
		return -ENOMEM;
	while (got < n) {
		r = read(fd, ret->data + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	ret->len = got;
	return 0;
}

static int write_all(int fd, const ProtobufCBinaryData *d)
{
	size_t off = 0;
	ssize_t n;

	while (off < d->len) {
		n = write(fd, d->data + off, d->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += (size_t)n;
	}
	return 0;
}

/*
 * @orig with echo, signals, input and output processing and the editing characters off, so
 * that bytes written back into the line discipline are taken as they are. ICANON stays as it
 * is: switching it would make one line of what waits.
 */
static void termios_quiet(const struct termios2 *orig, struct termios2 *q)
{
	*q = *orig;
	q->c_lflag &= ~(ECHO | ECHONL | ISIG | IEXTEN);
	q->c_iflag &= ~(ICRNL | INLCR | IGNCR | ISTRIP | IXON | IUCLC | PARMRK);
	q->c_oflag &= ~OPOST;
	/* a literal one (typed after ^V) waits as data: it must not act again (NUL never does) */
	q->c_cc[VERASE] = q->c_cc[VKILL] = q->c_cc[VWERASE] = q->c_cc[VREPRINT] = 0;
	q->c_cc[VLNEXT] = q->c_cc[VEOF] = 0;
}

/*
 * The input @in (already processed once) back into the pty of master @m, slave @s, under the
 * quiet termios in force. Canonical mode: byte by byte into the line discipline (TIOCSTI: at
 * once, so the line being typed is the line being typed again); else written into the master,
 * and waited for until the line discipline's worker took it (echo stays off until then).
 */
static int tty_input_back(int m, int s, bool canon, const ProtobufCBinaryData *in)
{
	int q = 0, tries = 0, ret;
	size_t i;

	if (!in->len)
		return 0;
	for (i = 0; canon && i < in->len; i++)
		if (ioctl(s, TIOCSTI, &in->data[i]) < 0)
			return -errno;
	if (canon)
		return 0;
	ret = write_all(m, in);
	while (!ret && ioctl(s, FIONREAD, &q) == 0 && (size_t)q < in->len &&
	       tries++ < PTY_SETTLE_TRIES)
		usleep(1000);
	return ret ? ret : (size_t)q == in->len ? 0 : -ETIMEDOUT;
}

/*
 * Put the bytes read from the pty of master @m back as they were: the input for the slave
 * (tty_input_back()), the output for the master written into the slave @s with output
 * processing off; then the termios @orig again.
 */
static int tty_put_back(int m, int s, const struct termios2 *orig, const TtyEntry *te)
{
	struct termios2 quiet;
	int ret;

	termios_quiet(orig, &quiet);
	if (ioctl(m, TCSETS2, &quiet) < 0)
		return -errno;
	ret = tty_input_back(m, s, orig->c_lflag & ICANON, &te->to_slave);
	if (!ret && te->to_master.len)
		ret = write_all(s, &te->to_master);
	if (ioctl(m, TCSETS2, orig) < 0 && !ret)
		ret = -errno;
	return ret;
}

/*
 * The bytes waiting on either side of the pty of master @m (criu's copy): read, then put back
 * (so a dump that fails, or --leave-running, leaves them in place). In canonical mode the input
 * is read with ICANON off for the time of the read: then the line being typed is readable too
 * (read_cnt, not only the complete lines), and the line discipline holds nothing afterwards.
 */
static int tty_dump_data(const struct fd_parms *p, int m, TtyEntry *te)
{
	_cleanup_close_ int s = -1;
	struct termios2 orig, raw;
	int qm = 0, qs = 0, ret;
	bool canon;

	if (ioctl(m, FIONREAD, &qm) < 0 || ioctl(m, TCGETS2, &orig) < 0)
		return pr_err_ret(-errno, "fd %d of task %d: FIONREAD on the pty master", p->fd,
				  p->pid);
	s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (s < 0) {	/* locked (no unlockpt() yet): no slave end, nothing waits for one */
		if (!qm)
			return 0;
		return pr_err_ret(-errno, "fd %d of task %d: cannot open the slave of pty %u",
				  p->fd, p->pid, te->index);
	}
	canon = orig.c_lflag & ICANON;
	raw = orig;
	raw.c_lflag &= ~ICANON;
	raw.c_cc[VMIN] = raw.c_cc[VTIME] = 0;
	if (canon && ioctl(m, TCSETS2, &raw) < 0)
		return pr_err_ret(-errno, "fd %d of task %d: TCSETS2 on pty %u", p->fd, p->pid,
				  te->index);
	if (ioctl(s, FIONREAD, &qs) < 0)
		qs = 0;
	if (!qm && !qs) {
		if (canon && ioctl(m, TCSETS2, &orig) < 0)
			return pr_err_ret(-errno, "fd %d of task %d: TCSETS2 on pty %u", p->fd,
					  p->pid, te->index);
		return 0;
	}
	if (qm > PTY_DATA_MAX || qs > PTY_DATA_MAX) {
		if (canon)
			ioctl(m, TCSETS2, &orig);
		return pr_err_ret(-E2BIG, "fd %d of task %d: pty %u holds too much data", p->fd,
				  p->pid, te->index);
	}
	ret = tty_read_queued(m, (size_t)qm, &te->to_master);
	te->has_to_master = qm > 0;
	if (!ret && qs)
		ret = tty_read_queued(s, (size_t)qs, &te->to_slave);
	te->has_to_slave = qs > 0;
	if (ret < 0)
		pr_err("fd %d of task %d: cannot read the pty's data", p->fd, p->pid);
	if (!ret)
		ret = tty_put_back(m, s, &orig, te);
	else if (canon)
		ioctl(m, TCSETS2, &orig);
	if (ret < 0)
		return pr_err_ret(ret, "fd %d of task %d: cannot put the data of pty %u back",
				  p->fd, p->pid, te->index);
	return 0;
}

/* Termios, window size, lock, packet mode, session and group of the master @m. */
static int tty_dump_state(const struct fd_parms *p, int m, TtyEntry *te, TermiosEntry *t,
			  WinsizeEntry *w, struct termios2 *t2)
{
	struct winsize ws;
	int v;
	pid_t pid;

	if (ioctl(m, TCGETS2, t2) < 0 || ioctl(m, TIOCGWINSZ, &ws) < 0)
		return pr_err_ret(-errno, "fd %d of task %d: cannot read the pty's termios",
				  p->fd, p->pid);
	t->iflag = t2->c_iflag;
	t->oflag = t2->c_oflag;
	t->cflag = t2->c_cflag;
	t->lflag = t2->c_lflag;
	t->line = t2->c_line;
	t->cc.data = t2->c_cc;
	t->cc.len = sizeof(t2->c_cc);
	t->ispeed = t2->c_ispeed;
	t->ospeed = t2->c_ospeed;
	te->termios = t;
	w->row = ws.ws_row;
	w->col = ws.ws_col;
	w->xpixel = ws.ws_xpixel;
	w->ypixel = ws.ws_ypixel;
	te->winsize = w;
	if (ioctl(m, TIOCGPTLCK, &v) == 0) {
		te->has_locked = true;
		te->locked = v;
	}
	if (ioctl(m, TIOCGPKT, &v) == 0) {
		te->has_packet_mode = true;
		te->packet_mode = v;
	}
	if (ioctl(m, TIOCGSID, &pid) == 0) {
		te->has_sid = true;
		te->sid = (uint32_t)pid;
		if (ioctl(m, TIOCGPGRP, &pid) == 0) {
			te->has_pgrp = true;
			te->pgrp = (uint32_t)pid;
		}
	}
	return 0;
}

static int tty_dump(struct dump_ctx *dc, const struct fd_parms *p, uint32_t id,
		    struct cr_img *img)
{
	FileEntry fe = FILE_ENTRY__INIT;
	TtyEntry te = TTY_ENTRY__INIT;
	TermiosEntry t = TERMIOS_ENTRY__INIT;
	WinsizeEntry w = WINSIZE_ENTRY__INIT;
	struct termios2 t2;
	int ret = 0;

	te.id = id;
	te.flags = p->fi.flags & ~O_CLOEXEC;
	if (is_ptmx(p)) {
		te.kind = TTY_KIND__PTY_MASTER;
		te.index = (uint32_t)master_index(p->pid, p->fd);
		ret = tty_dump_state(p, p->lfd, &te, &t, &w, &t2);
		if (!ret)
			ret = tty_dump_data(p, p->lfd, &te);
	} else {
		te.index = (uint32_t)pts_index(p->st.st_rdev);
		te.kind = task_has_master(dc, (int)te.index) ||
			  tree_task_of_master(dc, (int)te.index) ? TTY_KIND__PTY_SLAVE :
			  TTY_KIND__SHELL_TTY;
		te.path = (char *)p->link;
	}
	if (!ret) {
		fe.type = FD_TYPES__TTY;
		fe.id = id;
		fe.tty = &te;
		ret = img_write(img, &fe.base);
		if (ret < 0)
			pr_err("cannot write %s", img_error(img));
	}
	pr_debug("fd %d: tty kind %d index %u, %zu+%zu bytes waiting", p->fd, te.kind, te.index,
		 te.to_master.len, te.to_slave.len);
	free(te.to_master.data);
	free(te.to_slave.data);
	return ret;
}

/* ================================ restore side =============================== */

static const TtyEntry *tty(const struct rst_file *f)
{
	return f->ops == &tty_ops ? f->fe->tty : NULL;
}

static int tty_check(const struct rst_ctx *c, const FileEntry *fe, const char *what)
{
	const TtyEntry *te = fe->tty;
	size_t i;

	if (!te || (te->kind == TTY_KIND__PTY_MASTER && (!te->termios || !te->winsize ||
							 te->termios->cc.len != NCCS))) {
		pr_err("%s: file %u has no (complete) tty entry", what, fe->id);
		return -EBADMSG;
	}
	if (te->kind == TTY_KIND__SHELL_TTY && !c->opts->shell_job) {
		pr_err("%s: the task was on its caller's terminal ('%s'): restore it with "
		       "--shell-job", what, te->path ? te->path : "?");
		return -EINVAL;
	}
	if (te->kind == TTY_KIND__SHELL_TTY) {
		for (i = 0; i < 3 && !isatty((int)i); i++)
			;
		if (i == 3) {
			pr_err("%s: --shell-job, but criu has no terminal on fds 0, 1, 2", what);
			return -ENOTTY;
		}
	}
	if (te->kind == TTY_KIND__PTY_SLAVE) {
		for (i = 0; i < c->nr_files; i++)
			if (c->files[i]->tty && c->files[i]->tty->kind == TTY_KIND__PTY_MASTER &&
			    c->files[i]->tty->index == te->index)
				return 0;
		pr_err("%s: the master of pty %u is not in the images", what, te->index);
		return -EBADMSG;
	}
	return 0;
}

/* A new master with index @index if it is free (else any); returns the fd or -errno. */
static int ptmx_open(struct rst_files *rf, uint32_t index)
{
	int fds[PTMX_TRIES_MAX], n = 0, fd = -1, idx, i;
	char path[64];

	snprintf(path, sizeof(path), "/dev/pts/%u", index);
	while (n < PTMX_TRIES_MAX) {
		fd = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (fd < 0) {
			fd = rst_task_err(rf->t, -errno, "cannot open /dev/ptmx: %m");
			break;
		}
		if (ioctl(fd, TIOCGPTN, &idx) < 0 || (unsigned int)idx == index ||
		    (unsigned int)idx > index || access(path, F_OK) == 0)
			break;
		fds[n++] = fd;	/* a lower index: keep it while looking further */
		fd = -1;
	}
	for (i = 0; i < n; i++)
		close(fds[i]);
	return fd;
}

/*
 * The master a session leader that creates its pty opened before its children (tty_ctty_early()),
 * for its files step: of that task only (its children inherit a copy of this).
 */
static struct {
	pid_t pid;
	uint32_t index;
	int fd;
} early_ptmx = { .fd = -1 };

static int tty_prepare(struct rst_files *rf, struct rst_file *f)
{
	const TtyEntry *te = tty(f);
	char path[32];
	int fd, i;

	if (te->kind == TTY_KIND__SHELL_TTY) {
		for (i = 0; i < 3 && !isatty(i); i++)
			;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", i);
		fd = open(path, (int)(te->flags & ~(O_CREAT | O_TRUNC)) | O_NOCTTY | O_CLOEXEC);
		if (fd < 0)
			return rst_task_err(rf->t, -errno, "cannot open criu's terminal: %m");
	} else if (te->kind == TTY_KIND__PTY_MASTER && early_ptmx.fd >= 0 &&
		   early_ptmx.pid == rf->t->c->pid && early_ptmx.index == te->index) {
		fd = early_ptmx.fd;	/* tty_ctty_early() */
		early_ptmx.fd = -1;
	} else if (te->kind == TTY_KIND__PTY_MASTER) {
		fd = ptmx_open(rf, te->index);
		if (fd < 0)
			return fd;
	} else {
		return 0;
	}
	f->aux = rst_files_stash(rf, fd);
	if (f->aux < 0) {
		close(fd);
		return rst_task_err(rf->t, f->aux, "cannot move a tty fd up");
	}
	return 0;
}

/* The restored master of pty @index. */
static struct rst_file *tty_master(struct rst_files *rf, uint32_t index)
{
	size_t i;

	for (i = 0; i < rf->nr; i++)
		if (rf->f[i].used && tty(&rf->f[i]) && rf->f[i].aux >= 0 &&
		    tty(&rf->f[i])->kind == TTY_KIND__PTY_MASTER && tty(&rf->f[i])->index == index)
			return &rf->f[i];
	return NULL;
}

static int tty_open(struct rst_files *rf, struct rst_file *f)
{
	const TtyEntry *te = tty(f);
	struct rst_file *m;
	int fd, v = 0;

	if (te->kind != TTY_KIND__PTY_SLAVE) {
		fd = fcntl(f->aux, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			return rst_task_err(rf->t, -errno, "tty %u: dup: %m", te->index);
		if (te->kind == TTY_KIND__PTY_MASTER && fcntl(fd, F_SETFL, te->flags & O_NONBLOCK)) {
			close(fd);
			return rst_task_err(rf->t, -errno, "tty %u: F_SETFL: %m", te->index);
		}
		return fd;
	}
	m = tty_master(rf, te->index);
	if (!m)
		return rst_task_err(rf->t, -ENOENT, "the master of pty %u was not restored",
				    te->index);
	if (ioctl(m->aux, TIOCSPTLCK, &v) < 0)
		return rst_task_err(rf->t, -errno, "pty %u: cannot unlock it: %m", te->index);
	fd = ioctl(m->aux, TIOCGPTPEER, (te->flags & (O_ACCMODE | O_NONBLOCK)) | O_NOCTTY |
		   O_CLOEXEC);
	if (fd < 0)
		return rst_task_err(rf->t, -errno, "pty %u: cannot open its slave: %m", te->index);
	return fd;
}

/* The waiting data of master @f's pty written back (under quiet termios: the caller then sets
 * the exact ones). */
static int tty_refill(struct rst_files *rf, struct rst_file *f, const struct termios2 *t2)
{
	const TtyEntry *te = tty(f);
	struct termios2 quiet;
	int s, ret;

	if (!te->to_master.len && !te->to_slave.len)
		return 0;
	termios_quiet(t2, &quiet);
	if (ioctl(f->aux, TCSETS2, &quiet) < 0)
		return rst_task_err(rf->t, -errno, "pty %u: TCSETS2: %m", te->index);
	s = ioctl(f->aux, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		return rst_task_err(rf->t, -errno, "pty %u: cannot open its slave: %m", te->index);
	ret = tty_input_back(f->aux, s, t2->c_lflag & ICANON, &te->to_slave);
	if (!ret && te->to_master.len)
		ret = write_all(s, &te->to_master);
	close(s);
	if (ret < 0)
		return rst_task_err(rf->t, ret, "pty %u: cannot write its data back: %s",
				    te->index, strerror(-ret));
	return 0;
}

static int tty_restore_master(struct rst_files *rf, struct rst_file *f)
{
	const TtyEntry *te = tty(f);
	const TermiosEntry *t = te->termios;
	struct winsize ws = { te->winsize->row, te->winsize->col, te->winsize->xpixel,
			      te->winsize->ypixel };
	struct termios2 t2 = {
		.c_iflag = t->iflag, .c_oflag = t->oflag, .c_cflag = t->cflag,
		.c_lflag = t->lflag, .c_line = (cc_t)t->line,
		.c_ispeed = t->ispeed, .c_ospeed = t->ospeed,
	};
	int v, ret;

	memcpy(t2.c_cc, t->cc.data, NCCS);
	ret = tty_refill(rf, f, &t2);
	if (ret < 0)
		return ret;
	if (ioctl(f->aux, TCSETS2, &t2) < 0 || ioctl(f->aux, TIOCSWINSZ, &ws) < 0)
		return rst_task_err(rf->t, -errno, "pty %u: cannot set termios: %m", te->index);
	v = te->packet_mode;
	if (te->has_packet_mode && ioctl(f->aux, TIOCPKT, &v) < 0)
		return rst_task_err(rf->t, -errno, "pty %u: TIOCPKT: %m", te->index);
	v = te->has_locked ? te->locked : 1;
	if (ioctl(f->aux, TIOCSPTLCK, &v) < 0)
		return rst_task_err(rf->t, -errno, "pty %u: TIOCSPTLCK: %m", te->index);
	return 0;
}

/*
 * The pty of master entry @mte controlled the task's session: it does again, with its group,
 * through the slave fd @fd (-1: the task has none open, a temporary one is opened from the
 * master fd @mfd).
 */
static int tty_restore_ctty(struct rst_files *rf, const TtyEntry *mte, int mfd, int fd)
{
	pid_t pgrp = (pid_t)mte->pgrp;
	int s = fd, ret = 0;

	if (!mte->has_sid || (pid_t)mte->sid != rf->t->c->pid || getsid(0) != getpid())
		return 0;
	errno = ENOENT;
	if (s < 0 && mfd >= 0)
		s = ioctl(mfd, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0 || ioctl(s, TIOCSCTTY, 0) < 0)
		ret = rst_task_err(rf->t, -errno, "pty %u: cannot make it the controlling "
				   "terminal: %m", mte->index);
	else if (mte->has_pgrp && ioctl(s, TIOCSPGRP, &pgrp) < 0)
		ret = rst_task_err(rf->t, -errno, "pty %u: cannot set the foreground group %d: "
				   "%m", mte->index, pgrp);
	if (s >= 0 && fd < 0)
		close(s);
	return ret;
}

/* The master entry of pty @index (of any task), or NULL. */
static const TtyEntry *tty_master_entry(struct rst_files *rf, uint32_t index)
{
	size_t i;

	for (i = 0; i < rf->nr; i++)
		if (tty(&rf->f[i]) && tty(&rf->f[i])->kind == TTY_KIND__PTY_MASTER &&
		    tty(&rf->f[i])->index == index)
			return tty(&rf->f[i]);
	return NULL;
}

/*
 * An end taken from the task that restored the pty (the master's termios and data are in
 * place): the pty becomes our controlling terminal if it was.
 */
static int tty_post_open_taken(struct rst_files *rf, struct rst_file *f)
{
	const TtyEntry *te = tty(f), *mte = tty_master_entry(rf, te->index);
	struct rst_file *o;
	size_t i;

	if (!mte)
		return 0;
	if (te->kind == TTY_KIND__PTY_MASTER)
		return tty_restore_ctty(rf, mte, f->fd, -1);
	/* a slave: only the first slave entry of the task does it */
	for (i = 0; i < rf->nr; i++) {
		o = &rf->f[i];
		if (o == f)
			break;
		if (o->fd >= 0 && tty(o) && tty(o)->index == te->index)
			return 0;
	}
	return tty_restore_ctty(rf, mte, -1, f->fd);
}

static int tty_post_open(struct rst_files *rf, struct rst_file *f)
{
	const TtyEntry *te = tty(f);
	struct rst_file *m;
	size_t i;
	int ret;

	if (!f->used)
		return tty_post_open_taken(rf, f);
	if (te->kind != TTY_KIND__PTY_MASTER)
		return 0;
	ret = tty_restore_master(rf, f);
	if (ret < 0)
		return ret;
	/* the first slave of the pair takes the controlling terminal */
	for (i = 0; i < rf->nr; i++) {
		m = &rf->f[i];
		if (m->used && m->fd >= 0 && tty(m) && tty(m)->kind == TTY_KIND__PTY_SLAVE &&
		    tty(m)->index == te->index)
			return tty_restore_ctty(rf, te, f->aux, m->fd);
	}
	return tty_restore_ctty(rf, te, f->aux, -1);
}

/* A pty's master and slaves are restored by one task (tty_open() needs the master). */
static bool tty_linked(const FileEntry *a, const FileEntry *b)
{
	const TtyEntry *x = a->tty, *y = b->tty;

	return x && y && x->index == y->index &&
	       (x->kind == TTY_KIND__PTY_MASTER || x->kind == TTY_KIND__PTY_SLAVE) &&
	       (y->kind == TTY_KIND__PTY_MASTER || y->kind == TTY_KIND__PTY_SLAVE);
}

const struct res_ops tty_ops = {
	.name		= "tty",
	.fd_type	= FD_TYPES__TTY,
	.match		= tty_match,
	.need_lfd	= true,
	.can_dump	= tty_can_dump,
	.dump		= tty_dump,
	.check		= tty_check,
	.prepare	= tty_prepare,
	.open		= tty_open,
	.post_open	= tty_post_open,
	.linked		= tty_linked,
};

/* The master entry of pty @index in files.img, or NULL. */
static const TtyEntry *tty_image_master(const struct rst_ctx *c, uint32_t index)
{
	size_t i;

	for (i = 0; i < c->nr_files; i++)
		if (c->files[i]->tty && c->files[i]->tty->kind == TTY_KIND__PTY_MASTER &&
		    c->files[i]->tty->index == index)
			return c->files[i]->tty;
	return NULL;
}

const FdinfoEntry *tty_ctty_fd(const struct rst_ctx *c)
{
	const FdinfoEntry *best = NULL;
	const TtyEntry *te, *mte;
	const FileEntry *fe;
	size_t i;

	if ((pid_t)c->ps->sid != c->pid)
		return NULL;
	for (i = 0; i < c->nr_fds; i++) {
		fe = rst_file_entry(c, c->fds[i]->id);
		te = fe ? fe->tty : NULL;
		if (!te || (te->kind != TTY_KIND__PTY_MASTER && te->kind != TTY_KIND__PTY_SLAVE))
			continue;
		mte = tty_image_master(c, te->index);
		if (!mte || !mte->has_sid || (pid_t)mte->sid != c->pid)
			continue;
		if (te->kind == TTY_KIND__PTY_SLAVE)
			return c->fds[i];
		if (!best)
			best = c->fds[i];
	}
	return best;
}

/*
 * Session leader @t, before it creates its children: makes the pty its descriptor @e is on its
 * controlling terminal, so that they inherit it (the only way a task that does not lead its
 * session gets one). @from: the task that has it (tty_ctty_fd(), rst_files_source()), which
 * must be created before us; 0: we create the pty: its master is opened now and kept for our
 * files step. The rest (termios, data, foreground group) comes in the files step.
 */
int tty_ctty_early(struct rst_task *t, const FdinfoEntry *e, pid_t from)
{
	struct rst_files rf = { .t = t };
	const FileEntry *fe = rst_file_entry(t->c, e->id);
	const TtyEntry *te = fe->tty;
	int fd, s, v = 0, ret = 0;

	if (from) {
		fd = rst_files_peek(t, e->fd);
		if (fd < 0)
			return fd;
	} else {
		fd = ptmx_open(&rf, te->index);
		if (fd < 0)
			return fd;
		if (ioctl(fd, TIOCSPTLCK, &v) < 0) {
			ret = rst_task_err(t, -errno, "pty %u: cannot unlock it: %m", te->index);
			close(fd);
			return ret;
		}
	}
	s = fd;
	if (from == 0 || te->kind == TTY_KIND__PTY_MASTER)
		s = ioctl(fd, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0 || ioctl(s, TIOCSCTTY, 0) < 0)
		ret = rst_task_err(t, -errno, "pty %u: cannot make it the controlling terminal: %m",
				   te->index);
	if (s >= 0 && s != fd)
		close(s);
	if (from || ret < 0) {
		close(fd);
		return ret;
	}
	early_ptmx.pid = t->c->pid;
	early_ptmx.index = te->index;
	early_ptmx.fd = fd;
	return 0;
}

/*
 * After the task created its children (which inherited what it has): a task that had no
 * controlling terminal lets go of the one it inherited (its session's, or criu's). TIOCNOTTY
 * from a task that does not lead its session drops it for that task only.
 */
int tty_ctty_drop(struct rst_task *t)
{
	const TaskCoreEntry *tc = t->c->core->tc;
	int fd, ret = 0;

	if (!tc->has_tty_nr || tc->tty_nr || getsid(0) == getpid())
		return 0;
	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return 0;	/* none */
	if (ioctl(fd, TIOCNOTTY) < 0)
		ret = rst_task_err(t, -errno, "cannot let go of the controlling terminal: %m");
	close(fd);
	return ret;
}
