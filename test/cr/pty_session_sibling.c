/* pty_session_member, but R has no end of the pty: M, the sibling of the session leader S,
 * restores it, and S takes its controlling terminal from M before creating SG and N. */
#define SESSION_MEMBER
#define SIBLING_CREATOR
#include "pty_master_child.c"
