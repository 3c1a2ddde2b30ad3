/*
 * The registry of file kinds (criu/res/files.c): one `const struct res_ops <kind>_ops` per kind
 * of open file description (FileEntry of files.img), found by files.c from a live descriptor
 * (dump: .match) or from the entry's type (restore: .fd_type).
 *
 * Dump: files_collect() (before infection) gives each descriptor its kind and its FileEntry id;
 * descriptors sharing one open file description (kcmp KCMP_FILE) share the id, across tasks too
 * once trees share dc->files. Kinds that need the live file get criu's copy of the task's first
 * descriptor on it (files_drain(), through the parasite). files_dump() writes files.img: REG
 * entries from the file table, the others through .dump.
 * Restore, in the restored task (files_restore()): .prepare for every entry the task uses
 * (criu's image fds are still open), criu's fds move above the task's, then each entry is
 * opened once through .open, in .stage order, and dup'ed to each of its descriptors; then
 * .post_open for every entry.
 *
 * Every hook is a "logging" one: dump hooks log (pr_err) and return -errno; restore hooks in
 * the task leave their message with rst_task_err() and return -errno.
 *
 * Objects whose ends are held by different tasks (a socketpair, a pty): kinds with .linked say
 * which entries belong together; each group is created by one task, its creator (the first
 * task of the tree, in pstree order, that holds one of them). The creator restores the entries
 * other tasks hold as its own ("handed over": used, never placed in its table), opens one fd
 * on each (.open) before .post_open, and keeps them above its fds until those tasks took them
 * (pidfd_getfd() after its files are in place); then closes them. Every task waits only for
 * tasks before it in that order, so nothing waits in a circle.
 */
#ifndef CRIU_RES_FILES_H
#define CRIU_RES_FILES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "res/res.h"

struct FileEntry;
struct cr_img;

/* A live descriptor of the dumped task, as /proc shows it. */
struct fd_parms {
	pid_t pid;
	int fd;				/* its number in the task */
	int lfd;			/* criu's copy (files_drain()), -1: none */
	const char *link;		/* /proc/PID/fd/FD, borrowed */
	struct stat st;			/* stat of /proc/PID/fd/FD */
	struct proc_fdinfo fi;		/* flags (O_CLOEXEC included), pos, mnt_id, ino */
};

/* One FileEntry the restored task uses. */
struct rst_file {
	const struct FileEntry *fe;	/* borrowed from the rst_ctx */
	const struct res_ops *ops;
	int fd;				/* the task's first descriptor on it, -1: not open yet */
	int aux;			/* the kind's own fd, above the task's (rst_files_stash()), or -1 */
	int aux2;			/* another one, or -1 */
	bool used;			/* restored here: some descriptor of the task has it, or
					 * it is handed over to another task (handoff) */
	bool handoff;			/* created here for the task(s) holding it */
	int handoff_fd;			/* that fd, above the task's, or -1 */
	pid_t take_from;		/* created by that task: taken from it, 0: not */
};

/* The files of one restored task, while files_restore() runs. */
struct rst_files {
	struct rst_task *t;		/* borrowed */
	struct rst_file *f;		/* owned, one per FileEntry of files.img */
	size_t nr;
	int base;			/* every fd >= base is criu's, never the task's */
};

struct res_ops {
	const char *name;		/* "pipe": in messages */
	uint32_t fd_type;		/* FdTypes */

	/* dump */
	bool (*match)(const struct fd_parms *p);	/* is @p of this kind? */
	bool need_lfd;			/* .dump wants p->lfd */
	/* Before infection: 0, or refuse @p (-EOPNOTSUPP) with a message naming it. May be NULL. */
	int (*can_dump)(struct dump_ctx *dc, const struct fd_parms *p);
	/* Write the FileEntry @id of @p into files.img (@img), and its data images if any. */
	int (*dump)(struct dump_ctx *dc, const struct fd_parms *p, uint32_t id, struct cr_img *img);

	/* restore */
	int stage;			/* 0, or 1: opened once every stage 0 file is in place */
	/* criu, before forking: the entry can be restored (files and images exist). May be NULL. */
	int (*check)(const struct rst_ctx *c, const struct FileEntry *fe, const char *what);
	/* Task, while criu's image fds are open: open what .open needs (stash it). May be NULL. */
	int (*prepare)(struct rst_files *rf, struct rst_file *f);
	/* Task: a new fd on the open file description of @f (any number, files.c moves it). */
	int (*open)(struct rst_files *rf, struct rst_file *f);
	/*
	 * Task: once every descriptor is in place (data refills, watches...). May be NULL. For
	 * kinds with .linked, also called for entries the task took from another task (from
	 * their creator, f->take_from, or their owner: f->fd >= 0, not f->used).
	 */
	int (*post_open)(struct rst_files *rf, struct rst_file *f);
	/*
	 * Restore: must the entries @a and @b (both of this kind) be created by one task (two
	 * ends of one socketpair, a pty master and its slave)? May be NULL: never.
	 */
	bool (*linked)(const struct FileEntry *a, const struct FileEntry *b);
};

