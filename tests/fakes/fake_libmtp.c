/*
 * Fake libmtp (no test machine has an MTP recorder on USB): the functions and
 * structures of libmtp 1.1.x that devices/mtp.py uses, backed by a folder named by
 * FAKE_LIBMTP_ROOT:
 *   serial, model          what LIBMTP_Get_Serialnumber / _Modelname return
 *   storage/<name>/...     one MTP storage per folder (sorted), its files and folders;
 *                          a file without its owner-write bit is protected (read-only)
 *   unplugged              if present: no device attached, every call on it fails
 *   unplug_after_bytes     a transfer sends this many bytes, then the device is gone
 *                          (an error is stacked and `unplugged` created)
 * With FAKE_LIBMTP_ROOT unset or missing, no device is attached.
 * Object ids are handed out as folders are listed (1, 2, ...).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef enum {
    LIBMTP_ERROR_NONE, LIBMTP_ERROR_GENERAL, LIBMTP_ERROR_PTP_LAYER, LIBMTP_ERROR_USB_LAYER,
    LIBMTP_ERROR_MEMORY_ALLOCATION, LIBMTP_ERROR_NO_DEVICE_ATTACHED, LIBMTP_ERROR_STORAGE_FULL,
    LIBMTP_ERROR_CONNECTING, LIBMTP_ERROR_CANCELLED
} LIBMTP_error_number_t;

enum { FILETYPE_FOLDER = 0, FILETYPE_MP4 = 6, PROPERTY_PROTECTION_STATUS = 2 };
#define FILES_AND_FOLDERS_ROOT 0xffffffffu

typedef struct {
    char *vendor;
    uint16_t vendor_id;
    char *product;
    uint16_t product_id;
    uint32_t device_flags;
} LIBMTP_device_entry_t;

typedef struct {
    LIBMTP_device_entry_t device_entry;
    uint32_t bus_location;
    uint8_t devnum;
} LIBMTP_raw_device_t;

typedef struct LIBMTP_error_struct {
    LIBMTP_error_number_t errornumber;
    char *error_text;
    struct LIBMTP_error_struct *next;
} LIBMTP_error_t;

typedef struct LIBMTP_devicestorage_struct {
    uint32_t id;
    uint16_t StorageType;
    uint16_t FilesystemType;
    uint16_t AccessCapability;
    uint64_t MaxCapacity;
    uint64_t FreeSpaceInBytes;
    uint64_t FreeSpaceInObjects;
    char *StorageDescription;
    char *VolumeIdentifier;
    struct LIBMTP_devicestorage_struct *next;
    struct LIBMTP_devicestorage_struct *prev;
} LIBMTP_devicestorage_t;

typedef struct LIBMTP_mtpdevice_struct {
    uint8_t object_bitsize;
    void *params;
    void *usbinfo;
    LIBMTP_devicestorage_t *storage;
    LIBMTP_error_t *errorstack;
    uint8_t maximum_battery_level;
    uint32_t default_music_folder;
    uint32_t default_playlist_folder;
    uint32_t default_picture_folder;
    uint32_t default_video_folder;
    uint32_t default_organizer_folder;
    uint32_t default_zencast_folder;
    uint32_t default_album_folder;
    uint32_t default_text_folder;
    void *cd;
    void *extensions;
    int cached;
    struct LIBMTP_mtpdevice_struct *next;
} LIBMTP_mtpdevice_t;

typedef struct LIBMTP_file_struct {
    uint32_t item_id;
    uint32_t parent_id;
    uint32_t storage_id;
    char *filename;
    uint64_t filesize;
    time_t modificationdate;
    int filetype;
    struct LIBMTP_file_struct *next;
} LIBMTP_file_t;

#define MAX_OBJECTS 65536
static char *object_path[MAX_OBJECTS]; /* index = object id */
static uint32_t object_count;
#define STORAGE_BASE 0x00010001u

static const char *root(void) {
    const char *r = getenv("FAKE_LIBMTP_ROOT");
    struct stat st;
    return (r && stat(r, &st) == 0 && S_ISDIR(st.st_mode)) ? r : NULL;
}

static int unplugged(void) {
    char path[4096];
    if (!root()) return 1;
    snprintf(path, sizeof path, "%s/unplugged", root());
    return access(path, F_OK) == 0;
}

static void set_unplugged(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s/unplugged", root());
    FILE *f = fopen(path, "w");
    if (f) fclose(f);
}

static void push_error(LIBMTP_mtpdevice_t *device, LIBMTP_error_number_t number, const char *text) {
    LIBMTP_error_t *e = calloc(1, sizeof *e), **tail = &device->errorstack;
    e->errornumber = number;
    e->error_text = strdup(text);
    while (*tail) tail = &(*tail)->next;
    *tail = e;
}

