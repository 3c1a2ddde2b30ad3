/* The actions criu runs. Each returns 0 or a negative errno and logs its own failures. */
#ifndef CRIU_ACTIONS_H
#define CRIU_ACTIONS_H

struct cr_opts;

int action_dump(const struct cr_opts *opts);
int action_pre_dump(const struct cr_opts *opts);
int action_restore(const struct cr_opts *opts);
int action_check(const struct cr_opts *opts);
int action_page_server(const struct cr_opts *opts);

#endif
