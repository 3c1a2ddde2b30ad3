/*
 * Helpers the resource kinds share for writing images: the logging layer over core/image.c.
 */
#define LOG_PREFIX "image: "
#include "res/res.h"

#include <fcntl.h>

#include "common/cleanup.h"
#include "core/image.h"
#include "core/log.h"

int res_write_one(struct img_dir *dir, enum img_kind kind, unsigned int id,
		  const ProtobufCMessage *msg)
{
	_cleanup_img_ struct cr_img *img = NULL;
	char name[64];
	int ret;

	ret = img_open(dir, kind, id, O_WRONLY, &img);
	if (ret < 0)
		return pr_err_ret(ret, "cannot create %s", img_dir_error(dir));
	ret = img_write(img, msg);
	if (ret < 0)
		return pr_err_ret(ret, "cannot write %s", img_error(img));
	ret = img_close(TAKE_PTR(img));
	if (ret < 0)
		return pr_err_ret(ret, "cannot write %s", img_name(kind, id, name, sizeof(name)));
	return 0;
}