static int gone(LIBMTP_mtpdevice_t *device) {
    if (!unplugged()) return 0;
    push_error(device, LIBMTP_ERROR_USB_LAYER, "fake libmtp: device disconnected");
    return 1;
}

static char *read_text(const char *name) {
    char path[4096], buf[256];
    snprintf(path, sizeof path, "%s/%s", root() ? root() : ".", name);
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    buf[strcspn(buf, "\n")] = 0;
    return strdup(buf);
}

static int by_name(const struct dirent **a, const struct dirent **b) {
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Storage folder names, sorted; returns how many (names must be freed). */
static int storage_names(struct dirent ***names) {
    char path[4096];
    snprintf(path, sizeof path, "%s/storage", root());
    int n = scandir(path, names, NULL, by_name);
    int kept = 0;
    for (int i = 0; i < n; i++) {
        if ((*names)[i]->d_name[0] == '.') {
            free((*names)[i]);
            continue;
        }
        (*names)[kept++] = (*names)[i];
    }
    return n < 0 ? 0 : kept;
}

static uint32_t object_id(const char *path) {
    for (uint32_t i = 1; i <= object_count; i++)
        if (strcmp(object_path[i], path) == 0) return i;
    if (object_count + 1 >= MAX_OBJECTS) return 0;
    object_path[++object_count] = strdup(path);
    return object_count;
}

void LIBMTP_Init(void) {}

LIBMTP_error_number_t LIBMTP_Detect_Raw_Devices(LIBMTP_raw_device_t **devices, int *count) {
    *devices = NULL;
    *count = 0;
    if (unplugged()) return LIBMTP_ERROR_NO_DEVICE_ATTACHED;
    LIBMTP_raw_device_t *raw = calloc(1, sizeof *raw);
    raw->device_entry.vendor = "Fake Vendor";
    raw->device_entry.vendor_id = 0x1234;
    raw->device_entry.product = "Fake Body Camera";
    raw->device_entry.product_id = 0x5678;
    raw->bus_location = 1;
    raw->devnum = 7;
    *devices = raw;
    *count = 1;
    return LIBMTP_ERROR_NONE;
}

LIBMTP_mtpdevice_t *LIBMTP_Open_Raw_Device_Uncached(LIBMTP_raw_device_t *raw) {
    if (!raw || unplugged()) return NULL;
    LIBMTP_mtpdevice_t *device = calloc(1, sizeof *device);
    device->object_bitsize = 32;
    return device;
}

static void free_storage(LIBMTP_mtpdevice_t *device) {
    LIBMTP_devicestorage_t *s = device->storage;
    while (s) {
        LIBMTP_devicestorage_t *next = s->next;
        free(s->StorageDescription);
        free(s);
        s = next;
    }
    device->storage = NULL;
}

void LIBMTP_Clear_Errorstack(LIBMTP_mtpdevice_t *device) {
    LIBMTP_error_t *e = device->errorstack;
    while (e) {
        LIBMTP_error_t *next = e->next;
        free(e->error_text);
        free(e);
        e = next;
    }
    device->errorstack = NULL;
}

LIBMTP_error_t *LIBMTP_Get_Errorstack(LIBMTP_mtpdevice_t *device) { return device->errorstack; }

void LIBMTP_Release_Device(LIBMTP_mtpdevice_t *device) {
    if (!device) return;
    free_storage(device);
    LIBMTP_Clear_Errorstack(device);
    free(device);
}

char *LIBMTP_Get_Serialnumber(LIBMTP_mtpdevice_t *device) { return gone(device) ? NULL : read_text("serial"); }
char *LIBMTP_Get_Modelname(LIBMTP_mtpdevice_t *device) { return gone(device) ? NULL : read_text("model"); }

int LIBMTP_Get_Storage(LIBMTP_mtpdevice_t *device, int sortby) {
    (void)sortby;
    if (gone(device)) return -1;
    free_storage(device);
    struct dirent **names;
    int n = storage_names(&names);
    LIBMTP_devicestorage_t **tail = &device->storage, *prev = NULL;
    for (int i = 0; i < n; i++) {
        LIBMTP_devicestorage_t *s = calloc(1, sizeof *s);
        s->id = STORAGE_BASE + (uint32_t)i;
        s->StorageDescription = strdup(names[i]->d_name);
        s->prev = prev;
        *tail = prev = s;
        tail = &s->next;
        free(names[i]);
    }
    if (n > 0) free(names);
    return 0;
}

/* The host path of a storage's root, or of an object. */
static int host_path(uint32_t storage, uint32_t object, char *out, size_t size) {
    if (object != FILES_AND_FOLDERS_ROOT) {
        if (object == 0 || object > object_count) return -1;
        snprintf(out, size, "%s", object_path[object]);
        return 0;
    }
    struct dirent **names;
    int n = storage_names(&names), found = -1;
    for (int i = 0; i < n; i++) {
        if (STORAGE_BASE + (uint32_t)i == storage) {
            snprintf(out, size, "%s/storage/%s", root(), names[i]->d_name);
            found = 0;
        }
        free(names[i]);
    }
    if (n > 0) free(names);
    return found;
}

LIBMTP_file_t *LIBMTP_Get_Files_And_Folders(LIBMTP_mtpdevice_t *device, uint32_t storage, uint32_t parent) {
    char folder[4096], path[8192];
    if (gone(device)) return NULL;
    if (host_path(storage, parent, folder, sizeof folder) != 0) {
        push_error(device, LIBMTP_ERROR_GENERAL, "fake libmtp: no such folder");
        return NULL;
    }
    struct dirent **names;
    int n = scandir(folder, &names, NULL, by_name);
    LIBMTP_file_t *head = NULL, **tail = &head;
    for (int i = 0; i < n; i++) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", folder, names[i]->d_name);
        int skip = names[i]->d_name[0] == '.' || lstat(path, &st) != 0 ||
                   !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode));
        if (!skip) {
            LIBMTP_file_t *f = calloc(1, sizeof *f);
            f->item_id = object_id(path);
            f->parent_id = parent == FILES_AND_FOLDERS_ROOT ? 0 : parent;
            f->storage_id = storage;
            f->filename = strdup(names[i]->d_name);
            f->filesize = S_ISDIR(st.st_mode) ? 0 : (uint64_t)st.st_size;
            f->modificationdate = st.st_mtime;
            f->filetype = S_ISDIR(st.st_mode) ? FILETYPE_FOLDER : FILETYPE_MP4;
            *tail = f;
            tail = &f->next;
        }
        free(names[i]);
    }
    if (n > 0) free(names);
    return head;
}

