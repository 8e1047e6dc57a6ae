/*
 * The guts Hyper-V lab's VirtDisk.dll: OpenVirtualDisk and QueryChangesVirtualDisk for scripts that
 * P/Invoke [DllImport("virtdisk.dll")] in the lab's pwsh (Linux).  hyperv-lab.sh up builds it with gcc
 * into <state>/lab/native/libvirtdisk.dll.so; the shim puts that directory on LD_LIBRARY_PATH, and .NET's
 * probing for "virtdisk.dll" on Linux tries virtdisk.dll.so, libvirtdisk.dll.so, virtdisk.dll and
 * libvirtdisk.dll (checked: each loads).
 *
 * Windows semantics kept (virtdisk.h, winerror.h): the structures' layout, Win32 status codes as the
 * return value, OPEN_VIRTUAL_DISK_VERSION_2/3 require VIRTUAL_DISK_ACCESS_NONE, a file that is neither
 * VHD nor VHDX is ERROR_VIRTDISK_NOT_VIRTUAL_DISK, the RCT errors of QueryChangesVirtualDisk.  The
 * handle is a real file descriptor, so .NET's SafeFileHandle closes it with close(2) on Dispose.
 * Strings arrive as UTF-16 (CharSet.Unicode is UTF-16 on every platform).
 *
 * The change log is the lab's sidecar next to each disk file, <file>.rct (text, written by the lab's
 * C#: HyperV.Rct.cs; format in LAB-NOTES.md).  Real hosts keep binary .rct/.mrt files there.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define ERROR_SUCCESS 0u
#define ERROR_FILE_NOT_FOUND 2u
#define ERROR_PATH_NOT_FOUND 3u
#define ERROR_ACCESS_DENIED 5u
#define ERROR_INVALID_HANDLE 6u
#define ERROR_NOT_ENOUGH_MEMORY 8u
#define ERROR_BAD_NETPATH 53u
#define ERROR_INVALID_PARAMETER 87u
#define ERROR_INSUFFICIENT_BUFFER 122u
#define ERROR_VIRTDISK_PROVIDER_NOT_FOUND 0xC03A0014u
#define ERROR_VIRTDISK_NOT_VIRTUAL_DISK 0xC03A0015u
#define ERROR_VHD_INVALID_CHANGE_TRACKING_ID 0xC03A0029u
#define ERROR_VHD_CHANGE_TRACKING_DISABLED 0xC03A002Au
#define ERROR_VHD_MISSING_CHANGE_TRACKING_INFORMATION 0xC03A0030u

#define VIRTUAL_DISK_ACCESS_GET_INFO 0x80000u
#define FMT_VHD 2
#define FMT_VHDX 3

typedef struct { uint32_t DeviceId; uint8_t VendorId[16]; } VIRTUAL_STORAGE_TYPE;
typedef struct {
    int32_t Version;
    union {
        struct { uint32_t RWDepth; } Version1;
        struct { int32_t GetInfoOnly, ReadOnly; uint8_t ResiliencyGuid[16]; } Version2;
        struct { int32_t GetInfoOnly, ReadOnly; uint8_t ResiliencyGuid[16], SnapshotId[16]; } Version3;
    };
} OPEN_VIRTUAL_DISK_PARAMETERS;
typedef struct { uint64_t ByteOffset, ByteLength, Reserved; } QUERY_CHANGES_VIRTUAL_DISK_RANGE;

/* VIRTUAL_STORAGE_TYPE_VENDOR_MICROSOFT {EC984AEC-A0F9-47E9-901F-71415A66345B} as it lies in memory */
static const uint8_t VENDOR_MS[16] = {0xec, 0x4a, 0x98, 0xec, 0xf9, 0xa0, 0xe9, 0x47, 0x90, 0x1f, 0x71, 0x41, 0x5a, 0x66, 0x34, 0x5b};

/* Handles this library gave out: a descriptor number is reused after close(2), so an entry only counts
 * while the descriptor still names the same file (device + inode). */
typedef struct { int fd; dev_t dev; ino_t ino; int format; int getinfo; } handle_t;
#define MAX_HANDLES 256
static handle_t handles[MAX_HANDLES];
static int nhandles;
static pthread_mutex_t hlock = PTHREAD_MUTEX_INITIALIZER;