extern const struct res_ops reg_file_ops;
extern const struct res_ops pipe_ops, fifo_ops;
extern const struct res_ops eventfd_ops, signalfd_ops, timerfd_ops;
extern const struct res_ops epoll_ops, inotify_ops, fanotify_ops, memfd_ops;
extern const struct res_ops unix_sk_ops, tty_ops;

/* file-lock.c: locks held through a file description (--file-locks). */
/* Refuse @p if it holds a lock and --file-locks is not given. */
int file_locks_can_dump(struct dump_ctx *dc, const struct fd_parms *p);
/* Fill fe->locks for @f (release with file_locks_release()); returns their number. */
int file_locks_dump(struct dump_ctx *dc, const struct reg_file *f, struct FileEntry *fe);
void file_locks_release(struct FileEntry *fe);
/* Task, .post_open: take the locks of @f again through f->fd. */
int file_locks_restore(struct rst_files *rf, struct rst_file *f);

/* Dump helpers. */

/* Read /proc/@pid/fdinfo/@fd into @buf (NUL-terminated). Non-logging: returns length or -errno. */
int fdinfo_read(pid_t pid, int fd, char *buf, size_t len);
/* The line of @buf starting with @key ("eventfd-count:"): the text after it, or NULL. */
const char *fdinfo_field(const char *buf, const char *key);
/* The descriptor @fd of the dumped task (nr_fds index), or NULL. */
struct dump_fd *files_dump_fd(struct dump_ctx *dc, int fd);

/*
 * Copy @len bytes of @fd (from offset 0 with sendfile(); a pipe: spliced, so consumed) into the
 * new raw image @kind/@id. Non-logging: 0 or -errno.
 */
int files_data_dump(struct dump_ctx *dc, int kind, uint32_t id, int fd, uint64_t len);

/*
 * The other tasks of the dumped tree visible from @dc's task: those dumped before it and its
 * descendants. Returns their number and *@ret_pids (malloc'ed, owned by the caller), or -errno.
 */
int files_tree_other_tasks(struct dump_ctx *dc, pid_t **ret_pids);

/* Restore helpers (task side). */

/* Does task @pid hold entry @id through a descriptor of its own (not taken from an owner)? */
bool rst_files_held_by(uint32_t id, pid_t pid);
/* Is @pid a task of the tree being restored? */
bool rst_files_tree_pid(pid_t pid);

/* Wait until task @pid of the tree has all its fds in place (leaves a message). */
int rst_files_wait_task(struct rst_files *rf, pid_t pid);
/*
 * A new open file description, with @flags, of the pipe or file that is fd @fd of task @pid
 * (through /proc/PID/fd; a pipe end is opened without blocking). Leaves a message.
 */
int rst_files_reopen_peer(struct rst_files *rf, pid_t pid, int fd, int flags);

/* Task, in .prepare: write the @len bytes of raw image @kind/@id into @fd; leaves a message. */
int rst_files_data_fill(struct rst_files *rf, int kind, uint32_t id, int fd, uint64_t len);

/*
 * Before the task's files step (a session leader makes its terminal its controlling terminal
 * before it creates its children): the task its descriptor @fd comes from (the owner of its
 * open file description, or the creator of the object, files.h), 0: opened by the task itself,
 * or -errno (leaves a message). Also usable by criu once files_check() saw every task.
 */
pid_t rst_files_source(struct rst_task *t, uint32_t fd);
/*
 * A new fd on the open file description of descriptor @fd, taken from its source task once it
 * has its fds in place; not counted as taken (the files step takes it again). Leaves a message.
 */
int rst_files_peek(struct rst_task *t, uint32_t fd);

/* tty.c: the controlling terminal of a session (restore). */
struct FdinfoEntry;
/*
 * The descriptor of session leader @c on the pty that was its session's controlling terminal
 * (a slave if it has one), or NULL: not a leader, or its terminal is no pty of the images.
 */
const struct FdinfoEntry *tty_ctty_fd(const struct rst_ctx *c);
/* Task @t, leader of its session, before it creates its children: see tty.c. */
int tty_ctty_early(struct rst_task *t, const struct FdinfoEntry *e, pid_t from);
/* Task @t, after it created its children: drop an inherited terminal it did not have. */
int tty_ctty_drop(struct rst_task *t);

/* Move @fd above the task's fds (the new fd is close-on-exec); returns it or -errno. */
int rst_files_stash(struct rst_files *rf, int fd);
/* The entry @id, or NULL. */
struct rst_file *rst_files_find(struct rst_files *rf, uint32_t id);
/* Criu side: the FileEntry @id of files.img, or NULL. */
const struct FileEntry *rst_file_entry(const struct rst_ctx *c, uint32_t id);

#endif