void LIBMTP_destroy_file_t(LIBMTP_file_t *file) {
    if (!file) return;
    free(file->filename);
    free(file);
}

uint16_t LIBMTP_Get_u16_From_Object(LIBMTP_mtpdevice_t *device, uint32_t object, int property,
                                    uint16_t value_default) {
    char path[4096];
    struct stat st;
    if (gone(device) || property != PROPERTY_PROTECTION_STATUS) return value_default;
    if (host_path(0, object, path, sizeof path) != 0 || stat(path, &st) != 0) return value_default;
    return (st.st_mode & S_IWUSR) ? 0x0000 : 0x0001; /* 0x0001: read-only */
}

int LIBMTP_Get_File_To_File_Descriptor(LIBMTP_mtpdevice_t *device, uint32_t object, int fd,
                                       void *callback, void *data) {
    char path[4096], buf[4096];
    (void)callback;
    (void)data;
    if (gone(device)) return -1;
    if (host_path(0, object, path, sizeof path) != 0) {
        push_error(device, LIBMTP_ERROR_GENERAL, "fake libmtp: no such object");
        return -1;
    }
    char *limit_text = read_text("unplug_after_bytes");
    long long limit = limit_text ? atoll(limit_text) : -1, sent = 0;
    free(limit_text);
    int in = open(path, O_RDONLY);
    if (in < 0) {
        push_error(device, LIBMTP_ERROR_GENERAL, "fake libmtp: cannot open object");
        return -1;
    }
    for (;;) {
        size_t want = sizeof buf;
        if (limit >= 0 && (long long)want > limit - sent) want = (size_t)(limit - sent);
        if (limit >= 0 && want == 0) {
            set_unplugged();
            push_error(device, LIBMTP_ERROR_USB_LAYER, "fake libmtp: device disconnected mid-transfer");
            close(in);
            return -1;
        }
        ssize_t n = read(in, buf, want);
        if (n == 0) break;
        if (n < 0) {
            close(in);
            push_error(device, LIBMTP_ERROR_GENERAL, "fake libmtp: read failed");
            return -1;
        }
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(fd, buf + done, (size_t)(n - done));
            if (w < 0) {
                close(in);
                push_error(device, LIBMTP_ERROR_CANCELLED, strerror(errno));
                return -1;
            }
            done += w;
        }
        sent += n;
    }
    close(in);
    return 0;
}

int LIBMTP_Delete_Object(LIBMTP_mtpdevice_t *device, uint32_t object) {
    char path[4096];
    if (gone(device)) return -1;
    if (host_path(0, object, path, sizeof path) != 0 || (unlink(path) != 0 && rmdir(path) != 0)) {
        push_error(device, LIBMTP_ERROR_GENERAL, "fake libmtp: delete failed");
        return -1;
    }
    return 0;
}