static void remember(int fd, const struct stat *st, int format, int getinfo) {
    pthread_mutex_lock(&hlock);
    int slot = -1;
    for (int i = 0; i < nhandles; i++) if (handles[i].fd == fd) slot = i;   /* a stale entry of a closed fd */
    if (slot < 0 && nhandles < MAX_HANDLES) slot = nhandles++;
    if (slot < 0) slot = fd % MAX_HANDLES;   /* full: forget an old one (its fd was closed long ago or is stale) */
    handles[slot] = (handle_t){fd, st->st_dev, st->st_ino, format, getinfo};
    pthread_mutex_unlock(&hlock);
}

static int lookup(intptr_t h, handle_t *out) {
    struct stat st;
    if (h < 0 || h > INT32_MAX || fstat((int)h, &st) != 0) return 0;
    int ok = 0;
    pthread_mutex_lock(&hlock);
    for (int i = 0; i < nhandles; i++)
        if (handles[i].fd == (int)h && handles[i].dev == st.st_dev && handles[i].ino == st.st_ino) { *out = handles[i]; ok = 1; }
    pthread_mutex_unlock(&hlock);
    return ok;
}

/* UTF-16 (what CharSet.Unicode passes) -> UTF-8; 0 on an unpaired surrogate or overflow */
static int utf16_to_utf8(const uint16_t *s, char *out, size_t cap) {
    size_t o = 0;
    for (; *s; s++) {
        uint32_t c = *s;
        if (c >= 0xD800 && c <= 0xDBFF) {
            if (s[1] < 0xDC00 || s[1] > 0xDFFF) return 0;
            c = 0x10000 + ((c - 0xD800) << 10) + (s[1] - 0xDC00); s++;
        } else if (c >= 0xDC00 && c <= 0xDFFF) return 0;
        char b[4]; int n;
        if (c < 0x80) { b[0] = (char)c; n = 1; }
        else if (c < 0x800) { b[0] = (char)(0xC0 | c >> 6); b[1] = (char)(0x80 | (c & 0x3F)); n = 2; }
        else if (c < 0x10000) { b[0] = (char)(0xE0 | c >> 12); b[1] = (char)(0x80 | (c >> 6 & 0x3F)); b[2] = (char)(0x80 | (c & 0x3F)); n = 3; }
        else { b[0] = (char)(0xF0 | c >> 18); b[1] = (char)(0x80 | (c >> 12 & 0x3F)); b[2] = (char)(0x80 | (c >> 6 & 0x3F)); b[3] = (char)(0x80 | (c & 0x3F)); n = 4; }
        if (o + (size_t)n + 1 > cap) return 0;
        memcpy(out + o, b, (size_t)n); o += (size_t)n;
    }
    out[o] = 0;
    return 1;
}

/* A Windows path -> the lab's file: C:\x (also \\?\C:\x, C:/x) is <GUTS_LAB_HYPERV_CROOT>/x, the way
 * the lab maps C: for pwsh; \x is the root of C:; a relative path stays relative to the process's
 * directory (the lab's cwd is inside C:).  Other drives do not exist here; UNC paths are not served. */
static uint32_t map_path(const char *win, char *out, size_t cap) {
    char p[4096];
    if (!strncmp(win, "\\\\?\\", 4) || !strncmp(win, "\\\\.\\", 4)) win += 4;
    if (strlen(win) >= sizeof p) return ERROR_PATH_NOT_FOUND;
    strcpy(p, win);
    for (char *c = p; *c; c++) if (*c == '\\') *c = '/';
    const char *root = getenv("GUTS_LAB_HYPERV_CROOT");
    const char *rest = p;
    if (((p[0] | 0x20) >= 'a' && (p[0] | 0x20) <= 'z') && p[1] == ':') {
        if ((p[0] | 0x20) != 'c' || !root) return ERROR_PATH_NOT_FOUND;
        rest = p + 2;
        if (*rest != '/') { /* C:x is relative to the current directory of C: */
            if ((size_t)snprintf(out, cap, "%s", rest) >= cap) return ERROR_PATH_NOT_FOUND;
            return ERROR_SUCCESS;
        }
    } else if (p[0] == '/' && p[1] == '/') return ERROR_BAD_NETPATH;
    else if (p[0] != '/') {
        if ((size_t)snprintf(out, cap, "%s", p) >= cap) return ERROR_PATH_NOT_FOUND;
        return ERROR_SUCCESS;
    }
    if (!root) return ERROR_PATH_NOT_FOUND;
    if ((size_t)snprintf(out, cap, "%s%s", root, rest) >= cap) return ERROR_PATH_NOT_FOUND;
    return ERROR_SUCCESS;
}

