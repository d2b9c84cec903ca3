#include "runtime/hostdir.h"

#include "base/syscalls.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

int hostdir_open(const char *path, HostDirId *ret_id, Error *err)
{
        int r = hostdir_check_path(path, err);
        if (r < 0)
                return r;
        _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return error_setc(err, errno, "opening /");
        const char *rel = path[1] ? path + 1 : ".";
        _cleanup_close_ int fd = sys_openat2(root, rel, O_PATH | O_DIRECTORY | O_CLOEXEC,
                                             RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
        if (fd < 0) {
                if (errno == ELOOP)
                        return error_set(err, ELOOP, "workspace_dir %s: a component of the path is a symbolic "
                                         "link, which the daemon never follows; use the directory's real path", path);
                if (errno == ENOTDIR)
                        return error_set(err, ENOTDIR, "workspace_dir %s is not a directory", path);
                return error_setc(err, errno, "workspace_dir %s", path);
        }
        struct stat st;
        struct statfs sfs;
        if (fstat(fd, &st) < 0 || fstatfs(fd, &sfs) < 0)
                return error_setc(err, errno, "checking workspace_dir %s", path);
        if (!S_ISDIR(st.st_mode))
                return error_set(err, ENOTDIR, "workspace_dir %s is not a directory", path);
        uint64_t fsid;
        memcpy(&fsid, &sfs.f_fsid, sizeof fsid);
        *ret_id = (HostDirId) { .dev = st.st_dev, .ino = st.st_ino, .fsid = fsid, .uid = st.st_uid, .gid = st.st_gid };
        return TAKE_FD(fd);
}

int hostdir_verify(const char *path, const HostDirId *now, const HostDirId *rec, Error *err)
{
        bool same_fs = now->dev == rec->dev || (now->fsid != 0 && now->fsid == rec->fsid);
        if (!same_fs || now->ino != rec->ino)
                return error_set(err, ESTALE, "workspace_dir %s is not the directory it was when the workspace was "
                                 "created (device %u:%u inode %llu then, %u:%u inode %llu now): it was moved or "
                                 "replaced; move it back, or recreate the workspace", path,
                                 major((dev_t) rec->dev), minor((dev_t) rec->dev), (unsigned long long) rec->ino,
                                 major((dev_t) now->dev), minor((dev_t) now->dev), (unsigned long long) now->ino);
        if (now->uid != rec->uid || now->gid != rec->gid)
                return error_set(err, ESTALE, "the owner of workspace_dir %s changed since the workspace was created: "
                                 "it belongs to uid %u (group %u) now, to uid %u (group %u) then; give it back, or "
                                 "recreate the workspace", path, now->uid, now->gid, rec->uid, rec->gid);
        return 0;
}
