/* pty_master_child.c with a child SG of the session leader S in S's session, whose own group
 * is the terminal's foreground group: SG must have the controlling terminal after restore. */
#define SESSION_MEMBER
#include "pty_master_child.c"