static int detect_format(int fd, off_t size) {
    char b[8];
    if (pread(fd, b, 8, 0) == 8 && !memcmp(b, "vhdxfile", 8)) return FMT_VHDX;
    if (pread(fd, b, 8, 0) == 8 && !memcmp(b, "conectix", 8)) return FMT_VHD;              /* dynamic: footer copy at 0 */
    if (size >= 512 && pread(fd, b, 8, size - 512) == 8 && !memcmp(b, "conectix", 8)) return FMT_VHD;  /* fixed */
    return 0;
}

uint32_t OpenVirtualDisk(const VIRTUAL_STORAGE_TYPE *type, const uint16_t *path, uint32_t accessMask, uint32_t flags,
                         const OPEN_VIRTUAL_DISK_PARAMETERS *params, intptr_t *handle) {
    if (!type || !path || !handle) return ERROR_INVALID_PARAMETER;
    *handle = -1;   /* INVALID_HANDLE_VALUE until it succeeds */
    static const uint8_t zero[16];
    if (memcmp(type->VendorId, VENDOR_MS, 16) && memcmp(type->VendorId, zero, 16)) return ERROR_VIRTDISK_PROVIDER_NOT_FOUND;
    if (type->DeviceId > 4) return ERROR_VIRTDISK_PROVIDER_NOT_FOUND;
    int version = params ? params->Version : 1;
    if (version < 1 || version > 3) return ERROR_INVALID_PARAMETER;
    /* OpenVirtualDisk: with OPEN_VIRTUAL_DISK_VERSION_2 (and 3) only VIRTUAL_DISK_ACCESS_NONE may be given */
    if (version >= 2 && accessMask != 0) return ERROR_INVALID_PARAMETER;
    if (flags >= 0x1000) return ERROR_INVALID_PARAMETER;
    char win[4096], fs[4096];
    if (!path[0] || !utf16_to_utf8(path, win, sizeof win)) return ERROR_INVALID_PARAMETER;
    uint32_t st = map_path(win, fs, sizeof fs);
    if (st) return st;
    int fd = open(fs, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        if (errno == EACCES || errno == EPERM) return ERROR_ACCESS_DENIED;
        if (errno == ENOENT || errno == ENOTDIR) {
            char dir[4096]; struct stat ds;
            snprintf(dir, sizeof dir, "%s", fs);
            char *slash = strrchr(dir, '/');
            if (slash == dir) slash[1] = 0; else if (slash) *slash = 0; else strcpy(dir, ".");
            return stat(dir, &ds) == 0 && S_ISDIR(ds.st_mode) ? ERROR_FILE_NOT_FOUND : ERROR_PATH_NOT_FOUND;
        }
        return ERROR_PATH_NOT_FOUND;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) { close(fd); return ERROR_ACCESS_DENIED; }
    if (S_ISDIR(sb.st_mode)) { close(fd); return ERROR_ACCESS_DENIED; }   /* CreateFile on a directory */
    int format = S_ISREG(sb.st_mode) ? detect_format(fd, sb.st_size) : 0;
    if (!format) { close(fd); return ERROR_VIRTDISK_NOT_VIRTUAL_DISK; }
    if ((type->DeviceId == 2 && format != FMT_VHD) || (type->DeviceId == 3 && format != FMT_VHDX) || type->DeviceId == 1 || type->DeviceId == 4) {
        close(fd); return ERROR_VIRTDISK_PROVIDER_NOT_FOUND;
    }
    /* Version 1 handles need VIRTUAL_DISK_ACCESS_GET_INFO for QueryChangesVirtualDisk; 2 and 3 carry no mask */
    remember(fd, &sb, format, version >= 2 || (accessMask & VIRTUAL_DISK_ACCESS_GET_INFO));
    *handle = fd;
    return ERROR_SUCCESS;
}

/* ---- the lab's change log (<file>.rct, see HyperV.Rct.cs) ---- */
typedef struct {
    char disk_guid[40], file_guid[40];
    uint64_t gran, size, oldest, current, file_point;
    int active;
    unsigned char *changed;   /* per block: written in one of the epochs asked for */
    uint64_t nblocks;
} rct_t;

static int parse_guid(const char *s, char *out) {   /* 8-4-4-4-12 hex, lower-cased into out */
    static const int dash[] = {8, 13, 18, 23};
    if (strlen(s) != 36) return 0;
    for (int i = 0, d = 0; i < 36; i++) {
        if (d < 4 && i == dash[d]) { if (s[i] != '-') return 0; out[i] = '-'; d++; continue; }
        char c = s[i] | 0x20;
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return 0;
        out[i] = c;
    }
    out[36] = 0;
    return 1;
}

/* rctX:5bfde23b:ce75:4303:b54f:6c18394f105c:00000001 -> guid 5bfde23b-ce75-..., sequence 1 */
static int parse_id(const char *id, char *guid, uint64_t *seq) {
    if (strncmp(id, "rctX:", 5) || strlen(id) != 5 + 36 + 1 + 8) return 0;
    char g[37];
    memcpy(g, id + 5, 36); g[36] = 0;
    for (int i = 0; i < 36; i++) if (g[i] == ':') g[i] = '-'; else if (g[i] == '-') return 0;
    if (!parse_guid(g, guid) || id[41] != ':') return 0;
    uint64_t v = 0;
    for (int i = 42; i < 50; i++) {
        char c = id[i] | 0x20;
        if (c >= '0' && c <= '9') v = v * 16 + (uint64_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v = v * 16 + (uint64_t)(c - 'a' + 10);
        else return 0;
    }
    *seq = v;
    return 1;
}

/* Reads the sidecar; marks the blocks of epochs [from, to] in r->changed.  0 = no sidecar. */
static int load_rct(const char *file, uint64_t from, uint64_t to, rct_t *r, int want_blocks) {
    char path[4200];
    snprintf(path, sizeof path, "%s.rct", file);
    FILE *f = fopen(path, "re");
    if (!f) return 0;
    memset(r, 0, sizeof *r);
    char *line = NULL; size_t cap = 0; ssize_t n;
    int ok = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n') line[--n] = 0;
        char key[32]; int used = 0;
        if (sscanf(line, "%31s %n", key, &used) != 1) continue;
        char *val = line + used;
        if (!strcmp(key, "guts-lab-rct")) ok = 1;
        else if (!strcmp(key, "disk-guid")) parse_guid(val, r->disk_guid);
        else if (!strcmp(key, "file-guid")) parse_guid(val, r->file_guid);
        else if (!strcmp(key, "granularity")) r->gran = strtoull(val, NULL, 10);
        else if (!strcmp(key, "size")) r->size = strtoull(val, NULL, 10);
        else if (!strcmp(key, "oldest")) r->oldest = strtoull(val, NULL, 10);
        else if (!strcmp(key, "current")) r->current = strtoull(val, NULL, 10);
        else if (!strcmp(key, "file-point")) r->file_point = strtoull(val, NULL, 10);
        else if (!strcmp(key, "file-active")) r->active = atoi(val);
        else if (!strcmp(key, "epoch") && want_blocks && r->changed) {
            char *end; uint64_t e = strtoull(val, &end, 10);
            if (e < from || e > to) continue;
            for (char *tok = strtok(end, " "); tok; tok = strtok(NULL, " ")) {
                char *dash; uint64_t a = strtoull(tok, &dash, 10), b = *dash == '-' ? strtoull(dash + 1, NULL, 10) : a;
                for (uint64_t k = a; k <= b && k < r->nblocks; k++) r->changed[k] = 1;
            }
        }
        if (!strcmp(key, "size") || !strcmp(key, "granularity")) {   /* both come before the epochs */
            if (want_blocks && !r->changed && r->gran && r->size) {
                r->nblocks = (r->size + r->gran - 1) / r->gran;
                r->changed = calloc(r->nblocks ? r->nblocks : 1, 1);
            }
        }
    }
    free(line);
    fclose(f);
    if (!ok || !r->gran || !r->size) { free(r->changed); r->changed = NULL; return 0; }
    return 1;
}

uint32_t QueryChangesVirtualDisk(intptr_t h, const uint16_t *changeTrackingId, uint64_t byteOffset, uint64_t byteLength, uint32_t flags,
                                 QUERY_CHANGES_VIRTUAL_DISK_RANGE *ranges, uint32_t *rangeCount, uint64_t *processedLength) {
    if (!changeTrackingId || !ranges || !rangeCount || !processedLength || flags != 0) return ERROR_INVALID_PARAMETER;
    handle_t hd;
    if (!lookup(h, &hd)) return ERROR_INVALID_HANDLE;
    if (!hd.getinfo) return ERROR_ACCESS_DENIED;
    if (hd.format != FMT_VHDX) return ERROR_VHD_CHANGE_TRACKING_DISABLED;   /* RCT is VHDX only */
    char link[64], file[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", (int)h);
    ssize_t ln = readlink(link, file, sizeof file - 1);
    if (ln <= 0) return ERROR_INVALID_HANDLE;
    file[ln] = 0;
    char idu8[256], guid[40];
    uint64_t since;
    rct_t r;
    if (!load_rct(file, 0, 0, &r, 0)) return ERROR_VHD_CHANGE_TRACKING_DISABLED;
    if (!utf16_to_utf8(changeTrackingId, idu8, sizeof idu8) || !parse_id(idu8, guid, &since)) return ERROR_VHD_INVALID_CHANGE_TRACKING_ID;
    /* another tracking GUID (the disk's tracking was reset), a file frozen before the reset, or an id
     * newer than the file: not an id of this file's history */
    if (strcmp(guid, r.disk_guid) || strcmp(r.file_guid, r.disk_guid) || since > r.file_point) return ERROR_VHD_INVALID_CHANGE_TRACKING_ID;
    if (since < r.oldest) return ERROR_VHD_MISSING_CHANGE_TRACKING_INFORMATION;   /* history dropped */
    if (byteLength == 0) { *rangeCount = 0; *processedLength = 0; return ERROR_SUCCESS; }
    if (byteOffset >= r.size || byteLength > r.size - byteOffset) return ERROR_INVALID_PARAMETER;
    /* a frozen file holds the writes up to its point (epochs since..point-1); the active leaf up to now */
    uint64_t last = r.active ? r.file_point : r.file_point - 1;
    if (since > last) { *rangeCount = 0; *processedLength = byteLength; return ERROR_SUCCESS; }
    if (!load_rct(file, since, last, &r, 1)) return ERROR_VHD_CHANGE_TRACKING_DISABLED;
    if (!r.changed) return ERROR_NOT_ENOUGH_MEMORY;
    uint64_t end = byteOffset + byteLength, cap = *rangeCount, n = 0;
    uint64_t processed = byteLength;
    for (uint64_t b = byteOffset / r.gran; b < r.nblocks && b * r.gran < end; b++) {
        if (!r.changed[b]) continue;
        uint64_t s = b * r.gran, e = s + r.gran;
        while (b + 1 < r.nblocks && r.changed[b + 1] && e < end) { b++; e += r.gran; }   /* consecutive blocks: one range */
        if (s < byteOffset) s = byteOffset;
        if (e > end) e = end;
        if (e > r.size) e = r.size;
        if (n == cap) {   /* the buffer is full: report how far the ranges given cover, the caller goes on from there */
            if (n == 0) { free(r.changed); return ERROR_INSUFFICIENT_BUFFER; }
            processed = ranges[n - 1].ByteOffset + ranges[n - 1].ByteLength - byteOffset;
            break;
        }
        ranges[n++] = (QUERY_CHANGES_VIRTUAL_DISK_RANGE){s, e - s, 0};
    }
    free(r.changed);
    *rangeCount = (uint32_t)n;
    *processedLength = processed;
    return ERROR_SUCCESS;
}
